//! The Svix / Standard Webhooks signature, which Resend uses: three headers, `svix-id`,
//! `svix-timestamp` and `svix-signature` (or the same under `webhook-*` names), and
//! space-separated `v1,<base64>` signatures of HMAC-SHA256 over `{id}.{timestamp}.{raw body}`
//! keyed with the base64 part of a `whsec_` secret.
//!
//! Any `v1` signature matching under any configured secret passes (rotation); other versions
//! are ignored. A verifier made for a configured source ([`SvixVerifier::for_source`]) also
//! takes the Standard Webhooks asymmetric version, `v1a,<base64>`: an Ed25519 signature of the
//! same `{id}.{timestamp}.{raw body}` under one of the source's `whpk_` public keys. The
//! timestamp must be within five minutes of now in either direction.

use crate::error::{SecretError, VerifyError};
use crate::tolerance;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use shared::crypto::{constant_time_eq, hmac_sha256};

pub const TOLERANCE_SECONDS: u64 = 5 * 60;

const SECRET_PREFIX: &str = "whsec_";
const SIGNATURE_VERSION: &str = "v1";
const ASYMMETRIC_VERSION: &str = "v1a";

/// Header names as Svix sends them, then as the Standard Webhooks spec names them; when both
/// are present the `svix-*` one wins, as in Svix's own library.
const ID_HEADERS: [&str; 2] = ["svix-id", "webhook-id"];
const TIMESTAMP_HEADERS: [&str; 2] = ["svix-timestamp", "webhook-timestamp"];
const SIGNATURE_HEADERS: [&str; 2] = ["svix-signature", "webhook-signature"];

const ID_LABEL: &str = "svix-id (or webhook-id)";
const TIMESTAMP_LABEL: &str = "svix-timestamp (or webhook-timestamp)";
const SIGNATURE_LABEL: &str = "svix-signature (or webhook-signature)";

/// The three signature headers of one delivery, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SvixHeaders {
    pub id: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
}

impl SvixHeaders {
    /// Reads the headers through `get`, which looks a header up by its lowercase name (HTTP
    /// header names are case-insensitive; the Workers `Headers` object already is).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> SvixHeaders {
        let first = |names: [&str; 2]| names.into_iter().find_map(&get);
        SvixHeaders {
            id: first(ID_HEADERS),
            timestamp: first(TIMESTAMP_HEADERS),
            signature: first(SIGNATURE_HEADERS),
        }
    }
}

/// Checks Svix-signed deliveries against the secrets this deployment holds.
pub struct SvixVerifier {
    keys: Vec<Vec<u8>>,
    public_keys: Vec<VerifyingKey>,
}

/// A message whose signature has been checked; only [`SvixVerifier::verify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSvixMessage<'body> {
    pub(crate) id: String,
    pub(crate) signed_at: u64,
    pub(crate) body: &'body [u8],
}

impl<'body> VerifiedSvixMessage<'body> {
    /// The message id, the same on every retry of one delivery: the idempotency key.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn signed_at(&self) -> u64 {
        self.signed_at
    }

    pub fn body(&self) -> &'body [u8] {
        self.body
    }
}

impl std::fmt::Debug for SvixVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SvixVerifier")
            .field("keys", &format_args!("<{} redacted>", self.keys.len()))
            .field("public_keys", &self.public_keys.len())
            .finish()
    }
}

impl SvixVerifier {
    /// Takes every currently valid secret, each `whsec_<base64>` (the prefix may be left out,
    /// as Svix's libraries allow).
    pub fn new<S: AsRef<str>>(
        secrets: impl IntoIterator<Item = S>,
    ) -> Result<SvixVerifier, SecretError> {
        let keys = decode_secrets(secrets)?;
        if keys.is_empty() {
            return Err(SecretError::NoSecrets);
        }
        Ok(SvixVerifier {
            keys,
            public_keys: Vec::new(),
        })
    }

    /// A configured source's verifier: HMAC keys (decoded `whsec_` secrets, see
    /// [`decode_secrets`]) and Ed25519 public keys for `v1a` signatures; either may be empty,
    /// not both (the caller checks).
    pub fn for_source(keys: Vec<Vec<u8>>, public_keys: Vec<VerifyingKey>) -> SvixVerifier {
        SvixVerifier { keys, public_keys }
    }

