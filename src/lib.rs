//! The rls-edge Worker: the functions of [`registry::FUNCTIONS`] behind one router, each behind
//! the rate limiter's guard, plus the cron handler.
//!
//! This crate only wires. Each function crate owns its routes and logic and describes itself in
//! one `FUNCTION` value; `shared` owns the HTTP edge (paths, CORS, errors, logging). Built with
//! default features it is the bundle (`wrangler.toml`); built with one function's feature it is
//! that function's own Worker (`workers/<name>.wrangler.toml`), on the same path. Adding a
//! function is one line in [`registry`] (and its crate as an optional dependency).

mod health;
#[cfg(feature = "webhooks")]
mod limited_webhooks;
#[cfg(feature = "openapi")]
mod openapi;
mod registry;
#[cfg(test)]
mod worker_configs;

use registry::FUNCTIONS;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use worker::{event, Context, Env, Request, Response, ScheduleContext, ScheduledEvent};

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(http::serve(
        req,
        env,
        FUNCTIONS,
        shared::clock::now_millis,
        |req, context| {
            personal_key_owner::acting_as_key_owner(req, context, |req, context| {
                rate_limiter::guarded(req, context, dispatch)
            })
        },
    )
    .await)
}

/// Cron triggers (`[triggers]` in the wrangler config): every function with jobs runs those of
/// the expression that fired.
#[event(scheduled)]
pub async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    for jobs in FUNCTIONS.iter().filter_map(|function| function.scheduled) {
        (jobs.run)(event.cron(), env.clone()).await;
    }
}

async fn dispatch(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    #[cfg(feature = "openapi")]
    if context.function() == openapi::PATH {
        return openapi::handle(&req, &context);
    }
    #[cfg(feature = "personal-keys")]
    if context.function() == http::REST_FUNCTION {
        return personal_key_owner::rest::handle(req, context).await;
    }
    match shared::registry::find(FUNCTIONS, context.function()) {
        Some(function) => (function.handle)(req, context).await,
        None => Err(ApiError::not_found(format!(
            "no function named '{}'; available: {}",
            context.function(),
            shared::registry::names(FUNCTIONS).join(", ")
        ))),
    }
}
