//! The sign-up settings, read from the Worker's variables:
//!
//! | name | kind | default | meaning |
//! |---|---|---|---|
//! | `SIGNUP_ALLOW_ANONYMOUS` | var | `false` | `true` lets tokens of anonymous sign-ins (`is_anonymous: true`) create a profile, provided they carry an email; `false` refuses them with 403 `anonymous_not_allowed` |
//!
//! There is no switch for tokens without an email: `user_profiles.email` is required and
//! unique, so such a token is always refused with 422 `email_required`.

use crate::eligibility::SignupPolicy;
use shared::config::{ConfigError, VarSource, Vars};

pub const ALLOW_ANONYMOUS: &str = "SIGNUP_ALLOW_ANONYMOUS";

pub fn policy(source: &(impl VarSource + ?Sized)) -> Result<SignupPolicy, Vec<ConfigError>> {
    let mut vars = Vars::new(source);
    let allow_anonymous = vars.parsed(ALLOW_ANONYMOUS, false, parse_bool);
    vars.finish(SignupPolicy { allow_anonymous })
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn anonymous_sign_ups_are_off_unless_switched_on() {
        assert!(!policy(&HashMap::new()).unwrap().allow_anonymous);
        assert!(!policy(&HashMap::from([(ALLOW_ANONYMOUS, "false")])).unwrap().allow_anonymous);
        assert!(policy(&HashMap::from([(ALLOW_ANONYMOUS, "TRUE")])).unwrap().allow_anonymous);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_malformed_switch_is_reported_by_name_without_its_value() {
        let problems = policy(&HashMap::from([(ALLOW_ANONYMOUS, "sometimes")])).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].to_string(), "SIGNUP_ALLOW_ANONYMOUS: must be true or false");
    }
}
