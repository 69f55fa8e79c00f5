//! The response fields that tell a client where it stands: `RateLimit-Policy` and `RateLimit`
//! from the IETF draft "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers,
//! the revisions from -08 on), and `Retry-After` on a refusal.
//!
//! Both draft fields are Structured Field lists whose items are a quoted policy name with
//! integer parameters:
//!
//! ```text
//! RateLimit-Policy: "signup";q=5;w=60     quota q requests per window w seconds
//! RateLimit: "signup";r=4;t=12            r requests remain; t seconds until reset
//! ```
//!
//! `t` is the time until the quota is whole again, rounded up to a whole second. On a refusal
//! it is the `Retry-After` value instead, as the draft asks that both name the same moment.
//! `Retry-After` is the retry time rounded up to whole seconds, so a client that waits exactly
//! that long is never refused for being early. No partition key (`pk`) is sent: it would echo
//! the caller's identity back in every response.

use crate::gcra::{Quota, Refusal, Verdict};

pub const RATELIMIT_POLICY: &str = "RateLimit-Policy";
pub const RATELIMIT: &str = "RateLimit";
pub const RETRY_AFTER: &str = "Retry-After";

/// The largest Integer a Structured Field may carry (RFC 9651, 15 digits).
const MAX_SF_INTEGER: u64 = 999_999_999_999_999;

/// `"<policy>";q=<max requests>;w=<window seconds>`.
pub fn policy_field(policy: &str, quota: Quota) -> String {
    format!(
        "{};q={};w={}",
        sf_string(policy),
        quota.max_requests(),
        quota.window_seconds()
    )
}

/// `"<policy>";r=<remaining>;t=<seconds>`.
pub fn ratelimit_field(policy: &str, verdict: &Verdict) -> String {
    let reset_ms = match verdict.refusal {
        Some(Refusal::OverLimit) => verdict.retry_after_ms,
        _ => verdict.reset_after_ms,
    };
    format!(
        "{};r={};t={}",
        sf_string(policy),
        verdict.remaining,
        whole_seconds_rounded_up(reset_ms)
    )
}

/// Milliseconds to the whole seconds `Retry-After` and `t` carry, rounded up.
pub fn whole_seconds_rounded_up(milliseconds: u64) -> u64 {
    milliseconds.div_ceil(1000).min(MAX_SF_INTEGER)
}

/// Every field for a verdict: the two draft fields always, `Retry-After` when waiting helps.
pub fn rate_limit_headers(
    policy: &str,
    quota: Quota,
    verdict: &Verdict,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        (RATELIMIT_POLICY, policy_field(policy, quota)),
        (RATELIMIT, ratelimit_field(policy, verdict)),
    ];
    if verdict.refusal == Some(Refusal::OverLimit) {
        headers.push((
            RETRY_AFTER,
            whole_seconds_rounded_up(verdict.retry_after_ms).to_string(),
        ));
    }
    headers
}

/// A Structured Field String: printable ASCII only, `"` and `\` escaped. Policy names come
/// from endpoint names, so anything else is dropped rather than sent as an invalid field.
fn sf_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars().filter(|c| (' '..='~').contains(c)) {
        if character == '"' || character == '\\' {
            quoted.push('\\');
        }
        quoted.push(character);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcra::check;
    use crate::test_support::{quota, NOW};

    fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, value)| value.as_str())
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn admitted_request_carries_policy_and_state_but_no_retry_after() {
        let q = quota(100, 60);
        let decision = check(q, 0, NOW, 1);
        let headers = rate_limit_headers("default", q, &decision.verdict);
        assert_eq!(
            header(&headers, RATELIMIT_POLICY),
            Some(r#""default";q=100;w=60"#)
        );
        assert_eq!(header(&headers, RATELIMIT), Some(r#""default";r=99;t=1"#));
        assert_eq!(header(&headers, RETRY_AFTER), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn refusal_carries_retry_after_and_the_same_moment_in_t() {
        let q = quota(5, 60);
        let mut tat = 0;
        for _ in 0..5 {
            tat = check(q, tat, NOW, 1).tat_ms;
        }
        let refused = check(q, tat, NOW + 500, 1);
        let headers = rate_limit_headers("signup", q, &refused.verdict);
        assert_eq!(refused.verdict.retry_after_ms, 11_500);
        assert_eq!(header(&headers, RETRY_AFTER), Some("12"));
        assert_eq!(header(&headers, RATELIMIT), Some(r#""signup";r=0;t=12"#));
        assert_eq!(
            header(&headers, RATELIMIT_POLICY),
            Some(r#""signup";q=5;w=60"#)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds_rounded_up(0), 0);
        assert_eq!(whole_seconds_rounded_up(1), 1);
        assert_eq!(whole_seconds_rounded_up(1_000), 1);
        assert_eq!(whole_seconds_rounded_up(1_001), 2);
        assert_eq!(whole_seconds_rounded_up(u64::MAX), MAX_SF_INTEGER);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn impossible_cost_gets_no_retry_after() {
        let q = quota(5, 60);
        let decision = check(q, 0, NOW, 6);
        let headers = rate_limit_headers("rate-limit", q, &decision.verdict);
        assert_eq!(header(&headers, RETRY_AFTER), None);
        assert_eq!(header(&headers, RATELIMIT), Some(r#""rate-limit";r=5;t=0"#));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn policy_names_are_valid_structured_field_strings() {
        let q = quota(1, 1);
        assert_eq!(policy_field("a\"b\\c", q), r#""a\"b\\c";q=1;w=1"#);
        assert_eq!(policy_field("caf\u{e9}\n\tx", q), r#""cafx";q=1;w=1"#);
    }
}
