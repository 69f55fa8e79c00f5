//! What a function crate tells the Worker serving it: one [`Function`] value per crate (its
//! `FUNCTION` constant), gathered into one list by the Worker (src/registry.rs at the repository
//! root). The router, the health report, the rate limiter's defaults and the per-function
//! Workers all read that list, so a function's name, handler, cron job, default limit and
//! configuration check are written once, in its own crate.
//!
//! This module only describes; it serves nothing. `http::serve` carries the list to every
//! handler through [`crate::http::RequestContext::functions`].

use crate::config::ConfigError;
use crate::error::ApiError;
use crate::http::RequestContext;
use futures_util::future::LocalBoxFuture;
use worker::{Env, Request, Response};

/// A function's request handler: everything under `/functions/v1/<name>/`.
pub type Handler =
    fn(Request, RequestContext) -> LocalBoxFuture<'static, Result<Response, ApiError>>;

/// A function's cron handler: the expression that fired and the Worker's environment.
pub type CronHandler = fn(String, Env) -> LocalBoxFuture<'static, ()>;

/// Every problem with the function's own variables (none when they are valid), for the health
/// report. Parsing goes through `config::parsed_once`, so this costs nothing after the first
/// request of an isolate.
pub type ConfigCheck = fn(&RequestContext) -> Vec<ConfigError>;

/// One function as the Worker serving it needs to know it.
#[derive(Clone, Copy)]
pub struct Function {
    /// The path segment after `/functions/v1/`, the rate limiter's endpoint name and the name
    /// of the function's own Worker (`rls-edge-<name>`).
    pub name: &'static str,
    pub handle: Handler,
    /// The function's jobs, if it has any.
    pub scheduled: Option<Scheduled>,
    pub rate_limit: RateLimit,
    pub config_check: ConfigCheck,
}

/// A function's jobs: the cron expressions its Worker's `[triggers]` must list, and the handler
/// the `scheduled` event runs with the expression that fired.
#[derive(Clone, Copy)]
pub struct Scheduled {
    pub crons: &'static [&'static str],
    pub run: CronHandler,
}

/// How the rate limiter treats a function's requests when `system_rate_limits` has no row
/// for it (the rows always win; see the rate-limit crate's `policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// Not limited at all (health: uptime checks must see the service, not a 429).
    Unguarded,
    /// The shared `default` budget.
    SharedDefault,
    /// A budget of its own.
    Own(DefaultLimit),
}

/// A built-in limit: `max_requests` per `window_seconds` per key, and whether requests are
/// refused (`fails_closed`) or let through when the limiter's store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultLimit {
    pub max_requests: u32,
    pub window_seconds: u32,
    pub fails_closed: bool,
}

impl RateLimit {
    /// A budget of its own that refuses requests (503) when the store is down.
    pub const fn closed(max_requests: u32, window_seconds: u32) -> RateLimit {
        RateLimit::Own(DefaultLimit {
            max_requests,
            window_seconds,
            fails_closed: true,
        })
    }

    /// A budget of its own that lets requests through when the store is down.
    pub const fn open(max_requests: u32, window_seconds: u32) -> RateLimit {
        RateLimit::Own(DefaultLimit {
            max_requests,
            window_seconds,
            fails_closed: false,
        })
    }
}

/// A configuration check for a function without variables of its own.
pub fn no_config(_: &RequestContext) -> Vec<ConfigError> {
    Vec::new()
}

/// The function called `name` in `functions`.
pub fn find<'a>(functions: &'a [Function], name: &str) -> Option<&'a Function> {
    functions.iter().find(|function| function.name == name)
}

/// The names of `functions`, in order.
pub fn names(functions: &[Function]) -> Vec<&'static str> {
    functions.iter().map(|function| function.name).collect()
}
