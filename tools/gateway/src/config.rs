//! Gateway settings, read from PostgREST's `PGRST_*` environment variables and overridable by
//! command-line flags of the same meaning (`--db-uri`, `--port`, ...).

use std::collections::HashMap;

/// PostgREST's `openapi-mode`: what the root serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenApiMode {
    /// Only what the requesting role has privileges on (PostgREST's default).
    FollowPrivileges,
    IgnorePrivileges,
    /// 404 PGRST126.
    Disabled,
}

/// How a request's transaction ends, PostgREST's `db-tx-end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxEnd {
    Commit,
    CommitAllowOverride,
    Rollback,
    RollbackAllowOverride,
}

impl TxEnd {
    pub fn rolls_back_by_default(self) -> bool {
        matches!(self, TxEnd::Rollback | TxEnd::RollbackAllowOverride)
    }
    pub fn allows_override(self) -> bool {
        matches!(
            self,
            TxEnd::CommitAllowOverride | TxEnd::RollbackAllowOverride
        )
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub db_uri: String,
    pub db_schemas: Vec<String>,
    pub db_anon_role: Option<String>,
    pub db_extra_search_path: Vec<String>,
    pub db_pool: usize,
    pub db_pool_acquisition_timeout_secs: u64,
    pub db_max_rows: Option<u64>,
    pub db_pre_request: Option<(String, String)>,
    pub db_tx_end: TxEnd,
    pub openapi_mode: OpenApiMode,
    /// Roles the root's OpenAPI document is served to; like Supabase, not to anon (`service_role`).
    pub openapi_roles: Vec<String>,
    /// PostgREST's `db-aggregates-enabled`: `count()`, `sum()`, ... in `select` (off, as on Supabase).
    pub db_aggregates_enabled: bool,
    /// PostgREST's `db-plan-enabled`: `Accept: application/vnd.pgrst.plan` answers the plan (off).
    pub db_plan_enabled: bool,
    pub jwt_secret: Option<String>,
    pub jwt_secret_is_base64: bool,
    pub jwt_aud: Option<String>,
    pub jwt_role_claim_path: Vec<String>,
    pub server_host: String,
    pub server_port: u16,
    pub base_path: String,
    pub statement_timeout_ms: Option<u64>,
    pub max_body_bytes: usize,
    /// Longest request-target (path and query string) accepted; longer answers 414.
    pub max_url_bytes: usize,
}

/// Every setting: environment name, flag name, what it means. The README table mirrors this.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    (
        "PGRST_DB_URI",
        "db-uri",
        "Postgres URL of the authenticator role (required)",
    ),
    (
        "PGRST_DB_SCHEMAS",
        "db-schemas",
        "exposed schemas, comma separated; the first is the default (public)",
    ),
    (
        "PGRST_DB_ANON_ROLE",
        "db-anon-role",
        "role for requests without a JWT (anon); empty disables anonymous access",
    ),
    (
        "PGRST_DB_EXTRA_SEARCH_PATH",
        "db-extra-search-path",
        "schemas appended to search_path (public)",
    ),
    ("PGRST_DB_POOL", "db-pool", "connection pool size (10)"),
    (
        "PGRST_DB_POOL_ACQUISITION_TIMEOUT",
        "db-pool-acquisition-timeout",
        "seconds to wait for a pooled connection (10)",
    ),
    (
        "PGRST_DB_MAX_ROWS",
        "db-max-rows",
        "upper bound on rows returned by a read (unlimited)",
    ),
    (
        "PGRST_DB_PRE_REQUEST",
        "db-pre-request",
        "function called at the start of every request, e.g. public.check_request",
    ),
    (
        "PGRST_DB_TX_END",
        "db-tx-end",
        "commit | commit-allow-override | rollback | rollback-allow-override (commit)",
    ),
    (
        "PGRST_DB_AGGREGATES_ENABLED",
        "db-aggregates-enabled",
        "true allows count(), sum(), avg(), min(), max() in select (false)",
    ),
    (
        "PGRST_DB_PLAN_ENABLED",
        "db-plan-enabled",
        "true answers Accept: application/vnd.pgrst.plan with the execution plan (false)",
    ),
    (
        "PGRST_OPENAPI_MODE",
        "openapi-mode",
        "follow-privileges | ignore-privileges | disabled (follow-privileges)",
    ),
    (
        "GATEWAY_OPENAPI_ROLES",
        "openapi-roles",
        "roles the OpenAPI root is served to, comma separated (service_role)",
    ),
    (
        "PGRST_JWT_SECRET",
        "jwt-secret",
        "HS256 secret, or a JWKS/JWK JSON document",
    ),
    (
        "PGRST_JWT_SECRET_IS_BASE64",
        "jwt-secret-is-base64",
        "true when the HS secret is base64 encoded (false)",
    ),
    (
        "PGRST_JWT_AUD",
        "jwt-aud",
        "audience a JWT must carry when it has an aud claim",
    ),
    (
        "PGRST_JWT_ROLE_CLAIM_KEY",
        "jwt-role-claim-key",
        "claim path holding the role (.role)",
    ),
    (
        "PGRST_SERVER_HOST",
        "server-host",
        "listen address (127.0.0.1)",
    ),
    (
        "PGRST_SERVER_PORT",
        "server-port",
        "listen port (3000); --port is an alias",
    ),
    (
        "GATEWAY_BASE_PATH",
        "base-path",
        "path prefix in front of the API (/rest/v1); empty serves from /",
    ),
    (
        "GATEWAY_STATEMENT_TIMEOUT_MS",
        "statement-timeout-ms",
        "statement_timeout for each request before role settings apply (30000; 0 disables)",
    ),
    (
        "GATEWAY_MAX_BODY_BYTES",
        "max-body-bytes",
        "largest request body accepted (10485760)",
    ),
    (
        "GATEWAY_MAX_URL_BYTES",
        "max-url-bytes",
        "longest request-target (path and query) accepted (32768)",
    ),
];

