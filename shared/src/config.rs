//! Every variable and secret the Worker reads, validated in one place.
//!
//! Values come through [`VarSource`] (the Worker `Env` in production, a map in tests). Each
//! problem is a [`ConfigError`] naming the variable and what is wrong with it, never its value.
//! The core settings every function needs are [`CoreConfig`]; a function with settings of its
//! own declares them in its crate with the same helpers ([`Vars`]), so the rules for reading a
//! variable are written once.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use crate::auth::{JwksCachePolicy, PrivateJwk, RoleTokenSigner};

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
        Vars {
            source,
            errors: Vec::new(),
        }
    }

    /// The trimmed value, or `None` when unset or blank.
    pub fn optional(&self, name: &'static str) -> Option<String> {
        self.source
            .get(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    pub fn required(&mut self, name: &'static str) -> String {
        self.optional(name).unwrap_or_else(|| {
            self.error(name, "is not set");
            String::new()
        })
    }

    /// Parses a value with `parse`, falling back to `default` when unset. A parse failure is
    /// recorded with the parser's explanation.
    pub fn parsed<T>(
        &mut self,
        name: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
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
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn error(&mut self, variable: &'static str, problem: impl Into<String>) {
        self.errors.push(ConfigError {
            variable,
            problem: problem.into(),
        });
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

/// What parsing one kind of settings gave: the settings, or every problem found.
pub type Parsed<T> = Result<Rc<T>, Vec<ConfigError>>;

thread_local! {
    /// Each kind of settings parsed so far in this isolate, by type: the environment of a
    /// running Worker does not change, so neither does what parsing it gives.
    static PARSED: RefCell<HashMap<TypeId, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// The settings of type `T`, parsed from `source` with `parse` on the first call of the
/// isolate and the same answer (settings or problems) on every later one. Each function keeps
/// its settings in a type of its own, which is what tells them apart here.
pub fn parsed_once<T: 'static, S: ?Sized>(
    source: &S,
    parse: impl FnOnce(&S) -> Result<T, Vec<ConfigError>>,
) -> Parsed<T> {
    let cached = PARSED.with(|parsed| {
        parsed
            .borrow()
            .get(&TypeId::of::<T>())
            .and_then(|entry| entry.downcast_ref::<Parsed<T>>())
            .cloned()
    });
    if let Some(cached) = cached {
        return cached;
    }
    let fresh: Parsed<T> = parse(source).map(Rc::new);
    PARSED.with(|parsed| {
        parsed
            .borrow_mut()
            .insert(TypeId::of::<T>(), Box::new(fresh.clone()))
    });
    fresh
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
            (AllowedOrigins::List(list), Some(origin))
                if list.iter().any(|allowed| allowed == origin) =>
            {
                Some(origin.to_string())
            }
            _ => None,
        }
    }
}

/// How tokens are verified, and what the Worker signs its own role tokens with.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// The project's legacy HS256 secret (`SUPABASE_JWT_SECRET`): verifies HS256 tokens, and
    /// signs role tokens only when no `JWT_SIGNING_KEY` is set.
    pub secret: Option<Vec<u8>>,
    /// Where asymmetric (ES256/RS256) public keys are published.
    pub jwks_url: Option<String>,
    pub jwks_cache: JwksCachePolicy,
    pub audience: String,
    pub leeway_seconds: u64,
    /// Signs the role tokens of webhooks, cron and the rate limiter: `JWT_SIGNING_KEY`, else the
    /// legacy secret. Shared, so the key is imported into the signing backend once per isolate.
    pub role_token_signer: Option<Rc<RoleTokenSigner>>,
}

/// Settings every function needs.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// PostgREST base URL, e.g. `https://<project>.supabase.co/rest/v1`.
    pub postgrest_url: String,
    /// Sent as the `apikey` header; Supabase's API gateway requires it. The publishable key
    /// (`SUPABASE_PUBLISHABLE_KEY`), or the legacy anon key (`SUPABASE_ANON_KEY`).
    pub publishable_key: String,
    /// The project's secret API key (`SUPABASE_SECRET_KEY`, `sb_secret_...`), which privileged
    /// callers may present (see `crate::privileged`).
    pub secret_key: Option<String>,
    pub jwt: JwtSettings,
    pub allowed_origins: AllowedOrigins,
    pub max_body_bytes: usize,
}

pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The prefix of Supabase's secret API keys. Checked so a publishable key pasted by mistake
/// (which anyone can read) never becomes a privileged credential.
pub const SECRET_KEY_PREFIX: &str = "sb_secret_";

/// Whether `key` has the shape of a Supabase secret API key.
fn is_secret_key(key: &str) -> bool {
    key.starts_with(SECRET_KEY_PREFIX) && key.len() >= SECRET_KEY_PREFIX.len() + 16
}

/// `SUPABASE_SECRET_KEY` read on its own, when it has a secret key's shape: with the rest of the
/// configuration broken, its holder may still be told what is wrong.
pub fn secret_key_alone(source: &(impl VarSource + ?Sized)) -> Option<String> {
    Vars::new(source)
        .optional("SUPABASE_SECRET_KEY")
        .filter(|key| is_secret_key(key))
}

impl CoreConfig {
    pub fn from_source(source: &(impl VarSource + ?Sized)) -> Result<CoreConfig, Vec<ConfigError>> {
        let mut vars = Vars::new(source);
        let postgrest_url = match (
            vars.optional("POSTGREST_URL"),
            vars.optional("SUPABASE_URL"),
        ) {
            (Some(url), _) => url,
            (None, Some(base)) => format!("{}/rest/v1", base.trim_end_matches('/')),
            (None, None) => {
                vars.error(
                    "POSTGREST_URL",
                    "is not set (nor SUPABASE_URL to derive it from)",
                );
                String::new()
            }
        };
        let postgrest_url = postgrest_url.trim_end_matches('/').to_string();
        let is_http = postgrest_url.starts_with("https://") || postgrest_url.starts_with("http://");
        if !postgrest_url.is_empty() && !is_http {
            vars.error("POSTGREST_URL", "must be an http:// or https:// URL");
        }
        let publishable_key = match (
            vars.optional("SUPABASE_PUBLISHABLE_KEY"),
            vars.optional("SUPABASE_ANON_KEY"),
        ) {
            (Some(key), _) | (None, Some(key)) => key,
            (None, None) => {
                vars.error(
                    "SUPABASE_PUBLISHABLE_KEY",
                    "is not set (nor the legacy SUPABASE_ANON_KEY)",
                );
                String::new()
            }
        };
        let secret_key = vars.optional("SUPABASE_SECRET_KEY");
        if let Some(key) = &secret_key {
            if !is_secret_key(key) {
                vars.error(
                    "SUPABASE_SECRET_KEY",
                    "must be the project's secret API key (sb_secret_...)",
                );
            } else if *key == publishable_key {
                vars.error("SUPABASE_SECRET_KEY", "must not be the publishable key");
            }
        }
        let secret = vars.optional("SUPABASE_JWT_SECRET").map(String::into_bytes);
        if secret.as_ref().is_some_and(|secret| secret.len() < 32) {
            vars.error("SUPABASE_JWT_SECRET", "must be at least 32 characters long");
        }
        let jwks_url = vars.optional("JWKS_URL");
        if secret.is_none() && jwks_url.is_none() {
            vars.error(
                "JWKS_URL",
                "is not set (nor the legacy SUPABASE_JWT_SECRET): no way to verify tokens",
            );
        }
        let role_token_signer = match vars.optional("JWT_SIGNING_KEY") {
            Some(jwk) => match PrivateJwk::from_json(&jwk) {
                Ok(jwk) => Some(Rc::new(RoleTokenSigner::from_jwk(jwk))),
                Err(problem) => {
                    vars.error("JWT_SIGNING_KEY", problem);
                    None
                }
            },
            None => match &secret {
                Some(secret) => Some(Rc::new(RoleTokenSigner::from_secret(secret))),
                None => {
                    vars.error(
                        "JWT_SIGNING_KEY",
                        "is not set (nor the legacy SUPABASE_JWT_SECRET): webhooks, cron jobs and the \
                         rate limiter cannot get their role tokens; set the private JWK from \
                         `supabase gen signing-key --algorithm ES256`, imported into the project",
                    );
                    None
                }
            },
        };
        let defaults = JwksCachePolicy::default();
        let ttl_seconds = vars.parsed(
            "JWKS_CACHE_SECONDS",
            defaults.ttl_seconds,
            positive_at_most(86_400),
        );
        let min_refetch_interval_seconds = vars.parsed(
            "JWKS_REFETCH_SECONDS",
            defaults.min_refetch_interval_seconds,
            positive_at_most(3_600),
        );
        if min_refetch_interval_seconds > ttl_seconds {
            vars.error(
                "JWKS_REFETCH_SECONDS",
                "must not be longer than JWKS_CACHE_SECONDS",
            );
        }
        let jwks_cache = JwksCachePolicy {
            ttl_seconds,
            min_refetch_interval_seconds,
            ..defaults
        };
        let audience = vars
            .optional("JWT_AUDIENCE")
            .unwrap_or_else(|| "authenticated".to_string());
        let leeway_seconds = vars.parsed("JWT_LEEWAY_SECONDS", 30, |raw| {
            raw.parse::<u64>()
                .ok()
                .filter(|value| *value <= 300)
                .ok_or_else(|| "must be 0..300 seconds".to_string())
        });
        let origins = vars.list("ALLOWED_ORIGINS");
        let allowed_origins = if origins.is_empty() || origins.iter().any(|origin| origin == "*") {
            AllowedOrigins::Any
        } else {
            AllowedOrigins::List(origins)
        };
        let max_body_bytes = vars.parsed(
            "MAX_BODY_BYTES",
            DEFAULT_MAX_BODY_BYTES as u64,
            positive_at_most(64 * 1024 * 1024),
        ) as usize;
        vars.finish(CoreConfig {
            postgrest_url,
            publishable_key,
            secret_key,
            jwt: JwtSettings {
                secret,
                jwks_url,
                jwks_cache,
                audience,
                leeway_seconds,
                role_token_signer,
            },
            allowed_origins,
            max_body_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Algorithm;

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
    const SIGNING_KEY: &str = include_str!("../tests/fixtures/auth/ec-a.private.jwk.json");
    const SECRET_KEY: &str = "sb_secret_0123456789abcdef0123456789ab";

    /// A project on signing keys, as the README's deploy guide sets it up.
    fn signing_keys() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("POSTGREST_URL", "http://127.0.0.1:54321/rest/v1/"),
            ("SUPABASE_PUBLISHABLE_KEY", "sb_publishable_abc"),
            (
                "JWKS_URL",
                "http://127.0.0.1:54321/auth/v1/.well-known/jwks.json",
            ),
            ("JWT_SIGNING_KEY", SIGNING_KEY),
        ])
    }

