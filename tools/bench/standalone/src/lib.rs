//! One rls-edge function as a Worker of its own: the same HTTP edge as the bundle
//! (`shared::http::serve`: paths, CORS, the one error shape, the log line) in front of only the
//! function crates switched on by cargo feature, so its `.wasm` holds that function and what it
//! uses, nothing else. `npm run bench` builds each function this way to report its size, and
//! `wrangler dev -c tools/bench/standalone/signup.wrangler.toml -c ...` runs them side by side.
//!
//! It is not the bundle: no health endpoint and no rate-limit guard (the guard is the bundle
//! router's; a standalone Worker is limited by whatever sits in front of it). The cron handler
//! is there only with `cleanup`, whose jobs it runs.

#[cfg(not(any(
    feature = "signup",
    feature = "api-keys",
    feature = "lead-scoring",
    feature = "webhooks",
    feature = "rate-limit",
    feature = "cleanup"
)))]
compile_error!("switch on at least one function, e.g. `--features signup`");

use shared::error::ApiError;
use shared::http::{self, RequestContext};
use worker::{event, Context, Env, Request, Response};

/// The functions compiled into this Worker, for the answer to any other name.
const SERVED: &[&str] = &[
    #[cfg(feature = "signup")]
    "signup",
    #[cfg(feature = "api-keys")]
    "api-keys",
    #[cfg(feature = "lead-scoring")]
    "lead-scoring",
    #[cfg(feature = "webhooks")]
    "webhooks",
    #[cfg(feature = "rate-limit")]
    "rate-limit",
    #[cfg(feature = "cleanup")]
    "cleanup",
];

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(http::serve(req, env, shared::clock::now_millis, dispatch).await)
}

#[cfg(feature = "cleanup")]
#[event(scheduled)]
pub async fn scheduled(event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    cleanup::scheduled(&event.cron(), &env).await;
}

async fn dispatch(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    match context.function() {
        #[cfg(feature = "signup")]
        "signup" => signup::handle(req, context).await,
        #[cfg(feature = "api-keys")]
        "api-keys" => api_keys::handle(req, context).await,
        #[cfg(feature = "lead-scoring")]
        "lead-scoring" => lead_scoring::handle(req, context).await,
        #[cfg(feature = "webhooks")]
        "webhooks" => webhooks::handle(req, context).await,
        #[cfg(feature = "rate-limit")]
        "rate-limit" => rate_limit::handle(req, context).await,
        #[cfg(feature = "cleanup")]
        "cleanup" => cleanup::handle(req, context).await,
        other => Err(ApiError::not_found(format!(
            "this Worker serves only {}; no function named '{other}' here",
            SERVED.join(", ")
        ))),
    }
}