    /// Verifies `body` byte for byte. The signature is checked before the timestamp, so a
    /// refusal for age is only ever given to an authentic, replayed delivery.
    pub fn verify<'body>(
        &self,
        headers: &SvixHeaders,
        body: &'body [u8],
        now_seconds: u64,
    ) -> Result<VerifiedSvixMessage<'body>, VerifyError> {
        let id = present(&headers.id, ID_LABEL)?;
        let timestamp_text = present(&headers.timestamp, TIMESTAMP_LABEL)?;
        let signature_header = present(&headers.signature, SIGNATURE_LABEL)?;

        let signed_at =
            tolerance::parse_unix_seconds(timestamp_text).ok_or(VerifyError::MalformedHeader {
                header: TIMESTAMP_LABEL,
                problem: "not a Unix timestamp in whole seconds",
            })?;
        let accepted: &[&str] = if self.public_keys.is_empty() {
            &[SIGNATURE_VERSION]
        } else {
            &[SIGNATURE_VERSION, ASYMMETRIC_VERSION]
        };
        let candidates = signatures(signature_header, accepted)?;

        // Svix's libraries sign the timestamp as the integer they parsed, not the header text.
        let timestamp = signed_at.to_string();
        let hmac_matches = |candidate: &str| {
            self.keys.iter().any(|key| {
                let mac = hmac_sha256(
                    key,
                    &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
                );
                constant_time_eq(candidate.as_bytes(), BASE64.encode(mac).as_bytes())
            })
        };
        let ed25519_matches = |candidate: &str| {
            let Some(signature) = BASE64
                .decode(candidate)
                .ok()
                .and_then(|bytes| Signature::from_slice(&bytes).ok())
            else {
                return false;
            };
            let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body].concat();
            self.public_keys
                .iter()
                .any(|key| key.verify_strict(&signed, &signature).is_ok())
        };
        let matched = candidates.iter().any(|(version, candidate)| {
            if *version == SIGNATURE_VERSION {
                hmac_matches(candidate)
            } else {
                ed25519_matches(candidate)
            }
        });
        if !matched {
            return Err(VerifyError::NoMatchingSignature {
                header: SIGNATURE_LABEL,
            });
        }
        tolerance::check(TIMESTAMP_LABEL, signed_at, now_seconds, TOLERANCE_SECONDS)?;
        Ok(VerifiedSvixMessage {
            id: id.to_string(),
            signed_at,
            body,
        })
    }
}

/// Decodes `whsec_<base64>` secrets (the prefix may be left out, as Svix's libraries allow),
/// naming the position of a bad one.
pub fn decode_secrets<S: AsRef<str>>(
    secrets: impl IntoIterator<Item = S>,
) -> Result<Vec<Vec<u8>>, SecretError> {
    let mut keys = Vec::new();
    for (index, secret) in secrets.into_iter().enumerate() {
        let position = index + 1;
        let secret = secret.as_ref().trim();
        let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        if encoded.is_empty() {
            return Err(SecretError::Blank { position });
        }
        let key = BASE64
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64 { position })?;
        keys.push(key);
    }
    Ok(keys)
}

fn present<'h>(value: &'h Option<String>, label: &'static str) -> Result<&'h str, VerifyError> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or(VerifyError::MissingHeader { header: label })
}

