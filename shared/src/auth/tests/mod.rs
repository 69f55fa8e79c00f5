//! Tests of `shared::auth` that need real keys: the fixtures under `shared/tests/fixtures/auth`
//! (test-only keys generated once with openssl) are compiled in, so the same tests run natively
//! and on wasm32 in Node.

pub(crate) mod fixtures;
mod interop;
mod jwk;
mod jwks_cache;
mod mint;
mod verify;
