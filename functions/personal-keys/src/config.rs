//! The function's one setting, read once per isolate from the Worker's vars.
//!
//! `PERSONAL_KEY_CACHE_SECONDS` (0 to 30, default 30): how long an isolate trusts a key it
//! resolved, and so the longest a revoked key keeps working. 0 asks the database every time.

use shared::config::{self, ConfigError, Parsed, VarSource, Vars};

pub const CACHE_SECONDS_VARIABLE: &str = "PERSONAL_KEY_CACHE_SECONDS";
pub const DEFAULT_CACHE_SECONDS: u64 = 30;
/// Half the minted token's lifetime, so a token taken from the cache has at least 30 s left.
pub const MAX_CACHE_SECONDS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub cache_seconds: u64,
}

/// The settings, parsed on the isolate's first request (`shared::config::parsed_once`).
pub fn parsed(env: &worker::Env) -> Parsed<Settings> {
    config::parsed_once(env, Settings::from_source)
}

impl Settings {
    pub fn from_source(source: &(impl VarSource + ?Sized)) -> Result<Settings, Vec<ConfigError>> {
        let mut vars = Vars::new(source);
        let cache_seconds =
            vars.parsed(
                CACHE_SECONDS_VARIABLE,
                DEFAULT_CACHE_SECONDS,
                |text| match text.parse::<u64>() {
                    Ok(seconds) if seconds <= MAX_CACHE_SECONDS => Ok(seconds),
                    _ => Err(format!(
                        "must be a whole number of seconds from 0 to {MAX_CACHE_SECONDS}"
                    )),
                },
            );
        vars.finish(Settings { cache_seconds })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_cache_time_is_bounded_by_the_token_lifetime() {
        let read = |value: Option<&str>| {
            let vars: HashMap<&str, &str> = value
                .map(|value| (CACHE_SECONDS_VARIABLE, value))
                .into_iter()
                .collect();
            Settings::from_source(&vars)
        };
        assert_eq!(read(None).unwrap().cache_seconds, 30);
        assert_eq!(read(Some("0")).unwrap().cache_seconds, 0);
        assert_eq!(read(Some("30")).unwrap().cache_seconds, 30);
        assert!(read(Some("31")).is_err());
        assert!(read(Some("soon")).is_err());
    }
}
