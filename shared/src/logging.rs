//! One JSON line per request, written to the Worker's log (`wrangler tail`, Logpush).
//!
//! The line carries only what is safe to keep: method, path, status, duration, request id and
//! the caller's user id, and for a failed request its error code and the cause the client was
//! not shown (a database's own message, for example). Never tokens, keys, passwords, query
//! strings or bodies.

use serde_json::json;

pub struct RequestLog<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration_ms: u64,
    pub request_id: &'a str,
    pub user_id: Option<&'a str>,
    /// The error code when the request failed, for grouping in log search.
    pub error_code: Option<&'a str>,
    /// What lay under the error ([`crate::error::ApiError::cause`]): for operators, never for
    /// the client.
    pub error_cause: Option<&'a str>,
}

impl RequestLog<'_> {
    pub fn to_line(&self) -> String {
        let level = match self.status {
            500.. => "error",
            400..=499 => "warn",
            _ => "info",
        };
        json!({
            "level": level,
            "msg": "request",
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "request_id": self.request_id,
            "user_id": self.user_id,
            "error_code": self.error_code,
            "error_cause": self.error_cause,
        })
        .to_string()
    }
}

/// Writes one log line. On wasm it goes to the console the Workers runtime collects.
pub fn emit(line: &str) {
    #[cfg(target_arch = "wasm32")]
    worker::console_log!("{line}");
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_is_one_json_object_with_level_from_status() {
        let line = RequestLog {
            method: "POST",
            path: "/functions/v1/signup",
            status: 503,
            duration_ms: 12,
            request_id: "abc",
            user_id: Some("u1"),
            error_code: Some("service_unavailable"),
            error_cause: Some("PostgREST answered 502: <html>Bad Gateway</html>"),
        }
        .to_line();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["level"], "error");
        assert_eq!(
            value["error_cause"],
            "PostgREST answered 502: <html>Bad Gateway</html>"
        );
        assert_eq!(value["status"], 503);
        assert_eq!(value["user_id"], "u1");
        assert!(!line.contains('\n'));
    }
}
