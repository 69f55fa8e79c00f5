//! The webhook settings, read from the Worker's variables and secrets:
//!
//! | name | kind | default | meaning |
//! |---|---|---|---|
//! | `STRIPE_WEBHOOK_SECRETS` | secret | none, required for `/stripe` | the endpoint signing secrets (`whsec_...`), comma-separated; list the old and the new one while rotating |
//! | `STRIPE_WEBHOOK_TOLERANCE_SECONDS` | var | 300 | how far the signed timestamp may be from now, either way (1..=3600) |
//! | `RESEND_WEBHOOK_SECRETS` | secret | none, required for `/resend` | the Resend (Svix) signing secrets (`whsec_<base64>`), comma-separated |
//!
//! Problems name the variable and, for a list, the position of the bad secret; never a value.

use crate::error::SecretError;
use crate::stripe::{StripeVerifier, DEFAULT_TOLERANCE_SECONDS};
use crate::svix::SvixVerifier;
use shared::config::{self, positive_at_most, ConfigError, Parsed, VarSource, Vars};

pub const STRIPE_SECRETS: &str = "STRIPE_WEBHOOK_SECRETS";
pub const STRIPE_TOLERANCE: &str = "STRIPE_WEBHOOK_TOLERANCE_SECONDS";
pub const RESEND_SECRETS: &str = "RESEND_WEBHOOK_SECRETS";

const MAX_TOLERANCE_SECONDS: u64 = 3600;

/// The Stripe verifier, built once per isolate (`shared::config::parsed_once`).
pub fn stripe(env: &worker::Env) -> Parsed<StripeVerifier> {
    config::parsed_once(env, stripe_verifier)
}

/// The Resend (Svix) verifier, built once per isolate.
pub fn resend(env: &worker::Env) -> Parsed<SvixVerifier> {
    config::parsed_once(env, resend_verifier)
}

/// Every problem with the webhook settings, for the health report: each provider's secrets are
/// required only by its own route, but a route that would answer 500 is worth knowing about.
pub fn problems(env: &worker::Env) -> Vec<ConfigError> {
    let stripe = stripe(env).err().unwrap_or_default();
    let resend = resend(env).err().unwrap_or_default();
    stripe.into_iter().chain(resend).collect()
}

pub fn stripe_verifier(
    source: &(impl VarSource + ?Sized),
) -> Result<StripeVerifier, Vec<ConfigError>> {
    let mut vars = Vars::new(source);
    let tolerance = vars.parsed(
        STRIPE_TOLERANCE,
        DEFAULT_TOLERANCE_SECONDS,
        positive_at_most(MAX_TOLERANCE_SECONDS),
    );
    let built = StripeVerifier::new(vars.list(STRIPE_SECRETS), tolerance);
    finish(vars, STRIPE_SECRETS, built)
}

pub fn resend_verifier(
    source: &(impl VarSource + ?Sized),
) -> Result<SvixVerifier, Vec<ConfigError>> {
    let vars = Vars::new(source);
    let built = SvixVerifier::new(vars.list(RESEND_SECRETS));
    finish(vars, RESEND_SECRETS, built)
}

fn finish<S: VarSource + ?Sized, V>(
    mut vars: Vars<'_, S>,
    name: &'static str,
    built: Result<V, SecretError>,
) -> Result<V, Vec<ConfigError>> {
    match built {
        Ok(verifier) => vars.finish(verifier),
        Err(problem) => {
            let problem = match problem {
                SecretError::NoSecrets => {
                    "is not set; put the provider's signing secret(s) here, comma-separated".into()
                }
                other => other.to_string(),
            };
            vars.error(name, problem);
            Err(vars.finish(()).err().unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reads_secret_lists_and_the_tolerance() {
        let source = HashMap::from([
            (STRIPE_SECRETS, "whsec_new, whsec_old"),
            (STRIPE_TOLERANCE, "120"),
            (RESEND_SECRETS, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ]);
        assert_eq!(stripe_verifier(&source).unwrap().tolerance_seconds(), 120);
        assert!(resend_verifier(&source).is_ok());
        let defaults = HashMap::from([(STRIPE_SECRETS, "whsec_new")]);
        assert_eq!(
            stripe_verifier(&defaults).unwrap().tolerance_seconds(),
            DEFAULT_TOLERANCE_SECONDS
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn names_every_problem_without_values() {
        let source = HashMap::from([
            (STRIPE_TOLERANCE, "0"),
            (RESEND_SECRETS, "whsec_MfKQ9r8G, whsec_%%%"),
        ]);
        let stripe_problems = stripe_verifier(&source).unwrap_err();
        let named: Vec<&str> = stripe_problems
            .iter()
            .map(|problem| problem.variable)
            .collect();
        assert_eq!(named, [STRIPE_TOLERANCE, STRIPE_SECRETS]);
        let resend_problems = resend_verifier(&source).unwrap_err();
        assert_eq!(resend_problems.len(), 1);
        let shown = resend_problems[0].to_string();
        assert!(
            shown.starts_with("RESEND_WEBHOOK_SECRETS: signing secret #2 is not base64"),
            "{shown}"
        );
        assert!(!shown.contains("%%%") && !shown.contains("MfKQ"));
    }
}
