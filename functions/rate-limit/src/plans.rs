//! A user's plan when their token names none: `rate_limit_plan(user_id)` (migration 0017),
//! called through PostgREST as the narrow `rate_limiter` role, which may learn one user's plan
//! name and nothing else about them.
//!
//! Answers are kept per isolate for `RATE_LIMIT_CACHE_SECONDS`, like the limits themselves, so
//! a user's requests cost one lookup per isolate and period rather than one per request; an
//! upgrade therefore applies within that period. A user without a plan row is cached as having
//! none. When the lookup fails, the user's last known plan stays in use (on a cold isolate:
//! none, so the default plan's limits apply) and the lookup is retried after
//! [`limits::RETRY_AFTER_FAILURE_MS`] rather than on every request. The cache holds at most
//! [`MAX_CACHED_USERS`]; when it is full, expired answers are dropped, and if none are, all
//! are: a burst of new users costs lookups, never unbounded memory.

use crate::key::is_plan_name;
use crate::limits;
use serde_json::json;
use shared::auth::DatabaseRole;
use shared::db::is_uuid;
use shared::http::RequestContext;
use std::cell::RefCell;
use std::collections::HashMap;

/// At about 100 bytes an entry, a few MB at most per isolate.
pub const MAX_CACHED_USERS: usize = 10_000;

#[derive(Debug, Clone)]
struct Entry {
    plan: Option<String>,
    next_read_at_ms: u64,
}

/// Users' plans and when to ask again. Pure, so the timing and eviction rules are tested
/// natively.
#[derive(Debug, Default)]
pub struct PlanCache {
    entries: HashMap<String, Entry>,
}

impl PlanCache {
    /// `Some(plan)` while the answer for `user_id` is fresh (`plan` is `None` for a user with no
    /// plan); `None` when it should be looked up now.
    pub fn fresh(&self, user_id: &str, now_ms: u64) -> Option<Option<String>> {
        self.entries
            .get(user_id)
            .filter(|entry| now_ms < entry.next_read_at_ms)
            .map(|entry| entry.plan.clone())
    }

