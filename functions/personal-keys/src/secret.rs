//! The secret of a personal key: `rlse_pk_` + 37 random base62 characters (about 220 bits) + a
//! 6-character base62 CRC-32 of everything before it, the shape GitHub's tokens have, so secret
//! scanners can match the prefix and confirm the checksum without false positives, and the edge
//! refuses a mistyped or made-up key without asking the database.
//!
//! The database keeps only [`hash`] (SHA-256, hex) and the first [`DISPLAY_PREFIX_CHARS`]
//! characters for display. A plain hash suffices: the secret is random, not a password.

use sha2::{Digest, Sha256};

/// What every personal key starts with.
pub const KEY_PREFIX: &str = "rlse_pk_";
const RANDOM_CHARS: usize = 37;
const CHECKSUM_CHARS: usize = 6;
/// The whole secret's length.
pub const KEY_LENGTH: usize = KEY_PREFIX.len() + RANDOM_CHARS + CHECKSUM_CHARS;
/// How much of the secret is stored and listed to tell keys apart (`rlse_pk_` + 8).
pub const DISPLAY_PREFIX_CHARS: usize = KEY_PREFIX.len() + 8;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A key just made: the secret (shown once), its display prefix and its hash.
pub struct NewKey {
    pub secret: String,
    pub display_prefix: String,
    pub hash: String,
}

/// Makes a key from `random` (the platform's CSPRNG in production).
pub fn generate<E>(mut random: impl FnMut(&mut [u8]) -> Result<(), E>) -> Result<NewKey, E> {
    let mut body = String::from(KEY_PREFIX);
    let mut bytes = [0u8; 64];
    while body.len() < KEY_PREFIX.len() + RANDOM_CHARS {
        random(&mut bytes)?;
        // 248 = 4 * 62: bytes below it map onto base62 without bias.
        for byte in bytes.iter().filter(|byte| **byte < 248) {
            if body.len() == KEY_PREFIX.len() + RANDOM_CHARS {
                break;
            }
            body.push(BASE62[usize::from(*byte % 62)] as char);
        }
    }
    let secret = format!("{body}{}", checksum(&body));
    Ok(NewKey {
        display_prefix: secret[..DISPLAY_PREFIX_CHARS].to_string(),
        hash: hash(&secret),
        secret,
    })
}

/// Whether `text` claims to be a personal key (its prefix), whatever else it holds.
pub fn is_personal_key(text: &str) -> bool {
    text.starts_with(KEY_PREFIX)
}

/// Whether `text` is a well-formed personal key: length, alphabet and checksum.
pub fn is_well_formed(text: &str) -> bool {
    text.len() == KEY_LENGTH
        && is_personal_key(text)
        && text[KEY_PREFIX.len()..]
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric())
        && checksum(&text[..KEY_LENGTH - CHECKSUM_CHARS]) == text[KEY_LENGTH - CHECKSUM_CHARS..]
}

/// What the database stores and looks keys up by: SHA-256 of the whole secret, lower-case hex.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// CRC-32 (IEEE) of `text` in 6 base62 digits (62^6 > 2^32), most significant first.
fn checksum(text: &str) -> String {
    let mut value = u64::from(crc32(text.as_bytes()));
    let mut digits = [b'0'; CHECKSUM_CHARS];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|byte| *byte as char).collect()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & 0u32.wrapping_sub(crc & 1));
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting_random() -> impl FnMut(&mut [u8]) -> Result<(), ()> {
        let mut next = 0u8;
        move |buf: &mut [u8]| {
            for byte in buf {
                *byte = next;
                next = next.wrapping_add(7);
            }
            Ok(())
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_generated_key_has_the_documented_shape_and_checks_out() {
        let key = generate(counting_random()).unwrap();
        assert_eq!(key.secret.len(), KEY_LENGTH);
        assert!(key.secret.starts_with("rlse_pk_"));
        assert!(is_well_formed(&key.secret));
        assert_eq!(key.display_prefix, &key.secret[..16]);
        assert_eq!(key.hash, hash(&key.secret));
        assert_eq!(key.hash.len(), 64);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_mistyped_or_made_up_key_is_not_well_formed() {
        let key = generate(counting_random()).unwrap().secret;
        let mut typo = key.clone().into_bytes();
        typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
        assert!(!is_well_formed(std::str::from_utf8(&typo).unwrap()));
        assert!(!is_well_formed(&key[..KEY_LENGTH - 1]));
        assert!(!is_well_formed(&format!("{key}x")));
        assert!(!is_well_formed(&key.replacen("rlse_pk_", "rlse_sk_", 1)));
        assert!(is_personal_key("rlse_pk_whatever"));
        assert!(!is_personal_key("eyJhbGciOiJFUzI1NiJ9.e30.sig"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn two_keys_differ() {
        let mut seed = 1u32;
        let mut random = |buf: &mut [u8]| -> Result<(), ()> {
            for byte in buf {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                *byte = (seed >> 16) as u8;
            }
            Ok(())
        };
        let first = generate(&mut random).unwrap();
        let second = generate(&mut random).unwrap();
        assert_ne!(first.secret, second.secret);
        assert_ne!(first.hash, second.hash);
    }
}
