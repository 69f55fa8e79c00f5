//! The top-level row window from `Range`, `limit`/`offset` and `db-max-rows` combined.

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowWindow {
    pub offset: i64,
    pub limit: Option<i64>,
}

fn range_error(details: &str) -> ApiError {
    ApiError::new(416, "PGRST103", "Requested range not satisfiable").with_details(details)
}

/// `Range: 0-9` (an optional `items=` prefix is accepted).
pub fn parse_range_header(value: &str) -> Result<RowWindow, ApiError> {
    let spec = value.trim().strip_prefix("items=").unwrap_or(value.trim());
    let (lower, upper) = spec
        .split_once('-')
        .ok_or_else(|| range_error("The Range header must look like 0-9"))?;
    let lower: i64 = lower
        .trim()
        .parse()
        .map_err(|_| range_error("The Range header must look like 0-9"))?;
    if upper.trim().is_empty() {
        return Ok(RowWindow {
            offset: lower,
            limit: None,
        });
    }
    let upper: i64 = upper
        .trim()
        .parse()
        .map_err(|_| range_error("The Range header must look like 0-9"))?;
    if lower > upper {
        return Err(range_error("The lower boundary must be lower than or equal to the upper boundary in the Range header."));
    }
    Ok(RowWindow {
        offset: lower,
        limit: Some(upper.saturating_sub(lower).saturating_add(1)),
    })
}

/// Intersects the header window with `limit`/`offset` and caps it at `max_rows`.
pub fn combine(
    header: Option<RowWindow>,
    limit: Option<i64>,
    offset: Option<i64>,
    max_rows: Option<u64>,
) -> Result<RowWindow, ApiError> {
    if limit.is_some_and(|l| l < 0) {
        return Err(range_error(
            "Limit should be greater than or equal to zero.",
        ));
    }
    if offset.is_some_and(|o| o < 0) {
        return Err(ApiError::query_param(
            "\"failed to parse offset parameter\"",
            "Offset must be a non-negative integer",
        ));
    }
    let base = header.unwrap_or(RowWindow {
        offset: 0,
        limit: None,
    });
    let offset_param = offset.unwrap_or(0);
    let start = base.offset.max(offset_param);
    let header_end = base.limit.map(|l| base.offset.saturating_add(l));
    let param_end = limit.map(|l| offset_param.saturating_add(l));
    let end = match (header_end, param_end) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut limit = end.map(|e| e.saturating_sub(start).max(0));
    if let Some(max) = max_rows {
        let max = max as i64;
        limit = Some(limit.map_or(max, |l| l.min(max)));
    }
    Ok(RowWindow {
        offset: start,
        limit,
    })
}

/// PostgREST's status and `Content-Range` for a read: 206 when a count shows rows are missing,
/// 416 when the offset is past the total.
pub fn status_and_content_range(offset: i64, page_total: i64, total: Option<i64>) -> (u16, String) {
    let upper = offset.saturating_add(page_total).saturating_sub(1);
    let range = if total != Some(0) && offset <= upper {
        format!("{offset}-{upper}")
    } else {
        "*".to_string()
    };
    let total_text = total.map_or("*".to_string(), |t| t.to_string());
    let status = match total {
        None => 200,
        Some(t) if offset > t => 416,
        Some(t) if page_total < t => 206,
        Some(_) => 200,
    };
    (status, format!("{range}/{total_text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_combine_like_postgrest() {
        let h = parse_range_header("0-9").unwrap();
        assert_eq!(
            h,
            RowWindow {
                offset: 0,
                limit: Some(10)
            }
        );
        assert_eq!(
            combine(Some(h), Some(5), None, None).unwrap(),
            RowWindow {
                offset: 0,
                limit: Some(5)
            }
        );
        assert_eq!(
            combine(None, Some(5), Some(10), Some(3)).unwrap(),
            RowWindow {
                offset: 10,
                limit: Some(3)
            }
        );
        assert!(parse_range_header("9-0").is_err());
        assert!(combine(None, Some(-1), None, None).is_err());
        assert_eq!(
            combine(None, Some(i64::MAX), Some(i64::MAX), None)
                .unwrap()
                .offset,
            i64::MAX
        );
        assert_eq!(status_and_content_range(i64::MAX, 0, None).0, 200);
    }

    #[test]
    fn content_range_and_status() {
        assert_eq!(
            status_and_content_range(0, 10, Some(100)),
            (206, "0-9/100".to_string())
        );
        assert_eq!(
            status_and_content_range(0, 3, None),
            (200, "0-2/*".to_string())
        );
        assert_eq!(
            status_and_content_range(0, 0, Some(0)),
            (200, "*/0".to_string())
        );
        assert_eq!(status_and_content_range(200, 0, Some(100)).0, 416);
    }
}
