//! What sealing and opening one stored key costs (HKDF-SHA256 per record, AES-256-GCM, the
//! AAD encoding; sealing also draws a salt and a nonce from the CSPRNG).
//!
//! Native: `cargo bench -p api-keys --bench vault`. wasm32, the number that matters on
//! Workers: the same command with `--target wasm32-unknown-unknown` (the wasm-bindgen test
//! runner from tools/scripts/env.sh runs it in Node with wasm-bindgen-test's Criterion).

use api_keys::vault::{
    open, seal, KeyRing, KeyVersion, MasterKey, RecordBinding, SealedKey, SystemRandom,
};

/// A project-scoped OpenAI key is about this long; most providers' keys are shorter.
const KEY: &str = "sk-proj-Ab12Cd34Ef56Gh78Ij90KlMnOpQrStUvWxYz0123456789abcdefghijklmnopqrstuv";
const BINDING: RecordBinding<'static> = RecordBinding {
    user_id: "8f0c3a52-6f1e-4d6b-9a57-2f1c5e3b7d10",
    service: "openai",
};

struct Fixture {
    ring: KeyRing,
    sealed: SealedKey,
}

fn fixture() -> Fixture {
    let version = KeyVersion::new(1).expect("1 is a valid version");
    let ring = KeyRing::from_keys(vec![MasterKey::new(version, [7; 32])])
        .expect("one key is a valid ring");
    let sealed = seal(&ring, &BINDING, KEY, &mut SystemRandom).expect("sealing works");
    Fixture { ring, sealed }
}

impl Fixture {
    fn seal(&self) -> bool {
        seal(&self.ring, &BINDING, KEY, &mut SystemRandom).is_ok()
    }

    fn open(&self) -> bool {
        open(&self.ring, &BINDING, &self.sealed).is_ok_and(|plaintext| plaintext.as_str() == KEY)
    }
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::fixture;
    use wasm_bindgen_test::{wasm_bindgen_bench, Criterion};

    #[wasm_bindgen_bench]
    fn vault(c: &mut Criterion) {
        let fixture = fixture();
        assert!(fixture.seal() && fixture.open());
        c.bench_function("seal one key (wasm32)", |b| b.iter(|| fixture.seal()));
        c.bench_function("open one key (wasm32)", |b| b.iter(|| fixture.open()));
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::hint::black_box;
    use std::time::Instant;

    let fixture = fixture();
    let cases: [(&str, &dyn Fn() -> bool); 2] = [
        ("seal one key (native)", &|| fixture.seal()),
        ("open one key (native)", &|| fixture.open()),
    ];
    for (name, run) in cases {
        assert!(run(), "{name}: the benchmark key must seal and open");
        let iterations = 20_000;
        let started = Instant::now();
        for _ in 0..iterations {
            black_box(run());
        }
        let per_call = started.elapsed() / iterations;
        println!(
            "{name}: {:.2} µs per key ({iterations} runs)",
            per_call.as_secs_f64() * 1e6
        );
    }
}
