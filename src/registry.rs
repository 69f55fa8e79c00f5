//! The one place that names the functions: every function this Worker serves, in the order
//! health lists them. Each entry is the function crate's own `FUNCTION` (name, handler, cron
//! handler, default rate limit, configuration check: `shared::registry`); the router, health,
//! the rate limiter's defaults and the cron handler read this list, and so does
//! `tools/scripts/functions.sh`, which finds the functions a Worker can be built for here.
//!
//! A cargo feature per function (Cargo.toml) picks what is compiled in: the bundle has them all
//! (default features), a function's own Worker (workers/<name>.wrangler.toml) only its own.

use crate::health;
use shared::registry::Function;

/// Every function this Worker serves under `/functions/v1/<name>`. Cron jobs run in this order:
/// cleanup's (webhook retries among them) before the webhook alerts look at what failed.
pub const FUNCTIONS: &[Function] = &[
    health::FUNCTION,
    #[cfg(feature = "api-keys")]
    api_keys::FUNCTION,
    #[cfg(feature = "rate-limit")]
    rate_limiter::FUNCTION,
    #[cfg(feature = "signup")]
    signup::FUNCTION,
    #[cfg(feature = "lead-scoring")]
    lead_scoring::FUNCTION,
    #[cfg(feature = "cleanup")]
    cleanup::FUNCTION,
    #[cfg(feature = "webhooks")]
    crate::limited_webhooks::FUNCTION,
    #[cfg(feature = "personal-keys")]
    personal_key_owner::FUNCTION,
];
