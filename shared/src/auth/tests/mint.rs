//! Role tokens: minted here by hand (HMAC from `shared::crypto`), verified by `jsonwebtoken`, so
//! the round trip checks one implementation against another.

use serde_json::{json, Map, Value};

use super::fixtures::*;
use crate::auth::{
    mint_role_token, AuthError, DatabaseRole, TokenVerifier, VerifierConfig, ROLE_TOKEN_ISSUER,
};

fn role_token_verifier() -> TokenVerifier {
    TokenVerifier::new(
        VerifierConfig {
            audience: None,
            ..VerifierConfig::default()
        },
        Some(SECRET),
    )
}

fn extra(claims: Value) -> Map<String, Value> {
    claims
        .as_object()
        .cloned()
        .expect("extra claims are an object")
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn minted_role_token_verifies_with_its_claims() {
    let token = mint_role_token(
        SECRET,
        DatabaseRole::WebhookIngest,
        "stripe-webhook",
        60,
        NOW,
        extra(json!({"event_id": "evt_1"})),
    );
    let claims = role_token_verifier().verify(&token, None, NOW).unwrap();
    assert_eq!(claims.role.as_deref(), Some("webhook_ingest"));
    assert_eq!(claims.sub.as_deref(), Some("stripe-webhook"));
    assert_eq!(claims.iss.as_deref(), Some(ROLE_TOKEN_ISSUER));
    assert_eq!(claims.iat, Some(NOW));
    assert_eq!(claims.exp, NOW + 60);
    assert_eq!(claims.aud, None);
    assert_eq!(claims.other["event_id"], "evt_1");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn role_names_are_the_database_roles() {
    for (role, name) in [
        (DatabaseRole::WebhookIngest, "webhook_ingest"),
        (DatabaseRole::Maintenance, "maintenance"),
        (DatabaseRole::RateLimiter, "rate_limiter"),
        (DatabaseRole::SecurityRecorder, "security_recorder"),
    ] {
        let token = mint_role_token(SECRET, role, "cron", 60, NOW, Map::new());
        assert_eq!(
            role_token_verifier()
                .verify(&token, None, NOW)
                .unwrap()
                .role
                .as_deref(),
            Some(name)
        );
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn extra_claims_cannot_override_role_or_lifetime() {
    let sneaky = extra(
        json!({"role": "service_role", "exp": NOW + 999_999, "sub": "someone", "iss": "supabase"}),
    );
    let token = mint_role_token(
        SECRET,
        DatabaseRole::Maintenance,
        "nightly-cleanup",
        30,
        NOW,
        sneaky,
    );
    let claims = role_token_verifier().verify(&token, None, NOW).unwrap();
    assert_eq!(claims.role.as_deref(), Some("maintenance"));
    assert_eq!(claims.exp, NOW + 30);
    assert_eq!(claims.sub.as_deref(), Some("nightly-cleanup"));
    assert_eq!(claims.iss.as_deref(), Some(ROLE_TOKEN_ISSUER));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn role_token_is_short_lived_and_not_a_user_token() {
    let token = mint_role_token(
        SECRET,
        DatabaseRole::RateLimiter,
        "rate-limit",
        60,
        NOW,
        Map::new(),
    );
    let without_leeway = TokenVerifier::new(
        VerifierConfig {
            audience: None,
            leeway_seconds: 0,
            issuer: None,
        },
        Some(SECRET),
    );
    assert!(without_leeway.verify(&token, None, NOW + 59).is_ok());
    assert_eq!(
        without_leeway.verify(&token, None, NOW + 60),
        Err(AuthError::Expired)
    );
    assert_eq!(
        verifier().verify(&token, None, NOW),
        Err(AuthError::WrongAudience)
    );
    let other_project = TokenVerifier::new(
        VerifierConfig {
            audience: None,
            ..VerifierConfig::default()
        },
        Some(b"a-different-project-secret-of-32-chars+"),
    );
    assert_eq!(
        other_project.verify(&token, None, NOW),
        Err(AuthError::BadSignature)
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn role_token_header_is_plain_hs256() {
    let token = mint_role_token(
        SECRET,
        DatabaseRole::Maintenance,
        "cron",
        60,
        NOW,
        Map::new(),
    );
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.kid, None);
}
