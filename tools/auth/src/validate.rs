//! Input checks with GoTrue's rules and messages: email addresses (checkmail's format, at most
//! 255 characters, stored lower-cased) and password strength (minimum length, bcrypt's 72 bytes).

use crate::error::AuthError;

/// bcrypt reads at most 72 bytes; GoTrue refuses longer passwords instead of truncating them.
pub const MAX_PASSWORD_LENGTH: usize = 72;

/// Returns the address lower-cased, or GoTrue's 400.
pub fn email(address: &str) -> Result<String, AuthError> {
    if address.is_empty() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "An email address is required",
        ));
    }
    if address.len() > 255 {
        return Err(AuthError::bad_request(
            "validation_failed",
            "An email address is too long",
        ));
    }
    if !is_email_format(address) {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Unable to validate email address: invalid format",
        ));
    }
    Ok(address.to_lowercase())
}

/// checkmail's pattern: `local@domain` with the RFC 5322 atext characters on the left and
/// dot-separated labels of letters, digits and inner hyphens (at most 63 characters) on the right.
fn is_email_format(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c));
    let domain_ok = !domain.is_empty()
        && domain.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= 63
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        });
    local_ok && domain_ok
}

/// GoTrue's `checkPasswordStrength` with the default rules (length only).
pub fn password_strength(password: &str, min_length: usize) -> Result<(), AuthError> {
    if password.len() > MAX_PASSWORD_LENGTH {
        return Err(AuthError::bad_request(
            "validation_failed",
            format!("Password cannot be longer than {MAX_PASSWORD_LENGTH} characters"),
        ));
    }
    if password.chars().count() < min_length {
        return Err(AuthError::WeakPassword {
            message: format!("Password should be at least {min_length} characters."),
            reasons: vec!["length"],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lower_cased_and_malformed_ones_refused_with_gotrues_message() {
        assert_eq!(email("Alice@Example.COM").unwrap(), "alice@example.com");
        assert!(email("o'brien+tag@mail.example.co.uk").is_ok());
        for bad in [
            "",
            "no-at-sign",
            "@example.com",
            "a@",
            "a@-bad.com",
            "a@bad-.com",
            "a b@example.com",
            "a@ex..com",
        ] {
            let err = email(bad).unwrap_err();
            assert_eq!(err.status(), 400, "{bad}");
        }
        assert_eq!(email("x@y").unwrap(), "x@y");
        assert_eq!(
            email("bad@@x.com").unwrap_err().message(),
            "Unable to validate email address: invalid format"
        );
        assert_eq!(
            email(&format!("{}@x.com", "a".repeat(260)))
                .unwrap_err()
                .message(),
            "An email address is too long"
        );
    }

    #[test]
    fn short_passwords_are_weak_and_long_ones_refused() {
        let weak = password_strength("12345", 6).unwrap_err();
        assert_eq!(
            (weak.status().as_u16(), weak.code()),
            (422, "weak_password")
        );
        assert_eq!(weak.message(), "Password should be at least 6 characters.");
        assert!(password_strength("123456", 6).is_ok());
        let long = password_strength(&"x".repeat(73), 6).unwrap_err();
        assert_eq!(
            (long.status().as_u16(), long.code()),
            (400, "validation_failed")
        );
    }
}
