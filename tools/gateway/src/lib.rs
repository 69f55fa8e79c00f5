//! `gateway`: a local stand-in for PostgREST (v14 behaviour) on a real Postgres, for
//! development and tests on machines that cannot run PostgREST or Supabase's Docker stack.
//!
//! It serves PostgREST's HTTP API under a base path (`/rest/v1` by default): reads with
//! select/filters/order/ranges/counts, embedding and spreads, aggregates (when enabled),
//! inserts, upserts, updates, deletes and RPC, JSON/CSV/GeoJSON/plan responses, JSON and form
//! bodies, the OpenAPI root (to the roles allowed), with JWT auth, one transaction per request,
//! `request.jwt.claims` and the other `request.*` settings, PostgREST's error codes and a schema
//! cache reloaded on `NOTIFY pgrst`. It is not a production server: no XML or binary bodies;
//! README.md lists exactly what is and is not covered, and what was audited.
//!
//! Layout: `config` (settings), `auth` (JWT), `schema` (catalog cache), `request` (parsing
//! the query string and headers by PostgREST's grammar), `plan` (SQL generation), `db` (the
//! transaction and the per-role statement cache), `openapi` (the root document), `handler` (one
//! request end to end: `tables`, `rpc`, `root`), `response`, `server` (HTTP), `reload` (LISTEN),
//! `test_hooks` (only with the `test-hooks` feature, which only the tests enable).

// Errors are PostgREST's full error body and travel the cold path once per failed request;
// boxing them would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod handler;
pub mod openapi;
pub mod plan;
pub mod reload;
pub mod request;
pub mod response;
pub mod schema;
pub mod server;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;

pub use config::Config;
pub use server::{start, Gateway};
