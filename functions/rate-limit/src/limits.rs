//! The rows of `system_rate_limits`, read through PostgREST as the narrow `rate_limiter` role
//! and kept per isolate for `RATE_LIMIT_CACHE_SECONDS`, so a guarded request costs no database
//! round trip for its limits. When the table cannot be read, the last rows read stay in use
//! (or, on a cold isolate, none: the defaults apply) and the read is retried after
//! [`RETRY_AFTER_FAILURE_MS`] rather than on every request.

use crate::policy::RateLimitRow;
use shared::auth::DatabaseRole;
use shared::http::RequestContext;
use std::cell::RefCell;
use std::rc::Rc;

/// How long a failed read keeps the previous rows before the table is asked again.
pub const RETRY_AFTER_FAILURE_MS: u64 = 5_000;

/// The rows and when they should be read again. Pure, so the timing rules are tested natively.
#[derive(Debug, Default)]
pub struct RowCache {
    rows: Rc<Vec<RateLimitRow>>,
    next_read_at_ms: Option<u64>,
}

impl RowCache {
    /// The cached rows while they are fresh; `None` when the table should be read now.
    pub fn fresh(&self, now_ms: u64) -> Option<Rc<Vec<RateLimitRow>>> {
        self.next_read_at_ms
            .filter(|due| now_ms < *due)
            .map(|_| self.rows.clone())
    }

    pub fn store(
        &mut self,
        rows: Vec<RateLimitRow>,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Rc<Vec<RateLimitRow>> {
        self.rows = Rc::new(rows);
        self.next_read_at_ms = Some(now_ms.saturating_add(ttl_ms));
        self.rows.clone()
    }

    /// Keeps the previous rows and waits a little before trying again.
    pub fn read_failed(&mut self, now_ms: u64, ttl_ms: u64) -> Rc<Vec<RateLimitRow>> {
        self.next_read_at_ms = Some(now_ms.saturating_add(ttl_ms.min(RETRY_AFTER_FAILURE_MS)));
        self.rows.clone()
    }
}

thread_local! {
    static CACHE: RefCell<RowCache> = RefCell::new(RowCache::default());
}

/// The current rows, from the cache or from PostgREST.
pub async fn current_rows(
    context: &RequestContext,
    ttl_ms: u64,
    now_ms: u64,
) -> Rc<Vec<RateLimitRow>> {
    if let Some(rows) = CACHE.with(|cache| cache.borrow().fresh(now_ms)) {
        return rows;
    }
    match read_table(context).await {
        Ok(rows) => CACHE.with(|cache| cache.borrow_mut().store(rows, now_ms, ttl_ms)),
        Err(problem) => {
            shared::logging::emit(
                &serde_json::json!({
                    "level": "warn",
                    "msg": "rate-limit: system_rate_limits unreadable; using the last rows read or the defaults",
                    "request_id": context.request_id(),
                    "problem": problem,
                })
                .to_string(),
            );
            CACHE.with(|cache| cache.borrow_mut().read_failed(now_ms, ttl_ms))
        }
    }
}

async fn read_table(context: &RequestContext) -> Result<Vec<RateLimitRow>, String> {
    let db = context
        .db_as_role(DatabaseRole::RateLimiter, "rate-limit")
        .await
        .map_err(|error| error.log_text())?;
    let query = db
        .from("system_rate_limits")
        .select("endpoint,plan,max_requests,window_seconds");
    shared::db::fetch_json(query)
        .await
        .map_err(|error| error.log_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(endpoint: &str) -> RateLimitRow {
        RateLimitRow {
            endpoint: endpoint.into(),
            plan: None,
            max_requests: 1,
            window_seconds: 1,
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn an_empty_cache_asks_for_a_read() {
        assert!(RowCache::default().fresh(0).is_none());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn rows_stay_fresh_for_the_ttl_and_no_longer() {
        let mut cache = RowCache::default();
        cache.store(vec![row("signup")], 1_000, 60_000);
        assert_eq!(cache.fresh(60_999).unwrap()[0].endpoint, "signup");
        assert!(cache.fresh(61_000).is_none());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_zero_ttl_reads_every_time() {
        let mut cache = RowCache::default();
        cache.store(vec![row("signup")], 1_000, 0);
        assert!(cache.fresh(1_000).is_none());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_failed_read_keeps_the_old_rows_and_backs_off() {
        let mut cache = RowCache::default();
        cache.store(vec![row("signup")], 0, 60_000);
        let kept = cache.read_failed(60_000, 60_000);
        assert_eq!(kept[0].endpoint, "signup");
        assert!(cache.fresh(60_000 + RETRY_AFTER_FAILURE_MS - 1).is_some());
        assert!(cache.fresh(60_000 + RETRY_AFTER_FAILURE_MS).is_none());
    }
}
