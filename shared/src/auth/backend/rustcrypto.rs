//! ES256 and RS256 in pure Rust: `p256` (ECDSA over P-256 with SHA-256, signatures as raw
//! `r || s`, RFC 7518 section 3.4) and `rsa` (RSASSA-PKCS1-v1_5 with SHA-256).

use p256::ecdsa::signature::{Signer, Verifier};
use rsa::{BigUint, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::auth::jwk::{PrivateKeyMaterial, PublicKeyMaterial};

pub(super) enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    Rsa(RsaPublicKey),
}

impl PublicKey {
    /// Fails for a point that is not on the curve or an RSA key `rsa` refuses.
    pub fn new(material: &PublicKeyMaterial) -> Result<PublicKey, String> {
        match material {
            PublicKeyMaterial::P256 { x, y } => {
                let point = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
                p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map(PublicKey::P256)
                    .map_err(|_| "the P-256 point is not on the curve".to_string())
            }
            PublicKeyMaterial::Rsa { n, e } => {
                RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e))
                    .map(PublicKey::Rsa)
                    .map_err(|error| format!("the RSA key is not usable: {error}"))
            }
        }
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::P256(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|signature| key.verify(message, &signature).is_ok()),
            PublicKey::Rsa(key) => key
                .verify(
                    Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(message),
                    signature,
                )
                .is_ok(),
        }
    }
}

/// Native builds sign with these; on wasm32 WebCrypto signs.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(super) enum PrivateKey {
    P256(p256::ecdsa::SigningKey),
    Rsa(Box<RsaPrivateKey>),
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
impl PrivateKey {
    /// Fails for a key whose parts do not belong together.
    pub fn new(material: &PrivateKeyMaterial) -> Result<PrivateKey, String> {
        match material {
            PrivateKeyMaterial::P256 { d, .. } => {
                let key = p256::ecdsa::SigningKey::from_slice(d)
                    .map_err(|_| "the P-256 private key `d` is not a valid scalar".to_string())?;
                match PublicKey::new(&material.public())? {
                    PublicKey::P256(expected) if &expected == key.verifying_key() => {
                        Ok(PrivateKey::P256(key))
                    }
                    _ => Err("the private key `d` does not match its public `x`/`y`".to_string()),
                }
            }
            PrivateKeyMaterial::Rsa { n, e, d, p, q, .. } => {
                let key = RsaPrivateKey::from_components(
                    BigUint::from_bytes_be(n),
                    BigUint::from_bytes_be(e),
                    BigUint::from_bytes_be(d),
                    vec![BigUint::from_bytes_be(p), BigUint::from_bytes_be(q)],
                )
                .map_err(|_| "the RSA private key's parts do not form a valid key".to_string())?;
                Ok(PrivateKey::Rsa(Box::new(key)))
            }
        }
    }

    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            PrivateKey::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                Ok(signature.to_bytes().to_vec())
            }
            PrivateKey::Rsa(key) => key
                .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
                .map_err(|error| format!("RSA signing failed: {error}")),
        }
    }
}
