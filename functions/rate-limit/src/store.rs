//! The two places limiter state can live, behind one call: the Durable Object (exact, one
//! instance per key across the edge) and the Postgres RPC `check_rate_limit` (atomic in one
//! `INSERT ... ON CONFLICT` statement, reached through PostgREST as the `rate_limiter` role).

use crate::config::DURABLE_OBJECT_BINDING;
use crate::durable::CheckRequest;
use crate::gcra::{Quota, Refusal, Verdict};
use crate::lease::Grant;
use crate::policy::StoreChoice;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::DatabaseRole;
use shared::http::RequestContext;
use worker::{Method, Request, RequestInit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Store {
    DurableObject,
    Postgres,
}

/// Why the store could not decide; logged, never shown to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub store: Option<Store>,
    pub problem: String,
}

/// The store `choice` resolves to in this deployment: `auto` means the Durable Object when its
/// binding exists.
pub fn pick(context: &RequestContext, choice: StoreChoice) -> Result<Store, StoreError> {
    let bound = context.env().durable_object(DURABLE_OBJECT_BINDING).is_ok();
    match (choice, bound) {
        (StoreChoice::Postgres, _) | (StoreChoice::Auto, false) => Ok(Store::Postgres),
        (StoreChoice::DurableObject | StoreChoice::Auto, true) => Ok(Store::DurableObject),
        (StoreChoice::DurableObject, false) => Err(StoreError {
            store: Some(Store::DurableObject),
            problem: format!(
                "the Durable Object binding {DURABLE_OBJECT_BINDING} is not configured"
            ),
        }),
    }
}

/// Charges `cost` to `key` under `endpoint` in `store`.
pub async fn check(
    context: &RequestContext,
    store: Store,
    endpoint: &str,
    key: &str,
    quota: Quota,
    cost: u32,
) -> Result<Verdict, StoreError> {
    let outcome = match store {
        Store::DurableObject => ask_durable_object(context, endpoint, key, quota, cost, false)
            .await
            .map(|answer| answer.verdict),
        Store::Postgres => check_postgres(context, endpoint, key, quota, cost).await,
    };
    outcome.map_err(|problem| StoreError {
        store: Some(store),
        problem,
    })
}

/// Asks the Durable Object for a lease of up to `size` requests of `key` under `endpoint`
/// (`crate::lease`; only this store leases).
pub async fn lease(
    context: &RequestContext,
    endpoint: &str,
    key: &str,
    quota: Quota,
    size: u32,
) -> Result<Grant, StoreError> {
    ask_durable_object(context, endpoint, key, quota, size, true)
        .await
        .map_err(|problem| StoreError {
            store: Some(Store::DurableObject),
            problem,
        })
}

/// One object per (endpoint, key). Endpoint names never contain `/`, so the name is unambiguous.
pub fn object_name(endpoint: &str, key: &str) -> String {
    format!("{endpoint}/{key}")
}

async fn ask_durable_object(
    context: &RequestContext,
    endpoint: &str,
    key: &str,
    quota: Quota,
    cost: u32,
    lease: bool,
) -> Result<Grant, String> {
    let namespace = context
        .env()
        .durable_object(DURABLE_OBJECT_BINDING)
        .map_err(|error| error.to_string())?;
    let stub = namespace
        .id_from_name(&object_name(endpoint, key))
        .and_then(|id| id.get_stub())
        .map_err(|error| error.to_string())?;
    let body = CheckRequest {
        max_requests: quota.max_requests(),
        window_seconds: quota.window_seconds(),
        cost,
        lease,
    };
    let body = serde_json::to_string(&body).map_err(|error| error.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request = Request::new_with_init("https://rate-limiter.internal/check", &init)
        .map_err(|error| error.to_string())?;
    let mut response = stub
        .fetch_with_request(request)
        .await
        .map_err(|error| error.to_string())?;
    if response.status_code() != 200 {
        let text = response.text().await.unwrap_or_default();
        return Err(format!(
            "the Durable Object answered {}: {text}",
            response.status_code()
        ));
    }
    response
        .json::<Grant>()
        .await
        .map_err(|error| error.to_string())
}

/// One row of `check_rate_limit` (migration 0013).
#[derive(Debug, Deserialize)]
struct RpcRow {
    allowed: bool,
    remaining: i64,
    retry_after_ms: i64,
    reset_after_ms: i64,
}

impl From<RpcRow> for Verdict {
    fn from(row: RpcRow) -> Verdict {
        let non_negative = |value: i64| u64::try_from(value).unwrap_or(0);
        Verdict {
            refusal: (!row.allowed).then_some(Refusal::OverLimit),
            remaining: u32::try_from(row.remaining.max(0)).unwrap_or(u32::MAX),
            retry_after_ms: non_negative(row.retry_after_ms),
            reset_after_ms: non_negative(row.reset_after_ms),
        }
    }
}

async fn check_postgres(
    context: &RequestContext,
    endpoint: &str,
    key: &str,
    quota: Quota,
    cost: u32,
) -> Result<Verdict, String> {
    let db = context
        .db_as_role(DatabaseRole::RateLimiter, "rate-limit")
        .await
        .map_err(|error| error.log_text())?;
    let args = json!({
        "identifier": key,
        "endpoint": endpoint,
        "max_requests": quota.max_requests(),
        "window_seconds": quota.window_seconds(),
        "cost": cost,
    });
    let rows: Vec<RpcRow> = shared::db::fetch_json(db.rpc("check_rate_limit", &args))
        .await
        .map_err(|error| error.log_text())?;
    rows.into_iter()
        .next()
        .map(Verdict::from)
        .ok_or_else(|| "check_rate_limit returned no row".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn rpc_rows_become_verdicts() {
        let refused: RpcRow = serde_json::from_str(
            r#"{"allowed":false,"remaining":0,"retry_after_ms":1200,"reset_after_ms":60000}"#,
        )
        .unwrap();
        let verdict = Verdict::from(refused);
        assert_eq!(verdict.refusal, Some(Refusal::OverLimit));
        assert_eq!(
            (verdict.retry_after_ms, verdict.reset_after_ms),
            (1_200, 60_000)
        );

        let odd = RpcRow {
            allowed: true,
            remaining: -3,
            retry_after_ms: -1,
            reset_after_ms: -5,
        };
        let verdict = Verdict::from(odd);
        assert!(verdict.allowed());
        assert_eq!(
            (
                verdict.remaining,
                verdict.retry_after_ms,
                verdict.reset_after_ms
            ),
            (0, 0, 0)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn object_names_keep_endpoint_and_key_apart() {
        assert_eq!(
            object_name("signup", "ip:203.0.113.9"),
            "signup/ip:203.0.113.9"
        );
        assert!(
            !crate::policy::is_endpoint_name("a/b"),
            "so `a` + `b/c` and `a/b` + `c` cannot meet"
        );
    }
}
