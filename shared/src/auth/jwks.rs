//! A JSON Web Key Set (RFC 7517) reduced to the keys this project can verify with: RSA keys for
//! RS256 and P-256 keys for ES256. Supabase serves it at `<issuer>/.well-known/jwks.json`.
//! Keys of other types, curves or algorithms, and encryption keys, are skipped rather than
//! failing the whole set, so a provider adding a new key type does not lock every user out.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

use super::AuthError;

/// RSA moduli shorter than this (2048 bits) are too weak to trust and are skipped.
const MIN_RSA_MODULUS_BYTES: usize = 256;
const P256_COORDINATE_BYTES: usize = 32;

#[derive(Clone)]
pub struct Jwks {
    keys: Vec<PublicKey>,
}

#[derive(Clone)]
struct PublicKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<Value>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    public_key_use: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

impl Jwks {
    /// Parses a JWKS document. The error is a short reason fit for a log line (the document is
    /// public, but the reason never quotes it).
    pub fn from_json(document: &str) -> Result<Jwks, String> {
        let set: RawKeySet = serde_json::from_str(document)
            .map_err(|_| "the JWKS is not a JSON object with a `keys` array".to_string())?;
        let keys = set
            .keys
            .into_iter()
            .filter_map(|raw| serde_json::from_value::<RawKey>(raw).ok())
            .filter_map(PublicKey::from_raw)
            .collect();
        Ok(Jwks { keys })
    }

    /// Number of usable keys (skipped ones are not counted).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `kid`s of the usable keys, for health reports and logs.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|key| key.kid.as_deref())
    }

    /// The key a token signed with `algorithm` must verify against. A `kid` must name a key of
    /// the same type (anything else is algorithm confusion); a token without a `kid` may use
    /// the set's only key of that type.
    pub(super) fn select(
        &self,
        algorithm: Algorithm,
        kid: Option<&str>,
    ) -> Result<&DecodingKey, AuthError> {
        match kid {
            Some(kid) => {
                let key = self
                    .keys
                    .iter()
                    .find(|key| key.kid.as_deref() == Some(kid))
                    .ok_or(AuthError::UnknownKeyId)?;
                if key.algorithm == algorithm {
                    Ok(&key.key)
                } else {
                    Err(AuthError::AlgorithmNotAllowed)
                }
            }
            None => {
                let mut candidates = self.keys.iter().filter(|key| key.algorithm == algorithm);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Ok(&only.key),
                    _ => Err(AuthError::UnknownKeyId),
                }
            }
        }
    }
}

impl PublicKey {
    fn from_raw(raw: RawKey) -> Option<PublicKey> {
        if raw
            .public_key_use
            .as_deref()
            .is_some_and(|key_use| key_use != "sig")
        {
            return None;
        }
        let (algorithm, key) = match raw.kty.as_str() {
            "RSA" => (Algorithm::RS256, rsa_key(&raw)?),
            "EC" => (Algorithm::ES256, p256_key(&raw)?),
            _ => return None,
        };
        let declared_matches = match raw.alg.as_deref() {
            None => true,
            Some("RS256") => algorithm == Algorithm::RS256,
            Some("ES256") => algorithm == Algorithm::ES256,
            Some(_) => false,
        };
        declared_matches.then_some(PublicKey {
            kid: raw.kid,
            algorithm,
            key,
        })
    }
}

fn rsa_key(raw: &RawKey) -> Option<DecodingKey> {
    let modulus = URL_SAFE_NO_PAD.decode(raw.n.as_deref()?).ok()?;
    let exponent = URL_SAFE_NO_PAD.decode(raw.e.as_deref()?).ok()?;
    let significant = modulus.iter().skip_while(|byte| **byte == 0).count();
    if significant < MIN_RSA_MODULUS_BYTES || exponent.is_empty() {
        return None;
    }
    Some(DecodingKey::from_rsa_raw_components(&modulus, &exponent))
}

fn p256_key(raw: &RawKey) -> Option<DecodingKey> {
    if raw.crv.as_deref() != Some("P-256") {
        return None;
    }
    let x = raw.x.as_deref()?;
    let y = raw.y.as_deref()?;
    let coordinate_ok = |encoded: &str| {
        URL_SAFE_NO_PAD
            .decode(encoded)
            .is_ok_and(|bytes| bytes.len() == P256_COORDINATE_BYTES)
    };
    if !(coordinate_ok(x) && coordinate_ok(y)) {
        return None;
    }
    DecodingKey::from_ec_components(x, y).ok()
}
