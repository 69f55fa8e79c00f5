//! Verifying a Supabase-shaped access token with `shared::auth::TokenVerifier`, as every
//! authenticated request does: HS256 against the project secret, ES256 against a JWKS key.

use std::hint::black_box;
use std::rc::Rc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use shared::auth::{Jwks, TokenVerifier, VerifierConfig};

use super::Case;

const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters-long";
const NOW: u64 = 1_800_000_000;
/// The shared crate's test keys: the JWKS holds the public half of `ec-a`.
const EC_PRIVATE_PKCS8_DER: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/tests/fixtures/auth/ec-a.private.pkcs8.der"));
const JWKS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/tests/fixtures/auth/jwks-initial.json"));

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

pub fn cases() -> Vec<Case> {
    let verifier = Rc::new(TokenVerifier::new(VerifierConfig::default(), Some(SECRET)));
    let jwks = Rc::new(Jwks::from_json(JWKS).expect("the fixture JWKS parses"));
    let hs256 = sign(Algorithm::HS256, None, &EncodingKey::from_secret(SECRET));
    let es256 = sign(Algorithm::ES256, Some("ec-a"), &EncodingKey::from_ec_der(EC_PRIVATE_PKCS8_DER));
    let hs256_verifier = Rc::clone(&verifier);
    vec![
        Case::new("jwt_hs256", "verify a Supabase access token, HS256 (shared::auth)", move |iterations| {
            (0..iterations).filter(|_| hs256_verifier.verify(black_box(&hs256), None, NOW).is_ok()).count() as u32
        }),
        Case::new("jwt_es256", "verify a Supabase access token, ES256 with a JWKS key (shared::auth)", move |iterations| {
            (0..iterations).filter(|_| verifier.verify(black_box(&es256), Some(&jwks), NOW).is_ok()).count() as u32
        }),
    ]
}
