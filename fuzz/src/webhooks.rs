//! Webhook deliveries (`functions/webhooks`): the `Stripe-Signature` header and the Svix /
//! Standard Webhooks headers with the raw body (as Resend's verifier and as a configured source's,
//! which also takes Ed25519 `v1a` signatures), and the event envelope read from bodies that carry
//! a correct signature (Stripe's, Resend's and a Standard Webhooks source's).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Value;
use shared::crypto::hmac_sha256;
use std::collections::HashMap;
use webhooks::envelope::{Created, EnvelopeError, EventEnvelope, Provider, VerifiedEvent};
use webhooks::sources::{Sources, SOURCES};
use webhooks::stripe::{StripeVerifier, DEFAULT_TOLERANCE_SECONDS};
use webhooks::svix::{SvixHeaders, SvixVerifier, TOLERANCE_SECONDS};

use crate::input;

/// The secrets and clock of `functions/webhooks/tests/vectors/vectors.json`, so its deliveries
/// (signed by the official `stripe` and `svix` libraries) seed the corpus as they are.
const STRIPE_SECRETS: [&str; 2] = [
    "whsec_rlsEdgeVectorsCurrentSecret7f3a9c2e1b",
    "whsec_rlsEdgeVectorsPreviousSecret04d8e6a5c",
];
const SVIX_SECRETS: [&str; 2] = [
    "whsec_cmxzLWVkZ2UgdmVjdG9yczogY3VycmVudCBzdml4IGtleQ==",
    "whsec_cmxzLWVkZ2UgdmVjdG9yczogcHJldmlvdXMgc3ZpeCBrZXk=",
];
const NOW: u64 = 1_732_000_000;
/// A configured Standard Webhooks source: the Svix secrets above, and the Ed25519 public key of
/// the seed `[7; 32]` for `v1a` (fuzz/corpus/svix_signature/v1a-ed25519 is signed with it).
const SOURCE: &str = "acme";
const SOURCE_PUBLIC_KEY: &str = "whpk_6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=";

thread_local! {
    static CONFIGURED_SOURCES: Sources = {
        let raw = format!(
            r#"{{"{SOURCE}": {{"secrets": ["{}", "{}"], "public_keys": ["{SOURCE_PUBLIC_KEY}"]}}}}"#,
            SVIX_SECRETS[0], SVIX_SECRETS[1]
        );
        Sources::from_source(&HashMap::from([(SOURCES, raw.as_str())]))
            .expect("a valid source configuration")
    };
}

fn stripe_verifier() -> StripeVerifier {
    StripeVerifier::new(STRIPE_SECRETS, DEFAULT_TOLERANCE_SECONDS).expect("valid secrets")
}

fn svix_verifier() -> SvixVerifier {
    SvixVerifier::new(SVIX_SECRETS).expect("valid secrets")
}

/// A `Stripe-Signature` line, then the raw body; an input without a line break is a request
/// without the header.
pub fn stripe_signature(data: &[u8]) {
    let ([first], rest) = input::lines::<1>(data);
    let (header, body) = match rest {
        Some(body) => (input::header(first), body),
        None => (None, first.unwrap_or_default()),
    };
    match stripe_verifier().verify(header.as_deref(), body, NOW) {
        Ok(verified) => assert_delivery(
            (body, verified.body()),
            verified.signed_at().abs_diff(NOW) <= DEFAULT_TOLERANCE_SECONDS,
            VerifiedEvent::from_stripe(&verified),
            Provider::Stripe,
        ),
        Err(refused) => assert_explained(refused.code(), &refused),
    }
}

/// A raw body, signed as Stripe signs it with the current secret: it must verify, and then
/// its envelope is read.
pub fn stripe_event(body: &[u8]) {
    let mac = hmac_sha256(
        STRIPE_SECRETS[0].as_bytes(),
        &[NOW.to_string().as_bytes(), b".", body],
    );
    let header = format!("t={NOW},v0=ignored,v1={}", hex::encode(mac));
    let verified = stripe_verifier()
        .verify(Some(&header), body, NOW)
        .expect("a delivery signed with a configured secret verifies");
    match VerifiedEvent::from_stripe(&verified) {
        Ok(event) => assert_envelope(&event, Provider::Stripe),
        Err(refused) => assert_explained("invalid_event", &refused),
    }
}

/// Three lines, `svix-id`, `svix-timestamp` and `svix-signature`, then the raw body, verified
/// as Resend's delivery and as a configured source's: the source holds Resend's secrets and an
/// Ed25519 key too, so it accepts whatever Resend's verifier accepts, and more only for `v1a`.
pub fn svix_signature(data: &[u8]) {
    let ([id, timestamp, signature], body) = input::lines::<3>(data);
    let headers = SvixHeaders {
        id: input::header(id),
        timestamp: input::header(timestamp),
        signature: input::header(signature),
    };
    let body = body.unwrap_or_default();
    let as_resend = svix_verifier().verify(&headers, body, NOW);
    match &as_resend {
        Ok(verified) => assert_delivery(
            (body, verified.body()),
            verified.signed_at().abs_diff(NOW) <= TOLERANCE_SECONDS,
            VerifiedEvent::from_resend(verified),
            Provider::Resend,
        ),
        Err(refused) => assert_explained(refused.code(), refused),
    }
    let as_source = CONFIGURED_SOURCES.with(|sources| {
        let verifier = sources.verifier(SOURCE).expect("the source is configured");
        verifier.verify(&headers, body, NOW)
    });
    match as_source {
        Ok(verified) => {
            let signatures = headers.signature.as_deref().unwrap_or_default();
            assert!(
                as_resend.is_ok() || signatures.contains("v1a,"),
                "the source accepted without a v1 signature Resend's secrets accept"
            );
            assert_delivery(
                (body, verified.body()),
                verified.signed_at().abs_diff(NOW) <= TOLERANCE_SECONDS,
                VerifiedEvent::from_source(SOURCE, &verified),
                Provider::Standard,
            );
        }
        Err(refused) => {
            assert!(
                as_resend.is_err(),
                "the source refused what Resend's verifier accepts: {refused}"
            );
            assert_explained(refused.code(), &refused);
        }
    }
}

