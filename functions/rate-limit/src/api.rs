//! HTTP in and out for `/functions/v1/rate-limit/...`:
//!
//! - `POST /check` `{ "key", "endpoint", "cost"?, "plan"? }`: charge `cost` (default 1) to
//!   `key`'s budget for `endpoint` and say whether it fits. For other services: the credentials
//!   `shared::privileged` declares for `PrivilegedEndpoint::RateLimitCheck` (the secret key, a
//!   service_role JWT, `x-api-key: <RATE_LIMIT_CHECK_SECRET>` or a rate_limiter role token this
//!   Worker minted). The key is used
//!   as given, so a service that names a key the guard uses (`user:<uuid>`, `ip:<address>`)
//!   shares that budget on purpose. Always 200 with the decision in the body (a refusal is
//!   `allowed: false`, not a 429: the caller of `/check` is not the one being limited); 503
//!   when the store is down and the endpoint fails closed.
//! - `GET /status`: who the limiter thinks the caller is (key, the client IP's key when that
//!   is charged too (`ip_key`: anonymous users), plan and where the plan came from: `token`,
//!   `user_plans` or `default`) and the limit that applies to this function, for debugging a
//!   429. It always looks the plan up, even where no limit depends on it.

use crate::config::settings;
use crate::gcra::Refusal;
use crate::guard;
use crate::key::is_plan_name;
use crate::limiter::{self, Charge, Outcome};
use crate::limits;
use crate::policy::{self, EndpointSettings, FailureMode, Mode, DEFAULT_PLAN};
use serde::Deserialize;
use serde_json::json;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::privileged::PrivilegedEndpoint;
use shared::security_events;
use worker::{Method, Request, Response};

/// The longest key accepted; the Postgres store allows 255 characters.
const MAX_KEY_LENGTH: usize = 255;
/// A single check may cost at most this much; more is certainly a mistake.
const MAX_COST: u32 = 1_000_000;

pub async fn route(mut req: Request, context: RequestContext) -> Result<Response, ApiError> {
    match (req.method(), context.segments().as_slice()) {
        (Method::Post, ["check"]) => check(&mut req, &context).await,
        (_, ["check"]) => Err(http::method_not_allowed(&req, &["POST"])),
        (Method::Get, ["status"]) => status(&req, &context).await,
        (_, ["status"]) => Err(http::method_not_allowed(&req, &["GET"])),
        _ => Err(http::no_route(&context)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    key: String,
    endpoint: String,
    #[serde(default = "one")]
    cost: u32,
    #[serde(default)]
    plan: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug)]
struct ValidCheck {
    key: String,
    endpoint: String,
    cost: u32,
    plan: String,
}

fn validate(body: CheckBody) -> Result<ValidCheck, ApiError> {
    let key = body.key.trim().to_string();
    if key.is_empty() || key.chars().count() > MAX_KEY_LENGTH || key.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "key",
            format!("key must be 1 to {MAX_KEY_LENGTH} printable characters"),
        ));
    }
    let endpoint = body.endpoint.trim().to_string();
    if !policy::is_endpoint_name(&endpoint) {
        return Err(ApiError::invalid_field(
            "endpoint",
            "endpoint must be 1 to 64 lower-case letters, digits, '-', '_' or '.'",
        ));
    }
    if body.cost > MAX_COST {
        return Err(ApiError::invalid_field(
            "cost",
            format!("cost must be from 0 to {MAX_COST}"),
        ));
    }
    let plan = match body.plan {
        None => DEFAULT_PLAN.to_string(),
        Some(plan) if is_plan_name(&plan.trim().to_ascii_lowercase()) => {
            plan.trim().to_ascii_lowercase()
        }
        Some(_) => {
            return Err(ApiError::invalid_field(
                "plan",
                "plan must be 1 to 32 letters, digits, '-' or '_'",
            ));
        }
    };
    Ok(ValidCheck {
        key,
        endpoint,
        cost: body.cost,
        plan,
    })
}