impl Config {
    /// Reads the environment, then lets `--flag value` / `--flag=value` arguments override it.
    pub fn from_env_and_args(args: &[String]) -> Result<Config, String> {
        let mut values: HashMap<&'static str, String> = HashMap::new();
        for (env, _, _) in SETTINGS {
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
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument '{arg}'\n\n{}", usage()));
            };
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (flag, None),
            };
            let name = if name == "port" {
                "server-port"
            } else if name == "host" {
                "server-host"
            } else {
                name
            };
            let Some((env, _, _)) = SETTINGS.iter().find(|(_, f, _)| *f == name) else {
                return Err(format!("unknown flag '--{name}'\n\n{}", usage()));
            };
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
        Config::from_map(&values)
    }

    pub fn from_map(values: &HashMap<&'static str, String>) -> Result<Config, String> {
        let get = |k: &str| values.get(k).map(|s| s.trim().to_string());
        let db_uri = get("PGRST_DB_URI").filter(|s| !s.is_empty()).ok_or(
            "PGRST_DB_URI (or --db-uri) is required: the Postgres URL of the authenticator role",
        )?;
        let list = |k: &str, default: &str| -> Vec<String> {
            get(k)
                .unwrap_or_else(|| default.to_string())
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let db_schemas = list("PGRST_DB_SCHEMAS", "public");
        if db_schemas.is_empty() {
            return Err("PGRST_DB_SCHEMAS must name at least one schema".into());
        }
        let number = |k: &str| -> Result<Option<u64>, String> {
            match get(k).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| format!("{k} must be a non-negative integer, got '{v}'")),
            }
        };
        let db_pre_request = get("PGRST_DB_PRE_REQUEST")
            .filter(|s| !s.is_empty())
            .map(|name| match name.split_once('.') {
                Some((schema, func)) => (schema.to_string(), func.to_string()),
                None => (db_schemas[0].clone(), name),
            });
        let db_tx_end = match get("PGRST_DB_TX_END").as_deref().unwrap_or("commit") {
            "commit" => TxEnd::Commit,
            "commit-allow-override" => TxEnd::CommitAllowOverride,
            "rollback" => TxEnd::Rollback,
            "rollback-allow-override" => TxEnd::RollbackAllowOverride,
            other => return Err(format!("PGRST_DB_TX_END must be commit, commit-allow-override, rollback or rollback-allow-override, got '{other}'")),
        };
        let openapi_mode = match get("PGRST_OPENAPI_MODE").as_deref().unwrap_or("follow-privileges") {
            "follow-privileges" => OpenApiMode::FollowPrivileges,
            "ignore-privileges" => OpenApiMode::IgnorePrivileges,
            "disabled" => OpenApiMode::Disabled,
            other => {
                return Err(format!(
                    "PGRST_OPENAPI_MODE must be follow-privileges, ignore-privileges or disabled, got '{other}'"
                ))
            }
        };
        let server_port = match get("PGRST_SERVER_PORT").filter(|s| !s.is_empty()) {
            None => 3000,
            Some(v) => v
                .parse::<u16>()
                .map_err(|_| format!("PGRST_SERVER_PORT must be a port number, got '{v}'"))?,
        };
        let bool_of = |k: &str| matches!(get(k).as_deref(), Some("true" | "1" | "yes" | "on"));
        let base_path = get("GATEWAY_BASE_PATH").unwrap_or_else(|| "/rest/v1".to_string());
        let base_path = base_path.trim_end_matches('/').to_string();
        if !base_path.is_empty() && !base_path.starts_with('/') {
            return Err(format!(
                "GATEWAY_BASE_PATH must start with '/', got '{base_path}'"
            ));
        }
        let role_claim = get("PGRST_JWT_ROLE_CLAIM_KEY").unwrap_or_else(|| ".role".to_string());
        let jwt_role_claim_path: Vec<String> = role_claim
            .split('.')
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_matches('"').to_string())
            .collect();
        if jwt_role_claim_path.is_empty() {
            return Err(format!(
                "PGRST_JWT_ROLE_CLAIM_KEY must be a claim path like .role, got '{role_claim}'"
            ));
        }
        Ok(Config {
            db_uri,
            db_anon_role: match get("PGRST_DB_ANON_ROLE") {
                None => Some("anon".to_string()),
                Some(s) if s.is_empty() => None,
                Some(s) => Some(s),
            },
            db_extra_search_path: list("PGRST_DB_EXTRA_SEARCH_PATH", "public"),
            db_pool: number("PGRST_DB_POOL")?.unwrap_or(10).max(1) as usize,
            db_pool_acquisition_timeout_secs: number("PGRST_DB_POOL_ACQUISITION_TIMEOUT")?
                .unwrap_or(10),
            db_max_rows: number("PGRST_DB_MAX_ROWS")?,
            db_pre_request,
            db_tx_end,
            db_aggregates_enabled: bool_of("PGRST_DB_AGGREGATES_ENABLED"),
            db_plan_enabled: bool_of("PGRST_DB_PLAN_ENABLED"),
            openapi_mode,
            openapi_roles: list("GATEWAY_OPENAPI_ROLES", "service_role"),
            jwt_secret: get("PGRST_JWT_SECRET").filter(|s| !s.is_empty()),
            jwt_secret_is_base64: bool_of("PGRST_JWT_SECRET_IS_BASE64"),
            jwt_aud: get("PGRST_JWT_AUD").filter(|s| !s.is_empty()),
            jwt_role_claim_path,
            server_host: get("PGRST_SERVER_HOST")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "127.0.0.1".to_string()),
            server_port,
            base_path,
            statement_timeout_ms: match number("GATEWAY_STATEMENT_TIMEOUT_MS")? {
                None => Some(30_000),
                Some(0) => None,
                Some(n) => Some(n),
            },
            max_body_bytes: number("GATEWAY_MAX_BODY_BYTES")?.unwrap_or(10 * 1024 * 1024) as usize,
            max_url_bytes: number("GATEWAY_MAX_URL_BYTES")?.unwrap_or(32 * 1024) as usize,
            db_schemas,
        })
    }
}

