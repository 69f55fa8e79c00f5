//! The guard the router puts in front of every function: it charges one request to the
//! caller's budget for the function's endpoint before the handler runs, refuses with 429 (or
//! 503 when the store is down and the endpoint fails closed), and stamps the `RateLimit-Policy`
//! and `RateLimit` fields on whatever the handler answers, errors included.
//!
//! The endpoint is the function's name (`/functions/v1/<name>/...`); a name with neither a
//! table row nor a built-in default spends the `default` budget. The router puts only the
//! functions it serves behind the guard (src/lib.rs): a name it does not serve is a 404 that
//! spends nothing. A function registered as `RateLimit::Unguarded` (health) is not guarded.
//!
//! A request spends its caller's budget ([`identify`]); sign-up requests and anonymous users
//! spend their client IP's as well, and are refused when either is used up. Webhook deliveries
//! are the exception: the guard cannot know who sent one until its signature is checked, so
//! before the handler it only refuses a source IP whose budget for failed verifications
//! ([`UNVERIFIED_WEBHOOKS_POLICY`]) is used up, which costs a peek and no verification; the
//! intake then charges a verified delivery to its provider ([`charge_verified_delivery`]) and
//! a failed one to its IP ([`charge_unverified_delivery`]).

use crate::config::{self, Settings};
use crate::gcra::{self, Quota, Verdict};
use crate::headers::{self, RATELIMIT_POLICY};
use crate::key::{self, Caller, LimiterKey};
use crate::limiter::{self, Charge, Outcome};
use crate::policy::{
    self, FailureMode, RateLimitRow, ResolvedQuota, DEFAULT_ENDPOINT, DEFAULT_PLAN,
    PERSONAL_KEY_POLICY, UNVERIFIED_WEBHOOKS_POLICY, WEBHOOKS_ENDPOINT,
};
use crate::{limits, plans};
use serde::Serialize;
use serde_json::json;
use shared::error::{ApiError, RETRY_AFTER_SECONDS};
use shared::http::{header, RequestContext};
use shared::privileged::PrivilegedEndpoint;
use shared::registry::{self, RateLimit};
use std::future::Future;
use worker::{Request, Response};

/// The claim of a personal key owner's token naming the key (functions/personal-keys).
const PERSONAL_KEY_CLAIM: &str = "api_key_id";

/// The answer when the limiter's store is down and the endpoint fails closed: 503, retry after
/// the one `shared::error::RETRY_AFTER_SECONDS`.
pub(crate) fn store_down_error() -> ApiError {
    ApiError::unavailable(
        "the rate limiter cannot reach its store, and this endpoint stays closed without it; try again shortly",
        RETRY_AFTER_SECONDS,
    )
    .with_details(json!({ "reason": "rate_limiter_unavailable" }))
}

/// Runs `next` if the caller's budget allows it, with the rate-limit fields on its answer.
pub async fn guarded<F, Fut>(
    req: Request,
    context: RequestContext,
    next: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Request, RequestContext) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    if unguarded(&context) {
        return next(req, context).await;
    }
    let fields = admit(&req, &context).await?;
    // An answer that names its policy already (the webhook intake's, from the provider's
    // budget) keeps its own fields: the two would describe different budgets.
    match next(req, context).await {
        Ok(mut response) => {
            let headers = response.headers_mut();
            if !headers.has(RATELIMIT_POLICY).unwrap_or(false) {
                for (name, value) in &fields {
                    // Responses proxied from elsewhere can have immutable headers; the answer
                    // matters more than the advisory fields.
                    let _ = headers.set(name, value);
                }
            }
            Ok(response)
        }
        Err(error)
            if error
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(RATELIMIT_POLICY)) =>
        {
            Err(error)
        }
        Err(error) => Err(fields
            .into_iter()
            .fold(error, |error, (name, value)| error.with_header(name, value))),
    }
}

/// Whether the function asked for is registered as served without a limit
/// ([`RateLimit::Unguarded`]); a name nobody registered is limited like any other.
fn unguarded(context: &RequestContext) -> bool {
    registry::find(context.functions(), context.function())
        .is_some_and(|function| function.rate_limit == RateLimit::Unguarded)
}

/// Whose budget a request spends and on which plan.
pub struct Identity {
    pub key: LimiterKey,
    /// The client IP's budget, spent as well on sign-up and by anonymous users
    /// ([`key::also_per_ip`]).
    pub ip_key: Option<LimiterKey>,
    /// The personal key the request came with (the `api_key_id` of its owner's token): it
    /// spends the [`PERSONAL_KEY_POLICY`] budget as well, the owner the endpoint's.
    pub personal_key: Option<LimiterKey>,
    pub plan: String,
    pub plan_source: PlanSource,
}

