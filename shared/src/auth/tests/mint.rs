//! Role tokens: minted by `RoleTokenSigner` (WebCrypto on wasm32, RustCrypto natively) and
//! checked two ways: by `jsonwebtoken`'s signature code, an implementation independent of ours,
//! and by this crate's own verifier with the signer's public key, as the privileged-caller check
//! does.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm as JoseAlgorithm, DecodingKey};
use serde_json::{json, Map, Value};

use super::fixtures::*;
use crate::auth::{
    Algorithm, AuthError, DatabaseRole, PrivateJwk, RoleTokenSigner, TokenVerifier, VerifierConfig,
    ROLE_TOKEN_BACKDATE_SECONDS, ROLE_TOKEN_ISSUER,
};

fn es256_signer() -> RoleTokenSigner {
    RoleTokenSigner::from_jwk(PrivateJwk::from_json(EC_A_PRIVATE_JWK).unwrap())
}

fn rs256_signer() -> RoleTokenSigner {
    RoleTokenSigner::from_jwk(PrivateJwk::from_json(RSA_A_PRIVATE_JWK).unwrap())
}

fn hs256_signer() -> RoleTokenSigner {
    RoleTokenSigner::from_secret(SECRET)
}

/// Checks what PostgREST needs of a role token: no `aud`, the issuer, a signature.
fn role_token_verifier(jwt_secret: Option<&[u8]>) -> TokenVerifier {
    TokenVerifier::new(
        VerifierConfig {
            audience: None,
            issuer: Some(ROLE_TOKEN_ISSUER.to_string()),
            leeway_seconds: 0,
        },
        jwt_secret,
    )
}

fn extra(claims: Value) -> Map<String, Value> {
    claims
        .as_object()
        .cloned()
        .expect("extra claims are an object")
}

fn header_and_claims(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap()
    };
    (decode(), decode())
}

/// Whether `jsonwebtoken` accepts the signature with the public key from the JWKS fixture.
fn jsonwebtoken_accepts(token: &str, key: &DecodingKey, algorithm: JoseAlgorithm) -> bool {
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), key, algorithm).unwrap()
}

fn fixture_public_key(kid: &str) -> DecodingKey {
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(JWKS_ROTATED).unwrap();
    DecodingKey::from_jwk(set.find(kid).unwrap()).unwrap()
}

async_test! {
    async fn es256_role_token_carries_the_kid_and_verifies_elsewhere() {
        let signer = es256_signer();
        assert_eq!((signer.algorithm(), signer.kid()), (Algorithm::Es256, Some("ec-a")));
        let token = signer
            .mint(DatabaseRole::WebhookIngest, "stripe-webhook", 60, NOW, extra(json!({"event_id": "evt_1"})))
            .await
            .unwrap();
        let (header, claims) = header_and_claims(&token);
        assert_eq!(header, json!({"alg": "ES256", "typ": "JWT", "kid": "ec-a"}));
        assert_eq!(
            claims,
            json!({
                "role": "webhook_ingest",
                "sub": "stripe-webhook",
                "iss": "rls-edge",
                "iat": NOW - ROLE_TOKEN_BACKDATE_SECONDS,
                "exp": NOW + 60,
                "event_id": "evt_1"
            })
        );
        assert!(jsonwebtoken_accepts(&token, &fixture_public_key("ec-a"), JoseAlgorithm::ES256));
        let own = signer.public_keys().expect("a JWK signer has a public key");
        assert_eq!(own.key_ids().collect::<Vec<_>>(), ["ec-a"]);
        let verified = role_token_verifier(None).verify(&token, Some(own), NOW).await.unwrap();
        assert_eq!(verified.role.as_deref(), Some("webhook_ingest"));
        assert!(
            role_token_verifier(None).verify(&token, Some(&jwks_initial()), NOW).await.is_ok(),
            "the project's JWKS, which publishes the key, verifies it too"
        );
    }
}

async_test! {
    async fn rs256_role_token_verifies_elsewhere() {
        let signer = rs256_signer();
        let token = signer.mint(DatabaseRole::Maintenance, "cleanup", 60, NOW, Map::new()).await.unwrap();
        let (header, _) = header_and_claims(&token);
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-a"}));
        assert!(jsonwebtoken_accepts(&token, &fixture_public_key("rsa-a"), JoseAlgorithm::RS256));
        let own = signer.public_keys().unwrap();
        assert!(role_token_verifier(None).verify(&token, Some(own), NOW).await.is_ok());
    }
}

async_test! {
    async fn hs256_role_token_in_legacy_mode_has_no_kid() {
        let signer = hs256_signer();
        assert!(signer.public_keys().is_none());
        let token = signer.mint(DatabaseRole::RateLimiter, "rate-limit", 60, NOW, Map::new()).await.unwrap();
        let (header, claims) = header_and_claims(&token);
        assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(claims["role"], "rate_limiter");
        assert!(jsonwebtoken_accepts(&token, &DecodingKey::from_secret(SECRET), JoseAlgorithm::HS256));
        assert!(role_token_verifier(Some(SECRET)).verify(&token, None, NOW).await.is_ok());
    }
}

