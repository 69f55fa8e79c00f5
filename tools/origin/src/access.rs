//! The `apikey` check in front of `/rest/v1` and `/auth/v1`, decided the way Supabase's API
//! gateway decides it. Pure: it sees the presented credentials and answers who the request runs
//! as, or the 401 Supabase gives.
//!
//! What Supabase does, and where each rule comes from:
//! - every request carries an API key in the `apikey` header or the `apikey` query parameter,
//!   else 401 "No API key found in request" (Kong's key-auth, which Supabase's gateways used
//!   and still answer with; `sb-error-code: UNAUTHORIZED_MISSING_API_KEY` per Supabase's
//!   troubleshooting note on admin endpoints); a key that is not the project's gets 401
//!   "Invalid API key" (`sb-error-code: UNAUTHORIZED_INVALID_API_KEY`);
//! - the publishable key (and the legacy `anon` JWT key) runs as `anon`, the secret key (and the
//!   legacy `service_role` JWT key) as `service_role`: the gateway swaps an `sb_` key for a
//!   short-lived JWT of that role (docker/volumes/api/kong-entrypoint.sh in supabase/supabase);
//! - a user's `Authorization: Bearer <jwt>` is passed on untouched and wins over the key's role;
//!   `Bearer sb_...` is not a JWT: Supabase's API-keys guide allows it only when it equals the
//!   `apikey` header (what supabase-js sends without a session), and then the key decides;
//! - a secret key is refused from a browser, recognised by its `User-Agent` (API-keys guide);
//! - since 2026 the OpenAPI root `GET /rest/v1/` needs the secret or `service_role` key; the
//!   statuses and bodies for the other keys are the ones measured against a hosted project
//!   (the change's notice quotes a different text, "Access to schema is forbidden").

use subtle::ConstantTimeEq;

/// The Postgres role a request runs as when no user token overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Anon,
    ServiceRole,
}

impl Role {
    pub fn claim(self) -> &'static str {
        match self {
            Role::Anon => "anon",
            Role::ServiceRole => "service_role",
        }
    }
}

/// Which of the project's keys was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKey {
    Publishable,
    Secret,
    LegacyAnon,
    LegacyServiceRole,
}

impl ApiKey {
    pub fn role(self) -> Role {
        match self {
            ApiKey::Publishable | ApiKey::LegacyAnon => Role::Anon,
            ApiKey::Secret | ApiKey::LegacyServiceRole => Role::ServiceRole,
        }
    }
}

/// The keys the origin accepts. The legacy JWT keys are accepted only when configured (the
/// stack's legacy key mode).
pub struct ApiKeys {
    pub publishable: String,
    pub secret: String,
    pub legacy: Option<LegacyKeys>,
}

pub struct LegacyKeys {
    pub anon: String,
    pub service_role: String,
}

impl ApiKeys {
    /// Reads the API keys file (`{"publishable_key": "sb_publishable_...", "secret_key":
    /// "sb_secret_..."}`, written by tools/scripts/api-keys.mjs).
    pub fn parse_file(text: &str, source: &str) -> Result<(String, String), String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("{source} is not JSON: {e}"))?;
        let field = |name: &str, prefix: &str| -> Result<String, String> {
            let key = value
                .get(name)
                .and_then(|v| v.as_str())
                .ok_or(format!("{source} has no {name}"))?;
            if !key.starts_with(prefix) || key.len() <= prefix.len() {
                return Err(format!("{source}: {name} must start with {prefix}"));
            }
            Ok(key.to_string())
        };
        Ok((
            field("publishable_key", "sb_publishable_")?,
            field("secret_key", "sb_secret_")?,
        ))
    }

    /// Which key `presented` is, compared in constant time against each.
    pub fn identify(&self, presented: &str) -> Option<ApiKey> {
        let same = |known: &str| bool::from(presented.as_bytes().ct_eq(known.as_bytes()));
        let mut found = None;
        if same(&self.publishable) {
            found = Some(ApiKey::Publishable);
        }
        if same(&self.secret) {
            found = Some(ApiKey::Secret);
        }
        if let Some(legacy) = &self.legacy {
            if same(&legacy.anon) {
                found = Some(ApiKey::LegacyAnon);
            }
            if same(&legacy.service_role) {
                found = Some(ApiKey::LegacyServiceRole);
            }
        }
        found
    }
}

