//! The guard the router puts in front of every function: it charges one request to the
//! caller's budget for the function's endpoint before the handler runs, refuses with 429 (or
//! 503 when the store is down and the endpoint fails closed), and stamps the `RateLimit-Policy`
//! and `RateLimit` fields on whatever the handler answers, errors included.
//!
//! The endpoint is the function's name (`/functions/v1/<name>/...`); a name with neither a
//! table row nor a built-in default spends the `default` budget, so probing unknown paths is
//! limited too. `health` is not guarded: uptime checks must see the service, not a 429.

use crate::config::Settings;
use crate::gcra::{Quota, Verdict};
use crate::headers::{self, RATELIMIT_POLICY};
use crate::key::{self, Caller, LimiterKey};
use crate::limiter::{self, Charge, Outcome};
use crate::policy::{self, FailureMode, DEFAULT_ENDPOINT, DEFAULT_PLAN};
use crate::service_auth::{self, Presented};
use crate::{limits, plans, API_KEY_HEADER};
use serde::Serialize;
use serde_json::json;
use shared::error::ApiError;
use shared::http::{header, RequestContext};
use std::future::Future;
use worker::{Request, Response};

/// Functions served without a limit.
pub const UNGUARDED: &[&str] = &["health"];

/// Seconds a client is told to wait when the limiter's store is down and the endpoint fails
/// closed.
const STORE_DOWN_RETRY_SECONDS: u64 = 5;

/// Runs `next` if the caller's budget allows it, with the rate-limit fields on its answer.
pub async fn guarded<F, Fut>(req: Request, context: RequestContext, next: F) -> Result<Response, ApiError>
where
    F: FnOnce(Request, RequestContext) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    if UNGUARDED.contains(&context.function()) {
        return next(req, context).await;
    }
    let fields = admit(&req, &context).await?;
    match next(req, context).await {
        Ok(mut response) => {
            let headers = response.headers_mut();
            for (name, value) in &fields {
                // Responses proxied from elsewhere can have immutable headers; the answer
                // matters more than the advisory fields.
                let _ = headers.set(name, value);
            }
            Ok(response)
        }
        Err(error) => Err(fields.into_iter().fold(error, |error, (name, value)| error.with_header(name, value))),
    }
}

/// Whose budget a request spends and on which plan.
pub struct Identity {
    pub key: LimiterKey,
    pub plan: String,
    pub plan_source: PlanSource,
}

/// Where the plan in an [`Identity`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanSource {
    /// `app_metadata.plan` of the verified token.
    Token,
    /// The user's row in `user_plans`, through `rate_limit_plan` ([`plans`]).
    UserPlans,
    /// Neither named one (or it was not looked up because no limit depends on it).
    Default,
}

/// The caller as the limiter sees them: the verified user, else a verified service credential,
/// else the client IP. Invalid credentials are not an error here (the handler answers them);
/// they simply do not count as an identity.
///
/// The plan is the token's `app_metadata.plan`, else (when `look_up_plan`, and the caller is a
/// user) the user's plan in `user_plans`, else [`DEFAULT_PLAN`]. The guard looks it up only
/// when a limit depends on it ([`policy::plan_can_matter`]), so endpoints whose limits are the
/// same for every plan never pay for the lookup.
pub async fn identify(req: &Request, context: &RequestContext, settings: &Settings, look_up_plan: bool) -> Identity {
    let authorization = header(req, "authorization");
    let api_key = header(req, API_KEY_HEADER);
    let client_ip = header(req, "cf-connecting-ip");
    let user = match &authorization {
        Some(_) => context.caller(req).await.ok().filter(|caller| caller.user_id().is_some()),
        None => None,
    };
    let service = match (&user, context.config()) {
        (None, Ok(config)) => service_auth::authenticate(
            Presented { authorization: authorization.as_deref(), api_key: api_key.as_deref() },
            config.jwt.secret.as_deref(),
            settings.check_secret.as_deref(),
            config.jwt.leeway_seconds,
            shared::clock::now_seconds(),
        )
        .ok(),
        _ => None,
    };
    let user_id = user.as_ref().and_then(|caller| caller.user_id());
    let caller = Caller {
        user_id,
        api_key: service.as_ref().map(|credential| credential.secret()),
        client_ip: client_ip.as_deref(),
    };
    let token_plan = key::plan_in_app_metadata(user.as_ref().and_then(|caller| caller.claims.app_metadata.as_ref()));
    let (plan, plan_source) = match (token_plan, user_id) {
        (Some(plan), _) => (plan, PlanSource::Token),
        (None, Some(user_id)) if look_up_plan => {
            match plans::user_plan(context, user_id, settings.table_cache_ms, shared::clock::now_millis()).await {
                Some(plan) => (plan, PlanSource::UserPlans),
                None => (DEFAULT_PLAN.to_string(), PlanSource::Default),
            }
        }
        _ => (DEFAULT_PLAN.to_string(), PlanSource::Default),
    };
    Identity { key: key::limiter_key(caller), plan, plan_source }
}

