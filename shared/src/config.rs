//! Every variable and secret the Worker reads, validated in one place.
//!
//! Values come through [`VarSource`] (the Worker `Env` in production, a map in tests). Each
//! problem is a [`ConfigError`] naming the variable and what is wrong with it, never its value.
//! The core settings every function needs are [`CoreConfig`]; a function with settings of its
//! own declares them in its crate with the same helpers ([`Vars`]), so the rules for reading a
//! variable are written once.

use std::collections::HashMap;
use std::fmt;

/// Where configuration values come from.
pub trait VarSource {
    fn get(&self, name: &str) -> Option<String>;
}

impl VarSource for HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).map(|value| value.to_string())
    }
}

impl VarSource for worker::Env {
    fn get(&self, name: &str) -> Option<String> {
        self.var(name).ok().map(|value| value.to_string())
    }
}

/// A missing or malformed variable. Displays the name and the problem, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.problem)
    }
}

/// Reads variables from a source and collects every problem instead of stopping at the first,
/// so one log line (and the health report) can name all of them.
pub struct Vars<'a, S: VarSource + ?Sized> {
    source: &'a S,
    errors: Vec<ConfigError>,
}

impl<'a, S: VarSource + ?Sized> Vars<'a, S> {
    pub fn new(source: &'a S) -> Self {
        Vars { source, errors: Vec::new() }
    }

    /// The trimmed value, or `None` when unset or blank.
    pub fn optional(&self, name: &'static str) -> Option<String> {
        self.source.get(name).map(|value| value.trim().to_string()).filter(|value| !value.is_empty())
    }

    pub fn required(&mut self, name: &'static str) -> String {
        self.optional(name).unwrap_or_else(|| {
            self.error(name, "is not set");
            String::new()
        })
    }

    /// Parses a value with `parse`, falling back to `default` when unset. A parse failure is
    /// recorded with the parser's explanation.
    pub fn parsed<T>(&mut self, name: &'static str, default: T, parse: impl FnOnce(&str) -> Result<T, String>) -> T {
        match self.optional(name) {
            None => default,
            Some(raw) => parse(&raw).unwrap_or_else(|problem| {
                self.error(name, problem);
                default
            }),
        }
    }

    /// A comma-separated list; blank entries are dropped.
    pub fn list(&self, name: &'static str) -> Vec<String> {
        self.optional(name)
            .map(|raw| raw.split(',').map(str::trim).filter(|item| !item.is_empty()).map(String::from).collect())
            .unwrap_or_default()
    }

    pub fn error(&mut self, variable: &'static str, problem: impl Into<String>) {
        self.errors.push(ConfigError { variable, problem: problem.into() });
    }

    /// The value built from the variables, or every problem found while reading them.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<ConfigError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}

/// Parses a positive integer with an upper bound, for sizes and counts.
pub fn positive_at_most(max: u64) -> impl FnOnce(&str) -> Result<u64, String> {
    move |raw| match raw.parse::<u64>() {
        Ok(value) if value > 0 && value <= max => Ok(value),
        _ => Err(format!("must be a whole number between 1 and {max}")),
    }
}

/// Which browser origins may call the functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    Any,
    List(Vec<String>),
}

impl AllowedOrigins {
    /// The value for `Access-Control-Allow-Origin` when `origin` made the request, if allowed.
    pub fn allow(&self, origin: Option<&str>) -> Option<String> {
        match (self, origin) {
            (AllowedOrigins::Any, _) => Some("*".to_string()),
            (AllowedOrigins::List(list), Some(origin)) if list.iter().any(|allowed| allowed == origin) => {
                Some(origin.to_string())
            }
            _ => None,
        }
    }
}

/// How incoming JWTs are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// The project's HS256 secret; also signs the short-lived role tokens for webhooks and cron.
    pub secret: Option<Vec<u8>>,
    /// Where asymmetric (ES256/RS256) public keys are published.
    pub jwks_url: Option<String>,
    pub audience: String,
    pub leeway_seconds: u64,
}

/// Settings every function needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig {
    /// PostgREST base URL, e.g. `https://<project>.supabase.co/rest/v1`.
    pub postgrest_url: String,
    /// Sent as the `apikey` header; Supabase's API gateway requires it.
    pub anon_key: String,
    pub jwt: JwtSettings,
    pub allowed_origins: AllowedOrigins,
    pub max_body_bytes: usize,
}

pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

