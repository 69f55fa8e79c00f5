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

/// Rows `lower..=upper` (no `upper`: to the end), as PostgREST's `Data.Ranged` ranges of
/// unbounded integers (hence `i128`): an intersection is not normalised, so `0..=-1`
/// (`limit=0`) stays recognisable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rows {
    lower: i128,
    upper: Option<i128>,
}

impl Rows {
    const ALL: Rows = Rows {
        lower: 0,
        upper: None,
    };

    fn is_empty(self) -> bool {
        self.upper.is_some_and(|u| u < self.lower)
    }

    fn intersect(self, other: Rows) -> Rows {
        Rows {
            lower: self.lower.max(other.lower),
            upper: match (self.upper, other.upper) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }

    /// PostgREST's `restrictRange`: at most `limit` rows from `lower`.
    fn restrict(self, limit: i128) -> Rows {
        self.intersect(Rows {
            lower: i128::MIN,
            upper: Some(self.lower + limit - 1),
        })
    }
}

/// The `Range` request header, `first-last` or `first-` (PostgREST's `^([0-9]+)-([0-9]*)$`);
/// anything else is ignored, as PostgREST ignores it.
pub fn parse_range_header(value: &str) -> Option<(i64, Option<i64>)> {
    let (lower, upper) = value.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(lower) || !(upper.is_empty() || digits(upper)) {
        return None;
    }
    let lower = lower.parse().ok()?;
    let upper = if upper.is_empty() {
        None
    } else {
        Some(upper.parse().ok()?)
    };
    Some((lower, upper))
}

/// A `limit`/`offset` value: an integer, or ignored (PostgREST's `readMaybe`).
pub fn parse_count(value: &str) -> Option<i64> {
    let value = value.trim();
    if value.starts_with('+') {
        return None;
    }
    value.parse().ok()
}

/// The top-level row window, as PostgREST's `getRanges` computes it: the `Range` header (GET
/// only; the caller passes `None` otherwise) intersected with what `limit`/`offset` describe
/// (so a negative `offset` alone reads from the start), an empty result refused with 416 unless
/// it is `limit=0`, then capped at `max_rows`.
pub fn combine(
    header: Option<(i64, Option<i64>)>,
    limit: Option<i64>,
    offset: Option<i64>,
    max_rows: Option<u64>,
) -> Result<RowWindow, ApiError> {
    let header = header.map_or(Rows::ALL, |(lower, upper)| Rows {
        lower: lower.into(),
        upper: upper.map(i128::from),
    });
    let from_limit = limit.map(|l| Rows::ALL.restrict(l.into()));
    let requested = match (from_limit, offset.map(i128::from)) {
        (None, None) => Rows::ALL,
        (Some(rows), None) => rows,
        (None, Some(o)) => Rows {
            lower: o,
            upper: None,
        },
        (Some(rows), Some(o)) => {
            let count = rows.upper.map_or(0, |u| u + 1 - rows.lower);
            Rows {
                lower: o,
                upper: Some(o + count - 1),
            }
        }
    };
    let limit_zero = requested.upper == Some(-1);
    let mut rows = if limit_zero {
        requested
    } else {
        header.intersect(requested)
    };
    if rows.is_empty() && !limit_zero {
        return Err(range_error(if header.is_empty() {
            "The lower boundary must be lower than or equal to the upper boundary in the Range header."
        } else {
            "Limit should be greater than or equal to zero."
        }));
    }
    if let (Some(max), false) = (max_rows, limit_zero) {
        rows = rows.restrict(max.into());
    }
    let clamp = |n: i128| i64::try_from(n.max(0)).unwrap_or(i64::MAX);
    Ok(RowWindow {
        offset: clamp(rows.lower),
        limit: rows.upper.map(|u| clamp(u + 1 - rows.lower)),
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

    fn window(offset: i64, limit: Option<i64>) -> RowWindow {
        RowWindow { offset, limit }
    }

    #[test]
    fn windows_combine_like_postgrest() {
        let header = parse_range_header("0-9");
        assert_eq!(header, Some((0, Some(9))));
        assert_eq!(
            combine(header, Some(5), None, None).unwrap(),
            window(0, Some(5))
        );
        // An intersection, not an override: `limit=2` with `Range: 0-5` is two rows.
        assert_eq!(
            combine(parse_range_header("0-5"), Some(2), None, None).unwrap(),
            window(0, Some(2))
        );
        assert_eq!(
            combine(None, Some(5), Some(10), Some(3)).unwrap(),
            window(10, Some(3))
        );
        assert_eq!(
            combine(None, Some(0), None, None).unwrap(),
            window(0, Some(0))
        );
        // A negative offset alone reads from the start; negative limits are refused.
        assert_eq!(
            combine(None, None, Some(-4), None).unwrap(),
            window(0, None)
        );
        assert_eq!(combine(None, Some(-1), None, None).unwrap_err().status, 416);
        assert_eq!(
            combine(parse_range_header("9-0"), None, None, None)
                .unwrap_err()
                .details,
            Some(serde_json::json!(
                "The lower boundary must be lower than or equal to the upper boundary in the Range header."
            ))
        );
        assert_eq!(parse_range_header("items=0-9"), None);
        assert_eq!(parse_range_header("a-b"), None);
        assert_eq!(parse_range_header("3-"), Some((3, None)));
        assert_eq!((parse_count("x"), parse_count(" 7 ")), (None, Some(7)));
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
