//! Signature, algorithm and claim checks of `TokenVerifier::verify`.

use jsonwebtoken::Algorithm;
use serde_json::json;

use super::fixtures::*;
use crate::auth::{Audience, AuthError, Jwks, TokenVerifier, VerifierConfig};

async_test! {
    async fn hs256_user_token_verifies_into_typed_claims() {
        let token = sign(
            Algorithm::HS256,
            None,
            &user_claims(),
            SigningKey::Secret(SECRET),
        );
        let claims = verifier().verify(&token, None, NOW).await.unwrap();
        assert_eq!(
            claims.user_id(),
            Some("7c1f2e4a-0000-4000-8000-000000000001")
        );
        assert_eq!(claims.role.as_deref(), Some("authenticated"));
        assert_eq!(claims.email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            claims.session_id.as_deref(),
            Some("5b1d0000-0000-4000-8000-000000000002")
        );
        assert_eq!(claims.user_metadata_str("full_name"), Some("Ada Lovelace"));
        assert_eq!(claims.exp, NOW + 3600);
        assert_eq!(claims.other["amr"][0]["method"], "password");
    }
}

async_test! {
    async fn es256_token_verifies_with_its_jwks_key() {
        let token = sign(
            Algorithm::ES256,
            Some("ec-a"),
            &user_claims(),
            SigningKey::EcA,
        );
        let claims = jwks_only_verifier()
            .verify(&token, Some(&jwks_initial()), NOW).await
            .unwrap();
        assert_eq!(
            claims.user_id(),
            Some("7c1f2e4a-0000-4000-8000-000000000001")
        );
    }
}

async_test! {
    async fn rs256_token_verifies_with_its_jwks_key() {
        let token = sign(
            Algorithm::RS256,
            Some("rsa-a"),
            &user_claims(),
            SigningKey::RsaA,
        );
        let claims = jwks_only_verifier()
            .verify(&token, Some(&jwks_initial()), NOW).await
            .unwrap();
        assert_eq!(claims.aud, Some(Audience::One("authenticated".into())));
    }
}

