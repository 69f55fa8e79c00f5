//! GoTrue's rate limits: token buckets (like tollbooth's) per limit and client key, refilled at
//! `limit / period` per second up to the burst size. Kept in memory, per process, as GoTrue does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    SignInSignUp,
    TokenRefresh,
    Anonymous,
    Verify,
    EmailSent,
}

/// One budget: `limit` requests per `period`, at most `burst` at once.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub limit: u32,
    pub period: Duration,
    pub burst: u32,
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<(Limit, String), Bucket>>,
}

/// Buckets idle this long are full again and can be forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(2 * 3600);

impl RateLimiter {
    /// Takes one request from the bucket of (`limit`, `key`); false when it is empty.
    pub fn allow(&self, limit: Limit, key: &str, budget: Budget, now: Instant) -> bool {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > 50_000 {
            buckets.retain(|_, bucket| now.duration_since(bucket.refilled) < FORGET_AFTER);
        }
        let burst = f64::from(budget.burst.max(1));
        let per_second = f64::from(budget.limit) / budget.period.as_secs_f64();
        let bucket = buckets.entry((limit, key.to_string())).or_insert(Bucket {
            tokens: burst,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_then_refilled_at_the_rate() {
        let limiter = RateLimiter::default();
        let budget = Budget {
            limit: 30,
            period: Duration::from_secs(300),
            burst: 30,
        };
        let start = Instant::now();
        for i in 0..30 {
            assert!(
                limiter.allow(Limit::SignInSignUp, "1.2.3.4", budget, start),
                "request {i}"
            );
        }
        assert!(!limiter.allow(Limit::SignInSignUp, "1.2.3.4", budget, start));
        // Another client and another limit have their own buckets.
        assert!(limiter.allow(Limit::SignInSignUp, "5.6.7.8", budget, start));
        assert!(limiter.allow(Limit::TokenRefresh, "1.2.3.4", budget, start));
        // 30 per 300 s is one every 10 s.
        assert!(!limiter.allow(
            Limit::SignInSignUp,
            "1.2.3.4",
            budget,
            start + Duration::from_secs(9)
        ));
        assert!(limiter.allow(
            Limit::SignInSignUp,
            "1.2.3.4",
            budget,
            start + Duration::from_secs(20)
        ));
    }
}
