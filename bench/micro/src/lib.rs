//! Per-request CPU of the hot paths, with no I/O: JWT verification (HS256, ES256), Stripe and
//! Svix signature checks of a 10 KB delivery, sealing and opening a vault key, scoring a lead,
//! one limiter decision. The same cases run on wasm32 in Node (the engine Workers use; timed by
//! `bench/micro/run.mjs` through the exports in [`wasm`]) and natively (`src/main.rs`), so
//! the two are comparable line by line.
//!
//! It calls the product's own pure modules (`shared::auth`, `webhooks::stripe`/`svix`,
//! `api_keys::vault`, `lead_scoring`, `rate_limit::gcra`); it is not a test. Every operation
//! reports whether it succeeded and a runner refuses a case whose operations did not all
//! succeed, so a figure never comes from work that failed early.

mod cases;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use cases::{all_cases, Case};
