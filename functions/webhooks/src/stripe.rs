//! Stripe's webhook signature: the `Stripe-Signature` header `t=<unix seconds>,v1=<hex>,...`
//! where each `v1` is HMAC-SHA256 over `{t}.{raw body}` keyed with an endpoint secret.
//!
//! During secret rotation Stripe sends one `v1` per active secret, and we may hold several
//! secrets ourselves; a delivery passes when any `v1` matches under any configured secret.
//! Other schemes (`v0`, test-mode extras) are ignored. Unlike Stripe's libraries, which only
//! refuse old timestamps, the tolerance applies in both directions, as Svix's does.

use crate::error::{SecretError, VerifyError};
use crate::tolerance;
use shared::crypto::{constant_time_eq, hmac_sha256};

pub const SIGNATURE_HEADER: &str = "Stripe-Signature";
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

const HEADER: &str = SIGNATURE_HEADER;
const SIGNATURE_SCHEME: &str = "v1";

/// Checks `Stripe-Signature` headers against the endpoint secrets this deployment holds.
pub struct StripeVerifier {
    /// Stripe keys the HMAC with the secret string exactly as shown in the dashboard,
    /// `whsec_` prefix included.
    secrets: Vec<Vec<u8>>,
    tolerance_seconds: u64,
}

/// A body whose signature has been checked. Only [`StripeVerifier::verify`] makes one, so
/// anything that reads an event from it has been authenticated first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedStripeBody<'body> {
    pub(crate) body: &'body [u8],
    pub(crate) signed_at: u64,
}

impl<'body> VerifiedStripeBody<'body> {
    pub fn body(&self) -> &'body [u8] {
        self.body
    }

    /// The `t=` the signature covered, in Unix seconds.
    pub fn signed_at(&self) -> u64 {
        self.signed_at
    }
}

impl std::fmt::Debug for StripeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeVerifier")
            .field(
                "secrets",
                &format_args!("<{} redacted>", self.secrets.len()),
            )
            .field("tolerance_seconds", &self.tolerance_seconds)
            .finish()
    }
}

impl StripeVerifier {
    /// Takes every endpoint secret currently valid (old and new while rotating). At least
    /// one is required, and none may be blank.
    pub fn new<S: AsRef<str>>(
        secrets: impl IntoIterator<Item = S>,
        tolerance_seconds: u64,
    ) -> Result<StripeVerifier, SecretError> {
        let mut keys = Vec::new();
        for (index, secret) in secrets.into_iter().enumerate() {
            let secret = secret.as_ref().trim();
            if secret.is_empty() {
                return Err(SecretError::Blank {
                    position: index + 1,
                });
            }
            keys.push(secret.as_bytes().to_vec());
        }
        if keys.is_empty() {
            return Err(SecretError::NoSecrets);
        }
        Ok(StripeVerifier {
            secrets: keys,
            tolerance_seconds,
        })
    }

    pub fn tolerance_seconds(&self) -> u64 {
        self.tolerance_seconds
    }

    /// Verifies `body` byte for byte against the `Stripe-Signature` header value (`None` when
    /// the request had none). The signature is checked before the timestamp, so a refusal for
    /// age is only ever given to an authentic, replayed delivery.
    pub fn verify<'body>(
        &self,
        header: Option<&str>,
        body: &'body [u8],
        now_seconds: u64,
    ) -> Result<VerifiedStripeBody<'body>, VerifyError> {
        let header = header.filter(|value| !value.trim().is_empty());
        let parsed = parse_header(header.ok_or(VerifyError::MissingHeader { header: HEADER })?)?;
        let timestamp = parsed.timestamp.to_string();
        let matched = self.secrets.iter().any(|secret| {
            let expected = hex::encode(hmac_sha256(secret, &[timestamp.as_bytes(), b".", body]));
            parsed
                .signatures
                .iter()
                .any(|candidate| constant_time_eq(candidate.as_bytes(), expected.as_bytes()))
        });
        if !matched {
            return Err(VerifyError::NoMatchingSignature { header: HEADER });
        }
        tolerance::check(
            HEADER,
            parsed.timestamp,
            now_seconds,
            self.tolerance_seconds,
        )?;
        Ok(VerifiedStripeBody {
            body,
            signed_at: parsed.timestamp,
        })
    }
}

