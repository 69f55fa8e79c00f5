//! The HTTP answer as plain data, plus the response-header and status overrides that SQL can
//! set through `response.headers` and `response.status`.

use crate::error::ApiError;

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn from_error(error: &ApiError) -> Reply {
        let mut reply = Reply::new(error.status)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("Proxy-Status", format!("PostgREST; error={}", error.code));
        reply.headers.extend(error.headers.iter().cloned());
        reply.body = error.body();
        reply
    }

    /// Applies `response.status` and `response.headers` set by SQL; SQL headers win.
    pub fn apply_gucs(
        mut self,
        headers: Option<&str>,
        status: Option<&str>,
    ) -> Result<Reply, ApiError> {
        if let Some(status) = status {
            self.status = status
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| {
                    ApiError::new(
                        500,
                        "PGRST112",
                        "response.status guc must be a valid status code",
                    )
                })?;
        }
        if let Some(headers) = headers {
            let invalid = || {
                ApiError::new(500, "PGRST111", "response.headers guc must be a JSON array composed of objects with a single key and a string value")
            };
            let parsed: serde_json::Value = serde_json::from_str(headers).map_err(|_| invalid())?;
            let list = parsed.as_array().ok_or_else(invalid)?;
            let mut extra = Vec::new();
            for item in list {
                let object = item
                    .as_object()
                    .filter(|o| o.len() == 1)
                    .ok_or_else(invalid)?;
                for (name, value) in object {
                    extra.push((
                        name.clone(),
                        value.as_str().ok_or_else(invalid)?.to_string(),
                    ));
                }
            }
            self.headers
                .retain(|(name, _)| !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)));
            self.headers.extend(extra);
        }
        Ok(self)
    }
}
