//! The replay window both schemes share: a signed timestamp must be within a tolerance of
//! the verifier's clock, in either direction, with the limit itself still accepted.

use crate::error::{Skew, VerifyError};

pub(crate) fn check(
    header: &'static str,
    signed_at: u64,
    now_seconds: u64,
    tolerance_seconds: u64,
) -> Result<(), VerifyError> {
    let skew = if signed_at <= now_seconds {
        Skew::InThePast {
            seconds: now_seconds - signed_at,
        }
    } else {
        Skew::InTheFuture {
            seconds: signed_at - now_seconds,
        }
    };
    let distance = match skew {
        Skew::InThePast { seconds } | Skew::InTheFuture { seconds } => seconds,
    };
    if distance > tolerance_seconds {
        return Err(VerifyError::TimestampOutsideTolerance {
            header,
            skew,
            tolerance_seconds,
        });
    }
    Ok(())
}

/// Parses a Unix timestamp written as plain ASCII digits. Signs, spaces and fractions are
/// refused rather than guessed at, since the value is part of what was signed.
pub(crate) fn parse_unix_seconds(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_limit_itself_is_accepted_in_both_directions() {
        assert_eq!(check("h", 1_000, 1_300, 300), Ok(()));
        assert_eq!(check("h", 1_300, 1_000, 300), Ok(()));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn one_second_past_the_limit_is_refused_and_says_which_way() {
        assert_eq!(
            check("h", 1_000, 1_301, 300),
            Err(VerifyError::TimestampOutsideTolerance {
                header: "h",
                skew: Skew::InThePast { seconds: 301 },
                tolerance_seconds: 300
            })
        );
        assert_eq!(
            check("h", 1_301, 1_000, 300),
            Err(VerifyError::TimestampOutsideTolerance {
                header: "h",
                skew: Skew::InTheFuture { seconds: 301 },
                tolerance_seconds: 300
            })
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn timestamps_must_be_plain_digits() {
        assert_eq!(parse_unix_seconds("1700000000"), Some(1_700_000_000));
        for bad in [
            "",
            "-5",
            "+5",
            " 5",
            "5 ",
            "5.0",
            "1e9",
            "abc",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_unix_seconds(bad), None, "{bad:?}");
        }
    }
}
