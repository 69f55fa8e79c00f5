//! Sealing and opening one stored third-party key with the api-keys vault: HKDF-SHA256 per
//! record, AES-256-GCM with the record binding as AAD (sealing also draws salt and nonce from
//! the platform CSPRNG, `crypto.getRandomValues` on wasm32).

use std::rc::Rc;

use api_keys::vault::{open, seal, KeyRing, KeyVersion, MasterKey, RecordBinding, SystemRandom};

use super::Case;

/// About as long as the longest provider keys (an OpenAI project key).
const PLAINTEXT: &str =
    "sk-proj-Zz98Yy76Xx54Ww32Vv10UuTtSsRrQqPpOoNnMmLlKkJjIiHhGgFfEeDdCcBbAa0123456789";
const BINDING: RecordBinding<'static> = RecordBinding {
    user_id: "3d9a4c6e-1b2f-4e8a-9c7d-5f0e1a2b3c4d",
    service: "openai",
};

pub fn cases() -> Vec<Case> {
    let version = KeyVersion::new(1).expect("1 is a valid key version");
    let ring = Rc::new(
        KeyRing::from_keys(vec![MasterKey::new(version, [42; 32])])
            .expect("one key is a valid ring"),
    );
    let sealed =
        seal(&ring, &BINDING, PLAINTEXT, &mut SystemRandom).expect("the benchmark key seals");
    let sealing_ring = Rc::clone(&ring);
    vec![
        Case::new(
            "vault_seal",
            "AES-256-GCM encrypt one API key, HKDF per record (api-keys vault)",
            move |iterations| {
                (0..iterations)
                    .filter(|_| seal(&sealing_ring, &BINDING, PLAINTEXT, &mut SystemRandom).is_ok())
                    .count() as u32
            },
        ),
        Case::new(
            "vault_open",
            "AES-256-GCM decrypt one API key, HKDF per record (api-keys vault)",
            move |iterations| {
                (0..iterations)
                    .filter(|_| {
                        open(&ring, &BINDING, &sealed)
                            .is_ok_and(|plaintext| plaintext.as_str() == PLAINTEXT)
                    })
                    .count() as u32
            },
        ),
    ]
}
