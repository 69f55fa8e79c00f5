//! The lead-scoring function's own settings, read from the Worker's variables.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LEAD_SCORING_BATCH_MAX` | 1000 | most leads one `POST /batch` call scores (1..5000) |
//!
//! Not secret. Everything else (PostgREST URL, keys, JWT settings) is the shared core config.

use shared::config::{self, positive_at_most, ConfigError, Parsed, VarSource, Vars};

pub const DEFAULT_BATCH_MAX: usize = 1_000;
const BATCH_MAX_LIMIT: u64 = 5_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadScoringConfig {
    pub batch_max: usize,
}

/// The settings, parsed once per isolate (`shared::config::parsed_once`).
pub fn parsed(env: &worker::Env) -> Parsed<LeadScoringConfig> {
    config::parsed_once(env, LeadScoringConfig::from_source)
}

impl LeadScoringConfig {
    pub fn from_source(source: &(impl VarSource + ?Sized)) -> Result<Self, Vec<ConfigError>> {
        let mut vars = Vars::new(source);
        let batch_max = vars.parsed(
            "LEAD_SCORING_BATCH_MAX",
            DEFAULT_BATCH_MAX as u64,
            positive_at_most(BATCH_MAX_LIMIT),
        ) as usize;
        vars.finish(LeadScoringConfig { batch_max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_batch_maximum_defaults_and_is_bounded() {
        let empty: HashMap<&str, &str> = HashMap::new();
        assert_eq!(
            LeadScoringConfig::from_source(&empty).unwrap().batch_max,
            1_000
        );
        let set = HashMap::from([("LEAD_SCORING_BATCH_MAX", "250")]);
        assert_eq!(LeadScoringConfig::from_source(&set).unwrap().batch_max, 250);
        for bad in ["0", "5001", "many"] {
            let errors =
                LeadScoringConfig::from_source(&HashMap::from([("LEAD_SCORING_BATCH_MAX", bad)]))
                    .unwrap_err();
            assert_eq!(errors[0].variable, "LEAD_SCORING_BATCH_MAX");
        }
    }
}
