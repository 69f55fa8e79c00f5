//! Verifying a Supabase-shaped access token with `shared::auth::TokenVerifier`, as every
//! authenticated request does, through each backend (`shared::auth::Backend`): HS256 against the
//! project secret and ES256 against a JWKS key, with RustCrypto (pure Rust compiled to Wasm) and
//! with WebCrypto (the runtime's `crypto.subtle`). `jwt_hs256` and `jwt_es256` are what the
//! Worker does (RustCrypto HMAC, WebCrypto ECDSA); the other two are the alternatives it does
//! not take. `role_token_es256` signs a role token as webhook intake, cron and the Postgres
//! limiter do per request. Natively there is no WebCrypto: those rows are wasm32 only, and the
//! native `jwt_es256` is RustCrypto.
//!
//! The WebCrypto figures come from Node, whose `crypto.subtle` runs each operation as a job on
//! its thread pool: the time per operation includes that hand-off, which workerd (running it on
//! the isolate's thread) does not pay.

use std::hint::black_box;
use std::rc::Rc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
#[cfg(target_arch = "wasm32")]
use shared::auth::Backend;
use shared::auth::{
    DatabaseRole, Jwks, PrivateJwk, RoleTokenSigner, TokenVerifier, VerifierConfig,
};

use super::{Case, OperationsFuture};

const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters-long";
const NOW: u64 = 1_800_000_000;
/// The shared crate's test keys: the JWKS holds the public half of `ec-a`.
const EC_PRIVATE_PKCS8_DER: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/tests/fixtures/auth/ec-a.private.pkcs8.der"
));
const EC_PRIVATE_JWK: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/tests/fixtures/auth/ec-a.private.jwk.json"
));
const JWKS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/tests/fixtures/auth/jwks-initial.json"
));

fn claims() -> serde_json::Value {
    json!({
        "iss": "https://abc.supabase.co/auth/v1",
        "sub": "7c1f2e4a-0000-4000-8000-000000000001",
        "aud": "authenticated",
        "exp": NOW + 3600,
        "iat": NOW,
        "email": "ada@example.com",
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {"full_name": "Ada Lovelace"},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": NOW}],
        "session_id": "5b1d0000-0000-4000-8000-000000000002",
        "is_anonymous": false
    })
}

fn sign(algorithm: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, &claims(), key).expect("the benchmark token signs")
}

/// `iterations` verifications of `token` by `verifier`, each awaited.
fn verifications(
    verifier: &Rc<TokenVerifier>,
    jwks: &Rc<Jwks>,
    token: &Rc<String>,
    iterations: u32,
) -> OperationsFuture {
    let (verifier, jwks, token) = (Rc::clone(verifier), Rc::clone(jwks), Rc::clone(token));
    Box::pin(async move {
        let mut succeeded = 0;
        for _ in 0..iterations {
            if verifier
                .verify(black_box(&token), Some(&jwks), NOW)
                .await
                .is_ok()
            {
                succeeded += 1;
            }
        }
        succeeded
    })
}

fn verify_case(
    id: &'static str,
    description: &'static str,
    verifier: TokenVerifier,
    token: String,
) -> Case {
    let (verifier, token) = (Rc::new(verifier), Rc::new(token));
    let jwks = Rc::new(Jwks::from_json(JWKS).expect("the fixture JWKS parses"));
    Case::new_async(id, description, move |iterations| {
        verifications(&verifier, &jwks, &token, iterations)
    })
}

pub fn cases() -> Vec<Case> {
    let product = || TokenVerifier::new(VerifierConfig::default(), Some(SECRET));
    let hs256 = sign(Algorithm::HS256, None, &EncodingKey::from_secret(SECRET));
    let es256 = sign(
        Algorithm::ES256,
        Some("ec-a"),
        &EncodingKey::from_ec_der(EC_PRIVATE_PKCS8_DER),
    );
    let signer = Rc::new(RoleTokenSigner::from_jwk(
        PrivateJwk::from_json(EC_PRIVATE_JWK).expect("the fixture JWK parses"),
    ));
    #[cfg_attr(not(target_arch = "wasm32"), allow(unused_mut))]
    let mut cases = vec![
        verify_case("jwt_hs256", "verify a Supabase access token, HS256, RustCrypto HMAC (shared::auth, the Worker's choice)", product(), hs256.clone()),
        verify_case(
            "jwt_es256",
            "verify a Supabase access token, ES256 with a JWKS key (shared::auth: WebCrypto on wasm32, RustCrypto natively)",
            product(),
            es256.clone(),
        ),
        Case::new_async("role_token_es256", "mint an ES256 role token (shared::auth::RoleTokenSigner)", move |iterations| {
            let signer = Rc::clone(&signer);
            Box::pin(async move {
                let mut succeeded = 0;
                for _ in 0..iterations {
                    let minted = signer.mint(DatabaseRole::WebhookIngest, black_box("stripe-webhook"), 60, NOW, serde_json::Map::new()).await;
                    if minted.is_ok() {
                        succeeded += 1;
                    }
                }
                succeeded
            })
        }),
    ];
    #[cfg(target_arch = "wasm32")]
    cases.extend([
        verify_case(
            "jwt_es256_rustcrypto",
            "verify a Supabase access token, ES256, RustCrypto p256 compiled to Wasm (the alternative to WebCrypto)",
            product().with_backend(Backend::RustCrypto),
            es256,
        ),
        verify_case(
            "jwt_hs256_webcrypto",
            "verify a Supabase access token, HS256, WebCrypto HMAC (the alternative to RustCrypto)",
            product().with_backend(Backend::WebCrypto),
            hs256,
        ),
    ]);
    cases
}