/// What the request presented.
#[derive(Debug, Default, Clone, Copy)]
pub struct Credentials<'a> {
    /// The `apikey` header, else the `apikey` query parameter.
    pub apikey: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// What the origin sends on as `Authorization`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// The caller's own bearer token (a user's JWT) goes on unchanged.
    CallerToken,
    /// A short-lived token of this role, minted by the origin (for `sb_` keys).
    RoleToken(Role),
    /// The legacy JWT key itself, as `Bearer <apikey>` (what Kong forwards for legacy keys).
    KeyAsBearer,
}

/// A refusal in Supabase's gateway shape: `{"message", "hint"?}` plus `sb-error-code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: &'static str,
    pub hint: Option<&'static str>,
    pub error_code: Option<&'static str>,
}

impl Refusal {
    /// The body, `message` first as Supabase writes it.
    pub fn body(&self) -> String {
        let quoted = |text: &str| serde_json::Value::from(text).to_string();
        match self.hint {
            Some(hint) => format!(
                r#"{{"message":{},"hint":{}}}"#,
                quoted(self.message),
                quoted(hint)
            ),
            None => format!(r#"{{"message":{}}}"#, quoted(self.message)),
        }
    }
}

fn missing_key() -> Refusal {
    Refusal {
        status: 401,
        message: "No API key found in request",
        hint: Some("No `apikey` request header or url param was found."),
        error_code: Some("UNAUTHORIZED_MISSING_API_KEY"),
    }
}

pub fn invalid_key() -> Refusal {
    Refusal {
        status: 401,
        message: "Invalid API key",
        hint: None,
        error_code: Some("UNAUTHORIZED_INVALID_API_KEY"),
    }
}

/// Decides one request. `schema_root` is a read of the OpenAPI description (`GET /rest/v1/`).
pub fn admit(
    keys: &ApiKeys,
    credentials: &Credentials,
    schema_root: bool,
) -> Result<(ApiKey, Forward), Refusal> {
    let presented = credentials
        .apikey
        .filter(|k| !k.is_empty())
        .ok_or_else(missing_key)?;
    let key = keys.identify(presented).ok_or_else(invalid_key)?;
    if key == ApiKey::Secret && credentials.user_agent.is_some_and(looks_like_a_browser) {
        return Err(Refusal {
            status: 401,
            message: "Forbidden use of secret API key in browser",
            hint: None,
            error_code: None,
        });
    }
    if schema_root {
        match key {
            ApiKey::Publishable => {
                return Err(Refusal {
                    status: 401,
                    message: "Secret API key required",
                    hint: Some("Only secret API keys can be used for this endpoint."),
                    error_code: Some("UNAUTHORIZED_INVALID_API_KEY_TYPE"),
                })
            }
            ApiKey::LegacyAnon => {
                return Err(Refusal {
                    status: 401,
                    message: "Invalid API key",
                    hint: Some("Only the `service_role` API key can be used for this endpoint."),
                    error_code: Some("UNAUTHORIZED_INVALID_API_KEY_TYPE"),
                })
            }
            ApiKey::Secret | ApiKey::LegacyServiceRole => {}
        }
    }
    let forward = match credentials.authorization.map(str::trim) {
        None | Some("") => key_forward(key),
        Some(value) => match bearer_api_key(value) {
            None => Forward::CallerToken,
            Some(bearer) if bool::from(bearer.as_bytes().ct_eq(presented.as_bytes())) => {
                key_forward(key)
            }
            Some(_) => return Err(invalid_key()),
        },
    };
    Ok((key, forward))
}

fn key_forward(key: ApiKey) -> Forward {
    match key {
        ApiKey::Publishable | ApiKey::Secret => Forward::RoleToken(key.role()),
        ApiKey::LegacyAnon | ApiKey::LegacyServiceRole => Forward::KeyAsBearer,
    }
}

/// The key in `Authorization: Bearer sb_...`, which is an API key, never a JWT.
fn bearer_api_key(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && token.starts_with("sb_")).then_some(token)
}

