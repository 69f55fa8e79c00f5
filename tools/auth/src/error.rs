//! The one error type of the service and how it becomes a response, in Supabase Auth's shapes:
//! `{"code":<status>,"error_code":"...","msg":"..."}` for clients that send no API version, and
//! `{"code":"...","message":"..."}` (with `X-Supabase-Api-Version: 2024-01-01` echoed) for
//! clients that send that version or a later one, as supabase-js does; OAuth grant errors are
//! `{"error":"...","error_description":"..."}` in both.

use std::fmt::Display;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

pub const API_VERSION_HEADER: &str = "x-supabase-api-version";
pub const API_VERSION_2024_01_01: &str = "2024-01-01";

#[derive(Debug)]
pub enum AuthError {
    Http {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    WeakPassword {
        message: String,
        reasons: Vec<&'static str>,
    },
    OAuth {
        error: &'static str,
        description: String,
    },
}

pub type AuthResult<T> = Result<T, AuthError>;

impl AuthError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AuthError::Http {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn too_many_requests(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
    }
    pub fn oauth(error: &'static str, description: impl Into<String>) -> Self {
        AuthError::OAuth {
            error,
            description: description.into(),
        }
    }
    /// A 500 whose cause goes to the log, never to the client.
    pub fn internal(message: &str, cause: impl Display) -> Self {
        eprintln!("auth: {message}: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unexpected_failure",
            message,
        )
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::Http { status, .. } => *status,
            AuthError::WeakPassword { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AuthError::OAuth { .. } => StatusCode::BAD_REQUEST,
        }
    }

    /// The `error_code` (GoTrue's ErrorCode) of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Http { code, .. } => code,
            AuthError::WeakPassword { .. } => "weak_password",
            AuthError::OAuth { error, .. } => error,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            AuthError::Http { message, .. } | AuthError::WeakPassword { message, .. } => message,
            AuthError::OAuth { description, .. } => description,
        }
    }

    /// The response body and extra headers for a client that asked for `api_version`.
    pub fn into_response(self, api_version: Option<&'static str>) -> Response<Bytes> {
        let status = self.status();
        let dated = api_version.is_some();
        let body = match &self {
            AuthError::OAuth { error, description } => {
                json!({ "error": error, "error_description": description })
            }
            AuthError::WeakPassword { message, reasons } if dated => {
                json!({ "code": "weak_password", "message": message, "weak_password": { "reasons": reasons } })
            }
            AuthError::WeakPassword { message, reasons } => json!({
                "code": status.as_u16(), "error_code": "weak_password", "msg": message,
                "weak_password": { "reasons": reasons },
            }),
            AuthError::Http { code, message, .. } if dated => {
                json!({ "code": code, "message": message })
            }
            AuthError::Http { code, message, .. } => {
                json!({ "code": status.as_u16(), "error_code": code, "msg": message })
            }
        };
        let mut response = json_response(status, &body);
        if let Some(version) = api_version {
            response
                .headers_mut()
                .insert(API_VERSION_HEADER, HeaderValue::from_static(version));
        }
        response
    }
}

impl From<tokio_postgres::Error> for AuthError {
    fn from(err: tokio_postgres::Error) -> Self {
        AuthError::internal("Database error", err)
    }
}

impl From<deadpool_postgres::PoolError> for AuthError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        AuthError::internal("Database error", err)
    }
}

/// GoTrue answers with the newer error shape when the client's `X-Supabase-Api-Version` is a
/// date on or after 2024-01-01; a missing or unreadable header means the initial shape.
pub fn requested_api_version(header_value: Option<&str>) -> Option<&'static str> {
    let value = header_value?.trim();
    let bytes = value.as_bytes();
    let well_formed = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    let (month, day): (u32, u32) = (
        value.get(5..7)?.parse().ok()?,
        value.get(8..10)?.parse().ok()?,
    );
    if !well_formed || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    (value >= API_VERSION_2024_01_01).then_some(API_VERSION_2024_01_01)
}

pub fn json_response(status: StatusCode, body: &Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: Response<Bytes>) -> Value {
        serde_json::from_slice(response.body()).unwrap()
    }

    #[test]
    fn initial_shape_without_a_version_and_dated_shape_with_one() {
        let err = || AuthError::bad_request("invalid_credentials", "Invalid login credentials");
        let plain = err().into_response(None);
        assert_eq!(plain.status(), 400);
        assert!(plain.headers().get(API_VERSION_HEADER).is_none());
        assert_eq!(
            body(plain),
            json!({"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"})
        );
        let dated = err().into_response(Some(API_VERSION_2024_01_01));
        assert_eq!(dated.headers()[API_VERSION_HEADER], "2024-01-01");
        assert_eq!(
            body(dated),
            json!({"code": "invalid_credentials", "message": "Invalid login credentials"})
        );
    }

    #[test]
    fn weak_password_carries_its_reasons_and_oauth_errors_keep_their_shape() {
        let weak = AuthError::WeakPassword {
            message: "Password should be at least 6 characters.".into(),
            reasons: vec!["length"],
        };
        let response = weak.into_response(None);
        assert_eq!(response.status(), 422);
        assert_eq!(
            body(response)["weak_password"],
            json!({"reasons": ["length"]})
        );
        let oauth = AuthError::oauth("invalid_request", "refresh_token required")
            .into_response(Some(API_VERSION_2024_01_01));
        assert_eq!(oauth.status(), 400);
        assert_eq!(
            body(oauth),
            json!({"error": "invalid_request", "error_description": "refresh_token required"})
        );
    }

    #[test]
    fn api_version_dates_before_2024_or_malformed_mean_the_initial_shape() {
        assert_eq!(
            requested_api_version(Some("2024-01-01")),
            Some(API_VERSION_2024_01_01)
        );
        assert_eq!(
            requested_api_version(Some("2025-06-30")),
            Some(API_VERSION_2024_01_01)
        );
        assert_eq!(requested_api_version(Some("2023-12-31")), None);
        assert_eq!(requested_api_version(Some("yesterday")), None);
        assert_eq!(requested_api_version(Some("2024-13-01")), None);
        assert_eq!(requested_api_version(None), None);
    }
}
