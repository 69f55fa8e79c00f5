//! The crate every rls-edge function stands on.
//!
//! It turns an HTTP request into a verified caller and a PostgREST client acting under that
//! caller's own JWT, and turns every failure into the project's one JSON error shape. It holds
//! only what two or more functions need: auth (JWT verification and role tokens), privileged
//! (the one check for endpoints only services and operators may call), db (PostgREST access and
//! error mapping), http (request reading, responses, CORS, request ids), config (variables and
//! secrets, validated once), crypto (HMAC, constant-time compare, randomness), clock (the JS
//! clock on wasm), time (RFC 3339 instants as integers), logging (one JSON line per request), registry (what a function crate tells the Worker serving it) and
//! security_events (recording what happened to users' secrets, privileged calls and refused
//! cross-tenant attempts in `security_event_logs`). One exception: health, the pure half of the
//! bundle's health endpoint, lives here because the bundle crate is wiring only and has no tests
//! of its own.
//!
//! It is not a framework: functions own their routes and their logic, and pure logic never
//! sees a `worker` type.

#[cfg(test)]
#[macro_use]
mod test_support;

#[cfg(any(test, feature = "native-executor"))]
pub mod executor;

pub mod auth;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod health;
pub mod http;
pub mod logging;
pub mod privileged;
pub mod registry;
pub mod security_events;
pub mod time;
