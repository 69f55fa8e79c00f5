//! `/rest/v1/*` at the edge: PostgREST behind the Worker, so supabase-js pointed at the Worker's
//! URL works for `from()` and `rpc()`, with a personal key as its key or with a user's session.
//!
//! The request goes to `POSTGREST_URL` with the caller's own token, or the token minted for a
//! personal key's owner ([`crate::resolve`]), or none (anon); `apikey` is always the project's
//! publishable key. A key's scopes are checked first ([`crate::scope`]: read-only, tables,
//! RPCs), bodies above `MAX_BODY_BYTES` are refused, and the answer streams back as PostgREST
//! gave it. The edge's own refusals (scope, body limit, bad key, rate limit) use PostgREST's
//! error shape `{code, details, hint, message}` ([`in_postgrest_shape`]), so clients read them
//! the way they read PostgREST's.

use crate::resolve::out_of_scope;
use crate::scope::{RestTarget, Scopes};
use serde_json::{json, Value};
use shared::error::ApiError;
use shared::http::{self, header, RequestContext, REST_PREFIX};
use worker::{Fetch, Headers, Method, Request, RequestInit, Response};

/// Request headers PostgREST reads that pass through; everything else (cookies, the client's
/// `apikey` and `authorization`, hop-by-hop headers) stays at the edge.
const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "accept",
    "accept-profile",
    "content-profile",
    "content-type",
    "prefer",
    "range",
    "range-unit",
    "x-client-info",
];

/// Response headers that describe the bytes as the Worker received them, not as it sends them.
const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "content-encoding",
    "content-length",
    "transfer-encoding",
    "connection",
];

pub async fn handle(mut req: Request, context: RequestContext) -> Result<Response, ApiError> {
    let segments = context.segments();
    let target = RestTarget::parse(&segments).ok_or_else(|| {
        ApiError::not_found(format!(
            "{REST_PREFIX}/{} is not a table or rpc/<function>",
            segments.join("/")
        ))
    })?;
    let method = req.method();
    let authorization = header(&req, "authorization");
    // A key as bearer means anon (and then no personal key was presented: see
    // scope::presented_key); otherwise a settled caller or a bearer token is the caller.
    let token = if is_api_key_as_bearer(authorization.as_deref()) {
        None
    } else if context.knows_caller() || authorization.is_some() {
        Some(context.caller(&req).await?)
    } else {
        None
    };
    if let Some(scopes) = token
        .as_ref()
        .and_then(|caller| Scopes::of_token(&caller.claims.other))
    {
        scopes
            .allows_rest(&target, method.as_ref())
            .map_err(|refusal| out_of_scope(refusal.0))?;
    }
    let config = context.config()?;
    let headers = Headers::new();
    for name in FORWARDED_REQUEST_HEADERS {
        if let Some(value) = header(&req, name) {
            headers.set(name, &value).map_err(malformed)?;
        }
    }
    headers
        .set("apikey", &config.publishable_key)
        .map_err(malformed)?;
    if let Some(caller) = &token {
        headers
            .set("authorization", &format!("Bearer {}", caller.token))
            .map_err(malformed)?;
    }
    let mut init = RequestInit::new();
    init.with_method(method.clone());
    if !matches!(method, Method::Get | Method::Head) {
        let body = http::read_body(&mut req, config.max_body_bytes).await?;
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    init.with_headers(headers);
    let url = upstream_url(&config.postgrest_url, &req)?;
    let upstream = Fetch::Request(Request::new_with_init(&url, &init).map_err(malformed)?)
        .send()
        .await
        .map_err(|error| {
            ApiError::unavailable(
                "the database API (PostgREST) is unreachable; try again shortly",
                shared::error::RETRY_AFTER_SECONDS,
            )
            .with_cause(format!("forwarding to PostgREST: {error}"))
        })?;
    let answer_headers = Headers::new();
    for (name, value) in upstream.headers().entries() {
        if !DROPPED_RESPONSE_HEADERS.contains(&name.as_str()) {
            answer_headers.append(&name, &value).map_err(malformed)?;
        }
    }
    Ok(Response::builder()
        .with_status(upstream.status_code())
        .with_headers(answer_headers)
        .body(upstream.body().clone()))
}

/// `Authorization: Bearer sb_...`: what supabase-js sends with a publishable (or secret) key and
/// no session. Supabase's gateway takes it as the key, not as a token, so the request is anon.
fn is_api_key_as_bearer(authorization: Option<&str>) -> bool {
    authorization
        .and_then(|value| value.trim().strip_prefix("Bearer "))
        .is_some_and(|token| token.trim().starts_with("sb_"))
}

/// A header value or URL the platform would not take as given.
fn malformed(error: worker::Error) -> ApiError {
    ApiError::bad_request(
        "invalid_request",
        "the request could not be forwarded as sent",
    )
    .with_cause(error.to_string())
}

/// PostgREST's URL for this request: the path after `/rest/v1` and the query, without `apikey`
/// parameters (PostgREST would read one as a filter on a column of that name).
fn upstream_url(postgrest_url: &str, req: &Request) -> Result<String, ApiError> {
    let url = req.url().map_err(malformed)?;
    let path = url.path().strip_prefix(REST_PREFIX).unwrap_or_default();
    let query: Vec<&str> = url
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("apikey"))
        .collect();
    Ok(match query.is_empty() {
        true => format!("{postgrest_url}{path}"),
        false => format!("{postgrest_url}{path}?{}", query.join("&")),
    })
}

/// The edge's own refusal of a `/rest/v1` request in PostgREST's error shape, keeping its
/// status and headers (`Retry-After`, `RateLimit`...). Other answers pass unchanged.
pub fn in_postgrest_shape(outcome: Result<Response, ApiError>) -> Result<Response, ApiError> {
    let error = match outcome {
        Ok(response) => return Ok(response),
        Err(error) => error,
    };
    let mut response = http::json_response(error.status, &postgrest_error_body(&error))?;
    for (name, value) in &error.headers {
        let _ = response.headers_mut().set(name, value);
    }
    Ok(response)
}

/// `{code, details, hint, message}` as PostgREST writes them; `details` is a string there.
pub fn postgrest_error_body(error: &ApiError) -> Value {
    json!({
        "code": error.code,
        "details": error.details.as_ref().map(Value::to_string),
        "hint": Value::Null,
        "message": error.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_publishable_key_as_bearer_is_no_session() {
        assert!(is_api_key_as_bearer(Some("Bearer sb_publishable_abc")));
        assert!(!is_api_key_as_bearer(Some(
            "Bearer eyJhbGciOiJFUzI1NiJ9.e30.x"
        )));
        assert!(!is_api_key_as_bearer(None));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn refusals_read_like_postgrest_errors() {
        let error = ApiError::forbidden("this personal key is read-only")
            .with_details(json!({ "reason": "personal_key_out_of_scope" }));
        let body = postgrest_error_body(&error);
        assert_eq!(body["code"], "forbidden");
        assert_eq!(body["message"], "this personal key is read-only");
        assert_eq!(body["hint"], Value::Null);
        assert_eq!(body["details"], r#"{"reason":"personal_key_out_of_scope"}"#);
        assert_eq!(
            body.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["code", "details", "hint", "message"]
        );
    }
}
