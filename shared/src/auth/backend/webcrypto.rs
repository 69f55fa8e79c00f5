//! ES256, RS256 and HS256 through the runtime's `crypto.subtle` (the Web Crypto API): on Workers
//! and in Node alike, it is reached through the global `crypto`.
//!
//! Keys are imported as JWKs built from the checked material (never the caller's own JSON, so
//! an odd `key_ops` or `alg` cannot change what the key may do), not extractable. Every byte
//! string handed to `subtle` is a copy in JS memory, so nothing points into Wasm memory while a
//! promise is pending.

use std::cell::OnceCell;
use std::future::Future;

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

use crate::auth::jwk::{encode, Algorithm, PrivateKeyMaterial, PublicKeyMaterial};

thread_local! {
    static SUBTLE: OnceCell<Option<SubtleCrypto>> = const { OnceCell::new() };
}

fn subtle() -> Result<SubtleCrypto, String> {
    SUBTLE.with(|cell| {
        cell.get_or_init(|| {
            let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok()?;
            if crypto.is_undefined() || crypto.is_null() {
                return None;
            }
            Some(crypto.unchecked_into::<web_sys::Crypto>().subtle())
        })
        .clone()
        .ok_or_else(|| "this runtime has no crypto.subtle".to_string())
    })
}

fn object(entries: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (name, value) in entries {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object
}

fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

fn base64url(bytes: &[u8]) -> JsValue {
    JsValue::from_str(&encode(bytes))
}

fn usages(usage: &str) -> JsValue {
    Array::of1(&text(usage)).into()
}

fn describe(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|error| String::from(error.message()))
        .unwrap_or_else(|| "crypto.subtle refused the operation".to_string())
}

/// The `importKey` algorithm of a key type.
fn import_algorithm(algorithm: Algorithm) -> Object {
    match algorithm {
        Algorithm::Es256 => object(&[("name", text("ECDSA")), ("namedCurve", text("P-256"))]),
        Algorithm::Rs256 => object(&[
            ("name", text("RSASSA-PKCS1-v1_5")),
            ("hash", text("SHA-256")),
        ]),
        Algorithm::Hs256 => object(&[("name", text("HMAC")), ("hash", text("SHA-256"))]),
    }
}

thread_local! {
    /// Built once: every verification passes the same object.
    static SIGNATURE_ALGORITHMS: [Object; 3] = [Algorithm::Es256, Algorithm::Rs256, Algorithm::Hs256]
        .map(new_signature_algorithm);
}

/// The `sign`/`verify` algorithm of a JWS algorithm.
fn signature_algorithm(algorithm: Algorithm) -> Object {
    let index = match algorithm {
        Algorithm::Es256 => 0,
        Algorithm::Rs256 => 1,
        Algorithm::Hs256 => 2,
    };
    SIGNATURE_ALGORITHMS.with(|algorithms| algorithms[index].clone())
}

fn new_signature_algorithm(algorithm: Algorithm) -> Object {
    match algorithm {
        Algorithm::Es256 => object(&[("name", text("ECDSA")), ("hash", text("SHA-256"))]),
        Algorithm::Rs256 => object(&[("name", text("RSASSA-PKCS1-v1_5"))]),
        Algorithm::Hs256 => object(&[("name", text("HMAC"))]),
    }
}

fn public_jwk(material: &PublicKeyMaterial) -> Object {
    match material {
        PublicKeyMaterial::P256 { x, y } => object(&[
            ("kty", text("EC")),
            ("crv", text("P-256")),
            ("x", base64url(x)),
            ("y", base64url(y)),
        ]),
        PublicKeyMaterial::Rsa { n, e } => object(&[
            ("kty", text("RSA")),
            ("n", base64url(n)),
            ("e", base64url(e)),
        ]),
    }
}

async fn import(
    format: &str,
    key_data: &Object,
    algorithm: Algorithm,
    usage: &str,
) -> Result<CryptoKey, String> {
    let promise = subtle()?
        .import_key_with_object(
            format,
            key_data,
            &import_algorithm(algorithm),
            false,
            &usages(usage),
        )
        .map_err(describe)?;
    let key = JsFuture::from(promise).await.map_err(describe)?;
    key.dyn_into::<CryptoKey>()
        .map_err(|_| "importKey did not return a CryptoKey".to_string())
}

/// The key kept in `cell`, imported with `import` on first use. Two requests using it first at
/// once may both import it; the first one kept is used from then on.
pub(super) async fn imported<F>(
    cell: &OnceCell<CryptoKey>,
    import: impl FnOnce() -> F,
) -> Result<CryptoKey, String>
where
    F: Future<Output = Result<CryptoKey, String>>,
{
    if let Some(key) = cell.get() {
        return Ok(key.clone());
    }
    let key = import().await?;
    Ok(cell.get_or_init(|| key).clone())
}

pub(super) async fn import_public(material: &PublicKeyMaterial) -> Result<CryptoKey, String> {
    import("jwk", &public_jwk(material), material.algorithm(), "verify").await
}

pub(super) async fn import_private(material: &PrivateKeyMaterial) -> Result<CryptoKey, String> {
    let jwk = public_jwk(&material.public());
    let secret_parts: Vec<(&str, &[u8])> = match material {
        PrivateKeyMaterial::P256 { d, .. } => vec![("d", d)],
        PrivateKeyMaterial::Rsa {
            d,
            p,
            q,
            dp,
            dq,
            qi,
            ..
        } => {
            vec![
                ("d", d),
                ("p", p),
                ("q", q),
                ("dp", dp),
                ("dq", dq),
                ("qi", qi),
            ]
        }
    };
    for (name, bytes) in secret_parts {
        let _ = Reflect::set(&jwk, &text(name), &base64url(bytes));
    }
    import("jwk", &jwk, material.algorithm(), "sign").await
}

pub(super) async fn import_hmac(secret: &[u8]) -> Result<CryptoKey, String> {
    import("raw", &Uint8Array::from(secret), Algorithm::Hs256, "verify").await
}

/// Whether `signature` is `key`'s signature of `message`; an error when `subtle` throws.
pub(super) async fn verify(
    algorithm: Algorithm,
    key: &CryptoKey,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, String> {
    let promise = subtle()?
        .verify_with_object_and_buffer_source_and_buffer_source(
            &signature_algorithm(algorithm),
            key,
            &Uint8Array::from(signature),
            &Uint8Array::from(message),
        )
        .map_err(describe)?;
    Ok(JsFuture::from(promise).await.map_err(describe)?.as_bool() == Some(true))
}

pub(super) async fn sign(
    algorithm: Algorithm,
    key: &CryptoKey,
    message: &[u8],
) -> Result<Vec<u8>, String> {
    let promise = subtle()?
        .sign_with_object_and_buffer_source(
            &signature_algorithm(algorithm),
            key,
            &Uint8Array::from(message),
        )
        .map_err(describe)?;
    let signature = JsFuture::from(promise).await.map_err(describe)?;
    let buffer = signature
        .dyn_into::<ArrayBuffer>()
        .map_err(|_| "sign did not return an ArrayBuffer".to_string())?;
    Ok(Uint8Array::new(&buffer).to_vec())
}
