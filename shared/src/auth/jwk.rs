//! JSON Web Keys (RFC 7517, RFC 7518 section 6) reduced to what this project signs and verifies
//! with: P-256 keys for ES256 and RSA keys of at least 2048 bits for RS256.
//!
//! Public keys come from a JWKS (`<issuer>/.well-known/jwks.json`); a private key is the one JWK
//! `supabase gen signing-key --algorithm ES256` (or `RS256`) prints, which the Worker signs its
//! role tokens with. Everything here is decoding and checking; the signatures themselves are
//! computed by a backend (`super::backend`).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

/// RSA moduli shorter than this (2048 bits) are too weak to trust and are skipped.
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// RustCrypto's `rsa` refuses moduli above 4096 bits; so do we, on every backend alike.
const MAX_RSA_MODULUS_BYTES: usize = 512;
const P256_COORDINATE_BYTES: usize = 32;

/// The algorithms a token may be signed with here (the `alg` header, RFC 7518 section 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Hs256,
    Rs256,
    Es256,
}

impl Algorithm {
    /// The name in a JWS header.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Hs256 => "HS256",
            Algorithm::Rs256 => "RS256",
            Algorithm::Es256 => "ES256",
        }
    }

    /// The algorithm a header names, matched exactly (`none`, `hs256` and the rest are not).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "HS256" => Some(Algorithm::Hs256),
            "RS256" => Some(Algorithm::Rs256),
            "ES256" => Some(Algorithm::Es256),
            _ => None,
        }
    }
}

/// The public half of an asymmetric key, decoded and checked. Big-endian integers as JWKs carry
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKeyMaterial {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    P256 {
        x: [u8; P256_COORDINATE_BYTES],
        y: [u8; P256_COORDINATE_BYTES],
    },
}

impl PublicKeyMaterial {
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKeyMaterial::Rsa { .. } => Algorithm::Rs256,
            PublicKeyMaterial::P256 { .. } => Algorithm::Es256,
        }
    }
}

/// A private key the Worker signs with: the public parts plus the secret ones.
pub(crate) enum PrivateKeyMaterial {
    P256 {
        x: [u8; P256_COORDINATE_BYTES],
        y: [u8; P256_COORDINATE_BYTES],
        d: Zeroizing<Vec<u8>>,
    },
    /// The CRT parameters are required: WebCrypto refuses an RSA private JWK without them
    /// (RustCrypto, natively, computes its own from `p` and `q`).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        d: Zeroizing<Vec<u8>>,
        p: Zeroizing<Vec<u8>>,
        q: Zeroizing<Vec<u8>>,
        dp: Zeroizing<Vec<u8>>,
        dq: Zeroizing<Vec<u8>>,
        qi: Zeroizing<Vec<u8>>,
    },
}

impl PrivateKeyMaterial {
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PrivateKeyMaterial::P256 { .. } => Algorithm::Es256,
            PrivateKeyMaterial::Rsa { .. } => Algorithm::Rs256,
        }
    }

    pub fn public(&self) -> PublicKeyMaterial {
        match self {
            PrivateKeyMaterial::P256 { x, y, .. } => PublicKeyMaterial::P256 { x: *x, y: *y },
            PrivateKeyMaterial::Rsa { n, e, .. } => PublicKeyMaterial::Rsa {
                n: n.clone(),
                e: e.clone(),
            },
        }
    }
}

/// A private JWK with its `kid`, as the Worker's `JWT_SIGNING_KEY` holds it.
pub struct PrivateJwk {
    kid: String,
    material: PrivateKeyMaterial,
}

