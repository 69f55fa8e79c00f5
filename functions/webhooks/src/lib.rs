//! Intake of webhook deliveries from Stripe, from Resend (which signs with Svix, the
//! Standard Webhooks scheme) and from any configured Standard Webhooks source, served at
//! `POST /functions/v1/webhooks/stripe`, `.../resend` and `.../<source>` ([`sources`]); and
//! the operator's endpoints around the stored events ([`operator_api`]): list, replay and
//! resolve under `/functions/v1/webhooks/events`, and the Stripe reconcile job
//! ([`reconcile_api`]) and the alert run ([`alerts_api`]), both also run by the cron; the
//! operator's endpoints admit privileged callers only.
//!
//! The pure part, tested natively and on wasm32, checks a delivery's signature over the raw
//! body byte for byte ([`stripe`], [`svix`]) and only then reads the small envelope every
//! event shares ([`envelope`]): its id, type and creation time. Time is always an argument,
//! never read from a clock there, because `SystemTime::now()` panics on Workers. [`api`]
//! translates HTTP, [`intake`] stores the event through one RPC, [`config`] lists the
//! variables (signing secrets, tolerance), [`limits`] is the hook through which the rate
//! limiter charges verified deliveries to their provider and refused ones to their source.
//!
//! It is not where events take effect: applying an event (subscriptions, invoices, email
//! status) happens in one SQL transaction behind the `receive_webhook_event` RPC
//! (sql/migrations/0014_webhook_rpcs.sql), and it does not talk to providers' APIs.

pub mod alerts;
pub mod alerts_api;
pub mod api;
pub mod config;
pub mod envelope;
pub mod error;
pub mod intake;
pub mod limits;
pub mod operator;
pub mod operator_api;
pub mod reconcile;
pub mod reconcile_api;
pub mod sources;
pub mod stripe;
pub mod svix;
mod tolerance;

pub use envelope::Provider;
pub use limits::DeliveryLimits;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::registry::{Function, RateLimit, Scheduled};
use worker::{Method, Request, Response};

/// The function as a Worker registers it (`shared::registry`), without a delivery limiter
/// ([`handle`]); a Worker that has one replaces `handle` with a call to [`handle_limited`].
/// Limit: 6000 verified deliveries per 60 s per provider, let through while the limiter's store
/// is down (a refused delivery is a delayed payment event).
pub const FUNCTION: Function = Function {
    name: "webhooks",
    handle: |req, context| Box::pin(handle(req, context)),
    // Every cron trigger of the Worker runs the Stripe reconcile and then the alert run (each
    // nothing when not configured); a Worker of its own has the frequent trigger.
    scheduled: Some(Scheduled {
        crons: &["*/15 * * * *"],
        run: |_, env| {
            Box::pin(async move {
                reconcile_api::scheduled(&env).await;
                alerts_api::scheduled(&env).await;
            })
        },
    }),
    rate_limit: RateLimit::open(6_000, 60),
    config_check: |context| config::problems(context.env()),
};

/// The function without a delivery limiter; the Worker replaces it with [`handle_limited`] and
/// the rate limiter (src/limited_webhooks.rs at the repository root).
pub async fn handle(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    handle_limited(req, context, &limits::NoLimits).await
}

/// The function with `limits` told about every delivery it verifies or refuses; a request that
/// is not a delivery at all (another method or path) counts as refused.
pub async fn handle_limited(
    req: Request,
    context: RequestContext,
    limits: &impl DeliveryLimits,
) -> Result<Response, ApiError> {
    let not_a_delivery = match (req.method(), context.segments().as_slice()) {
        (Method::Post, ["stripe"]) => return api::receive_stripe(req, &context, limits).await,
        (Method::Post, ["resend"]) => return api::receive_resend(req, &context, limits).await,
        (_, ["stripe" | "resend"]) => http::method_not_allowed(&req, &["POST"]),
        // The operator's endpoints are not deliveries: the limiter is not told about them.
        (Method::Get, ["events"]) => return operator_api::list(req, &context).await,
        (Method::Post, ["events", "replay"]) => {
            return operator_api::replay(req, &context, None).await
        }
        (Method::Post, ["events", event, "replay"]) => {
            return operator_api::replay(req, &context, Some(event)).await
        }
        (Method::Post, ["events", event, "resolve"]) => {
            return operator_api::resolve(req, &context, event).await
        }
        (Method::Post, ["reconcile", "stripe"]) => {
            return reconcile_api::request(req, &context).await
        }
        (Method::Post, ["alerts", "run"]) => return alerts_api::request(req, &context).await,
        (_, ["events"]) => return Err(http::method_not_allowed(&req, &["GET"])),
        (_, ["events" | "reconcile" | "alerts", ..]) => {
            return Err(http::method_not_allowed(&req, &["POST"]))
        }
        (Method::Post, [source]) => {
            return api::receive_source(req, &context, source, limits).await
        }
        _ => http::no_route(&context),
    };
    limits.unverified().await;
    Err(not_a_delivery)
}
