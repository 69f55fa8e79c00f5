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
use shared::registry::Handler;
use worker::{event, Context, Env, Request, Response, ScheduleContext, ScheduledEvent};

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    Ok(http::serve(req, env, ctx, FUNCTIONS, shared::clock::now_millis, route).await)
}

/// A function this Worker serves goes through personal-key resolution and the guard to
/// [`dispatch`]. Any other name is answered 404 at once: it charges no budget and resolves no
/// key, token or limit remotely, so a mistyped or probing request costs no more than the answer
/// (tests/e2e/rate-limit.test.mjs holds it).
async fn route(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    if handler(context.function()).is_none() {
        return Err(unknown_function(&context));
    }
    personal_key_owner::acting_as_key_owner(req, context, |req, context| {
        rate_limiter::guarded(req, context, dispatch)
    })
    .await
}

/// What serves `function`: the OpenAPI document and the edge `/rest/v1` (when built in), else
/// the registry's function of that name. The router and [`dispatch`] both ask here, so they
/// never disagree about which names exist.
fn handler(function: &str) -> Option<Handler> {
    #[cfg(feature = "openapi")]
    if function == openapi::PATH {
        return Some(|req, context| Box::pin(async move { openapi::handle(&req, &context) }));
    }
    #[cfg(feature = "personal-keys")]
    if function == http::REST_FUNCTION {
        return Some(|req, context| Box::pin(personal_key_owner::rest::handle(req, context)));
    }
    shared::registry::find(FUNCTIONS, function).map(|found| found.handle)
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
    match handler(context.function()) {
        Some(handle) => handle(req, context).await,
        None => Err(unknown_function(&context)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_the_worker_serves_pass_the_router() {
        for function in FUNCTIONS {
            assert!(handler(function.name).is_some(), "{}", function.name);
        }
        #[cfg(feature = "openapi")]
        assert!(handler(openapi::PATH).is_some());
        #[cfg(feature = "personal-keys")]
        assert!(handler(http::REST_FUNCTION).is_some());
        for unknown in ["no-such-function", "Signup", "signup ", ""] {
            assert!(handler(unknown).is_none(), "{unknown:?}");
        }
    }
}
