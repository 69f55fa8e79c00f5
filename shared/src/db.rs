//! PostgREST access under a given JWT, and PostgREST's errors mapped to ours.
//!
//! Every request carries `Authorization: Bearer <token>` (the caller's own JWT, or a short-lived
//! role token for webhooks and cron) and `apikey: <publishable key>`, so Postgres Row Level Security
//! decides what the request may see and change. Query building is postgrest-rs; this module adds
//! sending, reading and the error mapping (unique/foreign-key violation -> 409, refused by RLS
//! or grants -> 403, no row -> 404, PostgREST down -> 503 with `Retry-After`).
//!
//! What a client reads of a database error is a stable code, the SQLSTATE as `details.db_code`
//! and a fixed message per kind of failure. The database's own words (its message, details and
//! hint, which name constraints and echo the values that broke them) and decoding errors
//! (which quote stored values) become the error's `cause`: the request's log line carries it
//! beside the request id, the response never does.

use crate::auth::DatabaseRole;
use crate::config::{ConfigError, CoreConfig};
use crate::error::{ApiError, RETRY_AFTER_SECONDS};
use postgrest::{Builder, Postgrest};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;

/// How long the tokens minted for narrow database roles live: long enough for one request's
/// (or one cron run's) PostgREST calls, short enough that a leaked one is useless soon.
pub const ROLE_TOKEN_TTL_SECONDS: u64 = 60;

/// How long an isolate reuses a role token it signed: half of [`ROLE_TOKEN_TTL_SECONDS`].
pub const ROLE_TOKEN_REUSE_SECONDS: u64 = ROLE_TOKEN_TTL_SECONDS / 2;

/// A role token's (role, job), and the token with when it was signed (seconds).
type RoleTokenKey = (&'static str, String);
type SignedToken = (String, u64);

thread_local! {
    /// Role tokens this isolate signed. The configuration, and so the key, is fixed for the
    /// isolate's life.
    static ROLE_TOKENS: RefCell<HashMap<RoleTokenKey, SignedToken>> = RefCell::default();
}

/// A PostgREST client acting under one JWT.
pub struct Db {
    client: Postgrest,
    token: String,
}

impl Db {
    pub fn new(config: &CoreConfig, token: &str) -> Db {
        let client = Postgrest::new(config.postgrest_url.as_str())
            .insert_header("apikey", config.publishable_key.as_str());
        Db {
            client,
            token: token.to_string(),
        }
    }

    /// A client acting as a narrow database role (webhook intake, cron jobs, the rate limiter)
    /// through a token signed with the Worker's role-token key (`JWT_SIGNING_KEY`, or the
    /// legacy JWT secret); `job` becomes its `sub`. The isolate reuses a token for the first
    /// half of its life ([`ROLE_TOKEN_REUSE_SECONDS`]) instead of signing one per request: a
    /// leaked token is worth no more than before, and every request it serves still ends
    /// within its lifetime.
    pub async fn for_role(
        config: &CoreConfig,
        role: DatabaseRole,
        job: &str,
    ) -> Result<Db, ConfigError> {
        let now = crate::clock::now_seconds();
        let cache_key = (role.as_str(), job.to_string());
        let reusable = ROLE_TOKENS.with(|tokens| {
            tokens
                .borrow()
                .get(&cache_key)
                .filter(|(_, minted_at)| now.saturating_sub(*minted_at) < ROLE_TOKEN_REUSE_SECONDS)
                .map(|(token, _)| token.clone())
        });
        if let Some(token) = reusable {
            return Ok(Db::new(config, &token));
        }
        let token = Self::mint_role_token(config, role, job, now).await?;
        ROLE_TOKENS.with(|tokens| {
            let mut tokens = tokens.borrow_mut();
            tokens.retain(|_, (_, minted_at)| {
                now.saturating_sub(*minted_at) < ROLE_TOKEN_REUSE_SECONDS
            });
            tokens.insert(cache_key, (token.clone(), now));
        });
        Ok(Db::new(config, &token))
    }

    async fn mint_role_token(
        config: &CoreConfig,
        role: DatabaseRole,
        job: &str,
        now: u64,
    ) -> Result<String, ConfigError> {
        let signer = config
            .jwt
            .role_token_signer
            .as_deref()
            .ok_or_else(|| ConfigError {
                variable: "JWT_SIGNING_KEY",
                problem: format!("is required to act as the {} database role", role.as_str()),
            })?;
        signer
            .mint(
                role,
                job,
                ROLE_TOKEN_TTL_SECONDS,
                now,
                serde_json::Map::new(),
            )
            .await
            .map_err(|problem| {
                let variable = if signer.kid().is_some() {
                    "JWT_SIGNING_KEY"
                } else {
                    "SUPABASE_JWT_SECRET"
                };
                ConfigError {
                    variable,
                    problem: format!("could not sign a role token: {problem}"),
                }
            })
    }

    /// A query on `table`, authorised by this client's JWT.
    pub fn from(&self, table: &str) -> Builder {
        self.client.from(table).auth(&self.token)
    }

    /// A call to the SQL function `function` with named arguments.
    pub fn rpc(&self, function: &str, args: &Value) -> Builder {
        self.client
            .rpc(function, args.to_string())
            .auth(&self.token)
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
        serde_json::from_str(&self.body).map_err(|error| {
            ApiError::internal("the database answered in a shape this function does not expect")
                .with_cause(format!("decoding PostgREST's answer: {error}"))
        })
    }
}

/// Sends a request; any answer outside 2xx becomes the matching [`ApiError`].
///
/// postgrest-rs builds the request (URL, filters, headers); the Workers runtime's own `fetch`
/// sends it. reqwest's wasm client, which postgrest-rs would send with, added ~4 ms per read
/// in `wrangler dev` (`npm run bench`, the breakdown's "two PostgREST reads" against the
/// JavaScript peer's).
pub async fn execute(builder: Builder) -> Result<DbResponse, ApiError> {
    let response = send(builder).await?;
    if (200..300).contains(&response.status) {
        Ok(response)
    } else {
        Err(map_postgrest_error(response.status, &response.body))
    }
}

/// Sends a request and reads whatever PostgREST answered, 2xx or not; an error only when no
/// answer came.
pub async fn send(builder: Builder) -> Result<DbResponse, ApiError> {
    let built = builder
        .build()
        .build()
        .map_err(|error| transport_error(error.without_url()))?;
    let headers = worker::Headers::new();
    for (name, value) in built.headers() {
        let value = value.to_str().map_err(transport_error)?;
        headers
            .append(name.as_str(), value)
            .map_err(transport_error)?;
    }
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::from(built.method().as_str().to_string()))
        .with_headers(headers);
    // postgrest-rs gives a GET an empty body, which `fetch` refuses.
    if let Some(body) = built
        .body()
        .and_then(|body| body.as_bytes())
        .filter(|body| !body.is_empty())
    {
        init.with_body(Some(js_sys::Uint8Array::from(body).into()));
    }
    let request =
        worker::Request::new_with_init(built.url().as_str(), &init).map_err(transport_error)?;
    let mut response = worker::Fetch::Request(request)
        .send()
        .await
        .map_err(transport_error)?;
    let status = response.status_code();
    let content_range = response.headers().get("content-range").ok().flatten();
    let body = response.text().await.map_err(transport_error)?;
    Ok(DbResponse {
        status,
        content_range,
        body,
    })
}