async fn admit(req: &Request, context: &RequestContext) -> Result<Vec<(&'static str, String)>, ApiError> {
    let settings = Settings::from_source(context.env()).map_err(|errors| shared::http::config_error(&errors))?;
    let rows = limits::current_rows(context, settings.table_cache_ms, shared::clock::now_millis()).await;
    let function = context.function().to_ascii_lowercase();
    let endpoint = if policy::is_endpoint_name(&function) { function.as_str() } else { DEFAULT_ENDPOINT };
    let identity = identify(req, context, &settings, policy::plan_can_matter(&rows, endpoint)).await;
    let resolved = policy::resolve_quota(&rows, &settings.defaults, endpoint, &identity.plan);
    let key = identity.key.to_string();
    let charge = Charge {
        endpoint: &resolved.policy,
        key: &key,
        quota: resolved.quota,
        cost: 1,
        settings: settings.stores.for_endpoint(&resolved.policy),
    };
    match limiter::charge(context, charge).await {
        Outcome::Decided { verdict, .. } if verdict.allowed() => {
            Ok(headers::rate_limit_headers(&resolved.policy, resolved.quota, &verdict))
        }
        Outcome::Decided { verdict, .. } => Err(too_many_requests(&resolved.policy, resolved.quota, &verdict)),
        Outcome::StoreDown { failure_mode: FailureMode::Open } => {
            Ok(vec![(RATELIMIT_POLICY, headers::policy_field(&resolved.policy, resolved.quota))])
        }
        Outcome::StoreDown { failure_mode: FailureMode::Closed } => Err(ApiError::unavailable(
            "the rate limiter cannot reach its store, and this endpoint stays closed without it; try again shortly",
            STORE_DOWN_RETRY_SECONDS,
        )
        .with_details(json!({ "reason": "rate_limiter_unavailable" }))),
    }
}

/// The 429 in the one error shape, carrying `Retry-After` and both draft fields.
pub fn too_many_requests(policy: &str, quota: Quota, verdict: &Verdict) -> ApiError {
    let retry_after_seconds = headers::whole_seconds_rounded_up(verdict.retry_after_ms);
    let error = ApiError::too_many_requests(retry_after_seconds).with_details(json!({
        "policy": policy,
        "limit": quota.max_requests(),
        "window_seconds": quota.window_seconds(),
        "retry_after_seconds": retry_after_seconds,
    }));
    headers::rate_limit_headers(policy, quota, verdict)
        .into_iter()
        .filter(|(name, _)| *name != headers::RETRY_AFTER)
        .fold(error, |error, (name, value)| error.with_header(name, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcra::{check, Quota};

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn refusal_is_a_429_in_the_one_shape_with_one_retry_after_and_both_fields() {
        let quota = Quota::new(2, 10).unwrap();
        let mut tat = 0;
        for _ in 0..2 {
            tat = check(quota, tat, 1_000_000, 1).tat_ms;
        }
        let refused = check(quota, tat, 1_000_000, 1).verdict;
        let error = too_many_requests("signup", quota, &refused);
        assert_eq!((error.status, error.code), (429, "rate_limited"));
        let named = |name: &str| error.headers.iter().filter(|(header, _)| *header == name).map(|(_, value)| value.as_str()).collect::<Vec<_>>();
        assert_eq!(named("Retry-After"), vec!["5"]);
        assert_eq!(named(headers::RATELIMIT), vec![r#""signup";r=0;t=5"#]);
        assert_eq!(named(RATELIMIT_POLICY), vec![r#""signup";q=2;w=10"#]);
        let body = error.body("req-1");
        assert_eq!(body["error"]["details"]["limit"], 2);
        assert_eq!(body["error"]["details"]["retry_after_seconds"], 5);
    }
}
