//! The rls-edge Worker: the functions of [`registry::FUNCTIONS`] behind one router, each behind
//! the rate limiter's guard, plus the cron handler. A name the Worker does not serve is a 404
//! before the guard: nothing is charged or resolved for it.
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
    Ok(http::serve(req, env, FUNCTIONS, shared::clock::now_millis, route).await)
}

/// A function this Worker serves goes through personal-key resolution and the guard to
/// [`dispatch`]. Any other name is answered 404 at once: it charges no budget and resolves no
/// key, token or limit remotely, so a mistyped or probing request costs no more than the answer
/// (tests/e2e/rate-limit.test.mjs holds it).
async fn route(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    if !serves(context.function()) {
        return Err(unknown_function(&context));
    }
    personal_key_owner::acting_as_key_owner(req, context, |req, context| {
        rate_limiter::guarded(req, context, dispatch)
    })
    .await
}

/// Whether [`dispatch`] has something for `function`: the same three cases it tells apart.
fn serves(function: &str) -> bool {
    #[cfg(feature = "openapi")]
    if function == openapi::PATH {
        return true;
    }
    #[cfg(feature = "personal-keys")]
    if function == http::REST_FUNCTION {
        return true;
    }
    shared::registry::find(FUNCTIONS, function).is_some()
}

fn unknown_function(context: &RequestContext) -> ApiError {
    ApiError::not_found(format!(
        "no function named '{}'; available: {}",
        context.function(),
        shared::registry::names(FUNCTIONS).join(", ")
    ))
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
        None => Err(unknown_function(&context)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_the_worker_serves_pass_the_router() {
        for function in FUNCTIONS {
            assert!(serves(function.name), "{}", function.name);
        }
        #[cfg(feature = "openapi")]
        assert!(serves(openapi::PATH));
        #[cfg(feature = "personal-keys")]
        assert!(serves(http::REST_FUNCTION));
        for unknown in ["no-such-function", "Signup", "signup ", ""] {
            assert!(!serves(unknown), "{unknown:?}");
        }
    }
}
