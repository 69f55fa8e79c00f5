//! Origin settings: `ORIGIN_*` environment variables, overridable by flags of the same meaning,
//! plus the embedded gateway's own `PGRST_*`/`GATEWAY_*` variables (tools/gateway/README.md),
//! of which the origin sets the JWT secret, the listen address and the base path itself.

use std::collections::HashMap;

use crate::access::{ApiKeys, LegacyKeys};
use crate::keys::{legacy_secret_jwk, SigningKeys};

/// Which JWTs the stack signs and accepts (the stack's `STACK_KEYS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// Supabase's default since 2025: asymmetric signing keys from the signing-keys file, the
    /// publishable and secret API keys; the legacy JWT secret, when given, still verifies HS256
    /// tokens at /rest/v1 (a project migrating away from it).
    Signing,
    /// A project that has not migrated: everything HS256 with the legacy JWT secret, and the
    /// legacy `anon`/`service_role` JWT API keys accepted besides the new ones.
    Legacy,
}

/// Where `/rest/v1` goes.
pub enum RestUpstream {
    /// The gateway in this process, started with these settings.
    Embedded(HashMap<&'static str, String>),
    /// A PostgREST-compatible server elsewhere, e.g. `http://127.0.0.1:3000`; `/rest/v1/x` is
    /// sent to `<url>/x`.
    Url(String),
}

pub struct Config {
    pub host: String,
    pub port: u16,
    pub functions_url: String,
    pub rest: RestUpstream,
    pub key_mode: KeyMode,
    /// Signs the role tokens standing for API keys (signing mode) and is published at
    /// `/auth/v1/.well-known/jwks.json`.
    pub signing_keys: Option<SigningKeys>,
    pub api_keys: ApiKeys,
    pub jwt_secret: Option<String>,
    /// The local Auth mounted at `/auth/v1`, when `AUTH_DATABASE_URL` is set.
    pub auth: Option<auth::Settings>,
}

/// Every origin setting: environment name, flag, what it means. README's table mirrors this.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("ORIGIN_HOST", "host", "listen address (127.0.0.1)"),
    ("ORIGIN_PORT", "port", "listen port (54321; 0 picks a free one)"),
    ("ORIGIN_KEY_MODE", "keys", "signing | legacy (signing)"),
    ("ORIGIN_API_KEYS", "api-keys", "file with the publishable and secret API keys (required)"),
    ("ORIGIN_SIGNING_KEYS", "signing-keys", "signing-keys file, a JSON array of private JWKs (required in signing mode)"),
    ("ORIGIN_JWT_SECRET", "jwt-secret", "legacy HS256 JWT secret (required in legacy mode; in signing mode /rest/v1 still accepts HS256 tokens signed with it)"),
    ("ORIGIN_ANON_KEY", "anon-key", "legacy anon JWT API key (legacy mode only, required there)"),
    ("ORIGIN_SERVICE_ROLE_KEY", "service-role-key", "legacy service_role JWT API key (legacy mode only, required there)"),
    ("ORIGIN_FUNCTIONS_URL", "functions-url", "where /functions/v1 is proxied: wrangler dev (http://127.0.0.1:8787)"),
    ("ORIGIN_REST_URL", "rest-url", "a PostgREST to proxy /rest/v1 to instead of the embedded gateway"),
    ("PGRST_DB_URI", "db-uri", "the embedded gateway's Postgres URL (authenticator role); its other PGRST_* settings are read from the environment"),
];

/// Gateway settings the origin decides itself.
const OWNED_GATEWAY_SETTINGS: &[&str] = &[
    "PGRST_JWT_SECRET",
    "PGRST_JWT_SECRET_IS_BASE64",
    "PGRST_SERVER_HOST",
    "PGRST_SERVER_PORT",
    "GATEWAY_BASE_PATH",
];