/// Sends a request and decodes the JSON body.
pub async fn fetch_json<T: DeserializeOwned>(builder: Builder) -> Result<T, ApiError> {
    execute(builder).await?.json()
}

fn unreachable_error() -> ApiError {
    ApiError::unavailable(
        "the database API (PostgREST) is unreachable; try again shortly",
        RETRY_AFTER_SECONDS,
    )
}

/// The request never got an answer. The URL is dropped from the cause: its query string holds
/// the filters, which can be row values.
fn transport_error(error: impl std::fmt::Display) -> ApiError {
    unreachable_error().with_cause(format!("PostgREST request failed: {error}"))
}

/// Longest database text kept as an error's cause; the log line stays one readable line.
const MAX_CAUSE_CHARS: usize = 1_000;

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

/// Maps a non-2xx PostgREST answer to the error a client of ours should see: a fixed message
/// per kind of failure, the SQLSTATE as `details.db_code`, and PostgREST's own text only as the
/// cause, for the log.
pub fn map_postgrest_error(status: u16, body: &str) -> ApiError {
    let error: PostgrestError = serde_json::from_str(body).unwrap_or_default();
    let code = error.code.clone().unwrap_or_default();
    let mapped = match (status, code.as_str()) {
        (500.., _) => unreachable_error(),
        (_, "23505") => ApiError::conflict("a row with the same unique key already exists"),
        (_, "23503") => ApiError::conflict(
            "the change refers to a row that does not exist or is still referenced",
        ),
        (_, "42501") => ApiError::forbidden("not allowed by the database's access rules"),
        (_, "PGRST116") => ApiError::not_found("no matching row"),
        (_, "PGRST301" | "PGRST302" | "PGRST303") | (401, _) => {
            ApiError::unauthorized("the database did not accept the credentials of this request")
        }
        (_, "PGRST202" | "PGRST204" | "PGRST205" | "42P01" | "42883") => ApiError::internal(
            "the database schema does not match this function; apply the migrations in sql/",
        ),
        (403, _) => ApiError::forbidden("not allowed by the database's access rules"),
        (404, _) => ApiError::not_found("no matching row"),
        (409, _) => ApiError::conflict("the change conflicts with data already stored"),
        (_, _) => ApiError::bad_request(
            "invalid_request",
            "the database refused a value in this request",
        ),
    };
    mapped
        .with_details(json!({ "db_code": code }))
        .with_cause(database_words(status, &error, body))
}

