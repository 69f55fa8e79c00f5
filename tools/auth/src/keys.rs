//! Keys: the signing-keys file (the Supabase CLI's `signing_keys_path` format, a JSON array of
//! private JWKs), signing access tokens (ES256 with key 0 and its `kid`, or HS256 with the legacy
//! secret), verifying the tokens callers present (any key of the file by `kid`; HS256 with the
//! legacy secret when there is no `kid`, as GoTrue does), and the public JWKS document.

use std::collections::HashMap;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::ecdsa::signature::Signer as _;
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::settings::{KeyMode, Settings};

/// Members of a JWK that are private key material and never leave the file.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

enum Signer {
    Es256 {
        kid: String,
        key: p256::ecdsa::SigningKey,
    },
    Hs256 {
        secret: Vec<u8>,
    },
}

impl Signer {
    /// ES256 as JWS wants it (r || s, 64 bytes), or the HMAC-SHA256 tag.
    fn signature(&self, input: &[u8]) -> Vec<u8> {
        match self {
            Signer::Es256 { key, .. } => {
                let signature: p256::ecdsa::Signature = key.sign(input);
                signature.to_bytes().to_vec()
            }
            Signer::Hs256 { secret } => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
                mac.update(input);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }
}

pub struct KeyRing {
    signer: Signer,
    by_kid: HashMap<String, (Algorithm, DecodingKey)>,
    legacy_secret: Option<DecodingKey>,
    jwks: Value,
}

impl KeyRing {
    /// Loads the keys the settings name: the file (when set) and the legacy secret (when set).
    pub fn load(settings: &Settings) -> Result<Self, String> {
        let file_keys = match &settings.signing_keys_file {
            Some(path) => read_keys_file(path)?,
            None => Vec::new(),
        };
        Self::from_parts(
            &file_keys,
            settings.jwt_secret.as_deref(),
            settings.key_mode,
        )
    }

    pub fn from_parts(
        file_keys: &[Map<String, Value>],
        legacy_secret: Option<&str>,
        mode: KeyMode,
    ) -> Result<Self, String> {
        let mut by_kid = HashMap::new();
        let mut public = Vec::new();
        for (index, jwk) in file_keys.iter().enumerate() {
            let kid = member(jwk, "kid").ok_or(format!("signing key {index} has no kid"))?;
            let verifier = match member(jwk, "kty") {
                Some("EC") => {
                    if member(jwk, "crv") != Some("P-256") {
                        return Err(format!("signing key {index} ({kid}): only EC keys on P-256 (ES256) are supported"));
                    }
                    let (x, y) = (
                        member(jwk, "x").unwrap_or(""),
                        member(jwk, "y").unwrap_or(""),
                    );
                    (
                        Algorithm::ES256,
                        DecodingKey::from_ec_components(x, y)
                            .map_err(|e| format!("signing key {index} ({kid}): {e}"))?,
                    )
                }
                Some("RSA") => {
                    let (n, e) = (
                        member(jwk, "n").unwrap_or(""),
                        member(jwk, "e").unwrap_or(""),
                    );
                    (
                        Algorithm::RS256,
                        DecodingKey::from_rsa_components(n, e)
                            .map_err(|e| format!("signing key {index} ({kid}): {e}"))?,
                    )
                }
                other => {
                    return Err(format!(
                    "signing key {index} ({kid}): key type {other:?} is not supported (EC or RSA)"
                ))
                }
            };
            by_kid.insert(kid.to_string(), verifier);
            public.push(public_jwk(jwk));
        }
        let signer = match mode {
            KeyMode::Signing => {
                let first = file_keys
                    .first()
                    .ok_or("the signing-keys file has no keys; signing mode signs with key 0")?;
                es256_signer(first)?
            }
            KeyMode::Legacy => Signer::Hs256 {
                secret: legacy_secret
                    .ok_or("legacy mode needs the JWT secret")?
                    .as_bytes()
                    .to_vec(),
            },
        };
        Ok(KeyRing {
            signer,
            by_kid,
            legacy_secret: legacy_secret.map(|s| DecodingKey::from_secret(s.as_bytes())),
            jwks: json!({ "keys": public }),
        })
    }

