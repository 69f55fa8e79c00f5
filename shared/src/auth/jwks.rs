//! A JSON Web Key Set (RFC 7517) reduced to the keys this project can verify with: RSA keys for
//! RS256 and P-256 keys for ES256. Supabase serves it at `<issuer>/.well-known/jwks.json`.
//! Keys of other types, curves or algorithms, and encryption keys, are skipped rather than
//! failing the whole set, so a provider adding a new key type does not lock every user out.
//!
//! Each key is converted for the verifying backend (imported into WebCrypto on Workers) the
//! first time a token needs it, and kept as long as the set is cached.

use serde::Deserialize;
use serde_json::Value;

use super::backend::PublicKey;
use super::jwk::{Algorithm, PrivateJwk, RawJwk};
use super::AuthError;

pub struct Jwks {
    keys: Vec<JwksKey>,
}

struct JwksKey {
    kid: Option<String>,
    key: PublicKey,
}

#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<Value>,
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
            .filter_map(|raw| serde_json::from_value::<RawJwk>(raw).ok())
            .filter_map(|raw| {
                let material = raw.verifying_material()?;
                Some(JwksKey {
                    kid: raw.kid,
                    key: PublicKey::new(material),
                })
            })
            .collect();
        Ok(Jwks { keys })
    }

    /// The set holding only the public half of `private`, under its `kid`: what verifies the
    /// tokens signed with it.
    pub fn of_private_key(private: &PrivateJwk) -> Jwks {
        Jwks {
            keys: vec![JwksKey {
                kid: Some(private.kid().to_string()),
                key: PublicKey::new(private.material().public()),
            }],
        }
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

    /// Whether the set holds a key named `kid`.
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| key.kid.as_deref() == Some(kid))
    }

    /// The key a token signed with `algorithm` must verify against. A `kid` must name a key of
    /// the same type (anything else is algorithm confusion); a token without a `kid` may use
    /// the set's only key of that type.
    pub(super) fn select(
        &self,
        algorithm: Algorithm,
        kid: Option<&str>,
    ) -> Result<&PublicKey, AuthError> {
        match kid {
            Some(kid) => {
                let key = self
                    .keys
                    .iter()
                    .find(|key| key.kid.as_deref() == Some(kid))
                    .ok_or(AuthError::UnknownKeyId)?;
                if key.key.algorithm() == algorithm {
                    Ok(&key.key)
                } else {
                    Err(AuthError::AlgorithmNotAllowed)
                }
            }
            None => {
                let mut candidates = self
                    .keys
                    .iter()
                    .filter(|key| key.key.algorithm() == algorithm);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Ok(&only.key),
                    _ => Err(AuthError::UnknownKeyId),
                }
            }
        }
    }
}