async fn check(req: &mut Request, context: &RequestContext) -> Result<Response, ApiError> {
    let settings = settings(context)?;
    let authenticated = context
        .privileged_caller(
            req,
            PrivilegedEndpoint::RateLimitCheck,
            settings.check_secret.as_deref(),
        )
        .await;
    // Refusals only: accepted checks are the hot path of other services, one per request.
    security_events::record_privileged_call(
        context,
        req,
        "rate-limit/check",
        &authenticated,
        false,
    )
    .await;
    authenticated?;

    let valid = validate(http::read_json::<CheckBody>(req, context).await?)?;
    let rows = limits::current_rows(
        context,
        settings.table_cache_ms,
        shared::clock::now_millis(),
    )
    .await;
    let resolved = policy::resolve_quota(&rows, &settings.defaults, &valid.endpoint, &valid.plan);
    let charge = Charge {
        endpoint: &valid.endpoint,
        key: &valid.key,
        quota: resolved.quota,
        cost: valid.cost,
        // Exact whatever the endpoint's mode: the caller decides for someone else, often at a
        // cost above one (crate::lease).
        settings: EndpointSettings {
            mode: Mode::Exact,
            ..settings.stores.for_endpoint(&valid.endpoint)
        },
    };
    let limit = json!({ "limit": resolved.quota.max_requests(), "window_seconds": resolved.quota.window_seconds() });
    let body = match limiter::charge(context, charge).await {
        Outcome::Decided { verdict, store } => json!({
            "allowed": verdict.allowed(),
            "reason": verdict.refusal.map(|refusal| match refusal {
                Refusal::OverLimit => "over_limit",
                Refusal::CostExceedsQuota => "cost_exceeds_quota",
            }),
            "remaining": verdict.remaining,
            "retry_after_ms": verdict.retry_after_ms,
            "reset_after_ms": verdict.reset_after_ms,
            "limit": limit["limit"],
            "window_seconds": limit["window_seconds"],
            "store": store,
        }),
        Outcome::StoreDown {
            failure_mode: FailureMode::Open,
        } => json!({
            "allowed": true,
            "reason": "store_unavailable",
            "remaining": null,
            "retry_after_ms": 0,
            "reset_after_ms": null,
            "limit": limit["limit"],
            "window_seconds": limit["window_seconds"],
            "store": null,
        }),
        Outcome::StoreDown {
            failure_mode: FailureMode::Closed,
        } => {
            return Err(guard::store_down_error());
        }
    };
    http::json_response(200, &body)
}

async fn status(req: &Request, context: &RequestContext) -> Result<Response, ApiError> {
    let settings = settings(context)?;
    let identity = guard::identify(req, context, &settings, true).await;
    let rows = limits::current_rows(
        context,
        settings.table_cache_ms,
        shared::clock::now_millis(),
    )
    .await;
    let resolved = policy::resolve_quota(
        &rows,
        &settings.defaults,
        context.function(),
        &identity.plan,
    );
    http::json_response(
        200,
        &json!({
            "key": identity.key.to_string(),
            "kind": identity.key.kind(),
            "ip_key": identity.ip_key.as_ref().map(ToString::to_string),
            "plan": identity.plan,
            "plan_source": identity.plan_source,
            "policy": resolved.policy,
            "limit": resolved.quota.max_requests(),
            "window_seconds": resolved.quota.window_seconds(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(key: &str, endpoint: &str, cost: u32, plan: Option<&str>) -> CheckBody {
        CheckBody {
            key: key.into(),
            endpoint: endpoint.into(),
            cost,
            plan: plan.map(Into::into),
        }
    }

    fn field_of(error: ApiError) -> String {
        error.details.unwrap()["field"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_check_secret_is_declared_where_the_settings_read_it() {
        let declared = PrivilegedEndpoint::RateLimitCheck.shared_secret().unwrap();
        assert_eq!(declared.variable, crate::config::CHECK_SECRET_VARIABLE);
        assert_eq!(declared.header, crate::API_KEY_HEADER);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_good_check_is_normalised() {
        let valid = validate(body(" user:42 ", "exports", 3, Some(" Pro "))).unwrap();
        assert_eq!(
            (
                valid.key.as_str(),
                valid.endpoint.as_str(),
                valid.cost,
                valid.plan.as_str()
            ),
            ("user:42", "exports", 3, "pro")
        );
        assert_eq!(
            validate(body("k", "exports", 1, None)).unwrap().plan,
            DEFAULT_PLAN
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn each_bad_field_is_named() {
        assert_eq!(
            field_of(validate(body("", "exports", 1, None)).unwrap_err()),
            "key"
        );
        assert_eq!(
            field_of(validate(body("a\nb", "exports", 1, None)).unwrap_err()),
            "key"
        );
        assert_eq!(
            field_of(validate(body(&"k".repeat(256), "exports", 1, None)).unwrap_err()),
            "key"
        );
        assert_eq!(
            field_of(validate(body("k", "Exports/x", 1, None)).unwrap_err()),
            "endpoint"
        );
        assert_eq!(
            field_of(validate(body("k", "exports", MAX_COST + 1, None)).unwrap_err()),
            "cost"
        );
        assert_eq!(
            field_of(validate(body("k", "exports", 1, Some("pro plan"))).unwrap_err()),
            "plan"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn unknown_body_fields_and_negative_costs_are_refused() {
        assert!(
            http::parse_json::<CheckBody>(br#"{"key":"k","endpoint":"e","limit":1000}"#).is_err()
        );
        assert!(http::parse_json::<CheckBody>(br#"{"key":"k","endpoint":"e","cost":-1}"#).is_err());
        assert_eq!(
            http::parse_json::<CheckBody>(br#"{"key":"k","endpoint":"e"}"#)
                .unwrap()
                .cost,
            1
        );
    }
}
