//! What the health endpoint (`GET /functions/v1/health`, wired in the bundle's `src/health.rs`)
//! concludes from its PostgREST probe. Kept here, free of `worker` types, so it is tested
//! natively and on wasm32 like the rest of the crate.
//!
//! The probe is a request every PostgREST version answers the same way and Supabase still
//! serves (unlike the OpenAPI root, no longer served to the anon key since April 2026): a
//! one-row read of [`PROBE_TABLE`] as the rate limiter role, with the publishable key as
//! `apikey` and a role token the Worker minted as Bearer. So one request shows at once whether
//! PostgREST is reachable, accepts the `apikey`, trusts the key the Worker signs with, and has
//! this project's schema.

use serde::{Deserialize, Serialize};

use crate::auth::DatabaseRole;

/// A table every deployment of this project has and the probe role may read.
pub const PROBE_TABLE: &str = "system_rate_limits";
pub const PROBE_COLUMN: &str = "endpoint";
pub const PROBE_ROLE: DatabaseRole = DatabaseRole::RateLimiter;

/// The probe's verdict, as the detailed health report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeVerdict {
    pub ok: bool,
    /// PostgREST's answer, when there was one.
    pub status: Option<u16>,
    /// What is wrong, in words an operator can act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The variable to fix, when one is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable: Option<&'static str>,
}

#[derive(Default, Deserialize)]
struct PostgrestErrorCode {
    #[serde(default)]
    code: Option<String>,
}

/// Reads PostgREST's answer to the probe. `role_token_variable` names the setting the role
/// token was signed with (`JWT_SIGNING_KEY`, or the legacy `SUPABASE_JWT_SECRET`).
pub fn classify_probe(status: u16, body: &str, role_token_variable: &'static str) -> ProbeVerdict {
    let code = serde_json::from_str::<PostgrestErrorCode>(body)
        .unwrap_or_default()
        .code
        .unwrap_or_default();
    let verdict = |problem: Option<String>, variable| ProbeVerdict {
        ok: problem.is_none(),
        status: Some(status),
        problem,
        variable,
    };
    match status {
        200..=299 => verdict(None, None),
        // PostgREST's JWT errors (PGRST301 no key verifies it, PGRST303 claims refused...).
        401 | 403 if code.starts_with("PGRST3") => verdict(
            Some(format!(
                "PostgREST refused the Worker's role token ({code}): the project does not trust the key it is \
                 signed with; import the public half of {role_token_variable} into the project's signing keys"
            )),
            Some(role_token_variable),
        ),
        // The API gateway's answer to a key it does not know: no PostgREST error code.
        401 => verdict(
            Some("the API gateway refused the apikey: it is not this project's publishable (or anon) key".into()),
            Some("SUPABASE_PUBLISHABLE_KEY"),
        ),
        403 | 404 => verdict(
            Some(format!(
                "PostgREST answered {status} ({code}) reading {PROBE_TABLE} as {}: apply the migrations in sql/",
                PROBE_ROLE.as_str()
            )),
            None,
        ),
        _ => verdict(Some(format!("PostgREST answered {status}")), None),
    }
}

/// The probe when no answer came at all.
pub fn unreachable_probe(reason: &str) -> ProbeVerdict {
    ProbeVerdict {
        ok: false,
        status: None,
        problem: Some(format!("PostgREST is unreachable: {reason}")),
        variable: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_body(code: &str) -> String {
        serde_json::json!({ "code": code, "message": "m", "details": null, "hint": null })
            .to_string()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn rows_or_none_are_healthy() {
        for body in ["[]", r#"[{"endpoint":"signup"}]"#] {
            let verdict = classify_probe(200, body, "JWT_SIGNING_KEY");
            assert!(verdict.ok);
            assert_eq!((verdict.problem, verdict.variable), (None, None));
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_refused_role_token_names_the_signing_setting() {
        for code in ["PGRST301", "PGRST303"] {
            let verdict = classify_probe(401, &error_body(code), "JWT_SIGNING_KEY");
            assert!(!verdict.ok);
            assert_eq!(verdict.variable, Some("JWT_SIGNING_KEY"));
            assert!(verdict.problem.unwrap().contains(code));
        }
        let legacy = classify_probe(401, &error_body("PGRST301"), "SUPABASE_JWT_SECRET");
        assert_eq!(legacy.variable, Some("SUPABASE_JWT_SECRET"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_refused_apikey_names_the_publishable_key() {
        let gateway = r#"{"message":"Invalid API key","hint":"Double check your Supabase `anon` or `service_role` API key."}"#;
        for body in [gateway, "", "<html>401</html>"] {
            let verdict = classify_probe(401, body, "JWT_SIGNING_KEY");
            assert!(!verdict.ok);
            assert_eq!(verdict.variable, Some("SUPABASE_PUBLISHABLE_KEY"), "{body}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_missing_schema_or_grant_points_at_the_migrations() {
        for (status, code) in [(404, "PGRST205"), (404, "42P01"), (403, "42501")] {
            let verdict = classify_probe(status, &error_body(code), "JWT_SIGNING_KEY");
            assert!(!verdict.ok);
            assert_eq!(verdict.variable, None);
            assert!(verdict.problem.unwrap().contains("migrations"));
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn server_errors_and_no_answer_are_unhealthy() {
        assert!(!classify_probe(503, "", "JWT_SIGNING_KEY").ok);
        assert!(!classify_probe(500, &error_body("PGRST000"), "JWT_SIGNING_KEY").ok);
        let gone = unreachable_probe("connection refused");
        assert_eq!((gone.ok, gone.status), (false, None));
    }
}