/// A message id line, then a raw body, signed as Svix signs it with the current secret (under
/// the Standard Webhooks header names): it must verify, and then its envelope is read.
pub fn resend_event(data: &[u8]) {
    let ([id], body) = input::lines::<1>(data);
    // An HTTP header value carries no surrounding whitespace; the id is signed as delivered.
    let id = input::header(id).unwrap_or_default().trim().to_string();
    let body = body.unwrap_or_default();
    let key = BASE64
        .decode(SVIX_SECRETS[0].trim_start_matches("whsec_"))
        .expect("base64 secret");
    let mac = hmac_sha256(
        &key,
        &[id.as_bytes(), b".", NOW.to_string().as_bytes(), b".", body],
    );
    let headers = SvixHeaders::from_lookup(|name| match name {
        "webhook-id" => Some(id.clone()),
        "webhook-timestamp" => Some(NOW.to_string()),
        "webhook-signature" => Some(format!("v2,ignored v1,{}", BASE64.encode(mac))),
        _ => None,
    });
    let verified = match svix_verifier().verify(&headers, body, NOW) {
        Ok(verified) => verified,
        Err(refused) if id.is_empty() => return assert_explained(refused.code(), &refused),
        Err(refused) => panic!("a delivery signed with a configured secret was refused: {refused}"),
    };
    match VerifiedEvent::from_resend(&verified) {
        Ok(event) => {
            assert_eq!(event.envelope.id, id);
            assert_envelope(&event, Provider::Resend);
        }
        Err(refused) => assert_explained("invalid_event", &refused),
    }
    // The same delivery from a configured Standard Webhooks source (`webhook-*` headers).
    match VerifiedEvent::from_source(SOURCE, &verified) {
        Ok(event) => {
            assert_eq!(event.envelope.id, id);
            assert_eq!(event.source.as_deref(), Some(SOURCE));
            assert_envelope(&event, Provider::Standard);
        }
        Err(refused) => assert_explained("invalid_event", &refused),
    }
}

/// A verified delivery is the body sent, signed within the tolerance, and when it is an event,
/// one the intake can store.
fn assert_delivery(
    (sent, verified): (&[u8], &[u8]),
    within_tolerance: bool,
    event: Result<VerifiedEvent, EnvelopeError>,
    provider: Provider,
) {
    assert_eq!(verified, sent);
    assert!(
        within_tolerance,
        "a signature outside the tolerance was accepted"
    );
    if let Ok(event) = event {
        assert_envelope(&event, provider);
    }
}

/// A refusal the provider's dashboard will show: a code and a message.
fn assert_explained(code: &str, refused: &dyn std::fmt::Display) {
    assert!(!code.is_empty() && !refused.to_string().is_empty());
}

/// What the intake hands to the database: an id and type it can store, a creation time, and
/// the payload as the provider sent it.
fn assert_envelope(event: &VerifiedEvent, provider: Provider) {
    let EventEnvelope {
        provider: read_as,
        id,
        event_type,
        created,
    } = &event.envelope;
    assert_eq!(*read_as, provider);
    for text in [id, event_type] {
        assert!(
            !text.trim().is_empty() && text.chars().count() <= 255,
            "{text:?}"
        );
    }
    assert_eq!(
        event.payload.get("type").and_then(Value::as_str),
        Some(event_type.as_str())
    );
    match created {
        Created::UnixSeconds(seconds) if provider == Provider::Stripe => {
            assert_eq!(
                event.payload.get("id").and_then(Value::as_str),
                Some(id.as_str())
            );
            assert_eq!(
                event.payload.get("created").and_then(Value::as_i64),
                Some(*seconds)
            );
        }
        // A Standard Webhooks event without a `timestamp` was created when it was signed.
        Created::UnixSeconds(seconds) => {
            assert_eq!(provider, Provider::Standard);
            assert_eq!(*seconds, i64::try_from(NOW).expect("NOW fits"));
        }
        Created::Rfc3339(text) => {
            assert_ne!(provider, Provider::Stripe);
            assert!(!text.trim().is_empty());
        }
    }
    serde_json::to_string(&event.payload).expect("the payload serializes for the RPC");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `v1a` seed reaches the source's Ed25519 path, so fuzzing starts from a signature that
    /// verifies there (and nowhere else).
    #[test]
    fn the_v1a_seed_verifies_for_the_source_only() {
        let seed = include_bytes!("../corpus/svix_signature/v1a-ed25519");
        let ([id, timestamp, signature], body) = input::lines::<3>(seed);
        let headers = SvixHeaders {
            id: input::header(id),
            timestamp: input::header(timestamp),
            signature: input::header(signature),
        };
        let body = body.expect("a body");
        assert!(svix_verifier().verify(&headers, body, NOW).is_err());
        let verified = CONFIGURED_SOURCES.with(|sources| {
            let verifier = sources.verifier(SOURCE).expect("configured");
            verifier.verify(&headers, body, NOW).is_ok()
        });
        assert!(
            verified,
            "the v1a seed verifies under the source's public key"
        );
    }
}
