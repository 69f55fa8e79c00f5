//! Native micro-benchmark of the vault: what sealing and opening one key costs.
//!
//! Run: `cargo run --release -p api-keys --example vault_bench [iterations]`

use std::hint::black_box;
use std::time::Instant;

use api_keys::vault::{open, seal, KeyRing, KeyVersion, MasterKey, RecordBinding, SystemRandom};

const DEFAULT_ITERATIONS: u32 = 20_000;

fn main() {
    let iterations = std::env::args()
        .nth(1)
        .map(|arg| arg.parse().expect("iterations must be a positive integer"))
        .unwrap_or(DEFAULT_ITERATIONS);
    let version = KeyVersion::new(1).expect("1 is a valid version");
    let ring = KeyRing::from_keys(vec![MasterKey::new(version, [7; 32])]).expect("one key");
    let binding = RecordBinding { user_id: "8f0c3a52-6f1e-4d6b-9a57-2f1c5e3b7d10", service: "openai" };
    let key = "sk-proj-Ab12Cd34Ef56Gh78Ij90KlMnOpQrStUvWxYz0123456789abcdefghijklmnopqrstuv";

    let started = Instant::now();
    let mut sealed = Vec::with_capacity(iterations as usize);
    for _ in 0..iterations {
        sealed.push(seal(&ring, &binding, black_box(key), &mut SystemRandom).expect("seal"));
    }
    let seal_micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);

    let started = Instant::now();
    for record in &sealed {
        let plaintext = open(&ring, &binding, black_box(record)).expect("open");
        black_box(plaintext.len());
    }
    let open_micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);

    println!("vault, {}-byte key, {iterations} iterations (native)", key.len());
    println!("  seal (HKDF + salt/nonce from the OS CSPRNG + AES-256-GCM): {seal_micros:.2} µs/key");
    println!("  open (HKDF + AES-256-GCM verify/decrypt):                  {open_micros:.2} µs/key");
}
