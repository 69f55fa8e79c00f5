//! Test keys and token signing shared by the auth tests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};

use crate::auth::{Jwks, TokenVerifier, VerifierConfig};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/auth/",
            $name
        ))
    };
}

macro_rules! text_fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/auth/",
            $name
        ))
    };
}

/// The Supabase local-development secret, public by design.
pub const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters-long";
pub const NOW: u64 = 1_800_000_000;
pub const RSA_A_PUBLIC_PEM: &[u8] = fixture!("rsa-a.public.pem");
const RSA_A_PRIVATE_PKCS1_DER: &[u8] = fixture!("rsa-a.private.pkcs1.der");
const EC_A_PRIVATE_PKCS8_DER: &[u8] = fixture!("ec-a.private.pkcs8.der");
const EC_B_PRIVATE_PKCS8_DER: &[u8] = fixture!("ec-b.private.pkcs8.der");
pub const JWKS_INITIAL: &str = text_fixture!("jwks-initial.json");
pub const JOSE_VECTORS: &str = text_fixture!("jose-vectors.json");
pub const JWKS_ROTATED: &str = text_fixture!("jwks-rotated.json");
/// The private halves of `ec-a`, `ec-b` and `rsa-a` as `supabase gen signing-key` prints keys.
pub const EC_A_PRIVATE_JWK: &str = text_fixture!("ec-a.private.jwk.json");
pub const EC_B_PRIVATE_JWK: &str = text_fixture!("ec-b.private.jwk.json");
pub const RSA_A_PRIVATE_JWK: &str = text_fixture!("rsa-a.private.jwk.json");

#[derive(Clone, Copy)]
pub enum SigningKey<'a> {
    Secret(&'a [u8]),
    RsaA,
    EcA,
    EcB,
}

impl SigningKey<'_> {
    fn encoding_key(self) -> EncodingKey {
        match self {
            SigningKey::Secret(secret) => EncodingKey::from_secret(secret),
            SigningKey::RsaA => EncodingKey::from_rsa_der(RSA_A_PRIVATE_PKCS1_DER),
            SigningKey::EcA => EncodingKey::from_ec_der(EC_A_PRIVATE_PKCS8_DER),
            SigningKey::EcB => EncodingKey::from_ec_der(EC_B_PRIVATE_PKCS8_DER),
        }
    }
}

/// Claims as Supabase Auth issues them for a signed-in user, valid for an hour from `NOW`.
pub fn user_claims() -> Value {
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

/// `user_claims()` with `changes` merged in (a `null` removes the claim).
pub fn user_claims_with(changes: Value) -> Value {
    merged(user_claims(), changes)
}

/// The object `base` with the fields of `changes` set, a `null` removing the field.
pub fn merged(mut base: Value, changes: Value) -> Value {
    let fields = base.as_object_mut().expect("the base is an object");
    for (name, value) in changes.as_object().expect("changes are an object") {
        match value {
            Value::Null => fields.remove(name),
            _ => fields.insert(name.clone(), value.clone()),
        };
    }
    base
}

/// A compact JWS over exactly the header and claims given, signed as `algorithm` with `key`.
pub fn sign(
    algorithm: Algorithm,
    kid: Option<&str>,
    claims: &Value,
    key: SigningKey<'_>,
) -> String {
    let mut header = json!({"alg": algorithm, "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = kid.into();
    }
    let signing_input = format!("{}.{}", encode_json(&header), encode_json(claims));
    let signature =
        jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key.encoding_key(), algorithm)
            .unwrap();
    format!("{signing_input}.{signature}")
}

pub fn encode_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

pub fn jwks_initial() -> Jwks {
    Jwks::from_json(JWKS_INITIAL).unwrap()
}

pub fn jwks_rotated() -> Jwks {
    Jwks::from_json(JWKS_ROTATED).unwrap()
}

/// Accepts HS256 with the dev secret and, when given a JWKS, RS256/ES256; default claim rules.
pub fn verifier() -> TokenVerifier {
    TokenVerifier::new(VerifierConfig::default(), Some(SECRET))
}

/// A project that signs only with asymmetric keys (no JWT secret configured).
pub fn jwks_only_verifier() -> TokenVerifier {
    TokenVerifier::new(VerifierConfig::default(), None)
}
