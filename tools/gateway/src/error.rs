//! The one error shape every failure becomes: PostgREST's `{code, message, details, hint}` body
//! with its HTTP status and extra headers.

use serde_json::{json, Value};

/// An error answered to the client exactly as PostgREST would shape it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Option<Value>,
    pub hint: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            details: None,
            hint: None,
            headers: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(Value::String(details.into()));
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(Value::String(hint.into()));
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(&self) -> String {
        json!({
            "code": self.code,
            "details": self.details,
            "hint": self.hint,
            "message": self.message,
        })
        .to_string()
    }

    /// PGRST100: a query string parameter could not be parsed.
    pub fn query_param(message: impl Into<String>, details: impl Into<String>) -> Self {
        ApiError::new(400, "PGRST100", message).with_details(details)
    }

    /// PGRST102: the request body is not what the endpoint accepts.
    pub fn invalid_body(message: impl Into<String>) -> Self {
        ApiError::new(400, "PGRST102", message)
    }

    /// PGRST127: a PostgREST feature this gateway deliberately does not implement.
    pub fn not_implemented(details: impl Into<String>) -> Self {
        ApiError::new(400, "PGRST127", "Feature not implemented").with_details(details)
    }

    /// The error Postgres itself raises for an unknown column, which PostgREST forwards.
    pub fn unknown_column(table: &str, column: &str) -> Self {
        ApiError::new(
            400,
            "42703",
            format!("column {table}.{column} does not exist"),
        )
    }

    /// PGRST204: a payload or `columns=` names a column the relation does not have.
    pub fn column_not_in_cache(table: &str, column: &str) -> Self {
        ApiError::new(
            400,
            "PGRST204",
            format!("Could not find the '{column}' column of '{table}' in the schema cache"),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(500, "PGRSTX00", message)
    }
}

/// Maps an error from Postgres (or the driver) to PostgREST's status table.
/// `authenticated` is true when the request carried a valid JWT: 42501 is then 403, else 401.
pub fn from_db_error(err: &tokio_postgres::Error, authenticated: bool) -> ApiError {
    let Some(db) = err.as_db_error() else {
        return ApiError::new(
            503,
            "PGRST001",
            "Database client error. Retrying the connection.",
        )
        .with_details(err.to_string());
    };
    let code = db.code().code();
    let message = db.message();
    if code == "PGRST" {
        return from_raise_pgrst(message, db.detail());
    }
    let status = status_for_sqlstate(code, message, authenticated);
    let mut error = ApiError::new(status, code, message);
    error.details = db.detail().map(|d| Value::String(d.to_string()));
    error.hint = db.hint().map(|h| Value::String(h.to_string()));
    if status == 401 {
        error
            .headers
            .push(("WWW-Authenticate".into(), "Bearer".into()));
    }
    error
}

fn status_for_sqlstate(code: &str, message: &str, authenticated: bool) -> u16 {
    let class = &code[..code.len().min(2)];
    match code {
        "23503" | "23505" => return 409,
        "25006" => return 405,
        "21000" => {
            return if message.ends_with("requires a WHERE clause") {
                400
            } else {
                500
            };
        }
        "22023" => {
            return if message.starts_with("role") && message.ends_with("does not exist") {
                401
            } else {
                400
            };
        }
        "53400" => return 500,
        "57P01" => return 503,
        "P0001" => return 400,
        "42883" => return 404,
        "42P01" => return 404,
        "42P17" => return 500,
        "42501" => return if authenticated { 403 } else { 401 },
        _ => {}
    }
    if let Some(custom) = code.strip_prefix("PT") {
        return custom
            .parse::<u16>()
            .ok()
            .filter(|s| (100..=599).contains(s))
            .unwrap_or(500);
    }
    match class {
        "08" => 503,
        "09" | "25" | "2D" | "38" | "39" | "3B" | "40" | "54" | "55" | "57" | "58" | "F0"
        | "HV" | "P0" | "XX" => 500,
        "0L" | "0P" | "28" => 403,
        "53" => 503,
        _ => 400,
    }
}

