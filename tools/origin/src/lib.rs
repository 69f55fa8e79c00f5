//! `origin`: a local stand-in for Supabase's API gateway, for development and tests. One port
//! (`http://127.0.0.1:54321`) serves what a Supabase project URL serves, so
//! `createClient(url, publishableKey)` reaches everything through it:
//!
//! - `/rest/v1/*`: the PostgREST-compatible gateway (tools/gateway), started in this process;
//! - `/auth/v1/.well-known/jwks.json`: the public half of the signing-keys file;
//! - `/auth/v1/*`: a Supabase Auth-compatible service mounted through [`AuthService`], the local
//!   Auth (tools/auth, [`LocalAuth`]) when `AUTH_DATABASE_URL` is set;
//! - `/functions/v1/*`: proxied to `wrangler dev`, bodies streamed, headers and status kept.
//!
//! In front of `/rest/v1` and `/auth/v1` it checks the `apikey` as Supabase does (publishable
//! key = `anon`, secret key = `service_role` through a role token it mints, a user's JWT wins)
//! and answers CORS as Supabase's gateway does. It is not a production gateway: no rate limits,
//! no TLS, no Realtime or Storage routes.
//!
//! Layout: `config` (settings), `keys` (signing-keys file, JWKS, role tokens), `access` (the
//! apikey decision, pure), `cors`, `proxy` (streaming forwarder), `auth` (the `/auth/v1` mount
//! point), `server` (routing).

pub mod access;
pub mod auth;
pub mod config;
pub mod cors;
pub mod keys;
pub mod proxy;
pub mod server;

pub use auth::{AuthService, LocalAuth, NoAuthServer};
pub use config::Config;
pub use server::{start, Origin};
