//! Content negotiation: which body shape the client accepts and which it sends.

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `application/json`: an array of rows (or the function's natural JSON value).
    Json { strip_nulls: bool },
    /// `application/vnd.pgrst.object+json`: exactly one row as an object.
    SingularObject { strip_nulls: bool },
    /// `text/csv`: a header line of column names, then one line per row.
    Csv,
    /// `application/geo+json`: a GeoJSON FeatureCollection, one Feature per row, built by
    /// PostGIS' `ST_AsGeoJSON(record)` (so it needs PostGIS and a geometry column).
    GeoJson,
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    Json,
    /// `application/x-www-form-urlencoded`: `key=value` pairs, each value a string.
    Form,
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
            Media::Csv => "text/csv; charset=utf-8",
            Media::GeoJson => "application/geo+json; charset=utf-8",
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

/// `Accept: application/vnd.pgrst.plan[+json|+text]; for="..."; options=a|b`: the request's
/// execution plan instead of its result (PostgREST's `db-plan-enabled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    pub json: bool,
    /// The media type the planned statement produces, e.g. `application/json`.
    pub for_media: String,
    /// EXPLAIN options in PostgREST's order: analyze, verbose, settings, buffers, wal.
    pub options: Vec<&'static str>,
}

impl PlanRequest {
    pub fn content_type(&self) -> String {
        let format = if self.json { "json" } else { "text" };
        format!(
            "application/vnd.pgrst.plan+{format}; for=\"{}\"; charset=utf-8",
            self.for_media
        )
    }

    /// `explain (format ..., options) <sql>`.
    pub fn explain_sql(&self, sql: &str) -> String {
        let mut options = vec![if self.json {
            "format json"
        } else {
            "format text"
        }];
        options.extend(self.options.iter().copied());
        format!("explain ({}) {sql}", options.join(", "))
    }
}

/// The plan asked for, if the first media type in `Accept` is a plan.
pub fn plan_request(accept: Option<&str>) -> Result<Option<PlanRequest>, ApiError> {
    let Some(first) = accept.and_then(|a| a.split(',').next()) else {
        return Ok(None);
    };
    let mut parts = first.split(';').map(str::trim);
    let kind = parts.next().unwrap_or_default().to_ascii_lowercase();
    let json = match kind.as_str() {
        "application/vnd.pgrst.plan+json" => true,
        "application/vnd.pgrst.plan" | "application/vnd.pgrst.plan+text" => false,
        _ => return Ok(None),
    };
    let mut plan = PlanRequest {
        json,
        for_media: "application/json".to_string(),
        options: Vec::new(),
    };
    for parameter in parts {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match name.trim() {
            "for" => plan.for_media = value.to_ascii_lowercase(),
            "options" => {
                // postgrest-js sends `options=;` when it asks for none.
                let asked: Vec<&str> = value
                    .split('|')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .collect();
                for option in ["analyze", "verbose", "settings", "buffers", "wal"] {
                    if asked.contains(&option) {
                        plan.options.push(option);
                    }
                }
                if let Some(unknown) = asked
                    .iter()
                    .find(|o| !["analyze", "verbose", "settings", "buffers", "wal"].contains(o))
                {
                    return Err(ApiError::new(
                        406,
                        "PGRST107",
                        format!("None of these media types are available: {first}"),
                    )
                    .with_details(format!("unknown plan option '{unknown}'")));
                }
            }
            _ => {}
        }
    }
    Ok(Some(plan))
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
            "text/csv" => return Ok(Media::Csv),
            "application/geo+json" => return Ok(Media::GeoJson),
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

/// Request bodies are JSON or form-encoded; a missing Content-Type is taken as JSON.
pub fn body_encoding(content_type: Option<&str>) -> Result<BodyEncoding, ApiError> {
    let Some(ct) = content_type else {
        return Ok(BodyEncoding::Json);
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
        | "application/vnd.pgrst.object" => Ok(BodyEncoding::Json),
        "application/x-www-form-urlencoded" => Ok(BodyEncoding::Form),
        other => Err(ApiError::new(
            415,
            "PGRST107",
            format!("None of these media types are available: {other}"),
        )
        .with_details(
            "This gateway accepts JSON and application/x-www-form-urlencoded request bodies (no CSV or binary bodies)",
        )),
    }
}

/// A request body as JSON text: JSON as sent, a form as an object of string values (as
/// PostgREST reads `application/x-www-form-urlencoded`). An empty body is `empty`.
pub fn body_as_json(
    content_type: Option<&str>,
    body: &[u8],
    empty: &str,
) -> Result<(serde_json::Value, String), ApiError> {
    let invalid = || ApiError::invalid_body("Empty or invalid json");
    let text = match body_encoding(content_type)? {
        BodyEncoding::Json => std::str::from_utf8(body)
            .map_err(|_| invalid())?
            .to_string(),
        BodyEncoding::Form => {
            let object: serde_json::Map<String, serde_json::Value> = form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
                .collect();
            serde_json::Value::Object(object).to_string()
        }
    };
    let text = if text.trim().is_empty() {
        empty.to_string()
    } else {
        text
    };
    let value = serde_json::from_str(&text).map_err(|_| invalid())?;
    Ok((value, text))
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
        assert_eq!(negotiate(Some("text/csv")).unwrap(), Media::Csv);
        assert_eq!(
            negotiate(Some("text/xml, application/geo+json")).unwrap(),
            Media::GeoJson
        );
        assert_eq!(negotiate(Some("text/xml")).unwrap_err().status, 406);
        let (form, _) = body_as_json(
            Some("application/x-www-form-urlencoded"),
            b"name=a+b&qty=3",
            "{}",
        )
        .unwrap();
        assert_eq!(form, serde_json::json!({"name": "a b", "qty": "3"}));
        assert_eq!(body_encoding(Some("text/plain")).unwrap_err().status, 415);
        let plan = plan_request(Some(
            "application/vnd.pgrst.plan+text; for=\"text/csv\"; options=;",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            (plan.json, plan.for_media.as_str(), plan.options.len()),
            (false, "text/csv", 0)
        );
        let plan = plan_request(Some("application/vnd.pgrst.plan+json; options=wal|analyze"))
            .unwrap()
            .unwrap();
        assert_eq!(
            plan.explain_sql("select 1"),
            "explain (format json, analyze, wal) select 1"
        );
    }
}