/// Every browser's User-Agent starts with the historical `Mozilla/` token; servers, curl and
/// Node's fetch do not send it.
fn looks_like_a_browser(user_agent: &str) -> bool {
    user_agent.trim_start().starts_with("Mozilla/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLISHABLE: &str = "sb_publishable_AAAAAAAAAAAAAAAAAAAAAA_aaaaaaaa";
    const SECRET: &str = "sb_secret_BBBBBBBBBBBBBBBBBBBBBB_bbbbbbbb";
    const LEGACY_ANON: &str = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.anon";
    const LEGACY_SERVICE: &str = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.service";
    const USER_JWT: &str = "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.sig";
    const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0 Safari/537.36";

    fn keys(legacy: bool) -> ApiKeys {
        ApiKeys {
            publishable: PUBLISHABLE.into(),
            secret: SECRET.into(),
            legacy: legacy.then(|| LegacyKeys {
                anon: LEGACY_ANON.into(),
                service_role: LEGACY_SERVICE.into(),
            }),
        }
    }

    fn with(
        apikey: Option<&'static str>,
        authorization: Option<&'static str>,
    ) -> Credentials<'static> {
        Credentials {
            apikey,
            authorization,
            user_agent: Some("node"),
        }
    }

    #[test]
    fn a_missing_key_gets_supabases_401() {
        for credentials in [
            with(None, None),
            with(Some(""), None),
            with(
                None,
                Some("Bearer sb_secret_BBBBBBBBBBBBBBBBBBBBBB_bbbbbbbb"),
            ),
        ] {
            let refusal = admit(&keys(false), &credentials, false).unwrap_err();
            assert_eq!(refusal.status, 401);
            assert_eq!(
                refusal.body(),
                r#"{"message":"No API key found in request","hint":"No `apikey` request header or url param was found."}"#
            );
            assert_eq!(refusal.error_code, Some("UNAUTHORIZED_MISSING_API_KEY"));
        }
    }

    #[test]
    fn a_key_that_is_not_the_projects_is_invalid() {
        let near_miss = "sb_publishable_AAAAAAAAAAAAAAAAAAAAAA_aaaaaaab";
        for presented in [near_miss, "sb_secret_x", LEGACY_ANON, "anything"] {
            let refusal = admit(&keys(false), &with(Some(presented), None), false).unwrap_err();
            assert_eq!(
                (refusal.status, refusal.body()),
                (401, r#"{"message":"Invalid API key"}"#.to_string()),
                "{presented}"
            );
            assert_eq!(refusal.error_code, Some("UNAUTHORIZED_INVALID_API_KEY"));
        }
    }

    #[test]
    fn publishable_is_anon_and_secret_is_service_role() {
        assert_eq!(
            admit(&keys(false), &with(Some(PUBLISHABLE), None), false),
            Ok((ApiKey::Publishable, Forward::RoleToken(Role::Anon)))
        );
        assert_eq!(
            admit(&keys(false), &with(Some(SECRET), None), false),
            Ok((ApiKey::Secret, Forward::RoleToken(Role::ServiceRole)))
        );
    }

    #[test]
    fn a_users_token_wins_over_the_keys_role() {
        for key in [PUBLISHABLE, SECRET] {
            let (_, forward) =
                admit(&keys(false), &with(Some(key), Some(USER_JWT)), false).unwrap();
            assert_eq!(forward, Forward::CallerToken);
        }
    }

    #[test]
    fn bearer_sb_key_counts_only_when_it_is_the_apikey() {
        let supabase_js = with(
            Some(PUBLISHABLE),
            Some("Bearer sb_publishable_AAAAAAAAAAAAAAAAAAAAAA_aaaaaaaa"),
        );
        assert_eq!(
            admit(&keys(false), &supabase_js, false),
            Ok((ApiKey::Publishable, Forward::RoleToken(Role::Anon)))
        );
        let escalation = with(
            Some(PUBLISHABLE),
            Some("Bearer sb_secret_BBBBBBBBBBBBBBBBBBBBBB_bbbbbbbb"),
        );
        assert_eq!(
            admit(&keys(false), &escalation, false).unwrap_err().message,
            "Invalid API key"
        );
    }

    #[test]
    fn a_secret_key_is_refused_from_a_browser() {
        let mut credentials = with(Some(SECRET), None);
        credentials.user_agent = Some(BROWSER);
        let refusal = admit(&keys(false), &credentials, false).unwrap_err();
        assert_eq!(
            (refusal.status, refusal.message),
            (401, "Forbidden use of secret API key in browser")
        );
        credentials.apikey = Some(PUBLISHABLE);
        assert!(admit(&keys(false), &credentials, false).is_ok());
    }

    #[test]
    fn legacy_keys_work_only_when_configured_and_travel_as_the_bearer() {
        assert!(admit(&keys(false), &with(Some(LEGACY_SERVICE), None), false).is_err());
        assert_eq!(
            admit(&keys(true), &with(Some(LEGACY_ANON), None), false),
            Ok((ApiKey::LegacyAnon, Forward::KeyAsBearer))
        );
        let same_bearer = with(
            Some(LEGACY_SERVICE),
            Some("Bearer eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.service"),
        );
        assert_eq!(
            admit(&keys(true), &same_bearer, false),
            Ok((ApiKey::LegacyServiceRole, Forward::CallerToken))
        );
        assert_eq!(
            admit(&keys(true), &with(Some(PUBLISHABLE), None), false),
            Ok((ApiKey::Publishable, Forward::RoleToken(Role::Anon)))
        );
    }

    #[test]
    fn the_openapi_root_needs_a_secret_or_service_role_key() {
        let refusal = admit(&keys(true), &with(Some(PUBLISHABLE), None), true).unwrap_err();
        assert_eq!(
            (refusal.status, refusal.body()),
            (401, r#"{"message":"Secret API key required","hint":"Only secret API keys can be used for this endpoint."}"#.to_string())
        );
        let refusal =
            admit(&keys(true), &with(Some(LEGACY_ANON), Some(USER_JWT)), true).unwrap_err();
        assert_eq!(
            refusal.hint,
            Some("Only the `service_role` API key can be used for this endpoint.")
        );
        assert!(admit(&keys(true), &with(Some(SECRET), None), true).is_ok());
        assert!(admit(&keys(true), &with(Some(LEGACY_SERVICE), None), true).is_ok());
    }

    #[test]
    fn the_keys_file_must_hold_both_keys_with_their_prefixes() {
        let good = format!(r#"{{"publishable_key":"{PUBLISHABLE}","secret_key":"{SECRET}"}}"#);
        assert_eq!(
            ApiKeys::parse_file(&good, "f").unwrap(),
            (PUBLISHABLE.to_string(), SECRET.to_string())
        );
        let swapped = format!(r#"{{"publishable_key":"{SECRET}","secret_key":"{PUBLISHABLE}"}}"#);
        assert!(ApiKeys::parse_file(&swapped, "f")
            .unwrap_err()
            .contains("sb_publishable_"));
        assert!(ApiKeys::parse_file("{}", "f")
            .unwrap_err()
            .contains("publishable_key"));
    }
}
