//! Content negotiation: which body shape the client accepts and which it sends.

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `application/json`: an array of rows (or the function's natural JSON value).
    Json { strip_nulls: bool },
    /// `application/vnd.pgrst.object+json`: exactly one row as an object.
    SingularObject { strip_nulls: bool },
}

impl Media {
    pub fn content_type(self) -> &'static str {
        match self {
            Media::Json { strip_nulls: false } => "application/json; charset=utf-8",
            Media::Json { strip_nulls: true } => {
                "application/vnd.pgrst.array+json; nulls=stripped; charset=utf-8"
            }
            Media::SingularObject { strip_nulls: false } => {
                "application/vnd.pgrst.object+json; charset=utf-8"
            }
            Media::SingularObject { strip_nulls: true } => {
                "application/vnd.pgrst.object+json; nulls=stripped; charset=utf-8"
            }
        }
    }
    pub fn is_singular(self) -> bool {
        matches!(self, Media::SingularObject { .. })
    }
    pub fn strips_nulls(self) -> bool {
        matches!(
            self,
            Media::Json { strip_nulls: true } | Media::SingularObject { strip_nulls: true }
        )
    }
}

/// Picks the first acceptable media type listed in `Accept` (none listed means JSON).
pub fn negotiate(accept: Option<&str>) -> Result<Media, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Media::Json { strip_nulls: false });
    };
    let mut offered = Vec::new();
    for entry in accept.split(',') {
        let mut params = entry.split(';').map(str::trim);
        let kind = params.next().unwrap_or_default().to_ascii_lowercase();
        let rest: Vec<&str> = params.collect();
        if rest.iter().any(|p| p.replace(' ', "") == "q=0") {
            continue;
        }
        let strip_nulls = rest.iter().any(|p| p.replace(' ', "") == "nulls=stripped");
        match kind.as_str() {
            "application/json" | "application/*" | "*/*" => {
                return Ok(Media::Json { strip_nulls: false })
            }
            "application/vnd.pgrst.array+json" | "application/vnd.pgrst.array" => {
                return Ok(Media::Json { strip_nulls })
            }
            "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" => {
                return Ok(Media::SingularObject { strip_nulls })
            }
            _ => offered.push(kind),
        }
    }
    Err(ApiError::new(
        406,
        "PGRST107",
        format!(
            "None of these media types are available: {}",
            offered.join(", ")
        ),
    ))
}

/// Request bodies are JSON; a missing Content-Type is taken as JSON too.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let Some(ct) = content_type else {
        return Ok(());
    };
    let kind = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match kind.as_str() {
        ""
        | "application/json"
        | "application/vnd.pgrst.object+json"
        | "application/vnd.pgrst.object" => Ok(()),
        other => Err(ApiError::new(
            415,
            "PGRST107",
            format!("None of these media types are available: {other}"),
        )
        .with_details(
            "This gateway accepts JSON request bodies only (no CSV, form or binary bodies)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_json_and_singular() {
        assert_eq!(negotiate(None).unwrap(), Media::Json { strip_nulls: false });
        assert!(negotiate(Some("application/vnd.pgrst.object+json"))
            .unwrap()
            .is_singular());
        assert!(negotiate(Some("text/html, */*")).is_ok());
        assert_eq!(negotiate(Some("text/csv")).unwrap_err().status, 406);
    }
}