    pub fn store(
        &mut self,
        user_id: &str,
        plan: Option<String>,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Option<String> {
        self.insert(
            user_id,
            Entry {
                plan: plan.clone(),
                next_read_at_ms: now_ms.saturating_add(ttl_ms),
            },
            now_ms,
        );
        plan
    }

    /// Keeps the last known plan and waits a little before asking again.
    pub fn read_failed(&mut self, user_id: &str, now_ms: u64, ttl_ms: u64) -> Option<String> {
        let plan = self
            .entries
            .get(user_id)
            .and_then(|entry| entry.plan.clone());
        let retry_at = now_ms.saturating_add(ttl_ms.min(limits::RETRY_AFTER_FAILURE_MS));
        self.insert(
            user_id,
            Entry {
                plan: plan.clone(),
                next_read_at_ms: retry_at,
            },
            now_ms,
        );
        plan
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, user_id: &str, entry: Entry, now_ms: u64) {
        if self.entries.len() >= MAX_CACHED_USERS && !self.entries.contains_key(user_id) {
            self.entries.retain(|_, kept| now_ms < kept.next_read_at_ms);
            if self.entries.len() >= MAX_CACHED_USERS {
                self.entries.clear();
            }
        }
        self.entries.insert(user_id.to_string(), entry);
    }
}

thread_local! {
    static CACHE: RefCell<PlanCache> = RefCell::new(PlanCache::default());
}

/// The plan of `user_id` (a verified token's `sub`) from `user_plans`, from the cache or from
/// PostgREST; `None` when the user has none, or none that is a usable plan name.
pub async fn user_plan(
    context: &RequestContext,
    user_id: &str,
    ttl_ms: u64,
    now_ms: u64,
) -> Option<String> {
    if let Some(plan) = CACHE.with(|cache| cache.borrow().fresh(user_id, now_ms)) {
        return plan;
    }
    if !is_uuid(user_id) {
        // user_plans is keyed by uuid: any other subject has no row, and asking would be a 400.
        return CACHE.with(|cache| cache.borrow_mut().store(user_id, None, now_ms, ttl_ms));
    }
    match look_up(context, user_id).await {
        Ok(plan) => {
            let usable = plan.filter(|plan| is_plan_name(plan));
            CACHE.with(|cache| cache.borrow_mut().store(user_id, usable, now_ms, ttl_ms))
        }
        Err(problem) => {
            shared::logging::emit(
                &json!({
                    "level": "warn",
                    "msg": "rate-limit: rate_limit_plan failed; using the user's last known plan or the default",
                    "request_id": context.request_id(),
                    "problem": problem,
                })
                .to_string(),
            );
            CACHE.with(|cache| cache.borrow_mut().read_failed(user_id, now_ms, ttl_ms))
        }
    }
}

async fn look_up(context: &RequestContext, user_id: &str) -> Result<Option<String>, String> {
    let db = context
        .db_as_role(DatabaseRole::RateLimiter, "rate-limit")
        .await
        .map_err(|error| error.log_text())?;
    shared::db::fetch_json(db.rpc("rate_limit_plan", &json!({ "user_id": user_id })))
        .await
        .map_err(|error| error.log_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";
    const BOB: &str = "b0b00000-0000-4000-8000-000000000002";

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_user_never_asked_about_must_be_looked_up() {
        assert_eq!(PlanCache::default().fresh(ALICE, 0), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn answers_stay_fresh_for_the_ttl_per_user_and_no_longer() {
        let mut cache = PlanCache::default();
        cache.store(ALICE, Some("pro".into()), 1_000, 60_000);
        cache.store(BOB, None, 1_000, 60_000);
        assert_eq!(cache.fresh(ALICE, 60_999), Some(Some("pro".into())));
        assert_eq!(
            cache.fresh(BOB, 60_999),
            Some(None),
            "having no plan is an answer too"
        );
        assert_eq!(cache.fresh(ALICE, 61_000), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_zero_ttl_looks_up_every_time() {
        let mut cache = PlanCache::default();
        cache.store(ALICE, Some("pro".into()), 1_000, 0);
        assert_eq!(cache.fresh(ALICE, 1_000), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_failed_lookup_keeps_the_last_known_plan_and_backs_off() {
        let mut cache = PlanCache::default();
        cache.store(ALICE, Some("pro".into()), 0, 60_000);
        assert_eq!(cache.read_failed(ALICE, 60_000, 60_000), Some("pro".into()));
        assert_eq!(
            cache.fresh(ALICE, 60_000 + limits::RETRY_AFTER_FAILURE_MS - 1),
            Some(Some("pro".into()))
        );
        assert_eq!(
            cache.fresh(ALICE, 60_000 + limits::RETRY_AFTER_FAILURE_MS),
            None
        );
        assert_eq!(
            cache.read_failed(BOB, 0, 60_000),
            None,
            "on a cold isolate a failure means no plan"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_full_cache_drops_expired_answers_first_then_everything() {
        let mut cache = PlanCache::default();
        for index in 0..MAX_CACHED_USERS {
            let ttl = if index % 2 == 0 { 10 } else { 60_000 };
            cache.store(&format!("user-{index}"), None, 0, ttl);
        }
        assert_eq!(cache.len(), MAX_CACHED_USERS);
        cache.store(ALICE, Some("pro".into()), 100, 60_000);
        assert_eq!(
            cache.len(),
            MAX_CACHED_USERS / 2 + 1,
            "only the expired half made room"
        );
        assert_eq!(
            cache.fresh("user-1", 100),
            Some(None),
            "live answers survive"
        );

        for index in 0..MAX_CACHED_USERS {
            cache.store(&format!("other-{index}"), None, 100, 60_000);
        }
        assert!(cache.len() <= MAX_CACHED_USERS, "never more than the bound");
        cache.store(ALICE, Some("team".into()), 100, 60_000);
        assert!(
            cache.len() <= MAX_CACHED_USERS,
            "updating a cached user never evicts"
        );
    }
}