    /// The JWKS document: the public part of every key in the file.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// Signs `claims` as a compact JWT.
    pub fn sign(&self, claims: &Value) -> String {
        let header = match &self.signer {
            Signer::Es256 { kid, .. } => json!({ "alg": "ES256", "kid": kid, "typ": "JWT" }),
            Signer::Hs256 { .. } => json!({ "alg": "HS256", "typ": "JWT" }),
        };
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.signer.signature(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Verifies a token's signature and expiry and returns its claims. The error text follows
    /// GoTrue's (golang-jwt's) wording, e.g. "token has invalid claims: token is expired".
    pub fn verify(&self, token: &str) -> Result<Value, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("token is malformed: {e}"))?;
        let (algorithm, key) = match (&header.kid, header.alg) {
            (Some(kid), _) => {
                let (algorithm, key) = self
                    .by_kid
                    .get(kid)
                    .ok_or_else(|| format!("token is unverifiable: no key with kid {kid}"))?;
                (*algorithm, key)
            }
            (None, Algorithm::HS256) => (
                Algorithm::HS256,
                self.legacy_secret
                    .as_ref()
                    .ok_or("token is unverifiable: missing kid")?,
            ),
            (None, _) => return Err("token is unverifiable: missing kid".to_string()),
        };
        if header.alg != algorithm {
            return Err(format!(
                "token is unverifiable: signing method {:?} is invalid",
                header.alg
            ));
        }
        let mut validation = Validation::new(algorithm);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        jsonwebtoken::decode::<Value>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    "token has invalid claims: token is expired".to_string()
                }
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                    "token has invalid claims: token is not valid yet".to_string()
                }
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    "token signature is invalid".to_string()
                }
                jsonwebtoken::errors::ErrorKind::MissingRequiredClaim(claim) => {
                    format!("token has invalid claims: token is missing required claim: {claim}")
                }
                _ => format!("token is malformed: {e}"),
            })
    }
}

fn member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

fn public_jwk(jwk: &Map<String, Value>) -> Value {
    let mut public = jwk.clone();
    for name in PRIVATE_MEMBERS {
        public.remove(name);
    }
    public.insert("key_ops".to_string(), json!(["verify"]));
    Value::Object(public)
}