struct ParsedHeader<'header> {
    timestamp: u64,
    signatures: Vec<&'header str>,
}

fn parse_header(header: &str) -> Result<ParsedHeader<'_>, VerifyError> {
    let malformed = |problem| VerifyError::MalformedHeader {
        header: HEADER,
        problem,
    };
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or(malformed(
            "expected comma-separated key=value pairs such as t=...,v1=...",
        ))?;
        match key {
            "t" if timestamp.is_some() => return Err(malformed("t= appears more than once")),
            "t" => {
                timestamp = Some(
                    tolerance::parse_unix_seconds(value)
                        .ok_or(malformed("t= is not a Unix timestamp in whole seconds"))?,
                )
            }
            SIGNATURE_SCHEME => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(malformed("no t= timestamp"))?;
    if signatures.is_empty() {
        return Err(malformed(
            "no v1= signature (other schemes such as v0 are not accepted)",
        ));
    }
    Ok(ParsedHeader {
        timestamp,
        signatures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","object":"event"}"#;
    const T: u64 = 1_700_000_000;

    fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
        hex::encode(hmac_sha256(
            secret.as_bytes(),
            &[timestamp.to_string().as_bytes(), b".", body],
        ))
    }

    fn verifier(secrets: &[&str]) -> StripeVerifier {
        StripeVerifier::new(secrets, DEFAULT_TOLERANCE_SECONDS).unwrap()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn accepts_whitespace_after_commas_and_unknown_keys() {
        let header = format!("t={T}, v0=abc, v1={}, x=y", sign(SECRET, T, BODY));
        let verified = verifier(&[SECRET]).verify(Some(&header), BODY, T).unwrap();
        assert_eq!(verified.body(), BODY);
        assert_eq!(verified.signed_at(), T);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_v0_signature_alone_is_refused_even_when_it_is_the_right_mac() {
        let header = format!("t={T},v0={}", sign(SECRET, T, BODY));
        assert!(matches!(
            verifier(&[SECRET]).verify(Some(&header), BODY, T),
            Err(VerifyError::MalformedHeader { .. })
        ));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn uppercase_hex_is_not_what_stripe_sends_and_does_not_match() {
        let header = format!("t={T},v1={}", sign(SECRET, T, BODY).to_uppercase());
        assert_eq!(
            verifier(&[SECRET]).verify(Some(&header), BODY, T),
            Err(VerifyError::NoMatchingSignature { header: HEADER })
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_second_t_is_ambiguous_and_refused() {
        let header = format!("t={T},t={},v1={}", T + 1, sign(SECRET, T, BODY));
        assert!(matches!(
            verifier(&[SECRET]).verify(Some(&header), BODY, T),
            Err(VerifyError::MalformedHeader {
                problem: "t= appears more than once",
                ..
            })
        ));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_bad_signature_with_an_old_timestamp_reports_the_signature() {
        let header = format!("t={T},v1={}", sign("whsec_other", T, BODY));
        assert_eq!(
            verifier(&[SECRET]).verify(Some(&header), BODY, T + 10_000),
            Err(VerifyError::NoMatchingSignature { header: HEADER })
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn invalid_utf8_bodies_are_verified_as_bytes() {
        let body = b"{\"name\":\"\xff\xfe\"}";
        let header = format!("t={T},v1={}", sign(SECRET, T, body));
        assert!(verifier(&[SECRET]).verify(Some(&header), body, T).is_ok());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn secrets_are_required_and_never_shown() {
        assert_eq!(
            StripeVerifier::new(Vec::<String>::new(), 300).unwrap_err(),
            SecretError::NoSecrets
        );
        assert_eq!(
            StripeVerifier::new(["whsec_a", "  "], 300).unwrap_err(),
            SecretError::Blank { position: 2 }
        );
        assert!(!format!("{:?}", verifier(&[SECRET])).contains("whsec"));
    }
}
