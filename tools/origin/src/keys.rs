//! Signing keys and the tokens the origin mints with them.
//!
//! The signing-keys file is the Supabase CLI's `signing_keys_path` format: a JSON array of
//! private JWKs, each shaped like `supabase gen signing-key --algorithm ES256` prints it
//! (`kty` EC, `crv` P-256, `alg` ES256, `kid`, `x`, `y`, `d`). Key 0 signs; every key is
//! published, without `d`, in the JWKS (the README's "The two commands" gives the roles of the
//! two keys the local stack generates).
//!
//! Tokens minted here are the short-lived role tokens the origin puts in `Authorization` when a
//! request presents an API key instead of a user's JWT, the way Supabase's API gateway swaps an
//! `sb_publishable_`/`sb_secret_` key for an anon/service_role JWT before PostgREST and Auth see
//! the request.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey as EcSigningKey};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// One private key from the signing-keys file.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    secret: EcSigningKey,
    /// The JWK as published: the file's entry without `d`, `key_ops` reduced to `verify`.
    public_jwk: Value,
}

/// Every key of a signing-keys file, in file order.
#[derive(Clone)]
pub struct SigningKeys {
    keys: Vec<SigningKey>,
}

impl SigningKeys {
    /// Parses the file's text; `source` names the file in error messages.
    pub fn parse(text: &str, source: &str) -> Result<SigningKeys, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("{source} is not JSON: {e}"))?;
        let Value::Array(entries) = value else {
            return Err(format!("{source} must be a JSON array of private JWKs (the Supabase CLI's signing_keys_path format)"));
        };
        if entries.is_empty() {
            return Err(format!("{source} holds no keys"));
        }
        let keys = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                parse_key(entry).map_err(|e| format!("{source}, key {index}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SigningKeys { keys })
    }

    /// The key that signs (index 0).
    pub fn signing(&self) -> &SigningKey {
        &self.keys[0]
    }

    /// The public JWKS document: every key of the file, in file order.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.public_keys() })
    }

    pub fn public_keys(&self) -> Vec<Value> {
        self.keys.iter().map(|k| k.public_jwk.clone()).collect()
    }
}

