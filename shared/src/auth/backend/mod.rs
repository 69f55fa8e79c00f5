//! Where signatures are computed and checked.
//!
//! Two implementations of the same operations:
//! - **WebCrypto** (`crypto.subtle`, wasm32 only): the runtime's native code. On Workers it
//!   verifies an ES256 token in a small fraction of the time the same maths takes compiled to
//!   Wasm, so it is the default there for ES256 and RS256, and signs the role tokens.
//! - **RustCrypto** (`p256`, `rsa`, `hmac`): pure Rust, the path of native builds and tests. On
//!   wasm32 its ES256/RS256 code is compiled only with the `rustcrypto` feature (the benchmark
//!   compares the two); its HMAC is always there.
//!
//! HS256 goes through RustCrypto's HMAC by default on every target: the `npm run bench` rows
//! `jwt_hs256` and `jwt_hs256_webcrypto` show it is the faster of the two on wasm32.
//!
//! Keys are converted for a backend once, on first use, and kept with the key (a JWKS entry
//! lives as long as the cached key set, the role-token key as long as the isolate).

use std::cell::OnceCell;

use zeroize::Zeroizing;

use super::jwk::{Algorithm, PrivateJwk, PublicKeyMaterial};
use crate::crypto::{constant_time_eq, hmac_sha256};

#[cfg(any(not(target_arch = "wasm32"), feature = "rustcrypto"))]
mod rustcrypto;
#[cfg(target_arch = "wasm32")]
mod webcrypto;

/// Which implementation computes a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Pure Rust. For ES256/RS256 on wasm32 only with the `rustcrypto` feature.
    RustCrypto,
    /// The runtime's `crypto.subtle`.
    #[cfg(target_arch = "wasm32")]
    WebCrypto,
}

impl Backend {
    /// The faster backend for ES256 and RS256 where the code runs.
    pub const ASYMMETRIC_DEFAULT: Backend = {
        #[cfg(target_arch = "wasm32")]
        {
            Backend::WebCrypto
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            Backend::RustCrypto
        }
    };
}

/// A public key (RS256 or ES256), converted for a backend on first use.
pub(crate) struct PublicKey {
    material: PublicKeyMaterial,
    #[cfg(any(not(target_arch = "wasm32"), feature = "rustcrypto"))]
    rustcrypto: OnceCell<Option<rustcrypto::PublicKey>>,
    #[cfg(target_arch = "wasm32")]
    webcrypto: OnceCell<web_sys::CryptoKey>,
}

impl PublicKey {
    pub fn new(material: PublicKeyMaterial) -> PublicKey {
        PublicKey {
            material,
            #[cfg(any(not(target_arch = "wasm32"), feature = "rustcrypto"))]
            rustcrypto: OnceCell::new(),
            #[cfg(target_arch = "wasm32")]
            webcrypto: OnceCell::new(),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        self.material.algorithm()
    }

    /// Whether `signature` is this key's signature of `message`. A key the backend cannot use
    /// verifies nothing.
    pub async fn verify(&self, backend: Backend, message: &[u8], signature: &[u8]) -> bool {
        match backend {
            Backend::RustCrypto => self.verify_rustcrypto(message, signature),
            #[cfg(target_arch = "wasm32")]
            Backend::WebCrypto => {
                let import = || webcrypto::import_public(&self.material);
                match webcrypto::imported(&self.webcrypto, import).await {
                    Ok(key) => webcrypto::verify(self.algorithm(), &key, message, signature)
                        .await
                        .unwrap_or(false),
                    Err(_) => false,
                }
            }
        }
    }

    #[cfg(any(not(target_arch = "wasm32"), feature = "rustcrypto"))]
    fn verify_rustcrypto(&self, message: &[u8], signature: &[u8]) -> bool {
        self.rustcrypto
            .get_or_init(|| rustcrypto::PublicKey::new(&self.material).ok())
            .as_ref()
            .is_some_and(|key| key.verify(message, signature))
    }

    /// This build has no RustCrypto ES256/RS256 code (wasm32 without the `rustcrypto`
    /// feature), so nothing verifies through it.
    #[cfg(all(target_arch = "wasm32", not(feature = "rustcrypto")))]
    fn verify_rustcrypto(&self, _message: &[u8], _signature: &[u8]) -> bool {
        false
    }
}

/// Signed and verified once when a private key is first imported into WebCrypto.
#[cfg(target_arch = "wasm32")]
const KEY_CHECK_MESSAGE: &[u8] = b"rls-edge: does this private key match its public part?";

/// The private key of an asymmetric signer, converted for the platform's backend on first use.
pub(crate) struct PrivateKey {
    jwk: PrivateJwk,
    #[cfg(not(target_arch = "wasm32"))]
    rustcrypto: OnceCell<rustcrypto::PrivateKey>,
    #[cfg(target_arch = "wasm32")]
    webcrypto: OnceCell<web_sys::CryptoKey>,
}

impl PrivateKey {
    pub fn new(jwk: PrivateJwk) -> PrivateKey {
        PrivateKey {
            jwk,
            #[cfg(not(target_arch = "wasm32"))]
            rustcrypto: OnceCell::new(),
            #[cfg(target_arch = "wasm32")]
            webcrypto: OnceCell::new(),
        }
    }

