//! PostgREST access under a given JWT, and PostgREST's errors mapped to ours.
//!
//! Every request carries `Authorization: Bearer <token>` (the caller's own JWT, or a short-lived
//! role token for webhooks and cron) and `apikey: <anon key>`, so Postgres Row Level Security
//! decides what the request may see and change. Query building is postgrest-rs; this module adds
//! sending, reading and the error mapping (unique/foreign-key violation -> 409, refused by RLS
//! or grants -> 403, no row -> 404, PostgREST down -> 503 with `Retry-After`).

use crate::auth::{self, DatabaseRole};
use crate::config::{ConfigError, CoreConfig};
use crate::error::ApiError;
use postgrest::{Builder, Postgrest};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// Seconds a client should wait before retrying when PostgREST is unreachable.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// How long the tokens minted for narrow database roles live: long enough for one request's
/// (or one cron run's) PostgREST calls, short enough that a leaked one is useless soon.
pub const ROLE_TOKEN_TTL_SECONDS: u64 = 60;

/// A PostgREST client acting under one JWT.
pub struct Db {
    client: Postgrest,
    token: String,
}

impl Db {
    pub fn new(config: &CoreConfig, token: &str) -> Db {
        let client = Postgrest::new(config.postgrest_url.as_str()).insert_header("apikey", config.anon_key.as_str());
        Db { client, token: token.to_string() }
    }

    /// A client acting as a narrow database role (webhook intake, cron jobs, the rate limiter)
    /// through a token minted now with the project's JWT secret; `job` becomes its `sub`.
    pub fn for_role(config: &CoreConfig, role: DatabaseRole, job: &str) -> Result<Db, ConfigError> {
        let secret = config.jwt.secret.as_deref().ok_or_else(|| ConfigError {
            variable: "SUPABASE_JWT_SECRET",
            problem: format!("is required to act as the {} database role", role.as_str()),
        })?;
        let now = crate::clock::now_seconds();
        let token = auth::mint_role_token(secret, role, job, ROLE_TOKEN_TTL_SECONDS, now, serde_json::Map::new());
        Ok(Db::new(config, &token))
    }

    /// A query on `table`, authorised by this client's JWT.
    pub fn from(&self, table: &str) -> Builder {
        self.client.from(table).auth(&self.token)
    }

    /// A call to the SQL function `function` with named arguments.
    pub fn rpc(&self, function: &str, args: &Value) -> Builder {
        self.client.rpc(function, args.to_string()).auth(&self.token)
    }
}

/// Whether `text` is a uuid in its textual form (8-4-4-4-12 hex digits, any case). Ids are
/// checked with this before they go into a PostgREST filter.
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// What PostgREST answered: status, the `Content-Range` header (row counts) and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct DbResponse {
    pub status: u16,
    pub content_range: Option<String>,
    pub body: String,
}

impl DbResponse {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_str(&self.body)
            .map_err(|error| ApiError::internal(format!("unexpected response shape from PostgREST: {error}")))
    }
}

/// Sends a request; any answer outside 2xx becomes the matching [`ApiError`].
pub async fn execute(builder: Builder) -> Result<DbResponse, ApiError> {
    let response = builder.execute().await.map_err(|_| unreachable_error())?;
    let status = response.status().as_u16();
    let content_range =
        response.headers().get("content-range").and_then(|value| value.to_str().ok()).map(String::from);
    let body = response.text().await.map_err(|_| unreachable_error())?;
    if (200..300).contains(&status) {
        Ok(DbResponse { status, content_range, body })
    } else {
        Err(map_postgrest_error(status, &body))
    }
}

/// Sends a request and decodes the JSON body.
pub async fn fetch_json<T: DeserializeOwned>(builder: Builder) -> Result<T, ApiError> {
    execute(builder).await?.json()
}

fn unreachable_error() -> ApiError {
    ApiError::unavailable("the database API (PostgREST) is unreachable; try again shortly", RETRY_AFTER_SECONDS)
}

/// PostgREST's error body. Every field may be missing or null.
#[derive(Debug, Default, Deserialize)]
pub struct PostgrestError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub hint: Option<String>,
}

