//! Who is calling: Supabase access tokens verified at the edge, and the short-lived role tokens
//! this project mints for jobs that have no user.
//!
//! A request handler does `bearer_token(header)` then `TokenVerifier::verify_with_jwks` (or
//! `verify` when the project has only a JWT secret) and gets typed [`Claims`] or an
//! [`AuthError`]. Everything here is pure: time comes in as `now_seconds`, and the one network
//! call (fetching the JWKS) goes through the [`JwksFetcher`] the edge layer supplies.
//!
//! This module decides whether a token is genuine and current; it does not decide what the
//! caller may do. That is Postgres row-level security's job, under the same token.

mod bearer;
mod claims;
mod error;
mod jwks;
mod jwks_cache;
mod mint;
mod token;
mod verify;

pub use bearer::bearer_token;
pub use claims::{Audience, Claims};
pub use error::AuthError;
pub use jwks::Jwks;
pub use jwks_cache::{JwksCache, JwksCachePolicy, JwksFetcher};
pub use mint::{mint_role_token, DatabaseRole, ROLE_TOKEN_ISSUER};
pub use token::MAX_TOKEN_BYTES;
pub use verify::{TokenVerifier, VerifierConfig};

#[cfg(test)]
mod tests;