impl PrivateJwk {
    /// Parses the key from the JSON `supabase gen signing-key` prints: one JWK object, or an
    /// array holding exactly one (the shape of a signing-keys file with one key). The error is
    /// a short reason naming the field at fault, never quoting the key.
    pub fn from_json(text: &str) -> Result<PrivateJwk, String> {
        let value: Value = serde_json::from_str(text).map_err(|_| {
            "is not JSON: paste the private JWK `supabase gen signing-key` prints".to_string()
        })?;
        let object = match value {
            Value::Array(mut keys) if keys.len() == 1 => keys.remove(0),
            Value::Array(_) => {
                return Err("must hold exactly one key, not an array of several".into())
            }
            other => other,
        };
        let raw: RawJwk = serde_json::from_value(object).map_err(|_| {
            "is not a JWK: a JSON object with string fields `kty`, `kid`, ...".to_string()
        })?;
        let kid = raw
            .kid
            .clone()
            .filter(|kid| !kid.trim().is_empty())
            .ok_or("has no `kid`: PostgREST picks the verifying key by it")?;
        if raw
            .key_use
            .as_deref()
            .is_some_and(|key_use| key_use != "sig")
        {
            return Err("is not a signing key (`use` is not \"sig\")".into());
        }
        if raw
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|op| op == "sign"))
        {
            return Err("does not allow signing (`key_ops` lacks \"sign\")".into());
        }
        let public = raw.public_material().ok_or(
            "is neither a P-256 key (ES256) nor an RSA key of 2048 to 4096 bits (RS256) with valid public parts",
        )?;
        if !raw.declared_algorithm_matches(public.algorithm()) {
            return Err("declares an `alg` that does not fit its key type".into());
        }
        let secret = |field: &Option<String>, name: &str| -> Result<Zeroizing<Vec<u8>>, String> {
            field
                .as_deref()
                .and_then(|encoded| URL_SAFE_NO_PAD.decode(encoded).ok())
                .filter(|bytes| !bytes.is_empty())
                .map(Zeroizing::new)
                .ok_or_else(|| {
                    format!("lacks the private part `{name}` (base64url): is this the public key?")
                })
        };
        let material = match public {
            PublicKeyMaterial::P256 { x, y } => {
                let d = secret(&raw.d, "d")?;
                if d.len() != P256_COORDINATE_BYTES {
                    return Err("has a `d` of the wrong length for P-256".into());
                }
                PrivateKeyMaterial::P256 { x, y, d }
            }
            PublicKeyMaterial::Rsa { n, e } => PrivateKeyMaterial::Rsa {
                n,
                e,
                d: secret(&raw.d, "d")?,
                p: secret(&raw.p, "p")?,
                q: secret(&raw.q, "q")?,
                dp: secret(&raw.dp, "dp")?,
                dq: secret(&raw.dq, "dq")?,
                qi: secret(&raw.qi, "qi")?,
            },
        };
        Ok(PrivateJwk { kid, material })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> Algorithm {
        self.material.algorithm()
    }

    pub(crate) fn material(&self) -> &PrivateKeyMaterial {
        &self.material
    }
}

/// Names the key, never its secret parts.
impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateJwk")
            .field("kid", &self.kid)
            .field("alg", &self.algorithm().name())
            .finish_non_exhaustive()
    }
}

/// One JWK as published, every field optional so one odd key cannot fail a whole set.
#[derive(Deserialize)]
pub(crate) struct RawJwk {
    kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
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
    #[serde(default)]
    d: Option<String>,
    #[serde(default)]
    p: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    dp: Option<String>,
    #[serde(default)]
    dq: Option<String>,
    #[serde(default)]
    qi: Option<String>,
}

impl RawJwk {
    /// The key a JWKS entry verifies with, or `None` when it is not one this project can use
    /// for signatures: another type or curve, too short, an encryption key, a key whose
    /// `key_ops` exclude verifying, or one whose declared `alg` does not fit its type.
    pub fn verifying_material(&self) -> Option<PublicKeyMaterial> {
        if self
            .key_use
            .as_deref()
            .is_some_and(|key_use| key_use != "sig")
        {
            return None;
        }
        if self
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
        {
            return None;
        }
        let material = self.public_material()?;
        self.declared_algorithm_matches(material.algorithm())
            .then_some(material)
    }

    fn public_material(&self) -> Option<PublicKeyMaterial> {
        match self.kty.as_str() {
            "RSA" => {
                let n = strip_leading_zeros(decode(self.n.as_deref()?)?);
                let e = strip_leading_zeros(decode(self.e.as_deref()?)?);
                let modulus_ok = (MIN_RSA_MODULUS_BYTES..=MAX_RSA_MODULUS_BYTES).contains(&n.len());
                (modulus_ok && !e.is_empty() && e.len() <= 8)
                    .then_some(PublicKeyMaterial::Rsa { n, e })
            }
            "EC" if self.crv.as_deref() == Some("P-256") => Some(PublicKeyMaterial::P256 {
                x: decode(self.x.as_deref()?)?.try_into().ok()?,
                y: decode(self.y.as_deref()?)?.try_into().ok()?,
            }),
            _ => None,
        }
    }

    fn declared_algorithm_matches(&self, algorithm: Algorithm) -> bool {
        self.alg
            .as_deref()
            .is_none_or(|declared| Algorithm::from_name(declared) == Some(algorithm))
    }
}

fn decode(encoded: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(encoded).ok()
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|byte| **byte == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// base64url without padding, as every JWK field is written.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