fn es256_signer(jwk: &Map<String, Value>) -> Result<Signer, String> {
    let kid = member(jwk, "kid").unwrap_or_default().to_string();
    if member(jwk, "kty") != Some("EC") || member(jwk, "crv") != Some("P-256") {
        return Err(format!(
            "signing key 0 ({kid}) must be an EC P-256 key to sign ES256 access tokens"
        ));
    }
    let d = member(jwk, "d").ok_or(format!("signing key 0 ({kid}) has no private part (d)"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(d)
        .map_err(|e| format!("signing key 0 ({kid}): d is not base64url: {e}"))?;
    let key = p256::ecdsa::SigningKey::from_slice(&bytes)
        .map_err(|e| format!("signing key 0 ({kid}): d is not a P-256 scalar: {e}"))?;
    Ok(Signer::Es256 { kid, key })
}

/// Reads the signing-keys file: a JSON array of JWK objects (a single object is accepted too).
pub fn read_keys_file(path: &Path) -> Result<Vec<Map<String, Value>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the signing-keys file {}: {e}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the signing-keys file {} is not JSON: {e}", path.display()))?;
    let items = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(format!(
                "the signing-keys file {} must hold a JSON array of JWKs",
                path.display()
            ))
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(map) => Ok(map),
            _ => Err(format!(
                "entry {i} of the signing-keys file {} is not a JWK object",
                path.display()
            )),
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A private JWK in the CLI's shape, from a fixed scalar so tests are repeatable.
    pub(crate) fn test_jwk(kid: &str, seed: u8) -> Map<String, Value> {
        let mut scalar = [seed; 32];
        scalar[0] = 1;
        let key = p256::ecdsa::SigningKey::from_slice(&scalar).unwrap();
        let point = key.verifying_key().to_encoded_point(false);
        let value = json!({
            "kty": "EC", "kid": kid, "use": "sig", "key_ops": ["sign", "verify"], "alg": "ES256", "ext": true,
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
            "d": URL_SAFE_NO_PAD.encode(scalar),
        });
        value.as_object().unwrap().clone()
    }

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

    fn claims(exp_offset: i64) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({ "sub": "u", "role": "authenticated", "exp": now + exp_offset, "iat": now })
    }

    #[test]
    fn es256_tokens_carry_the_kid_of_key_0_and_verify_through_any_file_key() {
        let keys = [test_jwk("k0", 7), test_jwk("k1", 9)];
        let ring = KeyRing::from_parts(&keys, None, KeyMode::Signing).unwrap();
        let token = ring.sign(&claims(60));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("k0"));
        assert_eq!(ring.verify(&token).unwrap()["sub"], "u");
        // A token signed with key 1 (as the Worker signs its role tokens) verifies too.
        let other =
            KeyRing::from_parts(&[keys[1].clone(), keys[0].clone()], None, KeyMode::Signing)
                .unwrap();
        assert!(ring.verify(&other.sign(&claims(60))).is_ok());
        // A key not in the file does not.
        let stranger = KeyRing::from_parts(&[test_jwk("k9", 3)], None, KeyMode::Signing).unwrap();
        assert!(ring
            .verify(&stranger.sign(&claims(60)))
            .unwrap_err()
            .contains("no key with kid k9"));
    }

    #[test]
    fn expired_tampered_and_kidless_non_hmac_tokens_are_refused() {
        let ring = KeyRing::from_parts(&[test_jwk("k0", 7)], None, KeyMode::Signing).unwrap();
        assert_eq!(
            ring.verify(&ring.sign(&claims(-1))).unwrap_err(),
            "token has invalid claims: token is expired"
        );
        let token = ring.sign(&claims(60));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(
            json!({"sub": "admin", "role": "service_role", "exp": 4_000_000_000u64}).to_string(),
        );
        parts[1] = &forged;
        assert_eq!(
            ring.verify(&parts.join(".")).unwrap_err(),
            "token signature is invalid"
        );
        // Without a legacy secret an HS256 token has nothing to verify against.
        let legacy = KeyRing::from_parts(&[], Some(SECRET), KeyMode::Legacy).unwrap();
        assert!(ring
            .verify(&legacy.sign(&claims(60)))
            .unwrap_err()
            .contains("missing kid"));
    }

    #[test]
    fn legacy_mode_signs_hs256_without_kid_and_signing_mode_still_accepts_the_secret_when_set() {
        let legacy = KeyRing::from_parts(&[], Some(SECRET), KeyMode::Legacy).unwrap();
        let token = legacy.sign(&claims(60));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid), (Algorithm::HS256, None));
        assert!(legacy.verify(&token).is_ok());
        let migrating =
            KeyRing::from_parts(&[test_jwk("k0", 7)], Some(SECRET), KeyMode::Signing).unwrap();
        assert!(migrating.verify(&token).is_ok());
    }

    #[test]
    fn the_jwks_has_every_public_key_and_no_private_member() {
        let ring = KeyRing::from_parts(
            &[test_jwk("k0", 7), test_jwk("k1", 9)],
            None,
            KeyMode::Signing,
        )
        .unwrap();
        let keys = ring.jwks()["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        for key in keys {
            assert!(key.get("d").is_none());
            assert_eq!(key["key_ops"], json!(["verify"]));
            assert_eq!(key["alg"], "ES256");
        }
        assert_eq!(keys[1]["kid"], "k1");
    }

    #[test]
    fn signing_mode_refuses_a_file_whose_first_key_cannot_sign() {
        let mut public_only = test_jwk("k0", 7);
        public_only.remove("d");
        assert!(KeyRing::from_parts(&[public_only], None, KeyMode::Signing)
            .err()
            .unwrap()
            .contains("no private part"));
        assert!(KeyRing::from_parts(&[], None, KeyMode::Signing)
            .err()
            .unwrap()
            .contains("no keys"));
    }
}
