//! Access tokens and key sets (`shared::auth`): the `Authorization` header as sent, the header
//! and claims JSON of a correctly signed token, and the JWKS document fetched from the issuer.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use std::cell::RefCell;

use shared::auth::{
    bearer_token, AuthError, Claims, Jwks, JwksCache, JwksCachePolicy, JwksFetcher, TokenVerifier,
    VerifierConfig,
};
use shared::crypto::hmac_sha256;

use crate::input;
use shared::executor::block_on;

/// The Supabase local-development secret the auth tests and `jose-vectors.json` use.
const JWT_SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters-long";
const OTHER_SECRET: &[u8] = b"another-project-secret-of-at-least-32-characters";
/// `jose-vectors.json`'s clock: its tokens are current at this instant.
const NOW: u64 = 1_800_000_000;
const JWKS_ROTATED: &str = include_str!("../../shared/tests/fixtures/auth/jwks-rotated.json");
const JOSE_VECTORS: &str = include_str!("../../shared/tests/fixtures/auth/jose-vectors.json");

thread_local! {
    /// The issuer's key set after a rotation: RSA `rsa-a`, P-256 `ec-a` and `ec-b`, and an
    /// Ed25519 key the verifier skips.
    static KEYS: Jwks = Jwks::from_json(JWKS_ROTATED).expect("the fixture JWKS parses");
    /// Tokens the `jose` npm package signed with those keys, one per algorithm.
    static SIGNED_TOKENS: Vec<String> = signed_tokens();
}

fn signed_tokens() -> Vec<String> {
    let vectors: Value = serde_json::from_str(JOSE_VECTORS).expect("the fixture vectors parse");
    vectors["vectors"]
        .as_array()
        .expect("a list of vectors")
        .iter()
        .filter_map(|vector| vector["token"].as_str().map(str::to_string))
        .collect()
}

fn verifier(secret: Option<&[u8]>) -> TokenVerifier {
    TokenVerifier::new(VerifierConfig::default(), secret)
}

/// An `Authorization` header value, verified as the edge does: the HS256 secret and the JWKS
/// both configured, then with the secret alone.
pub fn jwt_token(data: &[u8]) {
    let header = String::from_utf8_lossy(data);
    let Ok(token) = bearer_token(Some(&header)) else {
        return;
    };
    let verifier = verifier(Some(JWT_SECRET));
    KEYS.with(|keys| {
        for jwks in [Some(keys), None] {
            if let Ok(claims) = block_on(verifier.verify(token, jwks, NOW)) {
                assert_current(&claims);
            }
        }
    });
}

/// Two lines, a token's header JSON and its claims JSON, made into a token signed with the
/// project's HS256 secret, so that what follows the signature check (the header's `alg`, `kid`
/// and `crit`, the claims and their checks) is reached with any content.
pub fn jwt_claims(data: &[u8]) {
    let ([header], payload) = input::lines::<1>(data);
    let (header, payload) = (header.unwrap_or_default(), payload.unwrap_or_default());
    let token = hs256_token(header, payload, JWT_SECRET);
    let accepted =
        KEYS.with(|keys| block_on(verifier(Some(JWT_SECRET)).verify(&token, Some(keys), NOW)));
    if let Ok(claims) = accepted {
        assert_current(&claims);
        let alg = serde_json::from_slice::<Value>(header)
            .ok()
            .map(|json| json["alg"].clone());
        assert_eq!(
            alg,
            Some(Value::from("HS256")),
            "an HMAC-signed token was accepted under another algorithm"
        );
        let forged = hs256_token(header, payload, OTHER_SECRET);
        assert_eq!(
            block_on(verifier(Some(JWT_SECRET)).verify(&forged, None, NOW)),
            Err(AuthError::BadSignature),
            "a token signed with another secret was not refused for its signature"
        );
    }
}

fn hs256_token(header: &[u8], claims: &[u8], secret: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = hmac_sha256(secret, &[signing_input.as_bytes()]);
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// A JWKS document as the issuer's endpoint might serve it: fetched into a fresh `JwksCache`
/// by the verifier itself, then used to verify tokens that real keys signed (an RS256 and two
/// ES256 ones).
pub fn jwks(data: &[u8]) {
    let document = String::from_utf8_lossy(data).into_owned();
    let parsed = Jwks::from_json(&document);
    if let Ok(keys) = &parsed {
        assert!(keys.key_ids().count() <= keys.len());
    }
    let verifier = verifier(None);
    let fetcher = Endpoint(document);
    SIGNED_TOKENS.with(|tokens| {
        for token in tokens {
            let cache = RefCell::new(JwksCache::new(JwksCachePolicy::default()));
            let outcome = block_on(verifier.verify_with_jwks(token, &cache, &fetcher, NOW));
            if let Ok(claims) = outcome {
                assert!(
                    parsed.is_ok(),
                    "a token was accepted with a JWKS that does not parse"
                );
                assert_current(&claims);
            }
        }
    });
}

/// The issuer's JWKS endpoint, answering 200 with the fuzzer's document.
struct Endpoint(String);

impl JwksFetcher for Endpoint {
    async fn fetch_jwks(&self) -> Result<String, String> {
        Ok(self.0.clone())
    }
}

/// What every accepted token must be: unexpired, already valid, for the `authenticated`
/// audience (`VerifierConfig::default`, with its 30 s leeway).
fn assert_current(claims: &Claims) {
    let leeway = VerifierConfig::default().leeway_seconds;
    assert!(
        NOW < claims.exp.saturating_add(leeway),
        "an expired token was accepted"
    );
    for start in claims.nbf.into_iter().chain(claims.iat) {
        assert!(start <= NOW + leeway, "a token not yet valid was accepted");
    }
    assert!(
        claims
            .aud
            .as_ref()
            .is_some_and(|aud| aud.contains("authenticated")),
        "a token for another audience was accepted"
    );
}