    pub fn jwk(&self) -> &PrivateJwk {
        &self.jwk
    }

    /// Imports the key into WebCrypto, which may accept a `d` that does not belong to `x`/`y`
    /// (PostgREST would then refuse every token): one signature made and checked says so here.
    #[cfg(target_arch = "wasm32")]
    async fn import_checked(&self) -> Result<web_sys::CryptoKey, String> {
        let key = webcrypto::import_private(self.jwk.material()).await?;
        let public = PublicKey::new(self.jwk.material().public());
        let probe = webcrypto::sign(self.jwk.algorithm(), &key, KEY_CHECK_MESSAGE).await?;
        if public
            .verify(Backend::WebCrypto, KEY_CHECK_MESSAGE, &probe)
            .await
        {
            Ok(key)
        } else {
            Err("the private key does not match its public part".to_string())
        }
    }

    /// The JWS signature of `message` (raw `r || s` for ES256, PKCS#1 v1.5 for RS256), with
    /// WebCrypto on wasm32 and RustCrypto natively. The error is a short reason for the log.
    pub async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        #[cfg(target_arch = "wasm32")]
        {
            let key = webcrypto::imported(&self.webcrypto, || self.import_checked()).await?;
            webcrypto::sign(self.jwk.algorithm(), &key, message).await
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let key = match self.rustcrypto.get() {
                Some(key) => key,
                None => {
                    let key = rustcrypto::PrivateKey::new(self.jwk.material())?;
                    self.rustcrypto.get_or_init(|| key)
                }
            };
            key.sign(message)
        }
    }
}

/// An HS256 secret (Supabase's legacy JWT secret, used as raw bytes).
pub(crate) struct HmacKey {
    secret: Zeroizing<Vec<u8>>,
    #[cfg(target_arch = "wasm32")]
    webcrypto: OnceCell<web_sys::CryptoKey>,
}

impl HmacKey {
    pub fn new(secret: &[u8]) -> HmacKey {
        HmacKey {
            secret: Zeroizing::new(secret.to_vec()),
            #[cfg(target_arch = "wasm32")]
            webcrypto: OnceCell::new(),
        }
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.secret, &[message])
    }

    /// Whether `tag` is the HMAC-SHA256 of `message`, compared in constant time.
    pub async fn verify(&self, backend: Backend, message: &[u8], tag: &[u8]) -> bool {
        match backend {
            Backend::RustCrypto => constant_time_eq(&self.sign(message), tag),
            #[cfg(target_arch = "wasm32")]
            Backend::WebCrypto => {
                let import = || webcrypto::import_hmac(&self.secret);
                match webcrypto::imported(&self.webcrypto, import).await {
                    Ok(key) => webcrypto::verify(Algorithm::Hs256, &key, message, tag)
                        .await
                        .unwrap_or(false),
                    Err(_) => false,
                }
            }
        }
    }
}
