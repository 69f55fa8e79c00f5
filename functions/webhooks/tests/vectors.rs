//! Deliveries signed by the official `stripe` and `svix` npm libraries, checked by our
//! verifiers. The vectors live in `tests/vectors/vectors.json`; regenerate them with
//! `node functions/webhooks/tests/vectors/generate.mjs` from the repository root.
//!
//! The file is compiled in rather than read at run time so the same tests run on wasm32,
//! where verification must work without touching `SystemTime`.

use serde::Deserialize;
use std::collections::HashMap;
use webhooks::envelope::{Provider, VerifiedEvent};
use webhooks::stripe::StripeVerifier;
use webhooks::svix::{SvixHeaders, SvixVerifier};

use wasm_bindgen_test::wasm_bindgen_test;

const VECTORS: &str = include_str!("vectors/vectors.json");

#[derive(Deserialize)]
struct Vectors {
    stripe: Vec<StripeVector>,
    svix: Vec<SvixVector>,
}

#[derive(Deserialize)]
struct StripeVector {
    name: String,
    secrets: Vec<String>,
    tolerance_seconds: u64,
    now_seconds: u64,
    header: Option<String>,
    body: String,
    expect: String,
    official_accepts: bool,
    divergence: Option<String>,
}

#[derive(Deserialize)]
struct SvixVector {
    name: String,
    secrets: Vec<String>,
    now_seconds: u64,
    headers: HashMap<String, String>,
    body: String,
    expect: String,
    official_accepts: bool,
    divergence: Option<String>,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("vectors.json parses")
}

/// Every vector either agrees with the official library or says why it does not.
fn check_agreement(name: &str, expect: &str, official_accepts: bool, divergence: &Option<String>) {
    let we_accept = expect == "ok";
    match divergence {
        None => assert_eq!(
            we_accept, official_accepts,
            "{name}: we and the official library disagree"
        ),
        Some(reason) => assert_ne!(
            we_accept, official_accepts,
            "{name}: divergence noted ({reason}) but none found"
        ),
    }
}

/// A refusal message may name headers and numbers, never key material or signatures.
fn assert_reveals_no_secret(name: &str, message: &str, secrets: &[String], signature_header: &str) {
    for secret in secrets {
        let key_text = secret.trim_start_matches("whsec_");
        assert!(
            !message.contains(key_text),
            "{name}: message reveals a secret: {message}"
        );
    }
    for token in signature_header
        .split([',', ' ', '='])
        .filter(|token| token.len() >= 20)
    {
        assert!(
            !message.contains(token),
            "{name}: message echoes a signature: {message}"
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn stripe_vectors_from_the_official_library() {
    let vectors = vectors().stripe;
    assert!(vectors.len() >= 20);
    for vector in vectors {
        let name = &vector.name;
        check_agreement(
            name,
            &vector.expect,
            vector.official_accepts,
            &vector.divergence,
        );
        let verifier = StripeVerifier::new(&vector.secrets, vector.tolerance_seconds).unwrap();
        let result = verifier.verify(
            vector.header.as_deref(),
            vector.body.as_bytes(),
            vector.now_seconds,
        );
        match result {
            Ok(verified) => {
                assert_eq!(vector.expect, "ok", "{name}: accepted but should fail");
                assert_eq!(verified.body(), vector.body.as_bytes());
                let envelope = VerifiedEvent::from_stripe(&verified).unwrap().envelope;
                assert_eq!(envelope.provider, Provider::Stripe);
                assert!(envelope.id.starts_with("evt_"), "{name}: {envelope:?}");
            }
            Err(error) => {
                assert_eq!(error.code(), vector.expect, "{name}: {error}");
                assert_reveals_no_secret(
                    name,
                    &error.to_string(),
                    &vector.secrets,
                    vector.header.as_deref().unwrap_or(""),
                );
            }
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn svix_vectors_from_the_official_library() {
    let vectors = vectors().svix;
    assert!(vectors.len() >= 20);
    for vector in vectors {
        let name = &vector.name;
        check_agreement(
            name,
            &vector.expect,
            vector.official_accepts,
            &vector.divergence,
        );
        let verifier = SvixVerifier::new(&vector.secrets).unwrap();
        let headers = SvixHeaders::from_lookup(|header| vector.headers.get(header).cloned());
        let result = verifier.verify(&headers, vector.body.as_bytes(), vector.now_seconds);
        match result {
            Ok(message) => {
                assert_eq!(vector.expect, "ok", "{name}: accepted but should fail");
                let sent_id = vector
                    .headers
                    .get("svix-id")
                    .or(vector.headers.get("webhook-id"))
                    .unwrap();
                assert_eq!(message.id(), sent_id);
                let envelope = VerifiedEvent::from_resend(&message).unwrap().envelope;
                assert_eq!(
                    (envelope.provider, envelope.id.as_str()),
                    (Provider::Resend, sent_id.as_str())
                );
                assert!(
                    envelope.event_type.starts_with("email."),
                    "{name}: {envelope:?}"
                );
            }
            Err(error) => {
                assert_eq!(error.code(), vector.expect, "{name}: {error}");
                let signature = headers.signature.as_deref().unwrap_or("");
                assert_reveals_no_secret(name, &error.to_string(), &vector.secrets, signature);
            }
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn refusals_say_what_is_wrong() {
    let vectors = vectors();
    let message_for = |name: &str| {
        let vector = vectors
            .stripe
            .iter()
            .find(|vector| vector.name == name)
            .unwrap();
        let verifier = StripeVerifier::new(&vector.secrets, vector.tolerance_seconds).unwrap();
        verifier
            .verify(
                vector.header.as_deref(),
                vector.body.as_bytes(),
                vector.now_seconds,
            )
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        message_for("header missing"),
        "the Stripe-Signature header is missing"
    );
    assert_eq!(
        message_for("no t="),
        "the Stripe-Signature header is malformed: no t= timestamp"
    );
    assert!(message_for("replay of a day-old delivery").starts_with(
        "the timestamp in the Stripe-Signature header is 86400 s in the past, outside the tolerance of 300 s"
    ));
    assert!(message_for("body tampered by one byte")
        .starts_with("no signature in the Stripe-Signature header matches"));
}
