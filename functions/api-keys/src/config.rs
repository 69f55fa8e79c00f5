//! The api-keys settings, read from the Worker's variables and secrets:
//!
//! | name | kind | default | meaning |
//! |---|---|---|---|
//! | `API_KEYS_MASTER_KEYS` | secret | none, required | the master key ring, `v<version>:<base64 of 32 bytes>` entries, comma-separated, **current first** (e.g. `v2:<new>,v1:<old>` while rotating); make a key with `openssl rand -base64 32` |
//! | `API_KEYS_SERVICES` | var | `openai,anthropic,stripe,twilio,sendgrid,resend` | the services users may store keys for; names the catalogue does not know get a generic key shape and no health check |
//! | `API_KEYS_PROVIDER_URLS` | var | each provider's production API | `service=base URL` pairs, comma-separated, overriding where health checks go (tests point them at a local fake) |
//! | `API_KEYS_CHECK_TIMEOUT_MS` | var | 5000 | how long a health check waits for the provider (100..=30000) |
//! | `API_KEYS_ROTATION_BATCH` | var | 25 | rows a `POST /rotate` call re-encrypts when it names no `limit` (1..=200; each row is one PostgREST call, and a Worker request has a subrequest budget: 50 on the free plan, 1000 on paid) |
//!
//! Problems name the variable, never a value.

use std::collections::HashMap;

use shared::config::{self, positive_at_most, ConfigError, Parsed, VarSource, Vars};
use zeroize::Zeroizing;

use crate::catalogue::{Catalogue, DEFAULT_SERVICES};
use crate::vault::KeyRing;

pub const MASTER_KEYS: &str = "API_KEYS_MASTER_KEYS";
pub const SERVICES: &str = "API_KEYS_SERVICES";
pub const PROVIDER_URLS: &str = "API_KEYS_PROVIDER_URLS";
pub const CHECK_TIMEOUT_MS: &str = "API_KEYS_CHECK_TIMEOUT_MS";
pub const ROTATION_BATCH: &str = "API_KEYS_ROTATION_BATCH";

pub const DEFAULT_CHECK_TIMEOUT_MS: u64 = 5_000;
pub const DEFAULT_ROTATION_BATCH: u64 = 25;
const MAX_CHECK_TIMEOUT_MS: u64 = 30_000;
const MIN_CHECK_TIMEOUT_MS: u64 = 100;
const MAX_ROTATION_BATCH: u64 = 200;

/// Everything the api-keys endpoints need besides the core configuration.
#[derive(Debug)]
pub struct ApiKeysConfig {
    pub ring: KeyRing,
    pub catalogue: Catalogue,
    provider_urls: HashMap<String, String>,
    pub check_timeout_ms: u64,
    pub rotation_batch: usize,
}

/// The settings, parsed once per isolate (`shared::config::parsed_once`).
pub fn parsed(env: &worker::Env) -> Parsed<ApiKeysConfig> {
    config::parsed_once(env, ApiKeysConfig::from_source)
}

impl ApiKeysConfig {
    pub fn from_source(source: &(impl VarSource + ?Sized)) -> Result<Self, Vec<ConfigError>> {
        let mut vars = Vars::new(source);
        // The raw setting holds every master key in base64: wiped once parsed.
        let ring = match vars.optional(MASTER_KEYS).map(Zeroizing::new) {
            None => {
                vars.error(MASTER_KEYS, "is not set; put `v1:<base64 of 32 random bytes>` here (openssl rand -base64 32)");
                None
            }
            Some(raw) => KeyRing::parse(&raw)
                .map_err(|problem| vars.error(MASTER_KEYS, problem.to_string()))
                .ok(),
        };
        let services = vars
            .optional(SERVICES)
            .unwrap_or_else(|| DEFAULT_SERVICES.to_string());
        let catalogue = Catalogue::parse(&services).unwrap_or_else(|problem| {
            vars.error(SERVICES, problem.to_string());
            Catalogue::default()
        });
        let provider_urls = vars.parsed(PROVIDER_URLS, HashMap::new(), |raw| {
            parse_provider_urls(raw, &catalogue)
        });
        let check_timeout_ms = vars.parsed(CHECK_TIMEOUT_MS, DEFAULT_CHECK_TIMEOUT_MS, |raw| {
            positive_at_most(MAX_CHECK_TIMEOUT_MS)(raw).and_then(|ms| {
                if ms >= MIN_CHECK_TIMEOUT_MS {
                    Ok(ms)
                } else {
                    Err(format!("must be at least {MIN_CHECK_TIMEOUT_MS} ms"))
                }
            })
        });
        let rotation_batch = vars.parsed(
            ROTATION_BATCH,
            DEFAULT_ROTATION_BATCH,
            positive_at_most(MAX_ROTATION_BATCH),
        ) as usize;
        match ring {
            Some(ring) => vars.finish(Self {
                ring,
                catalogue,
                provider_urls,
                check_timeout_ms,
                rotation_batch,
            }),
            None => Err(vars.finish(()).err().unwrap_or_default()),
        }
    }

