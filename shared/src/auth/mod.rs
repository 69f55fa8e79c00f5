//! Who is calling: Supabase access tokens verified at the edge, and the short-lived role tokens
//! this project mints for jobs that have no user.
//!
//! A request handler does `bearer_token(header)` then `TokenVerifier::verify_with_jwks` (or
//! `verify` when the project has only a JWT secret) and gets typed [`Claims`] or an
//! [`AuthError`]. Jobs get their tokens from a [`RoleTokenSigner`]. Everything here is free of
//! `worker` types: time comes in as `now_seconds`, and the one network call (fetching the JWKS)
//! goes through the [`JwksFetcher`] the edge layer supplies. Signatures are computed by WebCrypto
//! on Workers and by RustCrypto natively ([`Backend`]); the same tests run against both.
//!
//! This module decides whether a token is genuine and current; it does not decide what the
//! caller may do. That is Postgres row-level security's job, under the same token (and, for the
//! few endpoints only services may call, `crate::privileged`'s).

mod backend;
mod bearer;
mod claims;
mod error;
mod jwk;
mod jwks;
mod jwks_cache;
mod mint;
mod token;
mod verify;

pub use backend::Backend;
pub use bearer::bearer_token;
pub use claims::{Audience, Claims};
pub use error::AuthError;
pub use jwk::{Algorithm, PrivateJwk};
pub use jwks::Jwks;
#[cfg(test)]
pub(crate) use jwks_cache::yield_once;
pub use jwks_cache::{JwksCache, JwksCachePolicy, JwksCacheStatus, JwksFetcher};
pub use mint::{DatabaseRole, RoleTokenSigner, ROLE_TOKEN_BACKDATE_SECONDS, ROLE_TOKEN_ISSUER};
pub use token::{header_of, Header, MAX_TOKEN_BYTES};
pub use verify::{TokenVerifier, VerifierConfig};

#[cfg(test)]
pub(crate) mod tests;
