//! The function's own settings, read from Worker variables and validated together.
//!
//! | variable                         | default | secret | meaning                                                      |
//! |----------------------------------|---------|--------|--------------------------------------------------------------|
//! | `CLEANUP_SECRET`                 | unset   | yes    | lets a scheduler call `POST /run` (Bearer or `x-cleanup-secret`); at least 32 characters |
//! | `CLEANUP_BUDGET_MS`              | `25000` | no     | time budget of a cron run, 1-50000 ms                         |
//! | `CLEANUP_WEBHOOK_MAX_ATTEMPTS`   | `8`     | no     | attempts after which a failed webhook event is given up, 1-100 |
//! | `CLEANUP_WEBHOOK_RETENTION_DAYS` | `30`    | no     | processed / ignored webhook events are kept this long, 1-3650 |
//! | `CLEANUP_LEAD_DECAY_DAYS`        | `7`     | no     | leads scored longer ago are re-scored, 1-365                  |

use crate::plan::JobSettings;
use shared::config::{self, positive_at_most, ConfigError, Parsed, VarSource, Vars};

pub const SECRET_VARIABLE: &str = "CLEANUP_SECRET";
/// The maintenance token a run uses lives 60 seconds; a run must end well before it expires.
pub const MAX_BUDGET_MS: u64 = 50_000;
const DEFAULT_BUDGET_MS: u64 = 25_000;
/// A shorter secret would be guessable by a patient client.
const MIN_SECRET_LENGTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupConfig {
    pub secret: Option<String>,
    pub budget_ms: u64,
    pub jobs: JobSettings,
}

/// The settings, parsed once per isolate (`shared::config::parsed_once`), for requests and
/// cron runs alike.
pub fn parsed(env: &worker::Env) -> Parsed<CleanupConfig> {
    config::parsed_once(env, CleanupConfig::from_source)
}

impl CleanupConfig {
    pub fn from_source(
        source: &(impl VarSource + ?Sized),
    ) -> Result<CleanupConfig, Vec<ConfigError>> {
        let mut vars = Vars::new(source);
        let secret = vars.optional(SECRET_VARIABLE);
        if secret
            .as_ref()
            .is_some_and(|secret| secret.len() < MIN_SECRET_LENGTH)
        {
            vars.error(
                SECRET_VARIABLE,
                format!("must be at least {MIN_SECRET_LENGTH} characters long"),
            );
        }
        let budget_ms = vars.parsed(
            "CLEANUP_BUDGET_MS",
            DEFAULT_BUDGET_MS,
            positive_at_most(MAX_BUDGET_MS),
        );
        let webhook_max_attempts =
            vars.parsed("CLEANUP_WEBHOOK_MAX_ATTEMPTS", 8, positive_at_most(100));
        let webhook_retention_days = vars.parsed(
            "CLEANUP_WEBHOOK_RETENTION_DAYS",
            30,
            positive_at_most(3_650),
        );
        let lead_decay_days = vars.parsed("CLEANUP_LEAD_DECAY_DAYS", 7, positive_at_most(365));
        let jobs = JobSettings {
            webhook_max_attempts: narrow(webhook_max_attempts),
            webhook_retention_days: narrow(webhook_retention_days),
            lead_decay_days: narrow(lead_decay_days),
        };
        vars.finish(CleanupConfig {
            secret,
            budget_ms,
            jobs,
        })
    }
}

/// The parsers above already bound every value far below `u32::MAX`.
fn narrow(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn defaults_apply_when_nothing_is_set() {
        let config = CleanupConfig::from_source(&HashMap::new()).unwrap();
        assert_eq!(config.secret, None);
        assert_eq!(config.budget_ms, 25_000);
        assert_eq!(
            config.jobs,
            JobSettings {
                webhook_max_attempts: 8,
                webhook_retention_days: 30,
                lead_decay_days: 7
            }
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_bad_variable_is_named() {
        let source = HashMap::from([
            ("CLEANUP_SECRET", "short"),
            ("CLEANUP_BUDGET_MS", "60000"),
            ("CLEANUP_WEBHOOK_MAX_ATTEMPTS", "0"),
            ("CLEANUP_LEAD_DECAY_DAYS", "soon"),
        ]);
        let errors = CleanupConfig::from_source(&source).unwrap_err();
        let named: Vec<&str> = errors.iter().map(|error| error.variable).collect();
        assert_eq!(
            named,
            [
                "CLEANUP_SECRET",
                "CLEANUP_BUDGET_MS",
                "CLEANUP_WEBHOOK_MAX_ATTEMPTS",
                "CLEANUP_LEAD_DECAY_DAYS"
            ]
        );
        assert!(
            errors.iter().all(|error| !error.problem.contains("short")),
            "values never reach messages"
        );
    }
}
