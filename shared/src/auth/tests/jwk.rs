//! Reading the Worker's role-token key (`JWT_SIGNING_KEY`) and a project's public keys.

use serde_json::{json, Value};

use super::fixtures::*;
use crate::auth::{Algorithm, DatabaseRole, Jwks, PrivateJwk, RoleTokenSigner};

fn ec_key() -> Value {
    serde_json::from_str(EC_A_PRIVATE_JWK).unwrap()
}

fn with(mut key: Value, changes: Value) -> String {
    for (name, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => key.as_object_mut().unwrap().remove(name),
            _ => key
                .as_object_mut()
                .unwrap()
                .insert(name.clone(), value.clone()),
        };
    }
    key.to_string()
}

async_test! {
    async fn keys_as_the_supabase_cli_prints_them_are_read() {
        let ec = PrivateJwk::from_json(EC_A_PRIVATE_JWK).unwrap();
        assert_eq!((ec.kid(), ec.algorithm()), ("ec-a", Algorithm::Es256));
        let rsa = PrivateJwk::from_json(RSA_A_PRIVATE_JWK).unwrap();
        assert_eq!((rsa.kid(), rsa.algorithm()), ("rsa-a", Algorithm::Rs256));
        let one_element_array = format!("[{EC_A_PRIVATE_JWK}]");
        assert_eq!(PrivateJwk::from_json(&one_element_array).unwrap().kid(), "ec-a");
        let minimal = with(ec_key(), json!({"use": null, "key_ops": null, "alg": null, "ext": null}));
        assert_eq!(PrivateJwk::from_json(&minimal).unwrap().algorithm(), Algorithm::Es256);
    }
}

async_test! {
    async fn keys_that_cannot_sign_role_tokens_are_refused_with_the_reason() {
        let two = format!("[{EC_A_PRIVATE_JWK},{RSA_A_PRIVATE_JWK}]");
        let cases = [
            ("not json".to_string(), "JSON"),
            (two, "exactly one"),
            (with(ec_key(), json!({"d": null})), "`d`"),
            (with(ec_key(), json!({"kid": null})), "`kid`"),
            (with(ec_key(), json!({"kid": "  "})), "`kid`"),
            (with(ec_key(), json!({"alg": "RS256"})), "`alg`"),
            (with(ec_key(), json!({"use": "enc"})), "`use`"),
            (with(ec_key(), json!({"key_ops": ["verify"]})), "`key_ops`"),
            (with(ec_key(), json!({"crv": "P-384"})), "P-256"),
            (with(ec_key(), json!({"d": "AQID"})), "length"),
            (with(ec_key(), json!({"x": "not base64!"})), "P-256"),
            (json!({"kty": "oct", "kid": "k", "k": "c2VjcmV0"}).to_string(), "P-256"),
            (json!({"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB", "d": "AQAB"}).to_string(), "RSA"),
        ];
        let rsa: Value = serde_json::from_str(RSA_A_PRIVATE_JWK).unwrap();
        let without_crt = with(rsa, json!({"qi": null}));
        for (text, reason) in cases.into_iter().chain([(without_crt, "`qi`")]) {
            let problem = PrivateJwk::from_json(&text).expect_err(&text);
            assert!(problem.contains(reason), "{problem:?} should mention {reason}");
            let secret = ec_key()["d"].as_str().unwrap().to_string();
            assert!(!problem.contains(&secret));
        }
    }
}

async_test! {
    async fn the_private_key_never_shows_in_debug_output() {
        let jwk = PrivateJwk::from_json(EC_A_PRIVATE_JWK).unwrap();
        let secret = ec_key()["d"].as_str().unwrap().to_string();
        let printed = format!("{jwk:?}");
        let printed = format!("{printed} {:?}", RoleTokenSigner::from_jwk(jwk));
        assert!(printed.contains("ec-a") && printed.contains("ES256"), "{printed}");
        assert!(!printed.contains(&secret));
    }
}

async_test! {
    async fn a_key_whose_private_part_does_not_match_cannot_sign() {
        let mut other: Value = serde_json::from_str(EC_B_PRIVATE_JWK).unwrap();
        other["kid"] = "ec-a".into();
        other["x"] = ec_key()["x"].clone();
        other["y"] = ec_key()["y"].clone();
        let mismatched = RoleTokenSigner::from_jwk(PrivateJwk::from_json(&other.to_string()).unwrap());
        let minted = mismatched
            .mint(DatabaseRole::Maintenance, "cron", 60, NOW, serde_json::Map::new())
            .await;
        assert!(minted.is_err(), "{minted:?}");
    }
}

async_test! {
    async fn the_public_half_of_a_private_key_verifies_like_the_published_one() {
        let own = Jwks::of_private_key(&PrivateJwk::from_json(EC_A_PRIVATE_JWK).unwrap());
        assert_eq!(own.len(), 1);
        assert!(own.contains("ec-a") && !own.contains("rsa-a"));
    }
}