/// The database's own message inside an error [`map_postgrest_error`] made, for a function that
/// must read it (to learn which argument an RPC refused) without showing it to the client.
pub fn database_message(error: &ApiError) -> Option<&str> {
    error
        .cause
        .as_deref()?
        .split("; ")
        .find_map(|part| part.strip_prefix("message: "))
}

/// PostgREST's account of a failure, for the log: status, code, message, details and hint, or
/// the start of the body when it was not PostgREST's JSON.
fn database_words(status: u16, error: &PostgrestError, body: &str) -> String {
    let parts: Vec<String> = [
        ("code", &error.code),
        ("message", &error.message),
        ("details", &error.details),
        ("hint", &error.hint),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_deref().map(|value| format!("{name}: {value}")))
    .collect();
    let text = if parts.is_empty() {
        format!("PostgREST answered {status}: {body}")
    } else {
        format!("PostgREST answered {status}; {}", parts.join("; "))
    };
    text.chars().take(MAX_CAUSE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy_config() -> CoreConfig {
        CoreConfig::from_source(&std::collections::HashMap::from([
            ("POSTGREST_URL", "http://127.0.0.1:54321/rest/v1/"),
            ("SUPABASE_ANON_KEY", "anon"),
            (
                "SUPABASE_JWT_SECRET",
                "super-secret-jwt-token-with-at-least-32-characters-long",
            ),
        ]))
        .unwrap()
    }

    /// Puts `token` in the isolate's cache for `key` as if signed at `minted_at`, so what
    /// `Db::for_role` answers next shows whether it reused the cache or signed anew.
    fn cache(key: &RoleTokenKey, token: &str, minted_at: u64) {
        ROLE_TOKENS.with(|tokens| {
            tokens
                .borrow_mut()
                .insert(key.clone(), (token.to_string(), minted_at))
        });
    }

    async_test! {
        async fn an_isolate_reuses_a_role_token_per_role_and_job_for_half_its_life() {
            let config = legacy_config();
            let stripe = |role| Db::for_role(&config, role, "webhooks-stripe");
            let key = ("webhook_ingest", "webhooks-stripe".to_string());
            let signed = stripe(DatabaseRole::WebhookIngest).await.unwrap();
            assert_eq!(signed.token.split('.').count(), 3);
            let minted_at = ROLE_TOKENS.with(|tokens| tokens.borrow()[&key].1);

            cache(&key, "cached", minted_at);
            let again = stripe(DatabaseRole::WebhookIngest).await.unwrap();
            assert_eq!(again.token, "cached", "reused, not signed again");
            let other_role = stripe(DatabaseRole::Maintenance).await.unwrap();
            let other_job = Db::for_role(&config, DatabaseRole::WebhookIngest, "webhooks-resend")
                .await
                .unwrap();
            assert_ne!(other_role.token, "cached");
            assert_ne!(other_job.token, "cached", "the job is the token's sub");
            assert_ne!(other_job.token, other_role.token);

            cache(&key, "cached", minted_at - ROLE_TOKEN_REUSE_SECONDS);
            let renewed = stripe(DatabaseRole::WebhookIngest).await.unwrap();
            assert_ne!(renewed.token, "cached", "half its life gone: signed anew");
            assert_eq!(renewed.token.split('.').count(), 3);
        }
    }

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
        assert_eq!(
            map_postgrest_error(409, &body("23505", "duplicate key")).status,
            409
        );
        assert_eq!(
            map_postgrest_error(409, &body("23503", "violates foreign key")).status,
            409
        );
    }

    #[test]
    fn rls_or_grant_refusal_is_forbidden_for_signed_in_and_anonymous_callers() {
        assert_eq!(
            map_postgrest_error(403, &body("42501", "permission denied")).status,
            403
        );
        assert_eq!(
            map_postgrest_error(401, &body("42501", "permission denied")).status,
            403
        );
    }

    #[test]
    fn no_row_for_a_singular_request_is_not_found() {
        let error = map_postgrest_error(
            406,
            &body(
                "PGRST116",
                "JSON object requested, multiple (or no) rows returned",
            ),
        );
        assert_eq!((error.status, error.code), (404, "not_found"));
    }

    #[test]
    fn jwt_errors_are_unauthorized() {
        assert_eq!(
            map_postgrest_error(401, &body("PGRST303", "JWT expired")).status,
            401
        );
    }

    #[test]
    fn server_errors_and_garbage_become_retryable_unavailable() {
        let error = map_postgrest_error(502, "<html>Bad Gateway</html>");
        assert_eq!(error.status, 503);
        assert!(error
            .headers
            .iter()
            .any(|(name, value)| *name == "Retry-After" && value == "5"));
    }

    #[test]
    fn check_and_raise_errors_are_bad_requests_whose_database_words_stay_in_the_log() {
        let raised = json!({
            "code": "23514",
            "message": "new row for relation \"crm_leads\" violates check constraint \"crm_leads_email_check\"",
            "details": "Failing row contains (7, mallory@evil.example, secret-note).",
            "hint": "shorten crm_leads.email"
        });
        let error = map_postgrest_error(400, &raised.to_string());
        assert_eq!((error.status, error.code), (400, "invalid_request"));
        let body = error.body("req-1").to_string();
        for leaked in [
            "crm_leads",
            "mallory@evil.example",
            "secret-note",
            "shorten",
            "Failing row",
        ] {
            assert!(
                !body.contains(leaked),
                "{leaked} reached the client: {body}"
            );
        }
        assert_eq!(error.details.as_ref().unwrap()["db_code"], "23514");
        let cause = error.cause.unwrap();
        assert!(
            cause.contains("crm_leads_email_check")
                && cause.contains("mallory@evil.example")
                && cause.contains("shorten"),
            "{cause}"
        );
    }

    #[test]
    fn no_mapped_error_repeats_the_database_message() {
        let marker = "row-value-7f3a";
        for (status, code) in [
            (409, "23505"),
            (409, "23503"),
            (403, "42501"),
            (401, "42501"),
            (406, "PGRST116"),
            (401, "PGRST303"),
            (404, "PGRST202"),
            (403, "P0001"),
            (404, "P0002"),
            (409, "P0001"),
            (400, "P0001"),
            (400, "22023"),
            (502, ""),
        ] {
            let answer = json!({ "code": code, "message": format!("failed on {marker}"), "details": marker, "hint": marker });
            let error = map_postgrest_error(status, &answer.to_string());
            let body = error.body("r").to_string();
            assert!(!body.contains(marker), "{status} {code}: {body}");
            assert!(
                error
                    .cause
                    .as_deref()
                    .is_some_and(|cause| cause.contains(marker)),
                "{status} {code}"
            );
        }
        let garbage = map_postgrest_error(502, &format!("<html>{marker}</html>"));
        assert!(!garbage.body("r").to_string().contains(marker));
        assert!(garbage.cause.unwrap().contains(marker));
    }

    #[test]
    fn the_database_message_can_be_read_back_by_the_function() {
        let error = map_postgrest_error(400, &body("22023", "timezone Mars/Olympus is not known"));
        assert_eq!(
            database_message(&error),
            Some("timezone Mars/Olympus is not known")
        );
        assert_eq!(database_message(&ApiError::internal("x")), None);
    }

    #[test]
    fn a_long_database_message_is_cut_for_the_log() {
        let answer = json!({ "code": "P0001", "message": "x".repeat(5_000) });
        assert_eq!(
            map_postgrest_error(400, &answer.to_string())
                .cause
                .unwrap()
                .chars()
                .count(),
            MAX_CAUSE_CHARS
        );
    }

    #[test]
    fn an_undecodable_answer_keeps_the_stored_values_it_quotes_out_of_the_response() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Row {
            id: u32,
        }
        let answer = DbResponse {
            status: 200,
            content_range: None,
            body: r#"[{"id":"alice@example.com"}]"#.into(),
        };
        let error = answer.json::<Vec<Row>>().unwrap_err();
        assert_eq!(error.status, 500);
        assert!(!error.body("r").to_string().contains("alice@example.com"));
        assert!(
            error.cause.unwrap().contains("alice@example.com"),
            "serde's message goes to the log"
        );
    }

    #[test]
    fn missing_schema_objects_are_a_deployment_error_not_a_client_error() {
        assert_eq!(
            map_postgrest_error(404, &body("PGRST202", "Could not find the function")).status,
            500
        );
    }
}