/// Maps a non-2xx PostgREST answer to the error a client of ours should see.
pub fn map_postgrest_error(status: u16, body: &str) -> ApiError {
    let error: PostgrestError = serde_json::from_str(body).unwrap_or_default();
    let code = error.code.clone().unwrap_or_default();
    let message = error.message.clone().unwrap_or_else(|| format!("PostgREST answered {status}"));
    let mapped = match (status, code.as_str()) {
        (500.., _) => return unreachable_error().with_details(json!({ "db_code": code })),
        (_, "23505") => ApiError::conflict("a row with the same unique key already exists"),
        (_, "23503") => ApiError::conflict("the change refers to a row that does not exist or is still referenced"),
        (_, "42501") => ApiError::forbidden("not allowed by the database's access rules"),
        (_, "PGRST116") => ApiError::not_found("no matching row"),
        (_, "PGRST301" | "PGRST302" | "PGRST303") | (401, _) => ApiError::unauthorized(message),
        (_, "PGRST202" | "PGRST204" | "PGRST205" | "42P01" | "42883") => ApiError::internal(
            "the database schema does not match this function; apply the migrations in sql/",
        ),
        (403, _) => ApiError::forbidden(message),
        (404, _) => ApiError::not_found(message),
        (409, _) => ApiError::conflict(message),
        (_, _) => ApiError::bad_request("invalid_request", message),
    };
    let mut details = json!({ "db_code": code });
    if let Some(hint) = error.hint.filter(|_| mapped.status < 500) {
        details["hint"] = Value::String(hint);
    }
    mapped.with_details(details)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str, message: &str) -> String {
        json!({ "code": code, "message": message, "details": null, "hint": null }).to_string()
    }

    #[test]
    fn uuids_are_recognised_exactly() {
        assert!(is_uuid("a11ce000-0000-4000-8000-000000000001"));
        assert!(is_uuid("ABCDEF00-0000-4000-8000-000000000001"));
        for text in [
            "",
            "user-1",
            "a11ce000000040008000000000000001",
            "a11ce000-0000-4000-8000-00000000000",
            "a11ce000-0000-4000-8000-00000000000g",
            "a11ce000-0000-4000-8000-0000000000011",
            "a11ce000_0000-4000-8000-000000000001",
        ] {
            assert!(!is_uuid(text), "{text:?}");
        }
    }

    #[test]
    fn unique_and_foreign_key_violations_are_conflicts() {
        assert_eq!(map_postgrest_error(409, &body("23505", "duplicate key")).status, 409);
        assert_eq!(map_postgrest_error(409, &body("23503", "violates foreign key")).status, 409);
    }

    #[test]
    fn rls_or_grant_refusal_is_forbidden_for_signed_in_and_anonymous_callers() {
        assert_eq!(map_postgrest_error(403, &body("42501", "permission denied")).status, 403);
        assert_eq!(map_postgrest_error(401, &body("42501", "permission denied")).status, 403);
    }

    #[test]
    fn no_row_for_a_singular_request_is_not_found() {
        let error = map_postgrest_error(406, &body("PGRST116", "JSON object requested, multiple (or no) rows returned"));
        assert_eq!((error.status, error.code), (404, "not_found"));
    }

    #[test]
    fn jwt_errors_are_unauthorized() {
        assert_eq!(map_postgrest_error(401, &body("PGRST303", "JWT expired")).status, 401);
    }

    #[test]
    fn server_errors_and_garbage_become_retryable_unavailable() {
        let error = map_postgrest_error(502, "<html>Bad Gateway</html>");
        assert_eq!(error.status, 503);
        assert!(error.headers.iter().any(|(name, value)| *name == "Retry-After" && value == "5"));
    }

    #[test]
    fn check_and_raise_errors_are_bad_requests_keeping_the_message_and_hint() {
        let raised = json!({ "code": "P0001", "message": "name too long", "details": null, "hint": "shorten it" });
        let error = map_postgrest_error(400, &raised.to_string());
        assert_eq!((error.status, error.message.as_str()), (400, "name too long"));
        assert_eq!(error.details.unwrap()["hint"], "shorten it");
    }

    #[test]
    fn missing_schema_objects_are_a_deployment_error_not_a_client_error() {
        assert_eq!(map_postgrest_error(404, &body("PGRST202", "Could not find the function")).status, 500);
    }
}