/// The `(version, signature)` entries of the versions `accepted`; others are ignored.
fn signatures<'h>(
    header: &'h str,
    accepted: &[&str],
) -> Result<Vec<(&'h str, &'h str)>, VerifyError> {
    let malformed = |problem| VerifyError::MalformedHeader {
        header: SIGNATURE_LABEL,
        problem,
    };
    let mut signatures = Vec::new();
    for entry in header.split_ascii_whitespace() {
        let (version, signature) = entry.split_once(',').ok_or(malformed(
            "expected space-separated version,signature pairs such as v1,...",
        ))?;
        if accepted.contains(&version) {
            signatures.push((version, signature));
        }
    }
    if signatures.is_empty() {
        return Err(malformed(if accepted.len() == 1 {
            "no v1 signature (other versions are not accepted)"
        } else {
            "no v1 or v1a signature (other versions are not accepted)"
        }));
    }
    Ok(signatures)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const T: u64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"type":"email.sent"}"#;

    fn sign(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> String {
        let key = BASE64
            .decode(secret.trim_start_matches(SECRET_PREFIX))
            .unwrap();
        let mac = hmac_sha256(
            &key,
            &[
                id.as_bytes(),
                b".",
                timestamp.to_string().as_bytes(),
                b".",
                body,
            ],
        );
        format!("v1,{}", BASE64.encode(mac))
    }

    fn headers(signature: String) -> SvixHeaders {
        SvixHeaders {
            id: Some(ID.into()),
            timestamp: Some(T.to_string()),
            signature: Some(signature),
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn svix_names_win_over_standard_webhooks_names() {
        let headers = SvixHeaders::from_lookup(|name| match name {
            "svix-id" => Some("from-svix".into()),
            "webhook-id" => Some("from-webhook".into()),
            "webhook-timestamp" => Some("1".into()),
            _ => None,
        });
        assert_eq!(headers.id.as_deref(), Some("from-svix"));
        assert_eq!(headers.timestamp.as_deref(), Some("1"));
        assert_eq!(headers.signature, None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_verified_message_carries_the_id_for_idempotency() {
        let verifier = SvixVerifier::new([SECRET]).unwrap();
        let message = verifier
            .verify(&headers(sign(SECRET, ID, T, BODY)), BODY, T)
            .unwrap();
        assert_eq!(
            (message.id(), message.signed_at(), message.body()),
            (ID, T, BODY)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_id_is_part_of_what_is_signed() {
        let verifier = SvixVerifier::new([SECRET]).unwrap();
        let mut forged = headers(sign(SECRET, ID, T, BODY));
        forged.id = Some("msg_other".into());
        assert_eq!(
            verifier.verify(&forged, BODY, T),
            Err(VerifyError::NoMatchingSignature {
                header: SIGNATURE_LABEL
            })
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn an_entry_without_a_version_is_malformed() {
        let verifier = SvixVerifier::new([SECRET]).unwrap();
        assert!(matches!(
            verifier.verify(&headers("justbase64".into()), BODY, T),
            Err(VerifyError::MalformedHeader { .. })
        ));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn secrets_must_be_base64_and_are_never_shown() {
        assert_eq!(
            SvixVerifier::new(["whsec_%%%"]).unwrap_err(),
            SecretError::NotBase64 { position: 1 }
        );
        assert_eq!(
            SvixVerifier::new([SECRET, "whsec_"]).unwrap_err(),
            SecretError::Blank { position: 2 }
        );
        assert_eq!(
            SvixVerifier::new(Vec::<&str>::new()).unwrap_err(),
            SecretError::NoSecrets
        );
        let verifier =
            SvixVerifier::new([SECRET, SECRET.trim_start_matches(SECRET_PREFIX)]).unwrap();
        assert!(!format!("{verifier:?}").contains("MfKQ"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_source_takes_ed25519_v1a_signatures_under_its_public_keys() {
        use ed25519_dalek::{Signer, SigningKey};
        let signing = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let signed = [ID.as_bytes(), b".", T.to_string().as_bytes(), b".", BODY].concat();
        let v1a = |key: &SigningKey| format!("v1a,{}", BASE64.encode(key.sign(&signed).to_bytes()));
        let verifier = SvixVerifier::for_source(Vec::new(), vec![signing.verifying_key()]);
        assert!(verifier.verify(&headers(v1a(&signing)), BODY, T).is_ok());
        assert!(verifier
            .verify(
                &headers(format!("v1a,bm90IGEgc2ln {}", v1a(&signing))),
                BODY,
                T
            )
            .is_ok());
        assert_eq!(
            verifier.verify(&headers(v1a(&other)), BODY, T),
            Err(VerifyError::NoMatchingSignature {
                header: SIGNATURE_LABEL
            })
        );
        assert_eq!(
            verifier.verify(&headers(v1a(&signing)), b"{}", T),
            Err(VerifyError::NoMatchingSignature {
                header: SIGNATURE_LABEL
            })
        );
        assert!(matches!(
            verifier.verify(&headers(v1a(&signing)), BODY, T + 301),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
        // A verifier without public keys (Resend) does not even look at v1a entries.
        let hmac_only = SvixVerifier::new([SECRET]).unwrap();
        assert!(matches!(
            hmac_only.verify(&headers(v1a(&signing)), BODY, T),
            Err(VerifyError::MalformedHeader { .. })
        ));
    }
}
