//! Sign-up: creates the caller's profile and personal workspace the first time they sign in,
//! served at `/functions/v1/signup`.
//!
//! | request | answer |
//! |---|---|
//! | `POST` with an optional JSON body `{ full_name, avatar_url, workspace_name, timezone, marketing_opt_in }` | 201 `{ created: true, profile, workspace }`; on a repeat 200 with the stored rows and `created: false` |
//! | `GET` | 200 `{ profile, workspace }`, or 404 `profile_not_found` |
//!
//! The caller is whoever the access token says: id from `sub`, email from `email`, never from
//! the body. Everything is done under that token through PostgREST, so Postgres row-level
//! security applies, and the writes are one RPC (`create_profile_on_signup`,
//! sql/migrations/0012_signup_rpc.sql) that is atomic and idempotent, also when calls race.
//!
//! Modules: [`request`] checks the body (field-named 400s, rules in [`validate`]),
//! [`eligibility`] decides whose token may sign up, [`error`] holds both refusals as values,
//! [`service`] talks to the database, [`api`] translates HTTP. All but the last two are pure
//! and tested natively and on wasm32. The address must be one auth.users has confirmed:
//! otherwise the RPC refuses it (migration 0018) and the answer is 403 `email_not_confirmed`
//! ([`db_errors`]).
//!
//! It is not a profile editor: a repeat call returns what is stored and changes nothing, even
//! when its body differs. It does not create `auth.users` rows; the token issuer does.

pub mod api;
pub mod db_errors;
pub mod eligibility;
pub mod error;
pub mod model;
pub mod request;
pub mod service;
pub mod validate;

use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::registry::{self, Function, RateLimit};
use worker::{Method, Request, Response};

/// The function as a Worker registers it (`shared::registry`). Limit: 5 per 60 s per key, and
/// refused while the limiter's store is down, because account creation is what abuse goes for
/// first.
pub const FUNCTION: Function = Function {
    name: "signup",
    handle: |req, context| Box::pin(handle(req, context)),
    scheduled: None,
    rate_limit: RateLimit::closed(5, 60),
    config_check: registry::no_config,
};

pub async fn handle(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    match (req.method(), context.segments().as_slice()) {
        (Method::Post, []) => api::sign_up(req, &context).await,
        (Method::Get, []) => api::show(req, &context).await,
        (_, []) => Err(http::method_not_allowed(&req, &["GET", "POST"])),
        _ => Err(http::no_route(&context)),
    }
}
