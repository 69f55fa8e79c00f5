//! What verifying one 10 KB delivery costs: the HMAC over the body, the header parsing and,
//! separately, reading the envelope (one JSON parse of the body).
//!
//! Native: `cargo bench -p webhooks --bench verify`. wasm32, the number that matters on
//! Workers: the same command with `--target wasm32-unknown-unknown` (the wasm-bindgen test
//! runner from tools/scripts/env.sh runs it in Node with wasm-bindgen-test's Criterion).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use shared::crypto::hmac_sha256;
use webhooks::envelope::VerifiedEvent;
use webhooks::stripe::{StripeVerifier, DEFAULT_TOLERANCE_SECONDS};
use webhooks::svix::{SvixHeaders, SvixVerifier};

const T: u64 = 1_732_000_000;
const STRIPE_SECRET: &str = "whsec_benchmarkSecretNotUsedAnywhereElse00";
const SVIX_SECRET: &str = "whsec_cmxzLWVkZ2UgYmVuY2htYXJrIGtleSAtIG5vdCBzZWNyZXQ=";
const MESSAGE_ID: &str = "msg_benchmark";

/// A Stripe-shaped event padded with line items to about 10 KB.
fn payload() -> Vec<u8> {
    let items: Vec<String> = (0..112)
        .map(|index| {
            format!(
                r#"{{"id":"il_{index:04}","amount":{},"currency":"eur","description":"Seat {index} of the Pro plan"}}"#,
                1_000 + index
            )
        })
        .collect();
    let body = format!(
        r#"{{"id":"evt_bench","object":"event","type":"invoice.paid","created":{T},"data":{{"object":{{"id":"in_bench","customer":"cus_bench","lines":[{}]}}}}}}"#,
        items.join(",")
    );
    assert!(
        (9_000..12_000).contains(&body.len()),
        "payload is {} bytes",
        body.len()
    );
    body.into_bytes()
}

struct Fixture {
    body: Vec<u8>,
    stripe: StripeVerifier,
    stripe_header: String,
    svix: SvixVerifier,
    svix_headers: SvixHeaders,
}

fn fixture() -> Fixture {
    let body = payload();
    let stripe_mac = hmac_sha256(
        STRIPE_SECRET.as_bytes(),
        &[T.to_string().as_bytes(), b".", &body],
    );
    let stripe_header = format!("t={T},v1={},v0={}", hex::encode(stripe_mac), "0".repeat(64));
    let key = BASE64
        .decode(SVIX_SECRET.trim_start_matches("whsec_"))
        .expect("benchmark key is base64");
    let svix_mac = hmac_sha256(
        &key,
        &[
            MESSAGE_ID.as_bytes(),
            b".",
            T.to_string().as_bytes(),
            b".",
            &body,
        ],
    );
    let svix_headers = SvixHeaders {
        id: Some(MESSAGE_ID.into()),
        timestamp: Some(T.to_string()),
        signature: Some(format!("v1,{}", BASE64.encode(svix_mac))),
    };
    Fixture {
        stripe: StripeVerifier::new([STRIPE_SECRET], DEFAULT_TOLERANCE_SECONDS)
            .expect("valid secret"),
        svix: SvixVerifier::new([SVIX_SECRET]).expect("valid secret"),
        body,
        stripe_header,
        svix_headers,
    }
}

impl Fixture {
    fn verify_stripe(&self) -> bool {
        self.stripe
            .verify(Some(&self.stripe_header), &self.body, T)
            .is_ok()
    }

    fn verify_svix(&self) -> bool {
        self.svix.verify(&self.svix_headers, &self.body, T).is_ok()
    }

    fn verify_and_read_stripe(&self) -> bool {
        let verified = self.stripe.verify(Some(&self.stripe_header), &self.body, T);
        verified.is_ok_and(|verified| VerifiedEvent::from_stripe(&verified).is_ok())
    }
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::fixture;
    use wasm_bindgen_test::{wasm_bindgen_bench, Criterion};

    #[wasm_bindgen_bench]
    fn verify_10kb(c: &mut Criterion) {
        let fixture = fixture();
        assert!(
            fixture.verify_stripe() && fixture.verify_svix() && fixture.verify_and_read_stripe()
        );
        c.bench_function("stripe verify 10 KB (wasm32)", |b| {
            b.iter(|| fixture.verify_stripe())
        });
        c.bench_function("svix verify 10 KB (wasm32)", |b| {
            b.iter(|| fixture.verify_svix())
        });
        c.bench_function("stripe verify + envelope 10 KB (wasm32)", |b| {
            b.iter(|| fixture.verify_and_read_stripe())
        });
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::hint::black_box;
    use std::time::Instant;

    let fixture = fixture();
    let cases: [(&str, &dyn Fn() -> bool); 3] = [
        ("stripe verify 10 KB (native)", &|| fixture.verify_stripe()),
        ("svix verify 10 KB (native)", &|| fixture.verify_svix()),
        ("stripe verify + envelope 10 KB (native)", &|| {
            fixture.verify_and_read_stripe()
        }),
    ];
    for (name, run) in cases {
        assert!(run(), "{name}: the benchmark delivery must verify");
        let iterations = 20_000;
        let started = Instant::now();
        for _ in 0..iterations {
            black_box(run());
        }
        let per_call = started.elapsed() / iterations;
        println!(
            "{name}: {:.1} µs per delivery ({iterations} runs)",
            per_call.as_secs_f64() * 1e6
        );
    }
}
