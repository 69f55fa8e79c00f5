//! `GET /functions/v1/health`: version, compiled-in functions, configuration problems (by
//! variable name) and whether PostgREST answers. 200 when all is well, 503 otherwise, so a
//! load balancer or uptime check can use it as is.

use serde_json::json;
use shared::clock::now_millis;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use worker::{Fetch, Method, Request, RequestInit, Response};

/// The functions this bundle serves under `/functions/v1/<name>`.
pub const FUNCTIONS: &[&str] = &["health", "webhooks", "api-keys", "rate-limit", "signup", "lead-scoring", "cleanup"];

pub async fn handle(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    if !context.segments().is_empty() {
        return Err(http::no_route(&context));
    }
    if req.method() != Method::Get {
        return Err(http::method_not_allowed(&req, &["GET"]));
    }
    let config_problems: Vec<String> = context.config_problems().iter().map(ToString::to_string).collect();
    let postgrest = match context.config() {
        Ok(config) => probe_postgrest(&config.postgrest_url, &config.publishable_key).await,
        Err(_) => json!({ "ok": false, "error": "not configured" }),
    };
    let healthy = config_problems.is_empty() && postgrest["ok"] == true;
    let body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "functions": FUNCTIONS,
        "config": { "ok": config_problems.is_empty(), "problems": config_problems },
        "postgrest": postgrest,
    });
    http::json_response(if healthy { 200 } else { 503 }, &body)
}

/// PostgREST answers when its root responds with anything but a server error.
async fn probe_postgrest(url: &str, anon_key: &str) -> serde_json::Value {
    let started = now_millis();
    let mut init = RequestInit::new();
    init.with_method(Method::Get);
    let request = Request::new_with_init(&format!("{url}/"), &init).and_then(|mut request| {
        request.headers_mut()?.set("apikey", anon_key)?;
        Ok(request)
    });
    let outcome = match request {
        Ok(request) => Fetch::Request(request).send().await.map(|response| response.status_code()),
        Err(error) => Err(error),
    };
    let latency_ms = now_millis().saturating_sub(started);
    match outcome {
        Ok(status) if status < 500 => json!({ "ok": true, "status": status, "latency_ms": latency_ms }),
        Ok(status) => json!({ "ok": false, "status": status, "latency_ms": latency_ms }),
        Err(_) => json!({ "ok": false, "error": "unreachable", "latency_ms": latency_ms }),
    }
}
