//! The rate limiter every rls-edge function calls before doing any work.
//!
//! A request is charged to a key (the verified user, else a verified service credential, else
//! the client IP: [`key`]; sign-up requests and anonymous users to their client IP as well, and
//! verified webhook deliveries to their provider: [`guard`]) under the quota that applies to its
//! endpoint and the caller's plan
//! ([`policy`], from `system_rate_limits` with built-in defaults). The plan is the token's
//! `app_metadata.plan`, else the user's plan in `user_plans` ([`plans`], looked up only where a
//! limit depends on it and cached per isolate), else `free`. The decision is the
//! Generic Cell Rate Algorithm with exact, documented integer semantics ([`gcra`]); the Postgres
//! fallback RPC `check_rate_limit` runs the same algorithm (the differences are in [`gcra`]).
//! State lives in a Durable Object per (endpoint, key) ([`durable`]) or, without that binding,
//! in Postgres ([`store`]). In lease mode (the default) the guard admits from its isolate's
//! lease of requests the object charged ahead, so the common case makes no round trip; the
//! bounds that mode keeps, and exact mode, are in [`lease`]. Every guarded response carries the IETF draft `RateLimit-Policy`
//! and `RateLimit` fields, and a refusal `Retry-After` ([`headers`]).
//!
//! The Worker wraps every function in [`guarded`] (but those registered as unguarded: health);
//! the function itself serves
//! `POST /functions/v1/rate-limit/check` for other services and `GET .../status` ([`api`]).
//! Settings are in [`config`].
//!
//! This crate is not an authenticator: it trusts the caller facts it is handed to be verified
//! already. It is not a quota or billing meter either: state is a single timestamp per key and
//! nothing is recorded about requests beyond that.
//!
//! # Defaults per endpoint
//!
//! Used when `system_rate_limits` has no row for the endpoint (see [`policy`] for the order in
//! which rows and defaults apply). Each function's default is part of its registration
//! (`FUNCTION.rate_limit` in its crate, `shared::registry`), which the Worker hands the guard
//! through `RequestContext::functions` ([`policy::BuiltIns`]); this crate adds only its own three
//! policies ([`policy::LIMITER_DEFAULTS`]). Limits are per key; failure mode is what happens when
//! the store holding the limiter state cannot be reached. The store is `auto` for every
//! endpoint: the Durable Object when its binding is configured, else the Postgres RPC.
//!
//! | endpoint       | limit per key   | when the store is down | why                                           |
//! |----------------|-----------------|------------------------|-----------------------------------------------|
//! | `personal-key` | 120 per 60 s    | closed (503)           | per personal key, on every endpoint, besides its owner's budget there |
//! | `webhooks.unverified` | 60 per 60 s | open              | per source IP, requests refused before a signature checked out; once used up, refused before verifying |
//! | `default`      | 60 per 60 s     | closed (503)           | any endpoint without its own entry            |
//!
//! Benchmark: `bench/functions/rate-limit/bench.mjs` (added latency and decisions per second
//! for both stores, against a running stack; see its header for the command) and
//! `bench/functions/rate-limit/plan-lookup.mjs` (what finding the plan in `user_plans` adds:
//! nothing measurable from the cache, one PostgREST round trip, about 7-10 ms p50 in
//! `wrangler dev` on a loaded 2-core box, on a cache miss).
//!
//! Overrides: `RATE_LIMIT_DEFAULTS` (e.g. `signup=10/60`), `RATE_LIMIT_STORE` (e.g.
//! `webhooks=postgres,default=durable-object`), `RATE_LIMIT_FAILURE_MODE` (e.g.
//! `lead-scoring=closed`) and `RATE_LIMIT_MODE` (e.g. `signup=exact`); see [`config`].

pub mod api;
pub mod config;
pub mod durable;
pub mod gcra;
pub mod guard;
pub mod headers;
pub mod key;
pub mod lease;
pub mod limiter;
pub mod limits;
pub mod plans;
pub mod policy;
pub mod store;

pub use guard::guarded;

/// The header a service sends the check secret in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The function as a Worker registers it (`shared::registry`). Limit: 1000 per 60 s per key,
/// refused (503) while the store is down: the check endpoint is itself the store.
pub const FUNCTION: shared::registry::Function = shared::registry::Function {
    name: "rate-limit",
    handle: |req, context| Box::pin(handle(req, context)),
    scheduled: None,
    rate_limit: shared::registry::RateLimit::closed(1_000, 60),
    config_check: config::problems,
};

/// The `rate-limit` function: `/functions/v1/rate-limit/...`.
pub async fn handle(
    req: worker::Request,
    context: shared::http::RequestContext,
) -> Result<worker::Response, shared::error::ApiError> {
    api::route(req, context).await
}

/// What the crate's tests share: a fixed clock reading, quotas, and the xorshift generator of
/// the random-traffic tests (the same seed gives the same traffic on every run and target).
#[cfg(test)]
pub(crate) mod test_support {
    use crate::gcra::Quota;

    pub const NOW: u64 = 1_700_000_000_000;

    pub fn quota(max_requests: u32, window_seconds: u32) -> Quota {
        Quota::new(max_requests, window_seconds).unwrap()
    }

    pub struct TestRng(pub u64);

    impl TestRng {
        /// The next value below `bound` (0 when `bound` is 0).
        pub fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound.max(1)
        }
    }
}