    /// A project still on the legacy JWT secret and anon key.
    fn legacy() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("POSTGREST_URL", "http://127.0.0.1:54321/rest/v1/"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("SUPABASE_JWT_SECRET", SECRET),
        ])
    }

    fn problems(vars: &HashMap<&str, &str>) -> Vec<ConfigError> {
        CoreConfig::from_source(vars).unwrap_err()
    }

    #[test]
    fn a_project_on_signing_keys_gets_sane_defaults() {
        let config = CoreConfig::from_source(&signing_keys()).unwrap();
        assert_eq!(config.postgrest_url, "http://127.0.0.1:54321/rest/v1");
        assert_eq!(config.publishable_key, "sb_publishable_abc");
        assert_eq!(config.jwt.audience, "authenticated");
        assert_eq!(config.jwt.secret, None);
        assert_eq!(config.jwt.jwks_cache, JwksCachePolicy::default());
        let signer = config.jwt.role_token_signer.unwrap();
        assert_eq!(
            (signer.algorithm(), signer.kid()),
            (Algorithm::Es256, Some("ec-a"))
        );
        assert_eq!(config.secret_key, None);
        assert_eq!(config.allowed_origins, AllowedOrigins::Any);
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn a_legacy_project_signs_role_tokens_with_its_jwt_secret() {
        let config = CoreConfig::from_source(&legacy()).unwrap();
        assert_eq!(config.publishable_key, "anon");
        assert_eq!(
            config.jwt.role_token_signer.unwrap().algorithm(),
            Algorithm::Hs256
        );
    }

    #[test]
    fn the_signing_key_wins_over_the_legacy_secret_and_the_publishable_key_over_anon() {
        let mut vars = legacy();
        vars.insert("JWT_SIGNING_KEY", SIGNING_KEY);
        vars.insert("SUPABASE_PUBLISHABLE_KEY", "sb_publishable_abc");
        let config = CoreConfig::from_source(&vars).unwrap();
        assert_eq!(
            config.jwt.role_token_signer.unwrap().algorithm(),
            Algorithm::Es256
        );
        assert_eq!(config.publishable_key, "sb_publishable_abc");
        assert_eq!(
            config.jwt.secret.as_deref(),
            Some(SECRET.as_bytes()),
            "HS256 tokens still verify"
        );
    }

    #[test]
    fn without_any_key_start_up_names_what_to_set() {
        let vars = HashMap::from([
            ("POSTGREST_URL", "http://x"),
            ("SUPABASE_PUBLISHABLE_KEY", "sb_publishable_abc"),
        ]);
        let errors = problems(&vars);
        let named: Vec<&str> = errors.iter().map(|error| error.variable).collect();
        assert_eq!(named, ["JWKS_URL", "JWT_SIGNING_KEY"]);
        assert!(
            errors[1].problem.contains("supabase gen signing-key"),
            "{}",
            errors[1]
        );
    }

    #[test]
    fn a_signing_key_that_cannot_sign_is_refused_without_quoting_it() {
        let public_only = r#"{"kty":"EC","kid":"k","crv":"P-256","x":"Mn8TKYAX3xpSy-rEt4hxBNC7qY1CH0JvsEkY2d5CkQg","y":"3NN_09Epn9sYWMzoHYNC8vE3UkNRgof-rNXSZDReAUI"}"#;
        for (value, reason) in [(public_only, "`d`"), ("sb_secret_not_a_jwk", "JSON")] {
            let mut vars = signing_keys();
            vars.insert("JWT_SIGNING_KEY", value);
            let errors = problems(&vars);
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].variable, "JWT_SIGNING_KEY");
            assert!(errors[0].problem.contains(reason), "{}", errors[0]);
            assert!(
                !errors[0].to_string().contains("Mn8TKY")
                    && !errors[0].to_string().contains("not_a_jwk")
            );
        }
    }

    #[test]
    fn the_secret_key_must_be_a_secret_key() {
        let mut vars = signing_keys();
        vars.insert("SUPABASE_SECRET_KEY", SECRET_KEY);
        assert_eq!(
            CoreConfig::from_source(&vars)
                .unwrap()
                .secret_key
                .as_deref(),
            Some(SECRET_KEY)
        );
        for pasted in [
            "sb_publishable_abc",
            "sb_secret_short",
            "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        ] {
            vars.insert("SUPABASE_SECRET_KEY", pasted);
            let errors = problems(&vars);
            assert_eq!(
                errors
                    .iter()
                    .map(|error| error.variable)
                    .collect::<Vec<_>>(),
                ["SUPABASE_SECRET_KEY"]
            );
            assert!(!errors[0].to_string().contains(pasted));
        }
    }

    #[test]
    fn the_secret_key_is_readable_on_its_own_when_the_rest_is_broken() {
        let broken = HashMap::from([("SUPABASE_SECRET_KEY", SECRET_KEY)]);
        assert!(CoreConfig::from_source(&broken).is_err());
        assert_eq!(secret_key_alone(&broken).as_deref(), Some(SECRET_KEY));
        let not_a_secret_key = HashMap::from([("SUPABASE_SECRET_KEY", "sb_publishable_abc")]);
        assert_eq!(secret_key_alone(&not_a_secret_key), None);
    }

    #[test]
    fn jwks_cache_times_are_read_and_kept_consistent() {
        let mut vars = signing_keys();
        vars.insert("JWKS_CACHE_SECONDS", "120");
        vars.insert("JWKS_REFETCH_SECONDS", "5");
        let policy = CoreConfig::from_source(&vars).unwrap().jwt.jwks_cache;
        assert_eq!(
            (policy.ttl_seconds, policy.min_refetch_interval_seconds),
            (120, 5)
        );
        assert_eq!(
            policy.max_stale_seconds,
            JwksCachePolicy::default().max_stale_seconds
        );
        vars.insert("JWKS_REFETCH_SECONDS", "300");
        assert_eq!(problems(&vars)[0].variable, "JWKS_REFETCH_SECONDS");
        vars.insert("JWKS_CACHE_SECONDS", "0");
        assert_eq!(problems(&vars)[0].variable, "JWKS_CACHE_SECONDS");
    }

    #[test]
    fn postgrest_url_is_derived_from_supabase_url() {
        let mut vars = legacy();
        vars.remove("POSTGREST_URL");
        vars.insert("SUPABASE_URL", "https://abc.supabase.co/");
        assert_eq!(
            CoreConfig::from_source(&vars).unwrap().postgrest_url,
            "https://abc.supabase.co/rest/v1"
        );
    }

    #[test]
    fn every_problem_is_reported_by_name_without_values() {
        let vars = HashMap::from([
            ("SUPABASE_JWT_SECRET", "short-secret"),
            ("MAX_BODY_BYTES", "lots"),
        ]);
        let errors = problems(&vars);
        let named: Vec<&str> = errors.iter().map(|error| error.variable).collect();
        assert_eq!(
            named,
            vec![
                "POSTGREST_URL",
                "SUPABASE_PUBLISHABLE_KEY",
                "SUPABASE_JWT_SECRET",
                "MAX_BODY_BYTES"
            ]
        );
        assert!(errors
            .iter()
            .all(|error| !error.to_string().contains("short-secret")));
    }

    #[test]
    fn origin_list_allows_only_listed_origins() {
        let mut vars = legacy();
        vars.insert(
            "ALLOWED_ORIGINS",
            "https://app.example.com, https://admin.example.com",
        );
        let origins = CoreConfig::from_source(&vars).unwrap().allowed_origins;
        assert_eq!(
            origins.allow(Some("https://app.example.com")).as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(origins.allow(Some("https://evil.example.com")), None);
        assert_eq!(origins.allow(None), None);
    }

    #[test]
    fn settings_are_parsed_once_per_isolate_and_told_apart_by_type() {
        #[derive(Debug, PartialEq)]
        struct Counted(u32);
        #[derive(Debug, PartialEq)]
        struct Broken;
        let calls = std::cell::Cell::new(0);
        let parse = |_: &HashMap<&str, &str>| {
            calls.set(calls.get() + 1);
            Ok(Counted(calls.get()))
        };
        let source = HashMap::new();
        assert_eq!(*parsed_once(&source, parse).unwrap(), Counted(1));
        assert_eq!(*parsed_once(&source, parse).unwrap(), Counted(1));
        assert_eq!(calls.get(), 1, "the second call reuses the first answer");

        let broken = |_: &HashMap<&str, &str>| -> Result<Broken, Vec<ConfigError>> {
            Err(vec![ConfigError {
                variable: "SOME_VARIABLE",
                problem: "is not set".into(),
            }])
        };
        assert_eq!(
            parsed_once(&source, broken).unwrap_err()[0].variable,
            "SOME_VARIABLE"
        );
        assert!(parsed_once(&source, parse).is_ok());
        assert_eq!(calls.get(), 1);
    }
}
