//! Vault tests. The fixed vectors come from `vectors/make_vault_vectors.py`, an independent
//! implementation of the same scheme with pyca/cryptography.

use super::*;

const OPENAI_USER: &str = "8f0c3a52-6f1e-4d6b-9a57-2f1c5e3b7d10";
const OTHER_USER: &str = "3b1f7c9e-2d4a-4e8b-b6c5-9f0a1d2e3c4b";
const OPENAI_PLAINTEXT: &str = "sk-proj-test-0123456789abcdefghij";
const OPENAI_SEALED: &str = "e55c116d1615c4f52c6329c082b207effc7d401f9aa39c5328a666a28c99b556\
                             202ce4662101525ca7ed874174e8978552";
const STRIPE_SEALED: &str = "82a1ed09492af2c8ed5f06fc661a1866f08a9f3ef46adffde8f0921e316c53cf\
                             4878540cb167df037c9a896771de905e19975a0730b558";

/// Hands out the given bytes in order, so a seal's salt and nonce are known in advance.
struct FixedRandom(Vec<u8>);

impl RandomSource for FixedRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), VaultError> {
        let rest = self.0.split_off(buf.len());
        buf.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}

fn version(n: u32) -> KeyVersion {
    KeyVersion::new(n).unwrap()
}

fn ring(keys: &[(u32, [u8; 32])]) -> KeyRing {
    KeyRing::from_keys(
        keys.iter()
            .map(|(v, secret)| MasterKey::new(version(*v), *secret))
            .collect(),
    )
    .unwrap()
}

fn counting_key() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

fn descending_key() -> [u8; 32] {
    std::array::from_fn(|i| 0xFF - i as u8)
}

fn openai_binding() -> RecordBinding<'static> {
    RecordBinding {
        user_id: OPENAI_USER,
        service: "openai",
    }
}

fn openai_vector() -> SealedKey {
    SealedKey {
        ciphertext: hex::decode(OPENAI_SEALED).unwrap(),
        nonce: std::array::from_fn(|i| 0xC0 + i as u8),
        salt: std::array::from_fn(|i| 0xA0 + i as u8),
        key_version: version(1),
    }
}

fn openai_vector_random() -> FixedRandom {
    FixedRandom((0xA0..0xB0).chain(0xC0..0xCC).collect())
}