async_test! {
    async fn role_names_are_the_database_roles() {
        for (role, name) in [
            (DatabaseRole::WebhookIngest, "webhook_ingest"),
            (DatabaseRole::Maintenance, "maintenance"),
            (DatabaseRole::RateLimiter, "rate_limiter"),
            (DatabaseRole::SecurityRecorder, "security_recorder"),
            (DatabaseRole::PersonalKeyResolver, "personal_key_resolver"),
        ] {
            let token = es256_signer().mint(role, "cron", 60, NOW, Map::new()).await.unwrap();
            assert_eq!(header_and_claims(&token).1["role"], name);
        }
    }
}

async_test! {
    async fn extra_claims_cannot_override_role_or_lifetime() {
        let sneaky = extra(
            json!({"role": "service_role", "exp": NOW + 999_999, "iat": NOW + 999, "sub": "someone", "iss": "supabase"}),
        );
        let token = es256_signer()
            .mint(DatabaseRole::Maintenance, "nightly-cleanup", 30, NOW, sneaky)
            .await
            .unwrap();
        let (_, claims) = header_and_claims(&token);
        assert_eq!(claims["role"], "maintenance");
        assert_eq!(claims["exp"], NOW + 30);
        assert_eq!(claims["iat"], NOW - ROLE_TOKEN_BACKDATE_SECONDS);
        assert_eq!(claims["sub"], "nightly-cleanup");
        assert_eq!(claims["iss"], ROLE_TOKEN_ISSUER);
    }
}

async_test! {
    async fn role_token_is_short_lived_not_a_user_token_and_fine_for_a_clock_behind() {
        let signer = es256_signer();
        let token = signer.mint(DatabaseRole::RateLimiter, "rate-limit", 60, NOW, Map::new()).await.unwrap();
        let own = signer.public_keys().unwrap();
        let strict = role_token_verifier(None);
        assert!(
            strict.verify(&token, Some(own), NOW - ROLE_TOKEN_BACKDATE_SECONDS).await.is_ok(),
            "a verifier whose clock is behind by the backdating, with no leeway, still accepts it"
        );
        assert_eq!(
            strict.verify(&token, Some(own), NOW - ROLE_TOKEN_BACKDATE_SECONDS - 1).await,
            Err(AuthError::NotYetValid)
        );
        assert!(strict.verify(&token, Some(own), NOW + 59).await.is_ok());
        assert_eq!(strict.verify(&token, Some(own), NOW + 60).await, Err(AuthError::Expired));
        let user_check = TokenVerifier::new(VerifierConfig::default(), None);
        assert_eq!(
            user_check.verify(&token, Some(own), NOW).await,
            Err(AuthError::WrongAudience)
        );
        let other_key = RoleTokenSigner::from_jwk(PrivateJwk::from_json(EC_B_PRIVATE_JWK).unwrap());
        let foreign = other_key.mint(DatabaseRole::RateLimiter, "rate-limit", 60, NOW, Map::new()).await.unwrap();
        assert_eq!(
            strict.verify(&foreign, Some(own), NOW).await,
            Err(AuthError::UnknownKeyId),
            "a token under another kid is not this Worker's"
        );
    }
}

async_test! {
    async fn user_tokens_pass_the_projects_own_user_token_check_with_their_extra_claims() {
        let signer = es256_signer();
        let (token, minted) = signer
            .mint_user_token(
                "4f1c2a9e-8d7b-4c3a-9e2f-1a2b3c4d5e6f",
                "authenticated",
                60,
                NOW,
                extra(json!({ "api_key_id": "k1", "role": "service_role", "sub": "someone-else" })),
            )
            .await
            .unwrap();
        let verifier = TokenVerifier::new(
            VerifierConfig {
                audience: Some("authenticated".to_string()),
                issuer: None,
                leeway_seconds: 0,
            },
            None,
        );
        let claims = verifier
            .verify(&token, signer.public_keys(), NOW)
            .await
            .unwrap();
        assert_eq!(claims.user_id(), Some("4f1c2a9e-8d7b-4c3a-9e2f-1a2b3c4d5e6f"));
        assert_eq!(claims.role.as_deref(), Some("authenticated"));
        assert_eq!(claims.exp, NOW + 60);
        assert_eq!(claims.iat, Some(NOW - ROLE_TOKEN_BACKDATE_SECONDS));
        assert_eq!(claims.other["api_key_id"], "k1");
        assert_eq!(serde_json::to_value(&claims).unwrap(), Value::Object(minted));
    }
}