impl CoreConfig {
    pub fn from_source(source: &(impl VarSource + ?Sized)) -> Result<CoreConfig, Vec<ConfigError>> {
        let mut vars = Vars::new(source);
        let postgrest_url = match (vars.optional("POSTGREST_URL"), vars.optional("SUPABASE_URL")) {
            (Some(url), _) => url,
            (None, Some(base)) => format!("{}/rest/v1", base.trim_end_matches('/')),
            (None, None) => {
                vars.error("POSTGREST_URL", "is not set (nor SUPABASE_URL to derive it from)");
                String::new()
            }
        };
        let postgrest_url = postgrest_url.trim_end_matches('/').to_string();
        if !postgrest_url.is_empty() && !(postgrest_url.starts_with("https://") || postgrest_url.starts_with("http://")) {
            vars.error("POSTGREST_URL", "must be an http:// or https:// URL");
        }
        let anon_key = vars.required("SUPABASE_ANON_KEY");
        let secret = vars.optional("SUPABASE_JWT_SECRET").map(String::into_bytes);
        if secret.as_ref().is_some_and(|secret| secret.len() < 32) {
            vars.error("SUPABASE_JWT_SECRET", "must be at least 32 characters long");
        }
        let jwks_url = vars.optional("JWKS_URL");
        if secret.is_none() && jwks_url.is_none() {
            vars.error("SUPABASE_JWT_SECRET", "is not set (nor JWKS_URL): no way to verify tokens");
        }
        let audience = vars.optional("JWT_AUDIENCE").unwrap_or_else(|| "authenticated".to_string());
        let leeway_seconds = vars.parsed("JWT_LEEWAY_SECONDS", 30, |raw| {
            raw.parse::<u64>().ok().filter(|value| *value <= 300).ok_or_else(|| "must be 0..300 seconds".to_string())
        });
        let origins = vars.list("ALLOWED_ORIGINS");
        let allowed_origins = if origins.is_empty() || origins.iter().any(|origin| origin == "*") {
            AllowedOrigins::Any
        } else {
            AllowedOrigins::List(origins)
        };
        let max_body_bytes =
            vars.parsed("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES as u64, positive_at_most(64 * 1024 * 1024)) as usize;
        vars.finish(CoreConfig {
            postgrest_url,
            anon_key,
            jwt: JwtSettings { secret, jwks_url, audience, leeway_seconds },
            allowed_origins,
            max_body_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

    fn minimal() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("POSTGREST_URL", "http://127.0.0.1:54321/rest/v1/"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("SUPABASE_JWT_SECRET", SECRET),
        ])
    }

    #[test]
    fn minimal_config_gets_sane_defaults() {
        let config = CoreConfig::from_source(&minimal()).unwrap();
        assert_eq!(config.postgrest_url, "http://127.0.0.1:54321/rest/v1");
        assert_eq!(config.jwt.audience, "authenticated");
        assert_eq!(config.allowed_origins, AllowedOrigins::Any);
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn postgrest_url_is_derived_from_supabase_url() {
        let mut vars = minimal();
        vars.remove("POSTGREST_URL");
        vars.insert("SUPABASE_URL", "https://abc.supabase.co/");
        assert_eq!(CoreConfig::from_source(&vars).unwrap().postgrest_url, "https://abc.supabase.co/rest/v1");
    }

    #[test]
    fn every_problem_is_reported_by_name_without_values() {
        let vars = HashMap::from([("SUPABASE_JWT_SECRET", "short-secret"), ("MAX_BODY_BYTES", "lots")]);
        let errors = CoreConfig::from_source(&vars).unwrap_err();
        let named: Vec<&str> = errors.iter().map(|error| error.variable).collect();
        assert_eq!(named, vec!["POSTGREST_URL", "SUPABASE_ANON_KEY", "SUPABASE_JWT_SECRET", "MAX_BODY_BYTES"]);
        assert!(errors.iter().all(|error| !error.to_string().contains("short-secret")));
    }

    #[test]
    fn origin_list_allows_only_listed_origins() {
        let mut vars = minimal();
        vars.insert("ALLOWED_ORIGINS", "https://app.example.com, https://admin.example.com");
        let origins = CoreConfig::from_source(&vars).unwrap().allowed_origins;
        assert_eq!(origins.allow(Some("https://app.example.com")).as_deref(), Some("https://app.example.com"));
        assert_eq!(origins.allow(Some("https://evil.example.com")), None);
        assert_eq!(origins.allow(None), None);
    }
}
