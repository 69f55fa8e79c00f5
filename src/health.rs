//! `GET /functions/v1/health`: 200 `{"status":"ok"}` when the configuration is valid and
//! PostgREST answers the probe (see `shared::health`) as it should, else 503
//! `{"status":"degraded"}`, so a load balancer or uptime check can use it as is. That is all
//! anyone learns; a privileged caller (`shared::privileged`, `HealthDetails`: the secret key or
//! a service_role JWT) also gets which variable and which check is at fault, the version, the
//! functions served and the problems with each one's own settings, what signs the role tokens
//! and what the JWKS cache holds; with the configuration broken, the secret key alone still
//! gets that report.

use serde_json::json;
use shared::clock::now_millis;
use shared::error::ApiError;
use shared::health::{self, ProbeVerdict, PROBE_COLUMN, PROBE_ROLE, PROBE_TABLE};
use shared::http::{self, RequestContext};
use shared::privileged::PrivilegedEndpoint;
use shared::registry::{self, Function, RateLimit};
use worker::{Method, Request, Response};

/// Health as the registry lists it: never rate limited, so uptime checks see the service and
/// not a 429; its own configuration is the core one, which it reports itself.
pub const FUNCTION: Function = Function {
    name: "health",
    handle: |req, context| Box::pin(handle(req, context)),
    scheduled: None,
    rate_limit: RateLimit::Unguarded,
    config_check: registry::no_config,
};

pub async fn handle(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    if !context.segments().is_empty() {
        return Err(http::no_route(&context));
    }
    if req.method() != Method::Get {
        return Err(http::method_not_allowed(&req, &["GET"]));
    }
    let config_problems: Vec<String> = context
        .config_problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    let started = now_millis();
    let postgrest = match context.config() {
        Ok(_) => probe_postgrest(&context).await,
        Err(_) => ProbeVerdict {
            ok: false,
            status: None,
            problem: Some("not probed: the configuration is invalid".into()),
            variable: None,
        },
    };
    let latency_ms = now_millis().saturating_sub(started);
    let healthy = config_problems.is_empty() && postgrest.ok;
    let status = if healthy { "ok" } else { "degraded" };
    let code = if healthy { 200 } else { 503 };
    let caller = if has_credentials(&req) {
        context
            .privileged_caller(&req, PrivilegedEndpoint::HealthDetails, None)
            .await
            .ok()
    } else {
        None
    };
    let Some(caller) = caller else {
        return http::json_response(code, &json!({ "status": status }));
    };
    let signer = context
        .config()
        .ok()
        .and_then(|config| config.jwt.role_token_signer.clone());
    let body = json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "functions": registry::names(context.functions()),
        "function_config": function_config(&context),
        "config": { "ok": config_problems.is_empty(), "problems": config_problems },
        "postgrest": { "latency_ms": latency_ms, "check": format!("GET {PROBE_TABLE} as {}", PROBE_ROLE.as_str()), "verdict": postgrest },
        "role_tokens": signer.map(|signer| json!({ "alg": signer.algorithm().name(), "kid": signer.kid() })),
        "jwks": context.jwks_status().map(|jwks| json!({
            "key_ids": jwks.key_ids,
            "age_seconds": jwks.age_seconds,
            "stale": jwks.stale,
            "fetches": jwks.fetches,
            "last_failure": jwks.last_failure,
        })),
        "caller": caller.credential.kind(),
    });
    http::json_response(code, &body)
}

/// Each function's own configuration, as its check finds it: `{"<name>": {"ok", "problems"}}`.
/// A broken one fails only that function's requests (500 `config_invalid`), so it shows here
/// without making the whole Worker degraded.
fn function_config(context: &RequestContext) -> serde_json::Value {
    let checked = context.functions().iter().map(|function| {
        let problems: Vec<String> = (function.config_check)(context)
            .iter()
            .map(ToString::to_string)
            .collect();
        (
            function.name.to_string(),
            json!({ "ok": problems.is_empty(), "problems": problems }),
        )
    });
    serde_json::Value::Object(checked.collect())
}

/// Whether the request carries anything a privileged check could accept; without, the check
/// (and its possible JWKS fetch) is skipped.
fn has_credentials(req: &Request) -> bool {
    http::header(req, "authorization").is_some() || http::header(req, "apikey").is_some()
}

/// One read of the probe table as the rate limiter role (see `shared::health`).
async fn probe_postgrest(context: &RequestContext) -> ProbeVerdict {
    let Ok(config) = context.config() else {
        return health::unreachable_probe("the configuration is invalid");
    };
    let role_token_variable = match config
        .jwt
        .role_token_signer
        .as_ref()
        .and_then(|signer| signer.kid())
    {
        Some(_) => "JWT_SIGNING_KEY",
        None => "SUPABASE_JWT_SECRET",
    };
    let db = match context.db_as_role(PROBE_ROLE, "health").await {
        Ok(db) => db,
        Err(_) => {
            return ProbeVerdict {
                ok: false,
                status: None,
                problem: Some("the Worker could not sign a role token".into()),
                variable: Some(role_token_variable),
            }
        }
    };
    match shared::db::send(db.from(PROBE_TABLE).select(PROBE_COLUMN).limit(1)).await {
        Ok(answer) => health::classify_probe(answer.status, &answer.body, role_token_variable),
        Err(error) => health::unreachable_probe(error.cause.as_deref().unwrap_or(&error.message)),
    }
}