fn parse_key(entry: &Value) -> Result<SigningKey, String> {
    let Value::Object(fields) = entry else {
        return Err("is not a JSON object".into());
    };
    let text = |name: &str| fields.get(name).and_then(Value::as_str);
    if text("kty") != Some("EC") || text("crv") != Some("P-256") {
        return Err("only EC P-256 keys (ES256) are supported".into());
    }
    if let Some(alg) = text("alg") {
        if alg != "ES256" {
            return Err(format!("alg is {alg}, expected ES256"));
        }
    }
    let kid = text("kid")
        .filter(|k| !k.is_empty())
        .ok_or("has no kid")?
        .to_string();
    let coordinate = |name: &str| -> Result<Vec<u8>, String> {
        let encoded = text(name).ok_or(format!("has no {name}"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| format!("{name} is not base64url without padding"))?;
        if bytes.len() != 32 {
            return Err(format!("{name} must be 32 bytes, got {}", bytes.len()));
        }
        Ok(bytes)
    };
    let d = coordinate("d")?;
    let secret = EcSigningKey::from_slice(&d)
        .map_err(|_| "d is not a valid P-256 private key".to_string())?;
    let point = secret.verifying_key().to_encoded_point(false);
    if point.x().map(|x| x.as_slice()) != Some(coordinate("x")?.as_slice())
        || point.y().map(|y| y.as_slice()) != Some(coordinate("y")?.as_slice())
    {
        return Err("x and y do not belong to d (a corrupted or hand-edited file?)".into());
    }
    let mut public: Map<String, Value> = fields.clone();
    public.remove("d");
    public.insert("key_ops".into(), json!(["verify"]));
    Ok(SigningKey {
        kid,
        secret,
        public_jwk: Value::Object(public),
    })
}

/// How role tokens are signed: ES256 with a key from the file (its `kid` in the header), or
/// HS256 with the legacy JWT secret.
pub enum TokenSigner {
    Es256(SigningKey),
    Hs256(Vec<u8>),
}

impl TokenSigner {
    pub fn sign(&self, claims: &Value) -> String {
        let header = match self {
            TokenSigner::Es256(key) => json!({ "alg": "ES256", "typ": "JWT", "kid": key.kid }),
            TokenSigner::Hs256(_) => json!({ "alg": "HS256", "typ": "JWT" }),
        };
        let signing_input = format!("{}.{}", encode_json(&header), encode_json(claims));
        let signature = match self {
            TokenSigner::Es256(key) => {
                let signature: Signature = key.secret.sign(signing_input.as_bytes());
                signature.to_bytes().to_vec()
            }
            TokenSigner::Hs256(secret) => {
                // HMAC accepts keys of any length, so this cannot fail.
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
                mac.update(signing_input.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
        };
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

fn encode_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The claims of the role token standing for an API key: what Supabase's self-hosted gateway
/// pre-signs for its publishable and secret keys (`role`, `iss` "supabase", `iat`, `exp`).
pub fn api_key_claims(role: &str, issued_at: u64, lifetime_secs: u64) -> Value {
    json!({ "role": role, "iss": "supabase", "iat": issued_at, "exp": issued_at + lifetime_secs })
}

/// The legacy JWT secret as a JWK, the way Supabase lists it in the JWKS PostgREST verifies
/// with while a project still accepts HS256 tokens. Never published at /auth/v1.
pub fn legacy_secret_jwk(secret: &str) -> Value {
    json!({ "kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret), "alg": "HS256" })
}

/// The role tokens standing for API keys, minted once and reused until half their lifetime is
/// gone, so a request pays for a signature at most once an hour per role.
pub struct RoleTokens {
    signer: TokenSigner,
    minted: Mutex<HashMap<&'static str, (String, u64)>>,
}

impl RoleTokens {
    const LIFETIME_SECS: u64 = 3600;

    pub fn new(signer: TokenSigner) -> RoleTokens {
        RoleTokens {
            signer,
            minted: Mutex::new(HashMap::new()),
        }
    }

    /// A token for `role` valid for at least another half hour.
    pub fn for_role(&self, role: &'static str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut minted = self
            .minted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((token, expires)) = minted.get(role) {
            if *expires > now + Self::LIFETIME_SECS / 2 {
                return token.clone();
            }
        }
        let token = self
            .signer
            .sign(&api_key_claims(role, now, Self::LIFETIME_SECS));
        minted.insert(role, (token.clone(), now + Self::LIFETIME_SECS));
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    /// A key pair as `supabase gen signing-key --algorithm ES256` prints it (generated for these
    /// tests only).
    fn sample_file() -> String {
        let secret = EcSigningKey::from_slice(&[7u8; 32]).unwrap();
        let point = secret.verifying_key().to_encoded_point(false);
        let entry = |kid: &str| {
            json!({
                "kty": "EC", "kid": kid, "use": "sig", "key_ops": ["sign", "verify"], "alg": "ES256", "ext": true,
                "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
                "d": URL_SAFE_NO_PAD.encode([7u8; 32]),
            })
        };
        json!([
            entry("11111111-1111-4111-8111-111111111111"),
            entry("22222222-2222-4222-8222-222222222222")
        ])
        .to_string()
    }

    #[test]
    fn jwks_publishes_every_key_without_the_private_part() {
        let keys = SigningKeys::parse(&sample_file(), "keys.json").unwrap();
        let jwks = keys.jwks();
        let published = jwks["keys"].as_array().unwrap();
        assert_eq!(published.len(), 2);
        for key in published {
            assert!(key.get("d").is_none(), "d must never be published: {key}");
            assert_eq!(key["key_ops"], json!(["verify"]));
            assert_eq!(key["alg"], "ES256");
        }
        assert_eq!(published[1]["kid"], "22222222-2222-4222-8222-222222222222");
        assert_eq!(keys.signing().kid, "11111111-1111-4111-8111-111111111111");
    }

    #[test]
    fn malformed_files_are_refused_with_the_reason() {
        let cases = [
            ("{}", "JSON array"),
            ("[]", "no keys"),
            ("not json", "not JSON"),
            (r#"[{"kty":"RSA"}]"#, "EC P-256"),
            (r#"[{"kty":"EC","crv":"P-256","alg":"ES256"}]"#, "no kid"),
            (
                r#"[{"kty":"EC","crv":"P-256","kid":"a","d":"AAAA","x":"AAAA","y":"AAAA"}]"#,
                "32 bytes",
            ),
        ];
        for (text, expected) in cases {
            let error = SigningKeys::parse(text, "keys.json").err().unwrap();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.starts_with("keys.json"), "{error}");
        }
        let mut tampered: Value = serde_json::from_str(&sample_file()).unwrap();
        tampered[0]["x"] = json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
        let error = SigningKeys::parse(&tampered.to_string(), "keys.json")
            .err()
            .unwrap();
        assert!(error.contains("do not belong to d"), "{error}");
    }

    #[test]
    fn es256_tokens_verify_with_the_published_key_and_name_its_kid() {
        let keys = SigningKeys::parse(&sample_file(), "keys.json").unwrap();
        let signer = TokenSigner::Es256(keys.signing().clone());
        let token = signer.sign(&api_key_claims("service_role", 1_700_000_000, 3600));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            json!({"alg": "ES256", "typ": "JWT", "kid": keys.signing().kid})
        );
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims,
            json!({"role": "service_role", "iss": "supabase", "iat": 1_700_000_000u64, "exp": 1_700_003_600u64})
        );

        let public = &keys.jwks()["keys"][0];
        let mut sec1 = vec![4u8];
        sec1.extend(
            URL_SAFE_NO_PAD
                .decode(public["x"].as_str().unwrap())
                .unwrap(),
        );
        sec1.extend(
            URL_SAFE_NO_PAD
                .decode(public["y"].as_str().unwrap())
                .unwrap(),
        );
        let verifier = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        verifier
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
        assert!(verifier.verify(b"something else", &signature).is_err());
    }

    #[test]
    fn hs256_tokens_match_an_independent_implementation() {
        let secret = "super-secret-jwt-token-with-at-least-32-characters-long";
        let token =
            TokenSigner::Hs256(secret.as_bytes().to_vec()).sign(&api_key_claims("anon", 10, 20));
        let decoded = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
            &{
                let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
                v.validate_exp = false;
                v.required_spec_claims.clear();
                v
            },
        )
        .unwrap();
        assert_eq!(decoded.claims["role"], "anon");
    }

    #[test]
    fn the_legacy_secret_becomes_an_oct_jwk() {
        assert_eq!(
            legacy_secret_jwk("abc"),
            json!({"kty": "oct", "k": "YWJj", "alg": "HS256"})
        );
    }

    #[test]
    fn role_tokens_are_reused_and_carry_their_role() {
        let tokens = RoleTokens::new(TokenSigner::Hs256(
            b"super-secret-jwt-token-with-at-least-32-characters-long".to_vec(),
        ));
        let anon = tokens.for_role("anon");
        assert_eq!(tokens.for_role("anon"), anon, "minted once, then reused");
        let service = tokens.for_role("service_role");
        assert_ne!(service, anon);
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(service.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["role"], "service_role");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3600
        );
    }
}
