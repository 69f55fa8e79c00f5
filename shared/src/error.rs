//! The one error type at the HTTP boundary and its one JSON shape:
//! `{"error":{"code":"snake_case","message":"...","request_id":"...","details":...}}`.
//!
//! Every function returns `ApiError` from its handlers; the router renders it. The message is
//! written for the client: it names what is wrong and what to do, and never carries secrets,
//! tokens or request bodies. What went wrong underneath (a database's own message, a decoding
//! error quoting a stored value) is the error's `cause`: it goes to the request's log line,
//! next to the request id, and never into the response.

//!
//! Errors of the layers below convert into it with `From`, so a handler's `?` says it: a
//! configuration problem ([`ConfigError`], one or many) is a 500 whose log line names the
//! variables, an [`AuthError`] a 401 (503 when the signing keys are unreachable). Functions add
//! the conversions of their own domain errors next to those types.

use crate::auth::AuthError;
use crate::config::ConfigError;
use serde_json::{json, Value};
use std::fmt;

/// Seconds a client should wait before retrying when a dependency (PostgREST, the JWKS
/// endpoint, the rate limiter's store) is unreachable: the one value every 503 carries in
/// `Retry-After`.
pub const RETRY_AFTER_SECONDS: u64 = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Extra response headers this error must carry (`Allow`, `Retry-After`, ...).
    pub headers: Vec<(&'static str, String)>,
    /// For the log only: the underlying problem in the words of whatever reported it (a
    /// database message naming a constraint and echoing a value, a decoder's error). Never
    /// rendered by [`ApiError::body`]. Boxed to keep `Result<_, ApiError>` small.
    pub cause: Option<Box<str>>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            headers: Vec::new(),
            cause: None,
        }
    }

    /// Attaches the underlying problem for the log; the client keeps seeing only the message.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into().into_boxed_str());
        self
    }

    /// The whole story for a log line: the client's message, then the cause when there is one.
    pub fn log_text(&self) -> String {
        match &self.cause {
            Some(cause) => format!("{} ({cause})", self.message),
            None => self.message.clone(),
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// A 400 naming the offending field, so a form can put the message next to it.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(400, "invalid_field", message).with_details(json!({ "field": field }))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message).with_header("WWW-Authenticate", "Bearer")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }

    pub fn method_not_allowed(method: &str, allowed: &[&str]) -> Self {
        Self::new(
            405,
            "method_not_allowed",
            format!("{method} is not allowed here; use {}", allowed.join(", ")),
        )
        .with_header("Allow", allowed.join(", "))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, "conflict", message)
    }

    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            413,
            "payload_too_large",
            format!("request body exceeds the limit of {limit_bytes} bytes"),
        )
    }

    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            415,
            "unsupported_media_type",
            format!("send the body as {expected}"),
        )
    }

    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        Self::new(
            429,
            "rate_limited",
            format!("too many requests; retry in {retry_after_seconds} s"),
        )
        .with_header("Retry-After", retry_after_seconds.to_string())
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }

    /// A dependency (PostgREST, a JWKS endpoint, a store) is down: the client should retry.
    pub fn unavailable(message: impl Into<String>, retry_after_seconds: u64) -> Self {
        Self::new(503, "service_unavailable", message)
            .with_header("Retry-After", retry_after_seconds.to_string())
    }

    /// The response body for this error, stamped with the request id.
    pub fn body(&self, request_id: &str) -> Value {
        let mut error =
            json!({ "code": self.code, "message": self.message, "request_id": request_id });
        if let Some(details) = &self.details {
            error["details"] = details.clone();
        }
        json!({ "error": error })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// A variable the handler needs is missing or malformed. The log line names the variables; the
/// client learns only that the server is misconfigured.
impl From<&[ConfigError]> for ApiError {
    fn from(errors: &[ConfigError]) -> Self {
        crate::http::log_config_errors(errors);
        ApiError::internal("the server is misconfigured; its log names the variable to fix")
            .with_details(json!({ "code": "config_invalid" }))
    }
}

impl From<Vec<ConfigError>> for ApiError {
    fn from(errors: Vec<ConfigError>) -> Self {
        ApiError::from(errors.as_slice())
    }
}

impl From<ConfigError> for ApiError {
    fn from(error: ConfigError) -> Self {
        ApiError::from(std::slice::from_ref(&error))
    }
}

/// 401 for anything wrong with the caller's credentials, 503 when the key server is down.
impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let mapped = if error.is_service_unavailable() {
            ApiError::unavailable(error.to_string(), RETRY_AFTER_SECONDS)
        } else {
            ApiError::unauthorized(error.to_string())
        };
        mapped.with_details(json!({ "reason": error.code() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_one_error_shape() {
        let body = ApiError::not_found("no route for /x").body("req-1");
        assert_eq!(
            body,
            json!({"error": {"code": "not_found", "message": "no route for /x", "request_id": "req-1"}})
        );
    }

    #[test]
    fn the_cause_is_for_the_log_and_never_in_the_body() {
        let error = ApiError::conflict("a row with the same unique key already exists").with_cause(
            "duplicate key value violates unique constraint \"users_email_key\": alice@example.com",
        );
        let body = error.body("req-1").to_string();
        assert!(
            !body.contains("users_email_key") && !body.contains("alice@example.com"),
            "{body}"
        );
        assert!(error.log_text().contains("users_email_key"));
        assert_eq!(ApiError::not_found("no row").log_text(), "no row");
    }

    #[test]
    fn invalid_field_names_the_field_in_details() {
        let body = ApiError::invalid_field("full_name", "must not be empty").body("r");
        assert_eq!(body["error"]["details"]["field"], "full_name");
        assert_eq!(body["error"]["code"], "invalid_field");
    }

    fn config_problem(variable: &'static str) -> ConfigError {
        ConfigError {
            variable,
            problem: "is not set".to_string(),
        }
    }

    #[test]
    fn config_problems_are_a_500_that_names_no_variable() {
        let one: ApiError = config_problem("JWT_SECRET").into();
        let many: ApiError =
            vec![config_problem("JWT_SECRET"), config_problem("SUPABASE_URL")].into();
        for error in [&one, &many] {
            assert_eq!((error.status, error.code), (500, "internal"));
            assert_eq!(
                error.message,
                "the server is misconfigured; its log names the variable to fix"
            );
            assert_eq!(error.details, Some(json!({ "code": "config_invalid" })));
            assert!(!error.body("r").to_string().contains("JWT_SECRET"));
        }
        assert_eq!(one, ApiError::from(&[config_problem("JWT_SECRET")][..]));
    }

    #[test]
    fn credential_problems_are_a_401_with_the_reason() {
        let error: ApiError = AuthError::Expired.into();
        assert_eq!((error.status, error.code), (401, "unauthorized"));
        assert_eq!(error.message, AuthError::Expired.to_string());
        assert_eq!(error.details, Some(json!({ "reason": "token_expired" })));
        assert_eq!(
            error.headers,
            vec![("WWW-Authenticate", "Bearer".to_string())]
        );
    }

    #[test]
    fn unreachable_signing_keys_are_a_503_to_retry() {
        let error: ApiError = AuthError::JwksUnavailable.into();
        assert_eq!((error.status, error.code), (503, "service_unavailable"));
        assert_eq!(error.details, Some(json!({ "reason": "jwks_unavailable" })));
        assert_eq!(
            error.headers,
            vec![("Retry-After", RETRY_AFTER_SECONDS.to_string())]
        );
    }

    #[test]
    fn method_not_allowed_lists_allowed_methods_in_header_and_message() {
        let err = ApiError::method_not_allowed("PATCH", &["GET", "POST"]);
        assert_eq!(err.status, 405);
        assert_eq!(err.headers, vec![("Allow", "GET, POST".to_string())]);
        assert!(err.message.contains("GET, POST"));
    }
}