    /// Where the health check for `service` goes: the configured URL, else the provider's own.
    pub fn provider_url(&self, service: &str) -> Option<&str> {
        self.provider_urls
            .get(service)
            .map(String::as_str)
            .or_else(|| {
                self.catalogue
                    .service(service)
                    .ok()
                    .and_then(|spec| spec.default_base_url)
            })
    }
}

fn parse_provider_urls(
    raw: &str,
    catalogue: &Catalogue,
) -> Result<HashMap<String, String>, String> {
    let mut urls = HashMap::new();
    for (index, entry) in raw
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .enumerate()
    {
        let position = index + 1;
        let (service, url) = entry
            .split_once('=')
            .ok_or_else(|| format!("entry {position} is not of the form `service=https://host`"))?;
        let (service, url) = (service.trim(), url.trim());
        if catalogue.service(service).is_err() {
            return Err(format!(
                "entry {position} names service {service:?}, which is not in {SERVICES}"
            ));
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!(
                "the URL for {service} must start with http:// or https://"
            ));
        }
        if urls
            .insert(service.to_string(), url.trim_end_matches('/').to_string())
            .is_some()
        {
            return Err(format!("service {service} appears more than once"));
        }
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RING: &str = "v2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,v1://79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=";

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reads_every_setting() {
        let source = HashMap::from([
            (MASTER_KEYS, RING),
            (SERVICES, "openai,stripe,mailgun"),
            (
                PROVIDER_URLS,
                "openai=http://127.0.0.1:56410/openai/, stripe=https://stripe.test",
            ),
            (CHECK_TIMEOUT_MS, "750"),
            (ROTATION_BATCH, "10"),
        ]);
        let config = ApiKeysConfig::from_source(&source).unwrap();
        assert_eq!(
            config.ring.versions().map(|v| v.get()).collect::<Vec<_>>(),
            [2, 1]
        );
        assert_eq!(
            config.catalogue.names().collect::<Vec<_>>(),
            ["openai", "stripe", "mailgun"]
        );
        assert_eq!(
            config.provider_url("openai"),
            Some("http://127.0.0.1:56410/openai")
        );
        assert_eq!(config.provider_url("stripe"), Some("https://stripe.test"));
        assert_eq!(config.provider_url("mailgun"), None);
        assert_eq!((config.check_timeout_ms, config.rotation_batch), (750, 10));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn defaults_apply_when_only_the_key_ring_is_set() {
        let config = ApiKeysConfig::from_source(&HashMap::from([(MASTER_KEYS, RING)])).unwrap();
        assert_eq!(config.catalogue, Catalogue::default());
        assert_eq!(
            config.provider_url("openai"),
            Some("https://api.openai.com")
        );
        assert_eq!(config.check_timeout_ms, DEFAULT_CHECK_TIMEOUT_MS);
        assert_eq!(config.rotation_batch, DEFAULT_ROTATION_BATCH as usize);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn names_every_problem_and_never_a_key() {
        let bad_ring = "v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";
        let source = HashMap::from([
            (MASTER_KEYS, bad_ring),
            (SERVICES, "openai,OpenAI"),
            (PROVIDER_URLS, "stripe=ftp://x"),
            (CHECK_TIMEOUT_MS, "50"),
            (ROTATION_BATCH, "0"),
        ]);
        let problems = ApiKeysConfig::from_source(&source).unwrap_err();
        let named: Vec<&str> = problems.iter().map(|problem| problem.variable).collect();
        assert_eq!(
            named,
            [
                MASTER_KEYS,
                SERVICES,
                PROVIDER_URLS,
                CHECK_TIMEOUT_MS,
                ROTATION_BATCH
            ]
        );
        for problem in &problems {
            assert!(!problem.to_string().contains("AAECAwQF"), "{problem}");
        }
        let missing = ApiKeysConfig::from_source(&HashMap::new()).unwrap_err();
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].variable, MASTER_KEYS);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn provider_urls_must_name_configured_services_once() {
        let catalogue = Catalogue::default();
        assert!(parse_provider_urls("mailgun=https://x", &catalogue)
            .unwrap_err()
            .contains("mailgun"));
        assert!(parse_provider_urls("openai", &catalogue)
            .unwrap_err()
            .contains("entry 1"));
        assert!(
            parse_provider_urls("openai=https://a,openai=https://b", &catalogue)
                .unwrap_err()
                .contains("more than once")
        );
    }
}
