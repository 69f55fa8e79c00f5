//! Checking a 10 KB delivery's signature as the webhooks function does, byte for byte over the
//! raw body: Stripe (`Stripe-Signature`, HMAC-SHA256 hex) and Svix/Resend (base64 HMAC-SHA256).
//! A third case adds reading the event envelope (one JSON parse), the rest of the pure work.

use std::hint::black_box;
use std::rc::Rc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use shared::crypto::hmac_sha256;
use webhooks::envelope::VerifiedEvent;
use webhooks::stripe::{StripeVerifier, DEFAULT_TOLERANCE_SECONDS};
use webhooks::svix::{SvixHeaders, SvixVerifier};

use super::Case;

const SENT_AT: u64 = 1_732_000_000;
const STRIPE_SECRET: &str = "whsec_benchSecretForTheMicroBenchmarkOnly0";
const SVIX_SECRET: &str = "whsec_YmVuY2ggc3ZpeCBrZXkgZm9yIHRoZSBtaWNybyBiZW5jaA==";
const MESSAGE_ID: &str = "msg_micro_bench";
const BODY_BYTES: usize = 10 * 1024;

/// An `invoice.paid` event whose line items pad it to 10 KB.
fn stripe_event() -> Vec<u8> {
    let head = format!(
        r#"{{"id":"evt_micro","object":"event","type":"invoice.paid","created":{SENT_AT},"data":{{"object":{{"id":"in_micro","lines":["#
    );
    let mut body = head;
    let mut index = 0;
    while body.len() < BODY_BYTES - 200 {
        if index > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"id":"il_{index:05}","amount":{},"currency":"eur","description":"Seat {index}"}}"#,
            900 + index
        ));
        index += 1;
    }
    body.push_str("]}}}");
    assert!(
        body.len().abs_diff(BODY_BYTES) < 256,
        "the delivery is {} bytes, not about 10 KB",
        body.len()
    );
    body.into_bytes()
}

pub fn cases() -> Vec<Case> {
    let body = Rc::new(stripe_event());
    let stripe = Rc::new(
        StripeVerifier::new([STRIPE_SECRET], DEFAULT_TOLERANCE_SECONDS)
            .expect("valid Stripe secret"),
    );
    let stripe_mac = hmac_sha256(
        STRIPE_SECRET.as_bytes(),
        &[SENT_AT.to_string().as_bytes(), b".", &body],
    );
    let stripe_header = Rc::new(format!("t={SENT_AT},v1={}", hex::encode(stripe_mac)));

    let svix = SvixVerifier::new([SVIX_SECRET]).expect("valid Svix secret");
    let svix_key = BASE64
        .decode(SVIX_SECRET.trim_start_matches("whsec_"))
        .expect("the Svix secret is base64");
    let svix_mac = hmac_sha256(
        &svix_key,
        &[
            MESSAGE_ID.as_bytes(),
            b".",
            SENT_AT.to_string().as_bytes(),
            b".",
            &body,
        ],
    );
    let svix_headers = SvixHeaders {
        id: Some(MESSAGE_ID.to_string()),
        timestamp: Some(SENT_AT.to_string()),
        signature: Some(format!("v1,{}", BASE64.encode(svix_mac))),
    };

    let (stripe_body, stripe_verifier, header) = (
        Rc::clone(&body),
        Rc::clone(&stripe),
        Rc::clone(&stripe_header),
    );
    let envelope_body = Rc::clone(&body);
    vec![
        Case::new("stripe_verify_10kb", "verify a 10 KB Stripe delivery's signature (webhooks::stripe)", move |iterations| {
            (0..iterations)
                .filter(|_| stripe_verifier.verify(Some(black_box(header.as_str())), &stripe_body, SENT_AT).is_ok())
                .count() as u32
        }),
        Case::new(
            "stripe_verify_envelope_10kb",
            "verify a 10 KB Stripe delivery and read its event envelope (webhooks::stripe + envelope)",
            move |iterations| {
                (0..iterations)
                    .filter(|_| {
                        stripe
                            .verify(Some(black_box(stripe_header.as_str())), &envelope_body, SENT_AT)
                            .is_ok_and(|verified| VerifiedEvent::from_stripe(&verified).is_ok())
                    })
                    .count() as u32
            },
        ),
        Case::new("svix_verify_10kb", "verify a 10 KB Resend (Svix) delivery's signature (webhooks::svix)", move |iterations| {
            (0..iterations).filter(|_| svix.verify(black_box(&svix_headers), &body, SENT_AT).is_ok()).count() as u32
        }),
    ]
}