async_test! {
    async fn jwks_keeps_only_keys_it_can_verify_with() {
        let jwks = jwks_initial();
        assert_eq!(jwks.key_ids().collect::<Vec<_>>(), ["rsa-a", "ec-a"]);
        let odd = Jwks::from_json(
            r#"{"keys":[
                {"kty":"RSA","kid":"short","n":"AQAB","e":"AQAB"},
                {"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"},
                {"kty":"oct","kid":"shared","k":"c2VjcmV0"},
                {"kty":"EC","kid":"enc","use":"enc","crv":"P-256","x":"Mn8TKYAX3xpSy-rEt4hxBNC7qY1CH0JvsEkY2d5CkQg","y":"3NN_09Epn9sYWMzoHYNC8vE3UkNRgof-rNXSZDReAUI"},
                {"kty":"EC","kid":"mislabelled","alg":"RS256","crv":"P-256","x":"Mn8TKYAX3xpSy-rEt4hxBNC7qY1CH0JvsEkY2d5CkQg","y":"3NN_09Epn9sYWMzoHYNC8vE3UkNRgof-rNXSZDReAUI"},
                "not a key"
            ]}"#,
        )
        .unwrap();
        assert!(odd.is_empty());
        assert!(Jwks::from_json(r#"{"keys":[]}"#).unwrap().is_empty());
        assert!(Jwks::from_json("<html>502</html>").is_err());
        assert!(Jwks::from_json(r#"{"kty":"EC"}"#).is_err());
    }
}

async_test! {
    async fn expired_token_is_refused() {
        let token = sign(
            Algorithm::HS256,
            None,
            &user_claims_with(json!({"exp": NOW - 3600})),
            SigningKey::Secret(SECRET),
        );
        assert_eq!(
            verifier().verify(&token, None, NOW).await,
            Err(AuthError::Expired)
        );
    }
}

async_test! {
    async fn expiry_leeway_is_exact_at_its_edge() {
        let claims = user_claims_with(json!({"iat": NOW - 60, "exp": NOW}));
        let token = sign(Algorithm::HS256, None, &claims, SigningKey::Secret(SECRET));
        let default_leeway = verifier();
        assert!(default_leeway.verify(&token, None, NOW + 29).await.is_ok());
        assert_eq!(
            default_leeway.verify(&token, None, NOW + 30).await,
            Err(AuthError::Expired)
        );
        let no_leeway = TokenVerifier::new(
            VerifierConfig {
                leeway_seconds: 0,
                ..VerifierConfig::default()
            },
            Some(SECRET),
        );
        assert!(no_leeway.verify(&token, None, NOW - 1).await.is_ok());
        assert_eq!(no_leeway.verify(&token, None, NOW).await, Err(AuthError::Expired));
    }
}

async_test! {
    async fn token_before_its_nbf_is_not_yet_valid_within_leeway() {
        let token = sign(
            Algorithm::HS256,
            None,
            &user_claims_with(json!({"nbf": NOW + 60})),
            SigningKey::Secret(SECRET),
        );
        assert_eq!(
            verifier().verify(&token, None, NOW + 29).await,
            Err(AuthError::NotYetValid)
        );
        assert!(verifier().verify(&token, None, NOW + 30).await.is_ok());
    }
}

async_test! {
    async fn token_issued_in_the_future_is_not_yet_valid() {
        let claims = user_claims_with(json!({"iat": NOW + 300, "exp": NOW + 3600}));
        let token = sign(Algorithm::HS256, None, &claims, SigningKey::Secret(SECRET));
        assert_eq!(
            verifier().verify(&token, None, NOW).await,
            Err(AuthError::NotYetValid)
        );
        assert!(verifier().verify(&token, None, NOW + 270).await.is_ok());
    }
}

async_test! {
    async fn audience_must_name_this_project() {
        for aud in [json!("anon"), json!(["account", "service"]), json!(null)] {
            let token = sign(
                Algorithm::HS256,
                None,
                &user_claims_with(json!({"aud": aud})),
                SigningKey::Secret(SECRET),
            );
            assert_eq!(
                verifier().verify(&token, None, NOW).await,
                Err(AuthError::WrongAudience),
                "aud {aud}"
            );
        }
        let listed = user_claims_with(json!({"aud": ["account", "authenticated"]}));
        let token = sign(Algorithm::HS256, None, &listed, SigningKey::Secret(SECRET));
        assert!(verifier().verify(&token, None, NOW).await.is_ok());
        let custom = TokenVerifier::new(
            VerifierConfig {
                audience: Some("account".into()),
                ..VerifierConfig::default()
            },
            Some(SECRET),
        );
        assert!(custom.verify(&token, None, NOW).await.is_ok());
    }
}

async_test! {
    async fn issuer_is_checked_when_configured() {
        let token = sign(
            Algorithm::HS256,
            None,
            &user_claims(),
            SigningKey::Secret(SECRET),
        );
        let expecting = |issuer: &str| {
            TokenVerifier::new(
                VerifierConfig {
                    issuer: Some(issuer.into()),
                    ..VerifierConfig::default()
                },
                Some(SECRET),
            )
        };
        assert!(expecting("https://abc.supabase.co/auth/v1")
            .verify(&token, None, NOW).await
            .is_ok());
        assert_eq!(
            expecting("https://xyz.supabase.co/auth/v1").verify(&token, None, NOW).await,
            Err(AuthError::WrongIssuer)
        );
    }
}

async_test! {
    async fn forged_or_tampered_signatures_are_refused() {
        let other_secret = b"another-secret-that-is-also-at-least-32-characters";
        let forged = sign(
            Algorithm::HS256,
            None,
            &user_claims(),
            SigningKey::Secret(other_secret),
        );
        assert_eq!(
            verifier().verify(&forged, None, NOW).await,
            Err(AuthError::BadSignature)
        );

        let genuine = sign(
            Algorithm::HS256,
            None,
            &user_claims(),
            SigningKey::Secret(SECRET),
        );
        let mut parts: Vec<&str> = genuine.split('.').collect();
        let promoted = encode_json(&user_claims_with(json!({"role": "service_role"})));
        parts[1] = &promoted;
        assert_eq!(
            verifier().verify(&parts.join("."), None, NOW).await,
            Err(AuthError::BadSignature)
        );

        let wrong_ec_key = sign(
            Algorithm::ES256,
            Some("ec-a"),
            &user_claims(),
            SigningKey::EcB,
        );
        assert_eq!(
            jwks_only_verifier().verify(&wrong_ec_key, Some(&jwks_initial()), NOW).await,
            Err(AuthError::BadSignature)
        );

        let rsa = sign(
            Algorithm::RS256,
            Some("rsa-a"),
            &user_claims(),
            SigningKey::RsaA,
        );
        let flip_at = rsa.len() - 20;
        let flipped = if &rsa[flip_at..=flip_at] == "A" {
            "B"
        } else {
            "A"
        };
        let altered = format!("{}{flipped}{}", &rsa[..flip_at], &rsa[flip_at + 1..]);
        assert_eq!(
            jwks_only_verifier().verify(&altered, Some(&jwks_initial()), NOW).await,
            Err(AuthError::BadSignature)
        );
        let truncated = &rsa[..rsa.len() - 8];
        assert!(jwks_only_verifier()
            .verify(truncated, Some(&jwks_initial()), NOW).await
            .is_err());
    }
}

async_test! {
    async fn unsigned_alg_none_token_is_refused() {
        let header = encode_json(&json!({"alg": "none", "typ": "JWT"}));
        let token = format!("{header}.{}.", encode_json(&user_claims()));
        assert_eq!(
            verifier().verify(&token, None, NOW).await,
            Err(AuthError::AlgorithmNotAllowed)
        );
        assert_eq!(
            verifier().verify(&token, Some(&jwks_initial()), NOW).await,
            Err(AuthError::AlgorithmNotAllowed)
        );
        for alg in ["None", "NONE", "HS512", "PS256", "ES384", "EdDSA"] {
            let header = encode_json(&json!({"alg": alg}));
            let token = format!("{header}.{}.c2ln", encode_json(&user_claims()));
            assert_eq!(
                verifier().verify(&token, Some(&jwks_initial()), NOW).await,
                Err(AuthError::AlgorithmNotAllowed),
                "{alg}"
            );
        }
    }
}

async_test! {
    async fn public_key_used_as_hmac_secret_is_refused() {
        let confused = sign(
            Algorithm::HS256,
            Some("rsa-a"),
            &user_claims(),
            SigningKey::Secret(RSA_A_PUBLIC_PEM),
        );
        assert_eq!(
            jwks_only_verifier().verify(&confused, Some(&jwks_initial()), NOW).await,
            Err(AuthError::AlgorithmNotAllowed)
        );
        assert_eq!(
            verifier().verify(&confused, Some(&jwks_initial()), NOW).await,
            Err(AuthError::BadSignature)
        );
        let without_kid = sign(
            Algorithm::HS256,
            None,
            &user_claims(),
            SigningKey::Secret(RSA_A_PUBLIC_PEM),
        );
        assert_eq!(
            jwks_only_verifier().verify(&without_kid, Some(&jwks_initial()), NOW).await,
            Err(AuthError::AlgorithmNotAllowed)
        );
    }
}

async_test! {
    async fn algorithm_must_match_the_type_of_the_named_key() {
        let es_naming_rsa = sign(
            Algorithm::ES256,
            Some("rsa-a"),
            &user_claims(),
            SigningKey::EcA,
        );
        assert_eq!(
            jwks_only_verifier().verify(&es_naming_rsa, Some(&jwks_initial()), NOW).await,
            Err(AuthError::AlgorithmNotAllowed)
        );
        let rs_naming_ec = sign(
            Algorithm::RS256,
            Some("ec-a"),
            &user_claims(),
            SigningKey::RsaA,
        );
        assert_eq!(
            jwks_only_verifier().verify(&rs_naming_ec, Some(&jwks_initial()), NOW).await,
            Err(AuthError::AlgorithmNotAllowed)
        );
    }
}

async_test! {
    async fn asymmetric_token_without_a_jwks_is_refused() {
        let token = sign(
            Algorithm::ES256,
            Some("ec-a"),
            &user_claims(),
            SigningKey::EcA,
        );
        assert_eq!(
            verifier().verify(&token, None, NOW).await,
            Err(AuthError::AlgorithmNotAllowed)
        );
    }
}

async_test! {
    async fn key_is_found_by_kid_or_as_the_only_key_of_its_type() {
        let unknown = sign(
            Algorithm::ES256,
            Some("ec-b"),
            &user_claims(),
            SigningKey::EcB,
        );
        assert_eq!(
            jwks_only_verifier().verify(&unknown, Some(&jwks_initial()), NOW).await,
            Err(AuthError::UnknownKeyId)
        );
        assert!(jwks_only_verifier()
            .verify(&unknown, Some(&jwks_rotated()), NOW).await
            .is_ok());

        let no_kid = sign(Algorithm::ES256, None, &user_claims(), SigningKey::EcA);
        assert!(jwks_only_verifier()
            .verify(&no_kid, Some(&jwks_initial()), NOW).await
            .is_ok());
        assert_eq!(
            jwks_only_verifier().verify(&no_kid, Some(&jwks_rotated()), NOW).await,
            Err(AuthError::UnknownKeyId)
        );
    }
}

async_test! {
    async fn claims_are_read_only_after_the_signature_holds() {
        let header = encode_json(&json!({"alg": "HS256"}));
        let unsigned_garbage = format!("{header}.bm90LWpzb24.c2ln");
        assert_eq!(
            verifier().verify(&unsigned_garbage, None, NOW).await,
            Err(AuthError::BadSignature)
        );
        let signed_without_exp = sign(
            Algorithm::HS256,
            None,
            &user_claims_with(json!({"exp": null})),
            SigningKey::Secret(SECRET),
        );
        assert!(matches!(
            verifier().verify(&signed_without_exp, None, NOW).await,
            Err(AuthError::MalformedToken(_))
        ));
    }
}

async_test! {
    async fn error_messages_never_echo_the_token() {
        let genuine = sign(
            Algorithm::HS256,
            None,
            &user_claims(),
            SigningKey::Secret(SECRET),
        );
        let expired = sign(
            Algorithm::HS256,
            None,
            &user_claims_with(json!({"exp": 1})),
            SigningKey::Secret(SECRET),
        );
        let candidates = [
            genuine.replace('.', ""),
            format!("{genuine}!"),
            expired,
            sign(
                Algorithm::HS256,
                None,
                &user_claims(),
                SigningKey::Secret(b"wrong-secret-wrong-secret-wrong-secret"),
            ),
        ];
        for token in candidates {
            let error = verifier()
                .verify(&token, None, NOW).await
                .expect_err("must be refused");
            let message = error.to_string();
            for part in token.split('.').filter(|part| part.len() > 8) {
                assert!(!message.contains(part), "{message}");
            }
            assert!(!error.code().is_empty());
        }
    }
}
