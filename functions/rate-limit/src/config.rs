//! The function's own settings, read from Worker variables and validated together.
//!
//! | variable                   | default | secret | meaning                                                    |
//! |----------------------------|---------|--------|------------------------------------------------------------|
//! | `RATE_LIMIT_STORE`         | `auto`  | no     | per-endpoint store: `auto`, `durable-object`, `postgres`   |
//! | `RATE_LIMIT_FAILURE_MODE`  | table   | no     | per-endpoint `open` / `closed` when the store is down      |
//! | `RATE_LIMIT_MODE`          | `lease` | no     | per-endpoint `lease` / `exact`: how the guard asks the Durable Object (`crate::lease`) |
//! | `RATE_LIMIT_DEFAULTS`      | table   | no     | per-endpoint quota `L/W` used when the table has no row    |
//! | `RATE_LIMIT_CACHE_SECONDS` | `60`    | no     | how long `system_rate_limits` and users' plans are cached per isolate (0-3600) |
//! | `RATE_LIMIT_CHECK_SECRET`  | unset   | yes    | lets a service call `/check` with `x-api-key: <secret>`    |
//!
//! "table" is the defaults table in the crate documentation. The Durable Object binding is
//! [`DURABLE_OBJECT_BINDING`]; when it is absent, `auto` uses the Postgres RPC.

use crate::policy::{
    BuiltIns, DefaultQuotas, SettingsError, StoreSettings, DEFAULTS_VARIABLE,
    FAILURE_MODE_VARIABLE, MODE_VARIABLE, STORE_VARIABLE,
};
use shared::config::{self, ConfigError, Parsed, VarSource, Vars};
use shared::error::ApiError;
use shared::http::RequestContext;

/// The Durable Object namespace binding (class [`crate::durable::RateLimiter`]).
pub const DURABLE_OBJECT_BINDING: &str = "RATE_LIMITER";

pub const CACHE_SECONDS_VARIABLE: &str = "RATE_LIMIT_CACHE_SECONDS";
pub const CHECK_SECRET_VARIABLE: &str = "RATE_LIMIT_CHECK_SECRET";

const DEFAULT_CACHE_SECONDS: u64 = 60;
const MAX_CACHE_SECONDS: u64 = 3_600;
/// A shorter secret would be guessable by a patient client, even behind the guard.
const MIN_CHECK_SECRET_LENGTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub stores: StoreSettings,
    pub defaults: DefaultQuotas,
    pub table_cache_ms: u64,
    pub check_secret: Option<String>,
}

impl Settings {
    /// The settings from `source`, over the built-in defaults of the functions served.
    pub fn from_source(
        source: &(impl VarSource + ?Sized),
        built_ins: BuiltIns,
    ) -> Result<Settings, Vec<ConfigError>> {
        let mut vars = Vars::new(source);
        let stores = StoreSettings::parse(
            vars.optional(STORE_VARIABLE).as_deref(),
            vars.optional(FAILURE_MODE_VARIABLE).as_deref(),
            built_ins.clone(),
        )
        .and_then(|stores| stores.with_modes(vars.optional(MODE_VARIABLE).as_deref()))
        .unwrap_or_else(|error| {
            record(&mut vars, error);
            StoreSettings::default()
        });
        let defaults = DefaultQuotas::parse(vars.optional(DEFAULTS_VARIABLE).as_deref(), built_ins)
            .unwrap_or_else(|error| {
                record(&mut vars, error);
                DefaultQuotas::default()
            });
        let cache_seconds = vars.parsed(CACHE_SECONDS_VARIABLE, DEFAULT_CACHE_SECONDS, |raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|seconds| *seconds <= MAX_CACHE_SECONDS)
                .ok_or_else(|| {
                    format!("must be a whole number of seconds from 0 to {MAX_CACHE_SECONDS}")
                })
        });
        let check_secret = vars.optional(CHECK_SECRET_VARIABLE);
        if check_secret
            .as_ref()
            .is_some_and(|secret| secret.len() < MIN_CHECK_SECRET_LENGTH)
        {
            vars.error(
                CHECK_SECRET_VARIABLE,
                format!("must be at least {MIN_CHECK_SECRET_LENGTH} characters long"),
            );
        }
        vars.finish(Settings {
            stores,
            defaults,
            table_cache_ms: cache_seconds * 1000,
            check_secret,
        })
    }
}

