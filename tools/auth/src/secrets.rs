//! Random values the service hands out and the hashes it stores instead of them, made the way
//! GoTrue makes them: 12-character lower-case base32 refresh tokens, 6-digit email codes, and
//! one-time token hashes `hex(sha224(email + code))`.

use sha2::{Digest, Sha224};

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

/// A refresh token: 12 characters of lower-case base32 (`a-z2-7`), like GoTrue's
/// `SecureAlphanumeric(12)`.
pub fn refresh_token() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    random_bytes::<12>()
        .iter()
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect()
}

/// A 6-digit one-time code for emails (GoTrue's default OTP length).
pub fn email_otp() -> String {
    let bytes = random_bytes::<8>();
    let number = u64::from_le_bytes(bytes) % 1_000_000;
    format!("{number:06}")
}

/// What is stored and put in links for a code sent to `email`: hex(sha224(email + code)).
pub fn token_hash(email: &str, otp: &str) -> String {
    hex::encode(Sha224::digest(format!("{email}{otp}").as_bytes()))
}

/// Random filler for passwords the admin API generates when none is given (never shown).
pub fn unguessable_password() -> String {
    hex::encode(random_bytes::<32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_12_base32_characters_and_differ() {
        let a = refresh_token();
        assert_eq!(a.len(), 12);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)),
            "{a}"
        );
        assert_ne!(a, refresh_token());
    }

    #[test]
    fn codes_have_six_digits_and_hashes_bind_the_address() {
        let code = email_otp();
        assert_eq!(code.len(), 6);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
        // sha224("a@example.com123456"), computed independently with `sha224sum`.
        assert_eq!(
            token_hash("a@example.com", "123456"),
            "a1828f725cbf9d6eecc3a3afeb2d88a886ccb3280cc2dc88aafb5c82"
        );
        assert_ne!(
            token_hash("b@example.com", "123456"),
            token_hash("a@example.com", "123456")
        );
    }
}
