//! The local gateway's request grammar (`tools/gateway/src/request`): the query string
//! (`select`, filters, logic trees, `order`, `limit`/`offset`, `columns`, `on_conflict`) and
//! the headers and body it reads (`Prefer`, `Range`, `Accept`, `Content-Type`).

use gateway::error::ApiError;
use gateway::request::media::{self, Media};
use gateway::request::prefer::{Applied, Preferences};
use gateway::request::range;
use gateway::request::{query_pairs, QueryParams};

use crate::input;

/// The `db-max-rows` the row window is capped at.
const MAX_ROWS: Option<u64> = Some(1_000);

/// A raw query string, decoded into pairs by the gateway's own `query_pairs` and parsed.
pub fn query(data: &[u8]) {
    let pairs = query_pairs(&String::from_utf8_lossy(data));
    match QueryParams::parse(&pairs) {
        Ok(query) => {
            query.uses_aggregates();
            let top = Vec::new();
            let (limit, offset) = (query.limits.get(&top), query.offsets.get(&top));
            if let Ok(window) = range::combine(None, limit.copied(), offset.copied(), MAX_ROWS) {
                assert_window(window.offset, window.limit);
            }
        }
        Err(refused) => assert_client_error(&refused),
    }
}

/// Four header lines, `Prefer`, `Range`, `Accept` and `Content-Type` (an empty line is an
/// absent header), then the request body.
pub fn headers(data: &[u8]) {
    let ([prefer, range_header, accept, content_type], body) = input::lines::<4>(data);
    let [prefer, range_header, accept, content_type] = [prefer, range_header, accept, content_type]
        .map(|line| input::header(line).filter(|value| !value.is_empty()));
    match Preferences::parse(prefer.iter().map(String::as_str)) {
        Ok(preferences) => assert_echoed(&preferences),
        Err(refused) => assert_client_error(&refused),
    }
    // An unparsable `Range` is ignored, as PostgREST ignores it.
    let window = range_header.as_deref().and_then(range::parse_range_header);
    match range::combine(window, None, None, MAX_ROWS) {
        Ok(window) => assert_window(window.offset, window.limit),
        Err(refused) => assert_client_error(&refused),
    }
    match media::plan_request(accept.as_deref()) {
        Ok(Some(plan)) => {
            let explain = plan.explain_sql("select 1");
            assert!(explain.starts_with("explain (format ") && explain.ends_with(") select 1"));
            assert!(plan
                .content_type()
                .starts_with("application/vnd.pgrst.plan+"));
        }
        Ok(None) => {}
        Err(refused) => assert_client_error(&refused),
    }
    match media::negotiate(accept.as_deref()) {
        Ok(media) => assert_eq!(
            media == Media::Csv,
            media.content_type().starts_with("text/csv")
        ),
        Err(refused) => assert_client_error(&refused),
    }
    match media::body_as_json(content_type.as_deref(), body.unwrap_or_default(), "{}") {
        Ok((value, text)) => assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).ok(),
            Some(value)
        ),
        Err(refused) => assert_client_error(&refused),
    }
}

/// `Preference-Applied`, made of what was understood, reads back as the same preferences.
fn assert_echoed(preferences: &Preferences) {
    let applied = Applied {
        resolution: preferences.resolution,
        return_pref: preferences.return_pref,
        count: preferences.count,
        tx: preferences.tx,
        missing_default: preferences.missing_default,
        strict: preferences.strict,
        timezone: preferences.timezone.clone(),
        max_affected: preferences.max_affected,
    };
    let Some(header) = applied.header_value() else {
        return;
    };
    let echoed =
        Preferences::parse([header.as_str()].into_iter()).expect("Preference-Applied parses");
    assert!(
        echoed.invalid.is_empty(),
        "{header:?}: {:?}",
        echoed.invalid
    );
    assert_eq!(
        (
            echoed.resolution,
            echoed.return_pref,
            echoed.count,
            echoed.tx
        ),
        (
            preferences.resolution,
            preferences.return_pref,
            preferences.count,
            preferences.tx
        )
    );
    assert_eq!(
        (
            echoed.missing_default,
            echoed.strict,
            &echoed.timezone,
            echoed.max_affected
        ),
        (
            preferences.missing_default,
            preferences.strict,
            &preferences.timezone,
            preferences.max_affected
        )
    );
}

/// A window the SQL can use: a non-negative offset and a limit within `db-max-rows`.
fn assert_window(offset: i64, limit: Option<i64>) {
    assert!(offset >= 0, "negative offset {offset}");
    let limit = limit.expect("db-max-rows always sets a limit");
    assert!((0..=1_000).contains(&limit), "limit {limit}");
}

/// A request the gateway cannot parse is the client's fault: a 4xx with PostgREST's body.
fn assert_client_error(refused: &ApiError) {
    assert!((400..500).contains(&refused.status), "{refused:?}");
    serde_json::from_str::<serde_json::Value>(&refused.body()).expect("the error body is JSON");
}