impl Identity {
    /// Every budget the request spends: the IP's first, so a refused IP spends no user's.
    pub fn charged_keys(&self) -> Vec<&LimiterKey> {
        self.ip_key
            .iter()
            .chain(std::iter::once(&self.key))
            .collect()
    }
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

/// The caller as the limiter sees them: the verified user, else a verified service credential
/// (one `/check` accepts, see `shared::privileged`), else the client IP. Invalid credentials
/// are not an error here (the handler answers them); they simply do not count as an identity.
///
/// The plan is the token's `app_metadata.plan`, else (when `look_up_plan`, and the caller is a
/// user) the user's plan in `user_plans`, else [`DEFAULT_PLAN`]. The guard looks it up only
/// when a limit depends on it ([`policy::plan_can_matter`]), so endpoints whose limits are the
/// same for every plan never pay for the lookup.
pub async fn identify(
    req: &Request,
    context: &RequestContext,
    settings: &Settings,
    look_up_plan: bool,
) -> Identity {
    let client_ip = header(req, "cf-connecting-ip");
    // A caller already settled (a personal key's owner, functions/personal-keys) counts even
    // when the key came in a header other than Authorization.
    let user = match context.knows_caller() || header(req, "authorization").is_some() {
        true => context
            .caller(req)
            .await
            .ok()
            .filter(|caller| caller.user_id().is_some()),
        false => None,
    };
    let service = match &user {
        None => context
            .privileged_caller(
                req,
                PrivilegedEndpoint::RateLimitCheck,
                settings.check_secret.as_deref(),
            )
            .await
            .ok(),
        Some(_) => None,
    };
    let user_id = user.as_ref().and_then(|caller| caller.user_id());
    let caller = Caller {
        user_id,
        api_key: service.as_ref().map(|credential| credential.presented()),
        client_ip: client_ip.as_deref(),
    };
    let token_plan = key::plan_in_app_metadata(
        user.as_ref()
            .and_then(|caller| caller.claims.app_metadata.as_ref()),
    );
    let (plan, plan_source) = match (token_plan, user_id) {
        (Some(plan), _) => (plan, PlanSource::Token),
        (None, Some(user_id)) if look_up_plan => {
            match plans::user_plan(
                context,
                user_id,
                settings.table_cache_ms,
                shared::clock::now_millis(),
            )
            .await
            {
                Some(plan) => (plan, PlanSource::UserPlans),
                None => (DEFAULT_PLAN.to_string(), PlanSource::Default),
            }
        }
        _ => (DEFAULT_PLAN.to_string(), PlanSource::Default),
    };
    let user_is_anonymous = user
        .as_ref()
        .is_some_and(|caller| caller.claims.is_anonymous == Some(true));
    let endpoint = context.function().to_ascii_lowercase();
    let ip_key = (user_id.is_some() && key::also_per_ip(&endpoint, user_is_anonymous))
        .then(|| key::ip_key(client_ip.as_deref()));
    let personal_key = user
        .as_ref()
        .and_then(|caller| caller.claims.other.get(PERSONAL_KEY_CLAIM))
        .and_then(|id| id.as_str())
        .map(LimiterKey::from_api_key);
    Identity {
        key: key::limiter_key(caller),
        ip_key,
        personal_key,
        plan,
        plan_source,
    }
}

async fn admit(
    req: &Request,
    context: &RequestContext,
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let settings = config::settings(context)?;
    let rows = limits::current_rows(
        context,
        settings.table_cache_ms,
        shared::clock::now_millis(),
    )
    .await;
    let function = context.function().to_ascii_lowercase();
    let endpoint = if policy::is_endpoint_name(&function) {
        function.as_str()
    } else {
        DEFAULT_ENDPOINT
    };
    if endpoint == WEBHOOKS_ENDPOINT {
        return admit_webhook_source(
            context,
            &settings,
            &rows,
            header(req, "cf-connecting-ip").as_deref(),
        )
        .await;
    }
    let identity = identify(
        req,
        context,
        &settings,
        policy::plan_can_matter(&rows, endpoint),
    )
    .await;
    let resolved = policy::resolve_quota(&rows, &settings.defaults, endpoint, &identity.plan);
    let mut tightest: Option<Verdict> = None;
    for key in identity.charged_keys() {
        if let Some(verdict) = spend(context, &settings, &resolved, &key.to_string(), 1).await? {
            tightest = Some(match tightest {
                Some(earlier) if earlier.remaining <= verdict.remaining => earlier,
                _ => verdict,
            });
        }
    }
    if let Some(personal_key) = &identity.personal_key {
        let per_key = policy::resolve_quota(
            &rows,
            &settings.defaults,
            PERSONAL_KEY_POLICY,
            &identity.plan,
        );
        spend(context, &settings, &per_key, &personal_key.to_string(), 1).await?;
    }
    Ok(fields(&resolved, tightest.as_ref()))
}

/// Spends `cost` of `key`'s budget under `resolved`: the verdict when admitted, `None` when
/// the store is down and the policy fails open, a 429 (or a 503 failing closed) otherwise.
async fn spend(
    context: &RequestContext,
    settings: &Settings,
    resolved: &ResolvedQuota,
    key: &str,
    cost: u32,
) -> Result<Option<Verdict>, ApiError> {
    let charge = Charge {
        endpoint: &resolved.policy,
        key,
        quota: resolved.quota,
        cost,
        settings: settings.stores.for_endpoint(&resolved.policy),
    };
    match limiter::charge(context, charge).await {
        Outcome::Decided { verdict, .. } if verdict.allowed() => Ok(Some(verdict)),
        Outcome::Decided { verdict, .. } => Err(too_many_requests(
            &resolved.policy,
            resolved.quota,
            &verdict,
        )),
        Outcome::StoreDown {
            failure_mode: FailureMode::Open,
        } => Ok(None),
        Outcome::StoreDown {
            failure_mode: FailureMode::Closed,
        } => Err(store_down_error()),
    }
}

/// Both draft fields for an admitted request; only the policy when the store could not say.
fn fields(resolved: &ResolvedQuota, verdict: Option<&Verdict>) -> Vec<(&'static str, String)> {
    match verdict {
        Some(verdict) => headers::rate_limit_headers(&resolved.policy, resolved.quota, verdict),
        None => vec![(
            RATELIMIT_POLICY,
            headers::policy_field(&resolved.policy, resolved.quota),
        )],
    }
}

/// Before a webhook delivery is verified: refuse its source IP when its budget for failed
/// verifications is used up. A peek: nothing is spent here. (In lease mode an isolate that holds
/// none of the IP's budget leases some first, for the next failures to spend; unspent, it is
/// back within the lease's life, `crate::lease`.)
async fn admit_webhook_source(
    context: &RequestContext,
    settings: &Settings,
    rows: &[RateLimitRow],
    client_ip: Option<&str>,
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let resolved = policy::resolve_quota(
        rows,
        &settings.defaults,
        UNVERIFIED_WEBHOOKS_POLICY,
        DEFAULT_PLAN,
    );
    let peeked = spend(
        context,
        settings,
        &resolved,
        &key::ip_key(client_ip).to_string(),
        0,
    )
    .await?;
    if let Some(refusal) = peeked
        .as_ref()
        .and_then(|verdict| gcra::refusal_of_one(resolved.quota, verdict))
    {
        return Err(too_many_requests(
            &resolved.policy,
            resolved.quota,
            &refusal,
        ));
    }
    Ok(fields(&resolved, peeked.as_ref()))
}

/// For the webhook intake, once a delivery's signature checked out and before it is stored:
/// spends one of `provider`'s budget ([`WEBHOOKS_ENDPOINT`], per provider, whatever the source
/// IP). Answers the fields for the response, or the 429 that refuses the delivery (the
/// provider retries it later).
pub async fn charge_verified_delivery(
    context: &RequestContext,
    provider: &'static str,
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let settings = config::settings(context)?;
    let rows = limits::current_rows(
        context,
        settings.table_cache_ms,
        shared::clock::now_millis(),
    )
    .await;
    let resolved =
        policy::resolve_quota(&rows, &settings.defaults, WEBHOOKS_ENDPOINT, DEFAULT_PLAN);
    let verdict = spend(
        context,
        &settings,
        &resolved,
        &LimiterKey::Provider(provider).to_string(),
        1,
    )
    .await?;
    Ok(fields(&resolved, verdict.as_ref()))
}

/// For the webhook intake, when a delivery failed verification: spends one of its source
/// IP's budget for failures, so a flood of forgeries from one place is soon refused before it
/// is verified. Its own answer is the 400 already decided; the limiter's is not needed.
pub async fn charge_unverified_delivery(context: &RequestContext, client_ip: Option<&str>) {
    let Ok(settings) = config::parsed(context) else {
        return;
    };
    let rows = limits::current_rows(
        context,
        settings.table_cache_ms,
        shared::clock::now_millis(),
    )
    .await;
    let resolved = policy::resolve_quota(
        &rows,
        &settings.defaults,
        UNVERIFIED_WEBHOOKS_POLICY,
        DEFAULT_PLAN,
    );
    let _already_answered = spend(
        context,
        &settings,
        &resolved,
        &key::ip_key(client_ip).to_string(),
        1,
    )
    .await;
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

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn refusal_is_a_429_in_the_one_shape_with_one_retry_after_and_both_fields() {
        let quota = Quota::new(2, 10).unwrap();
        let mut tat = 0;
        for _ in 0..2 {
            tat = check(quota, tat, 1_000_000, 1).tat_ms;
        }
        let refused = check(quota, tat, 1_000_000, 1).verdict;
        let error = too_many_requests("signup", quota, &refused);
        assert_eq!((error.status, error.code), (429, "rate_limited"));
        let named = |name: &str| {
            error
                .headers
                .iter()
                .filter(|(header, _)| *header == name)
                .map(|(_, value)| value.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(named("Retry-After"), vec!["5"]);
        assert_eq!(named(headers::RATELIMIT), vec![r#""signup";r=0;t=5"#]);
        assert_eq!(named(RATELIMIT_POLICY), vec![r#""signup";q=2;w=10"#]);
        let body = error.body("req-1");
        assert_eq!(body["error"]["details"]["limit"], 2);
        assert_eq!(body["error"]["details"]["retry_after_seconds"], 5);
    }
}