/// The settings of the Worker `context` belongs to, parsed once per isolate (the functions it
/// serves are fixed, and so is its environment).
pub fn parsed(context: &RequestContext) -> Parsed<Settings> {
    config::parsed_once(context.env(), |env| {
        Settings::from_source(env, BuiltIns::of(context.functions()))
    })
}

/// [`parsed`], or the 500 that names nothing but logs every problem.
pub fn settings(context: &RequestContext) -> Result<std::rc::Rc<Settings>, ApiError> {
    Ok(parsed(context)?)
}

/// Every problem with the limiter's variables, for the health report.
pub fn problems(context: &RequestContext) -> Vec<ConfigError> {
    parsed(context).err().unwrap_or_default()
}

fn record<S: VarSource + ?Sized>(vars: &mut Vars<'_, S>, error: SettingsError) {
    let problem = format!(
        "cannot read entry `{}`; write comma-separated `endpoint=value` pairs where value is {}",
        error.entry, error.expected
    );
    vars.error(error.variable, problem);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{FailureMode, StoreChoice};
    use shared::registry::RateLimit;
    use std::collections::HashMap;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn nothing_set_gives_the_documented_defaults() {
        let webhooks = BuiltIns::new([("webhooks", &RateLimit::open(6_000, 60))]);
        let settings = Settings::from_source(&HashMap::new(), webhooks).unwrap();
        assert_eq!(settings.table_cache_ms, 60_000);
        assert_eq!(settings.check_secret, None);
        assert_eq!(
            settings.stores.for_endpoint("signup").store,
            StoreChoice::Auto
        );
        assert_eq!(
            settings.stores.for_endpoint("webhooks").failure_mode,
            FailureMode::Open
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_problem_is_named_and_no_value_is_echoed() {
        let vars = HashMap::from([
            (STORE_VARIABLE, "signup=memcached"),
            (DEFAULTS_VARIABLE, "signup=lots"),
            (CACHE_SECONDS_VARIABLE, "forever"),
            (CHECK_SECRET_VARIABLE, "hunter2"),
        ]);
        let errors = Settings::from_source(&vars, BuiltIns::default()).unwrap_err();
        let named: Vec<&str> = errors.iter().map(|error| error.variable).collect();
        assert_eq!(
            named,
            vec![
                STORE_VARIABLE,
                DEFAULTS_VARIABLE,
                CACHE_SECONDS_VARIABLE,
                CHECK_SECRET_VARIABLE
            ]
        );
        assert!(errors
            .iter()
            .all(|error| !error.to_string().contains("hunter2")));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn overrides_are_read() {
        let vars = HashMap::from([
            (STORE_VARIABLE, "webhooks=postgres"),
            (FAILURE_MODE_VARIABLE, "lead-scoring=closed"),
            (CACHE_SECONDS_VARIABLE, "0"),
            (CHECK_SECRET_VARIABLE, "0123456789abcdef0123456789abcdef"),
        ]);
        let settings = Settings::from_source(&vars, BuiltIns::default()).unwrap();
        assert_eq!(
            settings.stores.for_endpoint("webhooks").store,
            StoreChoice::Postgres
        );
        assert_eq!(
            settings.stores.for_endpoint("lead-scoring").failure_mode,
            FailureMode::Closed
        );
        assert_eq!(settings.table_cache_ms, 0);
        assert!(settings.check_secret.is_some());
    }
}