impl Config {
    /// Reads the environment, then lets `--flag value` / `--flag=value` override it.
    pub fn from_env_and_args(args: &[String]) -> Result<Config, String> {
        let mut values: HashMap<&'static str, String> = HashMap::new();
        for (env, _, _) in SETTINGS.iter().chain(gateway::config::SETTINGS) {
            if let Ok(v) = std::env::var(env) {
                values.insert(env, v);
            }
        }
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg == "-h" || arg == "--help" {
                return Err(usage());
            }
            let flag = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument '{arg}'\n\n{}", usage()))?;
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (flag, None),
            };
            let (env, _, _) = SETTINGS
                .iter()
                .find(|(_, f, _)| *f == name)
                .ok_or_else(|| format!("unknown flag '--{name}'\n\n{}", usage()))?;
            let value = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| format!("flag '--{name}' needs a value"))?
                }
            };
            values.insert(env, value);
            i += 1;
        }
        let mut config = Config::from_map(&values, &|path| {
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
        })?;
        let auth_vars: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AUTH_"))
            .collect();
        config.auth = local_auth(&auth_vars, &values)?;
        Ok(config)
    }

    /// Builds the configuration; `read` loads the key files.
    pub fn from_map(
        values: &HashMap<&'static str, String>,
        read: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Config, String> {
        let get = |k: &str| {
            values
                .get(k)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let key_mode = match get("ORIGIN_KEY_MODE").as_deref().unwrap_or("signing") {
            "signing" => KeyMode::Signing,
            "legacy" => KeyMode::Legacy,
            other => {
                return Err(format!(
                    "ORIGIN_KEY_MODE must be signing or legacy, got '{other}'"
                ))
            }
        };
        let port = match get("ORIGIN_PORT") {
            None => 54321,
            Some(v) => v
                .parse::<u16>()
                .map_err(|_| format!("ORIGIN_PORT must be a port number, got '{v}'"))?,
        };
        let api_keys_file = get("ORIGIN_API_KEYS").ok_or("ORIGIN_API_KEYS (or --api-keys) is required: the file with the publishable and secret keys")?;
        let (publishable, secret) = ApiKeys::parse_file(&read(&api_keys_file)?, &api_keys_file)?;
        let jwt_secret = get("ORIGIN_JWT_SECRET");
        if jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err("ORIGIN_JWT_SECRET must be at least 32 characters long".into());
        }
        let signing_keys = match get("ORIGIN_SIGNING_KEYS") {
            Some(file) if key_mode == KeyMode::Signing => Some(SigningKeys::parse(&read(&file)?, &file)?),
            None if key_mode == KeyMode::Signing => {
                return Err("ORIGIN_SIGNING_KEYS (or --signing-keys) is required in signing mode: the signing-keys file".into())
            }
            _ => None,
        };
        let legacy = match key_mode {
            KeyMode::Signing => None,
            KeyMode::Legacy => {
                if jwt_secret.is_none() {
                    return Err(
                        "ORIGIN_JWT_SECRET (or --jwt-secret) is required in legacy mode".into(),
                    );
                }
                let anon = get("ORIGIN_ANON_KEY")
                    .ok_or("ORIGIN_ANON_KEY (or --anon-key) is required in legacy mode")?;
                let service_role = get("ORIGIN_SERVICE_ROLE_KEY").ok_or(
                    "ORIGIN_SERVICE_ROLE_KEY (or --service-role-key) is required in legacy mode",
                )?;
                Some(LegacyKeys { anon, service_role })
            }
        };
        let rest = match get("ORIGIN_REST_URL") {
            Some(url) => RestUpstream::Url(url),
            None => {
                let mut settings: HashMap<&'static str, String> = values
                    .iter()
                    .filter(|(k, _)| k.starts_with("PGRST_") || k.starts_with("GATEWAY_"))
                    .map(|(k, v)| (*k, v.clone()))
                    .collect();
                for owned in OWNED_GATEWAY_SETTINGS {
                    settings.remove(owned);
                }
                if let Some(secret) =
                    gateway_jwt_secret(key_mode, signing_keys.as_ref(), jwt_secret.as_deref())
                {
                    settings.insert("PGRST_JWT_SECRET", secret);
                }
                settings.insert("PGRST_SERVER_HOST", "127.0.0.1".into());
                settings.insert("PGRST_SERVER_PORT", "0".into());
                settings.insert("GATEWAY_BASE_PATH", "/rest/v1".into());
                RestUpstream::Embedded(settings)
            }
        };
        Ok(Config {
            host: get("ORIGIN_HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port,
            functions_url: get("ORIGIN_FUNCTIONS_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8787".into()),
            rest,
            key_mode,
            signing_keys,
            api_keys: ApiKeys {
                publishable,
                secret,
                legacy,
            },
            jwt_secret,
            auth: None,
        })
    }
}

/// The local Auth's settings (tools/auth/README.md lists its `AUTH_*` variables), or None when
/// `AUTH_DATABASE_URL` is not set. What the origin already knows is the default: the issuer
/// `http://<ORIGIN_HOST>:<ORIGIN_PORT>/auth/v1`, the key mode, the signing-keys file and the
/// legacy secret, so tokens are signed and verified with the same keys at every path.
pub fn local_auth(
    auth_vars: &HashMap<String, String>,
    origin: &HashMap<&'static str, String>,
) -> Result<Option<auth::Settings>, String> {
    if auth_vars
        .get("AUTH_DATABASE_URL")
        .is_none_or(|v| v.trim().is_empty())
    {
        return Ok(None);
    }
    let mut vars = auth_vars.clone();
    let origin_value = |name: &str| {
        origin
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let host = origin_value("ORIGIN_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port = origin_value("ORIGIN_PORT").unwrap_or_else(|| "54321".into());
    let defaults = [
        ("AUTH_ISSUER", Some(format!("http://{host}:{port}/auth/v1"))),
        ("AUTH_KEY_MODE", origin_value("ORIGIN_KEY_MODE")),
        (
            "AUTH_SIGNING_KEYS_FILE",
            origin_value("ORIGIN_SIGNING_KEYS"),
        ),
        ("AUTH_JWT_SECRET", origin_value("ORIGIN_JWT_SECRET")),
    ];
    for (name, value) in defaults {
        if let Some(value) = value {
            vars.entry(name.to_string()).or_insert(value);
        }
    }
    auth::Settings::from_map(&vars).map(Some)
}

/// What the gateway verifies tokens with, as Supabase configures PostgREST: in signing mode a
/// JWKS of every public key of the file plus, while the legacy secret is still configured, that
/// secret as an `oct` key; in legacy mode the secret itself.
fn gateway_jwt_secret(
    mode: KeyMode,
    signing_keys: Option<&SigningKeys>,
    jwt_secret: Option<&str>,
) -> Option<String> {
    match mode {
        KeyMode::Legacy => jwt_secret.map(str::to_string),
        KeyMode::Signing => {
            let mut keys = signing_keys
                .map(SigningKeys::public_keys)
                .unwrap_or_default();
            keys.extend(jwt_secret.map(legacy_secret_jwk));
            Some(serde_json::json!({ "keys": keys }).to_string())
        }
    }
}

pub fn usage() -> String {
    let mut text = String::from("origin: Supabase's API gateway, locally: /rest/v1, /auth/v1 and /functions/v1 on one port\n\nSettings (environment variable / flag):\n");
    for (env, flag, what) in SETTINGS {
        text.push_str(&format!("  {env:<26} --{flag:<18} {what}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const API_KEYS: &str =
        r#"{"publishable_key":"sb_publishable_abc","secret_key":"sb_secret_def"}"#;
    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

    fn files(path: &str) -> Result<String, String> {
        match path {
            "api-keys.json" => Ok(API_KEYS.into()),
            "signing-keys.json" => Ok(signing_file()),
            other => Err(format!("cannot read {other}: no such file")),
        }
    }

    fn signing_file() -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let secret = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let point = secret.verifying_key().to_encoded_point(false);
        serde_json::json!([{ "kty": "EC", "kid": "k0", "crv": "P-256", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()), "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
            "d": URL_SAFE_NO_PAD.encode([9u8; 32]) }])
        .to_string()
    }

    fn settings(pairs: &[(&'static str, &str)]) -> HashMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn signing_mode_gives_the_gateway_the_public_keys_and_the_legacy_secret() {
        let config = Config::from_map(
            &settings(&[
                ("ORIGIN_API_KEYS", "api-keys.json"),
                ("ORIGIN_SIGNING_KEYS", "signing-keys.json"),
                ("ORIGIN_JWT_SECRET", SECRET),
                ("PGRST_DB_URI", "postgres://authenticator@127.0.0.1/db"),
                (
                    "PGRST_JWT_SECRET",
                    "ignored-because-the-origin-decides-it-000000",
                ),
            ]),
            &files,
        )
        .unwrap();
        assert_eq!(
            (config.host.as_str(), config.port, config.key_mode),
            ("127.0.0.1", 54321, KeyMode::Signing)
        );
        let RestUpstream::Embedded(gateway) = &config.rest else {
            panic!("embedded gateway expected")
        };
        let jwks: serde_json::Value = serde_json::from_str(&gateway["PGRST_JWT_SECRET"]).unwrap();
        let kinds: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kty"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["EC", "oct"]);
        assert!(jwks["keys"][0].get("d").is_none());
        assert_eq!(
            gateway["PGRST_DB_URI"],
            "postgres://authenticator@127.0.0.1/db"
        );
        assert_eq!(
            (
                gateway["PGRST_SERVER_PORT"].as_str(),
                gateway["GATEWAY_BASE_PATH"].as_str()
            ),
            ("0", "/rest/v1")
        );
        assert!(config.api_keys.legacy.is_none());
    }

    #[test]
    fn legacy_mode_needs_the_secret_and_both_legacy_keys() {
        let base = [
            ("ORIGIN_KEY_MODE", "legacy"),
            ("ORIGIN_API_KEYS", "api-keys.json"),
        ];
        let error = Config::from_map(&settings(&base), &files).err().unwrap();
        assert!(error.contains("ORIGIN_JWT_SECRET"), "{error}");
        let mut with_secret = base.to_vec();
        with_secret.push(("ORIGIN_JWT_SECRET", SECRET));
        assert!(Config::from_map(&settings(&with_secret), &files)
            .err()
            .unwrap()
            .contains("ORIGIN_ANON_KEY"));
        with_secret.extend([
            ("ORIGIN_ANON_KEY", "eyJanon"),
            ("ORIGIN_SERVICE_ROLE_KEY", "eyJservice"),
        ]);
        let config = Config::from_map(&settings(&with_secret), &files).unwrap();
        let RestUpstream::Embedded(gateway) = &config.rest else {
            panic!("embedded gateway expected")
        };
        assert_eq!(gateway["PGRST_JWT_SECRET"], SECRET);
        assert!(config.signing_keys.is_none());
        assert_eq!(
            config.api_keys.legacy.as_ref().map(|k| k.anon.as_str()),
            Some("eyJanon")
        );
    }

    #[test]
    fn bad_settings_name_the_setting_or_the_file() {
        let cases: &[(&[(&'static str, &str)], &str)] = &[
            (&[], "ORIGIN_API_KEYS"),
            (
                &[("ORIGIN_API_KEYS", "missing.json")],
                "cannot read missing.json",
            ),
            (
                &[("ORIGIN_API_KEYS", "api-keys.json")],
                "ORIGIN_SIGNING_KEYS",
            ),
            (
                &[
                    ("ORIGIN_API_KEYS", "api-keys.json"),
                    ("ORIGIN_KEY_MODE", "hs256"),
                ],
                "ORIGIN_KEY_MODE",
            ),
            (
                &[
                    ("ORIGIN_API_KEYS", "api-keys.json"),
                    ("ORIGIN_PORT", "http"),
                ],
                "ORIGIN_PORT",
            ),
            (
                &[
                    ("ORIGIN_API_KEYS", "api-keys.json"),
                    ("ORIGIN_SIGNING_KEYS", "signing-keys.json"),
                    ("ORIGIN_JWT_SECRET", "short"),
                ],
                "32 characters",
            ),
        ];
        for (pairs, expected) in cases {
            let error = Config::from_map(&settings(pairs), &files).err().unwrap();
            assert!(error.contains(expected), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn an_external_rest_url_replaces_the_embedded_gateway() {
        let config = Config::from_map(
            &settings(&[
                ("ORIGIN_API_KEYS", "api-keys.json"),
                ("ORIGIN_SIGNING_KEYS", "signing-keys.json"),
                ("ORIGIN_REST_URL", "http://127.0.0.1:3000"),
            ]),
            &files,
        )
        .unwrap();
        assert!(matches!(config.rest, RestUpstream::Url(ref u) if u == "http://127.0.0.1:3000"));
    }

    #[test]
    fn the_local_auth_is_mounted_with_the_origins_keys_unless_told_otherwise() {
        let origin = settings(&[
            ("ORIGIN_PORT", "25321"),
            ("ORIGIN_SIGNING_KEYS", "signing-keys.json"),
            ("ORIGIN_JWT_SECRET", SECRET),
        ]);
        assert!(
            local_auth(&HashMap::new(), &origin).unwrap().is_none(),
            "no AUTH_DATABASE_URL, no Auth"
        );
        let vars = HashMap::from([(
            "AUTH_DATABASE_URL".to_string(),
            "postgres://postgres@127.0.0.1/db".to_string(),
        )]);
        let auth = local_auth(&vars, &origin).unwrap().unwrap();
        assert_eq!(auth.issuer, "http://127.0.0.1:25321/auth/v1");
        assert_eq!(auth.key_mode, auth::KeyMode::Signing);
        assert_eq!(
            auth.signing_keys_file.as_deref(),
            Some(std::path::Path::new("signing-keys.json"))
        );
        assert_eq!(auth.jwt_secret.as_deref(), Some(SECRET));
        let mut own = vars.clone();
        own.insert(
            "AUTH_ISSUER".into(),
            "http://localhost:54321/auth/v1".into(),
        );
        own.insert("AUTH_KEY_MODE".into(), "legacy".into());
        let auth = local_auth(&own, &origin).unwrap().unwrap();
        assert_eq!(
            (auth.issuer.as_str(), auth.key_mode),
            ("http://localhost:54321/auth/v1", auth::KeyMode::Legacy)
        );
    }
}
