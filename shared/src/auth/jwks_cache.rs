//! When to fetch the JWKS, and what to use while a fetch fails: a state machine (time passed in),
//! one fetch shared by every request that needs it, and the small fetch trait the edge layer
//! implements with `worker::Fetch` (with its timeout and body-size cap).
//!
//! - Keys are fresh for `ttl_seconds`; after that the next request refreshes them.
//! - A token naming an unknown `kid` (a key rotated in since the last fetch) triggers a refetch,
//!   but at most once per `min_refetch_interval_seconds`, so an attacker sending made-up `kid`s
//!   cannot turn every request into a request to the JWKS URL. A failed fetch is likewise not
//!   retried within that interval.
//! - One fetch at a time per isolate: a request that needs keys while a fetch is under way waits
//!   for that fetch instead of starting another. It waits by looking again after short pauses of
//!   its own ([`JwksFetcher::pause`]), never by being woken by the fetching request: on Workers a
//!   request waiting only on another request's promise looks hung and is cancelled, and code
//!   woken from another request would run in that request's context. Should the request driving
//!   the fetch go away, or the fetch outlast [`MAX_PAUSES_FOR_A_FETCH`] pauses, the next waiter
//!   takes over.
//! - When a refresh fails, the last good set stays usable for `max_stale_seconds` past its
//!   freshness, so a slow or dead key endpoint does not turn every request into a 503 while
//!   the cached keys are still good; requests with known keys do not even wait for a refresh
//!   someone else is running. After that bound the set is dropped: a key removed from the JWKS
//!   may have been removed because it leaked.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::task::Poll;

use super::Jwks;

/// How many pauses a request waits for someone else's fetch before it fetches itself. With the
/// Worker's 10 ms pause (`shared::http`), 4 s: twice the fetch timeout.
pub const MAX_PAUSES_FOR_A_FETCH: u32 = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksCachePolicy {
    pub ttl_seconds: u64,
    pub min_refetch_interval_seconds: u64,
    /// How long past `ttl_seconds` the last good set is used while refreshes fail.
    pub max_stale_seconds: u64,
}

impl Default for JwksCachePolicy {
    fn default() -> Self {
        JwksCachePolicy {
            ttl_seconds: 600,
            min_refetch_interval_seconds: 30,
            max_stale_seconds: 1800,
        }
    }
}

/// One per isolate (the edge layer keeps it in a `thread_local!`): Workers run one thread per
/// isolate, and requests interleave only at `.await`s, which never happen while the cache is
/// borrowed.
pub struct JwksCache {
    policy: JwksCachePolicy,
    keys: Option<Rc<Jwks>>,
    fetched_at: u64,
    last_attempt_at: Option<u64>,
    last_failure: Option<(u64, String)>,
    in_flight: Option<Rc<Flight>>,
    fetches: u64,
    /// Which fetch (by `fetches` count) the cached set came from.
    keys_from_fetch: u64,
}

/// What the health report shows about the cache; no fetch is made to produce it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksCacheStatus {
    /// `kid`s of the cached set (empty when nothing usable is cached).
    pub key_ids: Vec<String>,
    /// Seconds since the cached set was fetched.
    pub age_seconds: Option<u64>,
    /// Whether the set is past its freshness but still used because refreshes fail.
    pub stale: bool,
    pub fetches: u64,
    pub last_failure: Option<String>,
}

impl JwksCache {
    pub fn new(policy: JwksCachePolicy) -> JwksCache {
        JwksCache {
            policy,
            keys: None,
            fetched_at: 0,
            last_attempt_at: None,
            last_failure: None,
            in_flight: None,
            fetches: 0,
            keys_from_fetch: 0,
        }
    }

    pub fn policy(&self) -> JwksCachePolicy {
        self.policy
    }

    /// The cached set, if fetched less than `ttl_seconds` ago.
    pub fn fresh_keys(&self, now_seconds: u64) -> Option<Rc<Jwks>> {
        self.keys_younger_than(self.policy.ttl_seconds, now_seconds)
    }

    /// The cached set while it may still be used: fresh, or stale by at most
    /// `max_stale_seconds`.
    pub fn usable_keys(&self, now_seconds: u64) -> Option<Rc<Jwks>> {
        let limit = self
            .policy
            .ttl_seconds
            .saturating_add(self.policy.max_stale_seconds);
        self.keys_younger_than(limit, now_seconds)
    }

    /// Whether an empty or expired cache may be refreshed now: not within the interval after a
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

