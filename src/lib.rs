//! The rls-edge bundle Worker: every function behind one router, plus the cron handler.
//!
//! This crate only wires. Each function crate owns its routes and logic; `shared` owns the
//! HTTP edge (paths, CORS, errors, logging). Adding a function is one line in [`dispatch`] and
//! one in [`health::FUNCTIONS`].

mod health;

use shared::error::ApiError;
use shared::http::{self, RequestContext};
use worker::{event, Context, Env, Request, Response, ScheduleContext, ScheduledEvent};

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(
        http::serve(req, env, shared::clock::now_millis, |req, context| {
            personal_keys::acting_as_key_owner(req, context, |req, context| {
                rate_limit::guarded(req, context, dispatch)
            })
        })
        .await,
    )
}

/// Cron triggers (wrangler.toml `[triggers]`): the cleanup jobs of the expression that fired,
/// then the Stripe reconcile run and the webhook alert run (each nothing when not configured).
#[event(scheduled)]
pub async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    cleanup::scheduled(&event.cron(), &env).await;
    webhooks::reconcile_api::scheduled(&env).await;
    webhooks::alerts_api::scheduled(&env).await;
}

async fn dispatch(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    match context.function() {
        "health" => health::handle(req, context).await,
        "webhooks" => {
            let limits = WebhookLimits {
                client_ip: http::header(&req, "cf-connecting-ip"),
                context: context.clone(),
            };
            webhooks::handle_limited(req, context, &limits).await
        }
        "api-keys" => api_keys::handle(req, context).await,
        "rate-limit" => rate_limit::handle(req, context).await,
        "signup" => signup::handle(req, context).await,
        "lead-scoring" => lead_scoring::handle(req, context).await,
        "cleanup" => cleanup::handle(req, context).await,
        "personal-keys" => personal_keys::handle(req, context).await,
        http::REST_FUNCTION => personal_keys::rest::handle(req, context).await,
        other => Err(ApiError::not_found(format!(
            "no function named '{other}'; available: {}",
            health::FUNCTIONS.join(", ")
        ))),
    }
}

/// The rate limiter behind the webhook intake's hook: verified deliveries spend their
/// provider's budget, refused ones their source IP's (functions/rate-limit/src/guard.rs).
struct WebhookLimits {
    context: RequestContext,
    client_ip: Option<String>,
}

impl webhooks::DeliveryLimits for WebhookLimits {
    async fn verified(
        &self,
        provider: webhooks::Provider,
    ) -> Result<Vec<(&'static str, String)>, ApiError> {
        rate_limit::guard::charge_verified_delivery(&self.context, provider.as_str()).await
    }

    async fn unverified(&self) {
        rate_limit::guard::charge_unverified_delivery(&self.context, self.client_ip.as_deref())
            .await
    }
}