pub fn usage() -> String {
    let mut text = String::from("gateway: a PostgREST-compatible HTTP API on Postgres\n\nSettings (environment variable / flag):\n");
    for (env, flag, what) in SETTINGS {
        text.push_str(&format!("  {env:<36} --{flag:<28} {what}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_postgrest() {
        let mut m = HashMap::new();
        m.insert(
            "PGRST_DB_URI",
            "postgres://authenticator@127.0.0.1/db".to_string(),
        );
        let c = Config::from_map(&m).unwrap();
        assert_eq!(c.db_schemas, vec!["public"]);
        assert_eq!(c.db_anon_role.as_deref(), Some("anon"));
        assert_eq!(c.server_port, 3000);
        assert_eq!(c.base_path, "/rest/v1");
        assert_eq!(c.db_tx_end, TxEnd::Commit);
    }

    #[test]
    fn missing_uri_and_bad_port_are_refused() {
        assert!(Config::from_map(&HashMap::new()).is_err());
        let mut m = HashMap::new();
        m.insert("PGRST_DB_URI", "postgres://x".to_string());
        m.insert("PGRST_SERVER_PORT", "http".to_string());
        assert!(Config::from_map(&m)
            .unwrap_err()
            .contains("PGRST_SERVER_PORT"));
    }
}