    /// Whether a fetch is under way (which a waiting request joins rather than repeats).
    pub fn is_fetching(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Call before awaiting the fetch, so requests interleaved with it see the attempt.
    pub fn record_attempt(&mut self, now_seconds: u64) {
        self.last_attempt_at = Some(now_seconds);
        self.fetches += 1;
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

    pub fn status(&self, now_seconds: u64) -> JwksCacheStatus {
        let usable = self.usable_keys(now_seconds);
        JwksCacheStatus {
            key_ids: usable
                .as_ref()
                .map(|keys| keys.key_ids().map(String::from).collect())
                .unwrap_or_default(),
            age_seconds: self
                .keys
                .as_ref()
                .map(|_| now_seconds.saturating_sub(self.fetched_at)),
            stale: usable.is_some() && self.fresh_keys(now_seconds).is_none(),
            fetches: self.fetches,
            last_failure: self.last_failure().map(String::from),
        }
    }

    fn keys_younger_than(&self, seconds: u64, now_seconds: u64) -> Option<Rc<Jwks>> {
        let expires_at = self.fetched_at.saturating_add(seconds);
        self.keys
            .as_ref()
            .filter(|_| now_seconds < expires_at)
            .cloned()
    }

    fn interval_passed(&self, since: u64, now_seconds: u64) -> bool {
        now_seconds >= since.saturating_add(self.policy.min_refetch_interval_seconds)
    }
}

/// Fetches the JWKS document, and paces a request waiting for a fetch another request makes.
/// No `Send` bound: Workers futures are not `Send`.
pub trait JwksFetcher {
    /// The body of a 2xx response, or a short log-safe reason (status, network error, timeout,
    /// size) for anything else.
    fn fetch_jwks(&self) -> impl Future<Output = Result<String, String>>;

    /// A short wait between two looks at a fetch under way, that wakes this request up by
    /// itself (the Worker: a 10 ms timer). By default, one turn of the executor.
    fn pause(&self) -> impl Future<Output = ()> {
        yield_once()
    }
}

/// Pending once, having woken itself: lets the executor run whatever else is ready.
pub(crate) fn yield_once() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |context| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            context.waker().wake_by_ref();
            Poll::Pending
        }
    })
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

/// Fetches the JWKS now, or waits for the fetch already under way: the new set, or `None` when
/// the fetch failed (the reason is in the cache). Callers decide beforehand whether a fetch is
/// allowed; joining one under way always is.
pub(super) async fn refresh<F: JwksFetcher>(
    cache: &RefCell<JwksCache>,
    fetcher: &F,
    now_seconds: u64,
) -> Option<Rc<Jwks>> {
    let mut pauses = 0;
    // The fetch this request waits for, kept once joined: it stops being the one under way
    // when it lands.
    let mut joined: Option<Rc<Flight>> = None;
    loop {
        let under_way = joined.clone().or_else(|| cache.borrow().in_flight.clone());
        if let Some(flight) = under_way {
            let landing = flight.landing.borrow().clone();
            joined = Some(flight);
            match landing {
                Some(Landing::Fetched(keys)) => return Some(keys),
                Some(Landing::Failed) => return None,
                Some(Landing::Abandoned) => {
                    joined = None;
                    continue;
                }
                None if pauses < MAX_PAUSES_FOR_A_FETCH => {
                    pauses += 1;
                    fetcher.pause().await;
                    continue;
                }
                // Stuck (its request's code no longer runs): fetch without it.
                None => {}
            }
        }
        let flight = {
            let mut cache = cache.borrow_mut();
            cache.record_attempt(now_seconds);
            let flight = Rc::new(Flight {
                number: cache.fetches,
                landing: RefCell::new(None),
            });
            cache.in_flight = Some(Rc::clone(&flight));
            flight
        };
        let mut pilot = Pilot {
            cache,
            flight,
            landed: false,
        };
        let outcome = fetcher
            .fetch_jwks()
            .await
            .and_then(|document| Jwks::from_json(&document));
        return pilot.land(outcome, now_seconds);
    }
}

/// One fetch of the JWKS, which the requests waiting for keys share.
struct Flight {
    /// Its number among the isolate's fetches.
    number: u64,
    landing: RefCell<Option<Landing>>,
}

#[derive(Clone)]
enum Landing {
    Fetched(Rc<Jwks>),
    Failed,
    /// The request driving the fetch went away before it ended.
    Abandoned,
}

/// Held by the request driving a fetch: records its outcome, or, when dropped before that (the
/// request went away), lets the next waiter take over.
struct Pilot<'a> {
    cache: &'a RefCell<JwksCache>,
    flight: Rc<Flight>,
    landed: bool,
}

impl Pilot<'_> {
    fn land(&mut self, outcome: Result<Jwks, String>, now_seconds: u64) -> Option<Rc<Jwks>> {
        self.landed = true;
        let landing = {
            let mut cache = self.cache.borrow_mut();
            self.leave(&mut cache);
            match (outcome, cache.keys.clone()) {
                // A later fetch (one that took over from this one) already landed: keep its keys.
                (Ok(_), Some(newer)) if cache.keys_from_fetch > self.flight.number => {
                    Landing::Fetched(newer)
                }
                (Ok(jwks), _) => {
                    cache.keys_from_fetch = self.flight.number;
                    Landing::Fetched(cache.record_success(jwks, now_seconds))
                }
                (Err(reason), _) => {
                    cache.record_failure(reason, now_seconds);
                    Landing::Failed
                }
            }
        };
        *self.flight.landing.borrow_mut() = Some(landing.clone());
        match landing {
            Landing::Fetched(keys) => Some(keys),
            Landing::Failed | Landing::Abandoned => None,
        }
    }

    /// Clears the fetch under way, if it is still this one (a waiter may have taken over).
    fn leave(&self, cache: &mut JwksCache) {
        if cache
            .in_flight
            .as_ref()
            .is_some_and(|current| Rc::ptr_eq(current, &self.flight))
        {
            cache.in_flight = None;
        }
    }
}

impl Drop for Pilot<'_> {
    fn drop(&mut self) {
        if self.landed {
            return;
        }
        if let Ok(mut cache) = self.cache.try_borrow_mut() {
            self.leave(&mut cache);
        }
        *self.flight.landing.borrow_mut() = Some(Landing::Abandoned);
    }
}