fn assert_fails_to_open(ring: &KeyRing, binding: &RecordBinding<'_>, sealed: &SealedKey) {
    assert_eq!(
        open(ring, binding, sealed),
        Err(VaultError::DecryptionFailed)
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn associated_data_matches_the_independent_encoding() {
    assert_eq!(
        hex::encode(openai_binding().associated_data(version(1))),
        "00000018726c732d656467652f6170692d6b6579732f6161642f7631\
         0000002438663063336135322d366631652d346436622d396135372d326631633565336237643130\
         000000066f70656e6169\
         0000000400000001"
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn seal_reproduces_the_fixed_vectors() {
    let sealed = seal(
        &ring(&[(1, counting_key())]),
        &openai_binding(),
        OPENAI_PLAINTEXT,
        &mut openai_vector_random(),
    )
    .unwrap();
    assert_eq!(sealed, openai_vector());

    let stripe_user = "0E9D6F2A-1B3C-4D5E-8F70-A1B2C3D4E5F6";
    let binding = RecordBinding {
        user_id: stripe_user,
        service: "stripe",
    };
    let mut random = FixedRandom([[0x11u8; 16].as_slice(), &[0x22u8; 12]].concat());
    let sealed = seal(
        &ring(&[(7, descending_key())]),
        &binding,
        "sk_test_51Nq0aBcDeFgHiJkLmNoPqRsTuVwXyZ",
        &mut random,
    )
    .unwrap();
    assert_eq!(hex::encode(&sealed.ciphertext), STRIPE_SEALED);
    assert_eq!(sealed.key_version, version(7));
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn open_recovers_the_fixed_vector_plaintext() {
    let plaintext = open(
        &ring(&[(1, counting_key())]),
        &openai_binding(),
        &openai_vector(),
    )
    .unwrap();
    assert_eq!(plaintext.as_str(), OPENAI_PLAINTEXT);
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn user_id_case_does_not_change_the_binding() {
    let upper = RecordBinding {
        user_id: &OPENAI_USER.to_ascii_uppercase(),
        service: "openai",
    };
    let plaintext = open(&ring(&[(1, counting_key())]), &upper, &openai_vector()).unwrap();
    assert_eq!(plaintext.as_str(), OPENAI_PLAINTEXT);
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn round_trip_with_the_system_random_source() {
    let ring = ring(&[(3, descending_key())]);
    let binding = RecordBinding {
        user_id: OTHER_USER,
        service: "resend",
    };
    let first = seal(
        &ring,
        &binding,
        "re_abcdefghijklmnopqrstuvwx",
        &mut SystemRandom,
    )
    .unwrap();
    let second = seal(
        &ring,
        &binding,
        "re_abcdefghijklmnopqrstuvwx",
        &mut SystemRandom,
    )
    .unwrap();
    assert_ne!(first.salt, second.salt, "every record gets its own salt");
    assert_ne!(
        first.nonce, second.nonce,
        "every encryption gets its own nonce"
    );
    assert_ne!(first.ciphertext, second.ciphertext);
    for sealed in [&first, &second] {
        assert_eq!(sealed.key_version, version(3));
        assert_eq!(
            open(&ring, &binding, sealed).unwrap().as_str(),
            "re_abcdefghijklmnopqrstuvwx"
        );
    }
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn any_flipped_ciphertext_or_tag_bit_fails() {
    let ring = ring(&[(1, counting_key())]);
    let pristine = openai_vector();
    for index in 0..pristine.ciphertext.len() {
        let mut tampered = pristine.clone();
        tampered.ciphertext[index] ^= 0x01;
        assert_fails_to_open(&ring, &openai_binding(), &tampered);
    }
    let mut truncated = pristine.clone();
    truncated.ciphertext.pop();
    assert_fails_to_open(&ring, &openai_binding(), &truncated);
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn tampered_nonce_or_salt_fails() {
    let ring = ring(&[(1, counting_key())]);
    let mut nonce_changed = openai_vector();
    nonce_changed.nonce[11] ^= 0x80;
    assert_fails_to_open(&ring, &openai_binding(), &nonce_changed);
    let mut salt_changed = openai_vector();
    salt_changed.salt[0] ^= 0x01;
    assert_fails_to_open(&ring, &openai_binding(), &salt_changed);
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn ciphertext_moved_to_another_user_or_service_fails() {
    let ring = ring(&[(1, counting_key())]);
    let other_user = RecordBinding {
        user_id: OTHER_USER,
        service: "openai",
    };
    assert_fails_to_open(&ring, &other_user, &openai_vector());
    let other_service = RecordBinding {
        user_id: OPENAI_USER,
        service: "anthropic",
    };
    assert_fails_to_open(&ring, &other_service, &openai_vector());
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn relabelled_key_version_fails_even_with_the_same_master_secret() {
    // Both versions hold the same secret, so only the version in the AAD can make this fail.
    let ring = ring(&[(2, counting_key()), (1, counting_key())]);
    let mut relabelled = openai_vector();
    relabelled.key_version = version(2);
    assert_fails_to_open(&ring, &openai_binding(), &relabelled);
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn wrong_master_key_fails() {
    let wrong = ring(&[(1, descending_key())]);
    assert_fails_to_open(&wrong, &openai_binding(), &openai_vector());
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn unknown_key_version_is_reported_as_such() {
    let ring = ring(&[(2, counting_key())]);
    assert_eq!(
        open(&ring, &openai_binding(), &openai_vector()),
        Err(VaultError::UnknownKeyVersion(version(1)))
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn rotation_reseals_under_the_current_key_and_still_opens() {
    let old_ring = ring(&[(1, counting_key())]);
    let rotated_ring = ring(&[(2, descending_key()), (1, counting_key())]);
    let original = openai_vector();
    assert!(needs_rotation(&rotated_ring, &original));
    assert!(!needs_rotation(&old_ring, &original));

    let rotated = reencrypt(
        &rotated_ring,
        &openai_binding(),
        &original,
        &mut SystemRandom,
    )
    .unwrap();
    assert_eq!(rotated.key_version, version(2));
    assert!(!needs_rotation(&rotated_ring, &rotated));
    assert_ne!(rotated.salt, original.salt);
    assert_ne!(rotated.ciphertext, original.ciphertext);

    let only_new = ring(&[(2, descending_key())]);
    assert_eq!(
        open(&only_new, &openai_binding(), &rotated)
            .unwrap()
            .as_str(),
        OPENAI_PLAINTEXT
    );
    assert_eq!(
        open(&old_ring, &openai_binding(), &rotated),
        Err(VaultError::UnknownKeyVersion(version(2)))
    );
    let other_user = RecordBinding {
        user_id: OTHER_USER,
        service: "openai",
    };
    assert_fails_to_open(&rotated_ring, &other_user, &rotated);
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn rotation_refuses_a_record_that_does_not_open() {
    let rotated_ring = ring(&[(2, descending_key()), (1, counting_key())]);
    let other_user = RecordBinding {
        user_id: OTHER_USER,
        service: "openai",
    };
    assert_eq!(
        reencrypt(
            &rotated_ring,
            &other_user,
            &openai_vector(),
            &mut SystemRandom
        ),
        Err(VaultError::DecryptionFailed)
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn bindings_with_shifted_field_boundaries_encode_differently() {
    let a = RecordBinding {
        user_id: "ab",
        service: "c",
    }
    .associated_data(version(1));
    let b = RecordBinding {
        user_id: "a",
        service: "bc",
    }
    .associated_data(version(1));
    assert_ne!(a, b);
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn from_parts_checks_column_sizes() {
    let v = openai_vector();
    assert_eq!(
        SealedKey::from_parts(v.ciphertext.clone(), &v.nonce, &v.salt, 1).unwrap(),
        v
    );
    let malformed = [
        SealedKey::from_parts(v.ciphertext.clone(), &v.nonce[..11], &v.salt, 1),
        SealedKey::from_parts(v.ciphertext.clone(), &v.nonce, &v.salt[..15], 1),
        SealedKey::from_parts(v.ciphertext.clone(), &v.nonce, &v.salt, 0),
        SealedKey::from_parts(v.ciphertext.clone(), &v.nonce, &v.salt, 1 << 31),
        SealedKey::from_parts(vec![0; TAG_LEN - 1], &v.nonce, &v.salt, 1),
    ];
    for result in malformed {
        assert!(
            matches!(result, Err(VaultError::MalformedRecord(_))),
            "{result:?}"
        );
    }
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn key_ring_parses_current_first() {
    use base64::Engine;
    let encode = |key: [u8; 32]| base64::engine::general_purpose::STANDARD.encode(key);
    let config = format!(
        " v2:{} , v1:{}",
        encode(descending_key()),
        encode(counting_key())
    );
    let ring = KeyRing::parse(&config).unwrap();
    assert_eq!(ring.current().version(), version(2));
    assert_eq!(
        ring.versions().collect::<Vec<_>>(),
        [version(2), version(1)]
    );
    assert_eq!(
        open(&ring, &openai_binding(), &openai_vector())
            .unwrap()
            .as_str(),
        OPENAI_PLAINTEXT
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn key_ring_errors_name_the_problem_and_never_the_key() {
    use base64::Engine;
    let encode = |key: &[u8]| base64::engine::general_purpose::STANDARD.encode(key);
    let good = encode(&counting_key());
    let short = encode(&counting_key()[..31]);
    let long = encode(&[7u8; 33]);
    let cases = [
        (String::new(), KeyRingError::Empty),
        ("  ".to_string(), KeyRingError::Empty),
        (good.clone(), KeyRingError::MalformedEntry { position: 1 }),
        (
            format!("v1:{good},"),
            KeyRingError::MalformedEntry { position: 2 },
        ),
        (
            format!("1:{good}"),
            KeyRingError::InvalidVersion { position: 1 },
        ),
        (
            format!("v1:{good},v0:{good}"),
            KeyRingError::InvalidVersion { position: 2 },
        ),
        (
            format!("v-1:{good}"),
            KeyRingError::InvalidVersion { position: 1 },
        ),
        (
            format!("v2147483648:{good}"),
            KeyRingError::InvalidVersion { position: 1 },
        ),
        (
            format!("v:{good}"),
            KeyRingError::InvalidVersion { position: 1 },
        ),
        (
            format!("v3:{good},v3:{good}"),
            KeyRingError::DuplicateVersion {
                version: version(3),
            },
        ),
        (
            format!("v4:{}!", &good[..43]),
            KeyRingError::InvalidBase64 {
                version: version(4),
            },
        ),
        (
            format!("v5:{short}"),
            KeyRingError::WrongKeyLength {
                version: version(5),
                decoded_len: 31,
            },
        ),
        (
            format!("v6:{long}"),
            KeyRingError::WrongKeyLength {
                version: version(6),
                decoded_len: 33,
            },
        ),
    ];
    for (config, expected) in cases {
        let error = KeyRing::parse(&config).unwrap_err();
        assert_eq!(error, expected, "config {config:?}");
        let message = error.to_string();
        for secret in [&good, &short, &long] {
            assert!(!message.contains(secret.as_str()), "{message}");
        }
    }
    assert_eq!(
        KeyRing::parse(&format!("v5:{short}"))
            .unwrap_err()
            .to_string(),
        "master key v5 decodes to 31 bytes; it must be exactly 32"
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn debug_output_and_errors_carry_no_secrets() {
    let ring = ring(&[(1, counting_key())]);
    let debug = format!("{ring:?}");
    assert!(debug.contains("<redacted>"));
    assert!(
        !debug.contains("0, 1, 2"),
        "the secret bytes would print as [0, 1, 2, ...]: {debug}"
    );

    let failures = [
        open(
            &ring,
            &RecordBinding {
                user_id: OTHER_USER,
                service: "openai",
            },
            &openai_vector(),
        ),
        open(
            &ring,
            &openai_binding(),
            &SealedKey {
                key_version: version(9),
                ..openai_vector()
            },
        ),
    ];
    for failure in failures {
        let error = failure.unwrap_err();
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(
                !text.contains(OPENAI_PLAINTEXT) && !text.contains("sk-"),
                "{text}"
            );
        }
    }
}