/// `RAISE SQLSTATE 'PGRST'` carries a JSON error body in MESSAGE and status/headers in DETAIL.
fn from_raise_pgrst(message: &str, detail: Option<&str>) -> ApiError {
    let parse_error = |details: String, hint: &str| {
        ApiError::new(
            500,
            "PGRST121",
            "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
        )
        .with_details(details)
        .with_hint(hint)
    };
    let message_hint = "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.";
    let detail_hint = "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'.";
    let body: Value = match serde_json::from_str(message) {
        Ok(v @ Value::Object(_))
            if v.get("code").is_some_and(Value::is_string)
                && v.get("message").is_some_and(Value::is_string) =>
        {
            v
        }
        _ => {
            return parse_error(
                format!("Invalid JSON value for MESSAGE: '{message}'"),
                message_hint,
            )
        }
    };
    let Some(detail) = detail else {
        return parse_error(
            "DETAIL is missing in the RAISE statement".into(),
            detail_hint,
        );
    };
    let meta: Value = match serde_json::from_str(detail) {
        Ok(v @ Value::Object(_))
            if v.get("status").is_some_and(Value::is_u64)
                && v.get("headers").is_some_and(Value::is_object) =>
        {
            v
        }
        _ => {
            return parse_error(
                format!("Invalid JSON value for DETAIL: '{detail}'"),
                detail_hint,
            )
        }
    };
    let status = meta["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(500);
    let mut error = ApiError::new(
        status,
        body["code"].as_str().unwrap_or_default(),
        body["message"].as_str().unwrap_or_default(),
    );
    error.details = body.get("details").filter(|v| !v.is_null()).cloned();
    error.hint = body.get("hint").filter(|v| !v.is_null()).cloned();
    if let Some(headers) = meta["headers"].as_object() {
        for (name, value) in headers {
            let value = value
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string());
            error.headers.push((name.clone(), value));
        }
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_table_matches_postgrest() {
        assert_eq!(status_for_sqlstate("23505", "", true), 409);
        assert_eq!(status_for_sqlstate("23503", "", true), 409);
        assert_eq!(status_for_sqlstate("23502", "", true), 400);
        assert_eq!(status_for_sqlstate("23514", "", true), 400);
        assert_eq!(status_for_sqlstate("22P02", "", true), 400);
        assert_eq!(status_for_sqlstate("42501", "", false), 401);
        assert_eq!(status_for_sqlstate("42501", "", true), 403);
        assert_eq!(status_for_sqlstate("P0001", "", true), 400);
        assert_eq!(status_for_sqlstate("P0002", "", true), 500);
        assert_eq!(status_for_sqlstate("PT402", "", true), 402);
        assert_eq!(status_for_sqlstate("57014", "", true), 500);
        assert_eq!(status_for_sqlstate("08006", "", true), 503);
        assert_eq!(
            status_for_sqlstate("22023", "role \"x\" does not exist", true),
            401
        );
        assert_eq!(status_for_sqlstate("42P01", "", true), 404);
        assert_eq!(status_for_sqlstate("42883", "", true), 404);
    }

    #[test]
    fn raise_pgrst_gives_full_control() {
        let e = from_raise_pgrst(
            r#"{"code":"123","message":"Payment Required","details":"Quota exceeded"}"#,
            Some(r#"{"status":402,"headers":{"X-Powered-By":"Nerd Rage"}}"#),
        );
        assert_eq!(e.status, 402);
        assert_eq!(e.code, "123");
        assert_eq!(
            e.headers,
            vec![("X-Powered-By".to_string(), "Nerd Rage".to_string())]
        );
        let bad = from_raise_pgrst("nope", None);
        assert_eq!(bad.code, "PGRST121");
    }
}
