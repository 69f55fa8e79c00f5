//! When to fetch the JWKS: a pure state machine (time passed in) plus the small fetch trait the
//! edge layer implements with `worker::Fetch`.
//!
//! Keys are reused for `ttl_seconds`. A token naming an unknown `kid` (a key rotated in since the
//! last fetch) triggers a refetch, but at most once per `min_refetch_interval_seconds`, so an
//! attacker sending made-up `kid`s cannot turn every request into a request to the JWKS URL. A
//! failed fetch is likewise not retried within that interval. An expired set is not used after
//! a failed refetch: a key removed from the JWKS may have been removed because it leaked.

use std::future::Future;
use std::rc::Rc;

use super::Jwks;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksCachePolicy {
    pub ttl_seconds: u64,
    pub min_refetch_interval_seconds: u64,
}

impl Default for JwksCachePolicy {
    fn default() -> Self {
        JwksCachePolicy {
            ttl_seconds: 600,
            min_refetch_interval_seconds: 30,
        }
    }
}

/// One per isolate (keep it in a `thread_local!` `Rc<RefCell<JwksCache>>`): Workers run one
/// thread per isolate, and requests interleave only at `.await`s, which never happen while the
/// cache is borrowed.
pub struct JwksCache {
    policy: JwksCachePolicy,
    keys: Option<Rc<Jwks>>,
    fetched_at: u64,
    last_attempt_at: Option<u64>,
    last_failure: Option<(u64, String)>,
}

impl JwksCache {
    pub fn new(policy: JwksCachePolicy) -> JwksCache {
        JwksCache {
            policy,
            keys: None,
            fetched_at: 0,
            last_attempt_at: None,
            last_failure: None,
        }
    }

    pub fn policy(&self) -> JwksCachePolicy {
        self.policy
    }

    /// The cached set, if one was fetched less than `ttl_seconds` ago.
    pub fn fresh_keys(&self, now_seconds: u64) -> Option<Rc<Jwks>> {
        let expires_at = self.fetched_at.saturating_add(self.policy.ttl_seconds);
        self.keys
            .as_ref()
            .filter(|_| now_seconds < expires_at)
            .cloned()
    }

    /// Whether an empty or expired cache may be filled now: not within the interval after a
    /// failed attempt.
    pub fn may_fetch(&self, now_seconds: u64) -> bool {
        self.last_failure
            .as_ref()
            .is_none_or(|(failed_at, _)| self.interval_passed(*failed_at, now_seconds))
    }

    /// Whether a token with an unknown `kid` may trigger a refetch now: not within the interval
    /// after any attempt.
    pub fn may_refetch_for_unknown_key(&self, now_seconds: u64) -> bool {
        self.last_attempt_at
            .is_none_or(|attempted_at| self.interval_passed(attempted_at, now_seconds))
    }

    /// Call before awaiting the fetch, so requests interleaved with it see the attempt.
    pub fn record_attempt(&mut self, now_seconds: u64) {
        self.last_attempt_at = Some(now_seconds);
    }

    pub fn record_success(&mut self, jwks: Jwks, now_seconds: u64) -> Rc<Jwks> {
        let keys = Rc::new(jwks);
        self.keys = Some(Rc::clone(&keys));
        self.fetched_at = now_seconds;
        self.last_failure = None;
        keys
    }

    pub fn record_failure(&mut self, reason: String, now_seconds: u64) {
        self.last_failure = Some((now_seconds, reason));
    }

    /// Why the latest fetch failed, if it did (for logs and the health report).
    pub fn last_failure(&self) -> Option<&str> {
        self.last_failure
            .as_ref()
            .map(|(_, reason)| reason.as_str())
    }

    fn interval_passed(&self, since: u64, now_seconds: u64) -> bool {
        now_seconds >= since.saturating_add(self.policy.min_refetch_interval_seconds)
    }
}

/// Fetches the JWKS document. Returns the body of a 2xx response, or a short log-safe reason
/// (status, network error) for anything else. No `Send` bound: Workers futures are not `Send`.
pub trait JwksFetcher {
    fn fetch_jwks(&self) -> impl Future<Output = Result<String, String>>;
}

impl<F, Fut> JwksFetcher for F
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<String, String>>,
{
    fn fetch_jwks(&self) -> impl Future<Output = Result<String, String>> {
        self()
    }
}
