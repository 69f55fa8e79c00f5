//! The limiter maths: the Generic Cell Rate Algorithm (GCRA), in whole milliseconds.
//!
//! A quota of `L` requests per `W` seconds is enforced by remembering one number per key, the
//! *theoretical arrival time* `tat` (ms since the epoch; a key never seen has `tat = 0`). With
//!
//! - `P = W * 1000`, the window in ms,
//! - `T = ceil(P / L)`, the emission interval: one request's worth of quota comes back every `T` ms,
//! - `tau = L * T`, the burst tolerance: how far ahead of `now` the `tat` may run,
//!
//! a request of cost `c` at `now` is decided as follows:
//!
//! - `tat' = max(tat, now) + c * T`;
//! - it is allowed iff `tat' - now <= tau`; only then is `tat'` stored;
//! - `remaining = floor((tau - (tat' - now)) / T)` when allowed, else
//!   `floor((tau - (max(tat, now) - now)) / T)`;
//! - `retry_after_ms = tat' - now - tau` when refused, `0` when allowed;
//! - `reset_after_ms = stored tat - now` (0 when the stored `tat` is already past).
//!
//! Rounding, and why `tau` is `L * T` rather than `P`: `T` must be a whole number of ms, and
//! when `L` does not divide `P` no whole `T` can make a burst of exactly `L` fit inside `P`
//! (for 70 per second, `T` would have to lie in (14.08, 14.28] ms). Rounding `T` up never lets
//! the sustained rate exceed `L` per `W`; measuring the burst tolerance in the same rounded unit
//! (`tau = L * T`) keeps the burst at exactly `L`. When `L` divides `P` (100 per minute, 5 per
//! minute, 10 per second ...) `tau == P` and these are the textbook formulas. When it does not,
//! a fully used key needs `tau` ms to recover completely, which is less than `L` ms longer than
//! `W`. `remaining` rounds down: a partly recovered request is not counted until it is whole.
//!
//! The Postgres store (`check_rate_limit`, migration 0013) runs this same algorithm with the
//! same `T = ceil(P / L)` whole ms and `tau = L * T`, including the clamp of a skewed `tat`
//! described below and the cost-above-`L` refusal. Only the clock differs: it decides on the
//! database clock (`clock_timestamp()`, microseconds) and stores `tat` as a `timestamptz`, so
//! `now` and `tat` may carry a fraction of a ms, and `retry_after_ms` and `reset_after_ms`
//! are rounded up to whole ms (waiting the advertised time is always enough) where this
//! module's whole-ms values need no rounding. For the same `tat` and the same `now` in whole
//! ms, the two make the same decision and report the same figures. One behaviour differs
//! without changing any decision: a refused request leaves the row untouched, so a skewed
//! `tat` stays stored and is clamped again on every read, where [`check`] hands the clamped
//! value back for the Durable Object to store.
//!
//! Two guards keep odd inputs harmless. A cost above `L` can never fit, so it is refused with
//! [`Refusal::CostExceedsQuota`] and no retry time. A stored `tat` more than `tau` ahead of `now`
//! can only come from a clock that ran ahead of the one deciding now (a legitimate `tat` never
//! runs further ahead than `tau`); it is treated as `now + tau`, a fully used key, so the skew
//! can neither admit more than `L` nor lock a key out for longer than one window. All
//! arithmetic is done in `u128`, so no input overflows; a stored `tat` beyond `u64::MAX`
//! (only reachable with `now` within one window of `u64::MAX`) saturates.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A validated limit: `max_requests` per `window_seconds`, both at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    max_requests: u32,
    window_seconds: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaError {
    ZeroRequests,
    ZeroWindow,
}

impl fmt::Display for QuotaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaError::ZeroRequests => f.write_str("max_requests must be at least 1"),
            QuotaError::ZeroWindow => f.write_str("window_seconds must be at least 1"),
        }
    }
}

impl std::error::Error for QuotaError {}

impl Quota {
    pub const fn new(max_requests: u32, window_seconds: u32) -> Result<Quota, QuotaError> {
        if max_requests == 0 {
            return Err(QuotaError::ZeroRequests);
        }
        if window_seconds == 0 {
            return Err(QuotaError::ZeroWindow);
        }
        Ok(Quota {
            max_requests,
            window_seconds,
        })
    }

    pub const fn max_requests(self) -> u32 {
        self.max_requests
    }

    pub const fn window_seconds(self) -> u32 {
        self.window_seconds
    }

    /// `P`: the window in milliseconds.
    pub const fn window_ms(self) -> u64 {
        self.window_seconds as u64 * 1000
    }

    /// `T = ceil(P / L)`: how often one request's worth of quota comes back.
    pub const fn emission_interval_ms(self) -> u64 {
        self.window_ms().div_ceil(self.max_requests as u64)
    }

    /// `tau = L * T`: how far the theoretical arrival time may run ahead of now. At most
    /// `P + L - 1`, so it always fits in a `u64`.
    pub const fn burst_tolerance_ms(self) -> u64 {
        self.emission_interval_ms() * self.max_requests as u64
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The quota is used up for now; `retry_after_ms` says when this cost will fit.
    OverLimit,
    /// The request costs more than the whole quota, so it can never be admitted.
    CostExceedsQuota,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::OverLimit => f.write_str("rate limit reached; retry after the indicated time"),
            Refusal::CostExceedsQuota => {
                f.write_str("the request costs more than the whole quota and can never be admitted")
            }
        }
    }
}

/// What a check tells the caller: the part of a decision every store reports alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// `None` when the request is admitted.
    pub refusal: Option<Refusal>,
    /// Requests of cost 1 that would still be admitted right now, after this one.
    pub remaining: u32,
    /// How long until this request's cost fits; 0 when admitted or when it never can.
    pub retry_after_ms: u64,
    /// How long until the key's quota is whole again.
    pub reset_after_ms: u64,
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        self.refusal.is_none()
    }
}

/// The outcome of one check, and the state to store for the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    /// The theoretical arrival time to store for the key (unchanged when refused, except that
    /// a skewed value is pulled back to `now + tau`).
    pub tat_ms: u64,
}

/// Decides a request of `cost` at `now_ms` against `stored_tat_ms` (0 for a key never seen).
/// A cost of 0 admits without consuming anything: it reports the key's current state.
pub fn check(quota: Quota, stored_tat_ms: u64, now_ms: u64, cost: u32) -> Decision {
    let interval = u128::from(quota.emission_interval_ms());
    let tolerance = u128::from(quota.burst_tolerance_ms());
    let now = u128::from(now_ms);
    let tat = u128::from(stored_tat_ms).min(now + tolerance);
    let used_before = tat.max(now) - now;
    let remaining_before = remaining_units(tolerance - used_before, interval);

    if cost > quota.max_requests() {
        return Decision {
            verdict: Verdict {
                refusal: Some(Refusal::CostExceedsQuota),
                remaining: remaining_before,
                retry_after_ms: 0,
                reset_after_ms: saturate(tat.saturating_sub(now)),
            },
            tat_ms: saturate(tat),
        };
    }

    let new_tat = tat.max(now) + u128::from(cost) * interval;
    let used_after = new_tat - now;
    if used_after <= tolerance {
        Decision {
            verdict: Verdict {
                refusal: None,
                remaining: remaining_units(tolerance - used_after, interval),
                retry_after_ms: 0,
                reset_after_ms: saturate(used_after),
            },
            tat_ms: saturate(new_tat),
        }
    } else {
        Decision {
            verdict: Verdict {
                refusal: Some(Refusal::OverLimit),
                remaining: remaining_before,
                retry_after_ms: saturate(used_after - tolerance),
                reset_after_ms: saturate(tat.saturating_sub(now)),
            },
            tat_ms: saturate(tat),
        }
    }
}

/// Charges as many requests as fit now, at most `up_to` (at least 1): the largest `k <= up_to`
/// for which [`check`] of cost `k` is admitted, and that check's decision. When not even one
/// fits, the decision is the refusal of a request of cost 1 and nothing is granted. This is how
/// an isolate takes a lease of requests ahead of need (`crate::lease`): each one is charged here
/// exactly as if it had been checked on its own, only sooner.
pub fn lease(quota: Quota, stored_tat_ms: u64, now_ms: u64, up_to: u32) -> (u32, Decision) {
    let peek = check(quota, stored_tat_ms, now_ms, 0);
    let granted = peek.verdict.remaining.min(up_to);
    match granted {
        0 => (0, check(quota, stored_tat_ms, now_ms, 1)),
        _ => (granted, check(quota, stored_tat_ms, now_ms, granted)),
    }
}

/// What a request of cost 1 would get, told from a peek (a check of cost 0, which spends
/// nothing): `None` when it would be admitted, else the refusal it would meet, with the wait
/// until it fits (`reset_after - (tau - T)`). Lets a caller refuse early without spending.
pub fn refusal_of_one(quota: Quota, peeked: &Verdict) -> Option<Verdict> {
    if peeked.remaining > 0 {
        return None;
    }
    let headroom_for_one = quota.burst_tolerance_ms() - quota.emission_interval_ms();
    Some(Verdict {
        refusal: Some(Refusal::OverLimit),
        remaining: 0,
        retry_after_ms: peeked
            .reset_after_ms
            .saturating_sub(headroom_for_one)
            .max(1),
        reset_after_ms: peeked.reset_after_ms,
    })
}

/// `floor(headroom / interval)`; never above `L`, because `headroom <= tau = L * T`.
fn remaining_units(headroom: u128, interval: u128) -> u32 {
    u32::try_from(headroom / interval).unwrap_or(u32::MAX)
}

fn saturate(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{quota, TestRng, NOW};

    /// Sends `count` requests of cost 1 at the same instant; returns the decisions and final state.
    fn burst(quota: Quota, mut tat: u64, now: u64, count: u32) -> (Vec<Decision>, u64) {
        let mut decisions = Vec::new();
        for _ in 0..count {
            let decision = check(quota, tat, now, 1);
            tat = decision.tat_ms;
            decisions.push(decision);
        }
        (decisions, tat)
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn zero_requests_or_zero_window_is_not_a_quota() {
        assert_eq!(Quota::new(0, 60), Err(QuotaError::ZeroRequests));
        assert_eq!(Quota::new(10, 0), Err(QuotaError::ZeroWindow));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn divisible_quota_uses_the_window_as_tolerance() {
        let q = quota(100, 60);
        assert_eq!(q.emission_interval_ms(), 600);
        assert_eq!(q.burst_tolerance_ms(), 60_000);
        assert_eq!(q.burst_tolerance_ms(), q.window_ms());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn burst_of_exactly_the_limit_is_admitted_then_refused() {
        let q = quota(5, 60);
        let (decisions, tat) = burst(q, 0, NOW, 5);
        let remaining: Vec<u32> = decisions.iter().map(|d| d.verdict.remaining).collect();
        assert!(decisions.iter().all(|d| d.verdict.allowed()));
        assert_eq!(remaining, vec![4, 3, 2, 1, 0]);
        assert_eq!(tat, NOW + 60_000);

        let sixth = check(q, tat, NOW, 1);
        assert_eq!(sixth.verdict.refusal, Some(Refusal::OverLimit));
        assert_eq!(sixth.verdict.remaining, 0);
        assert_eq!(sixth.verdict.retry_after_ms, 12_000);
        assert_eq!(sixth.verdict.reset_after_ms, 60_000);
        assert_eq!(sixth.tat_ms, tat, "a refusal must not consume quota");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn admits_again_exactly_one_emission_interval_later() {
        let q = quota(5, 60);
        let (_, tat) = burst(q, 0, NOW, 5);
        let one_ms_early = check(q, tat, NOW + 12_000 - 1, 1);
        assert_eq!(one_ms_early.verdict.refusal, Some(Refusal::OverLimit));
        assert_eq!(one_ms_early.verdict.retry_after_ms, 1);

        let on_time = check(q, tat, NOW + 12_000, 1);
        assert!(on_time.verdict.allowed());
        assert_eq!(on_time.verdict.remaining, 0);
        assert_eq!(on_time.tat_ms, NOW + 72_000);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn waiting_the_reported_retry_after_is_enough() {
        let q = quota(7, 10);
        let (_, tat) = burst(q, 0, NOW, 7);
        let refused = check(q, tat, NOW + 333, 3);
        assert!(!refused.verdict.allowed());
        let later = NOW + 333 + refused.verdict.retry_after_ms;
        assert!(check(q, tat, later, 3).verdict.allowed());
        assert!(!check(q, tat, later - 1, 3).verdict.allowed());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn quota_is_whole_again_after_the_window() {
        let q = quota(10, 60);
        let (_, tat) = burst(q, 0, NOW, 10);
        let almost = check(q, tat, NOW + 60_000 - 1, 0);
        assert_eq!(almost.verdict.remaining, 9);
        assert_eq!(almost.verdict.reset_after_ms, 1);

        let later = NOW + 60_000;
        let (decisions, _) = burst(q, tat, later, 11);
        assert_eq!(decisions.iter().filter(|d| d.verdict.allowed()).count(), 10);
        assert_eq!(decisions[0].verdict.remaining, 9);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reset_after_reports_time_until_the_quota_is_whole() {
        let q = quota(4, 2);
        let first = check(q, 0, NOW, 1);
        assert_eq!(first.verdict.reset_after_ms, 500);
        let second = check(q, first.tat_ms, NOW + 100, 1);
        assert_eq!(second.verdict.reset_after_ms, 900);
        assert_eq!(
            check(q, second.tat_ms, NOW + 5_000, 0)
                .verdict
                .reset_after_ms,
            0
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn cost_above_one_consumes_that_many_requests() {
        let q = quota(10, 10);
        let first = check(q, 0, NOW, 4);
        assert!(first.verdict.allowed());
        assert_eq!(first.verdict.remaining, 6);
        let second = check(q, first.tat_ms, NOW, 6);
        assert!(second.verdict.allowed());
        assert_eq!(second.verdict.remaining, 0);

        let third = check(q, second.tat_ms, NOW, 2);
        assert_eq!(third.verdict.refusal, Some(Refusal::OverLimit));
        assert_eq!(third.verdict.retry_after_ms, 2_000);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn refused_cost_reports_the_remaining_smaller_requests() {
        let q = quota(10, 10);
        let used = check(q, 0, NOW, 8).tat_ms;
        let refused = check(q, used, NOW, 3);
        assert_eq!(refused.verdict.refusal, Some(Refusal::OverLimit));
        assert_eq!(refused.verdict.remaining, 2);
        assert_eq!(refused.verdict.retry_after_ms, 1_000);
        assert!(check(q, used, NOW, 2).verdict.allowed());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn cost_above_the_limit_is_always_refused_with_its_own_reason() {
        let q = quota(5, 60);
        for (tat, now) in [(0, NOW), (NOW + 60_000, NOW), (0, u64::MAX)] {
            let decision = check(q, tat, now, 6);
            assert_eq!(decision.verdict.refusal, Some(Refusal::CostExceedsQuota));
            assert_eq!(
                decision.verdict.retry_after_ms, 0,
                "there is no time after which it fits"
            );
        }
        let fresh = check(q, 0, NOW, 6);
        assert_eq!(fresh.verdict.remaining, 5);
        assert_eq!(
            fresh.tat_ms, 0,
            "an impossible request must not consume quota"
        );
        assert!(Refusal::CostExceedsQuota
            .to_string()
            .contains("more than the whole quota"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn cost_zero_reports_state_without_consuming() {
        let q = quota(3, 30);
        let used = check(q, 0, NOW, 2).tat_ms;
        let peek = check(q, used, NOW, 0);
        assert!(peek.verdict.allowed());
        assert_eq!(peek.verdict.remaining, 1);
        assert_eq!(peek.tat_ms, used);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn window_edge_request_that_lands_exactly_on_the_tolerance_is_admitted() {
        let q = quota(2, 1);
        let first = check(q, 0, NOW, 1);
        assert_eq!(first.tat_ms, NOW + 500);
        let second = check(q, first.tat_ms, NOW, 1);
        assert!(
            second.verdict.allowed(),
            "tat' - now == tau is inside the quota"
        );
        assert_eq!(second.tat_ms - NOW, q.burst_tolerance_ms());
        assert!(!check(q, second.tat_ms, NOW, 1).verdict.allowed());
        assert!(!check(q, second.tat_ms, NOW + 499, 1).verdict.allowed());
        assert!(check(q, second.tat_ms, NOW + 500, 1).verdict.allowed());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_stale_tat_from_long_ago_counts_as_a_fresh_key() {
        let q = quota(3, 60);
        let long_ago = NOW - 86_400_000;
        assert_eq!(check(q, long_ago, NOW, 1), check(q, 0, NOW, 1));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn burst_is_exactly_the_limit_when_the_limit_does_not_divide_the_window() {
        for window_seconds in [1, 2, 7, 60, 3_600] {
            for max_requests in 1..=150 {
                let q = quota(max_requests, window_seconds);
                let (decisions, _) = burst(q, 0, NOW, max_requests + 1);
                let admitted = decisions.iter().filter(|d| d.verdict.allowed()).count() as u32;
                assert_eq!(
                    admitted, max_requests,
                    "{max_requests} per {window_seconds} s"
                );
                assert!(q.burst_tolerance_ms() >= q.window_ms());
                assert!(q.burst_tolerance_ms() < q.window_ms() + u64::from(max_requests));
            }
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn rounding_the_interval_up_never_raises_the_sustained_rate() {
        let q = quota(70, 1);
        assert_eq!(q.emission_interval_ms(), 15);
        // One request per ms for ten seconds: the burst of 70 plus one every 15 ms.
        let mut tat = 0;
        let mut admitted = 0u64;
        for now in NOW..NOW + 10_000 {
            let decision = check(q, tat, now, 1);
            tat = decision.tat_ms;
            admitted += u64::from(decision.verdict.allowed());
        }
        assert!(admitted <= 70 + 10 * 70, "admitted {admitted}");
        assert_eq!(admitted, 70 + (10_000 - 1) / 15);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn admissions_never_exceed_burst_plus_elapsed_intervals_under_random_traffic() {
        let q = quota(13, 7);
        let mut rng = TestRng(0x9E37_79B9_7F4A_7C15);
        let mut tat = 0;
        let mut now = NOW;
        let mut admitted_cost = 0u64;
        for _ in 0..20_000 {
            now += rng.below(900);
            let cost = rng.below(4) as u32;
            let decision = check(q, tat, now, cost);
            assert!(decision.verdict.remaining <= q.max_requests());
            assert!(decision.verdict.reset_after_ms <= q.burst_tolerance_ms());
            if decision.verdict.allowed() {
                admitted_cost += u64::from(cost);
            } else {
                assert!(
                    decision.verdict.retry_after_ms <= u64::from(cost) * q.emission_interval_ms()
                );
            }
            tat = decision.tat_ms;
            let bound = u64::from(q.max_requests()) + (now - NOW) / q.emission_interval_ms();
            assert!(
                admitted_cost <= bound,
                "admitted {admitted_cost} > bound {bound}"
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn clock_running_backwards_never_admits_more_than_the_limit() {
        let q = quota(10, 60);
        let mut tat = 0;
        let mut admitted = 0;
        // Every request comes from a clock one second behind the previous one. Each admission
        // pushes tat 6 s ahead and each step moves now 1 s back, so the used time grows by 7 s
        // per request: the step back is counted as used, never handed out again.
        for step in 0..100u64 {
            let decision = check(q, tat, NOW - step * 1_000, 1);
            tat = decision.tat_ms;
            admitted += u32::from(decision.verdict.allowed());
        }
        assert_eq!(admitted, 1 + (60 - 6) / 7);
        assert!(admitted <= q.max_requests());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn tat_stored_by_a_clock_far_ahead_is_treated_as_a_full_key_not_a_lockout() {
        let q = quota(10, 60);
        let from_the_future = NOW + 3_600_000;
        let decision = check(q, from_the_future, NOW, 1);
        assert_eq!(decision.verdict.refusal, Some(Refusal::OverLimit));
        assert_eq!(decision.verdict.remaining, 0);
        assert_eq!(decision.verdict.retry_after_ms, q.emission_interval_ms());
        assert_eq!(decision.tat_ms, NOW + q.burst_tolerance_ms());
        assert_eq!(decision.verdict.reset_after_ms, q.burst_tolerance_ms());

        let (decisions, _) = burst(q, decision.tat_ms, NOW + q.window_ms(), 11);
        assert_eq!(decisions.iter().filter(|d| d.verdict.allowed()).count(), 10);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn tat_slightly_ahead_of_this_clock_still_counts_what_was_used() {
        let q = quota(4, 4);
        let (_, tat) = burst(q, 0, NOW, 2);
        let behind = NOW - 500;
        let decision = check(q, tat, behind, 1);
        assert!(decision.verdict.allowed());
        assert_eq!(
            decision.verdict.remaining, 0,
            "2 used plus 500 ms of skew leaves room for 1"
        );
        let (decisions, _) = burst(q, tat, behind, 4);
        assert_eq!(decisions.iter().filter(|d| d.verdict.allowed()).count(), 1);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn huge_values_never_overflow() {
        let widest = quota(u32::MAX, u32::MAX);
        let slowest = quota(1, u32::MAX);
        assert_eq!(slowest.burst_tolerance_ms(), u64::from(u32::MAX) * 1000);
        for q in [widest, slowest, quota(1, 1)] {
            for tat in [0, NOW, u64::MAX - 1, u64::MAX] {
                for now in [0, NOW, u64::MAX - 1, u64::MAX] {
                    for cost in [0, 1, q.max_requests(), u32::MAX] {
                        let decision = check(q, tat, now, cost);
                        assert!(decision.verdict.remaining <= q.max_requests());
                    }
                }
            }
        }
        let at_end_of_time = check(slowest, 0, u64::MAX, 1);
        assert!(at_end_of_time.verdict.allowed());
        assert_eq!(at_end_of_time.tat_ms, u64::MAX);
        let full_burst = check(widest, 0, NOW, u32::MAX);
        assert!(full_burst.verdict.allowed());
        assert_eq!(full_burst.verdict.remaining, 0);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_lease_grants_the_most_that_fit_and_is_charged_like_that_many_checks() {
        let q = quota(7, 3);
        let mut rng = TestRng(0x2545_F491_4F6C_DD1D);
        let mut tat = 0;
        let mut now = NOW;
        for _ in 0..5_000 {
            now += rng.below(700);
            let up_to = 1 + rng.below(9) as u32;
            let (granted, decision) = lease(q, tat, now, up_to);
            assert!(granted <= up_to);
            let largest_fitting = (0..=up_to)
                .rev()
                .find(|cost| check(q, tat, now, *cost).verdict.allowed())
                .unwrap_or(0);
            assert_eq!(granted, largest_fitting, "at {now} with tat {tat}");
            let one_by_one = (0..granted).fold(tat, |tat, _| check(q, tat, now, 1).tat_ms);
            if granted > 0 {
                assert!(decision.verdict.allowed());
                assert_eq!(
                    decision.tat_ms, one_by_one,
                    "the same charge as {granted} checks"
                );
            } else {
                assert_eq!(
                    decision,
                    check(q, tat, now, 1),
                    "the refusal of one request"
                );
            }
            tat = decision.tat_ms;
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_peek_tells_whether_one_more_would_fit_and_when_without_spending() {
        let q = quota(3, 3);
        let (_, tat) = burst(q, 0, NOW, 2);
        let peek = check(q, tat, NOW, 0);
        assert_eq!(peek.tat_ms, tat, "a peek spends nothing");
        assert_eq!(refusal_of_one(q, &peek.verdict), None, "one unit is left");
        let (_, tat) = burst(q, tat, NOW, 1);
        for elapsed in [0, 1, 400, 999] {
            let peek = check(q, tat, NOW + elapsed, 0);
            let refused = refusal_of_one(q, &peek.verdict).expect("no unit left");
            let real = check(q, tat, NOW + elapsed, 1).verdict;
            assert_eq!(real.refusal, Some(Refusal::OverLimit));
            assert_eq!(
                refused.retry_after_ms, real.retry_after_ms,
                "the same wait as a real request at +{elapsed} ms"
            );
            assert!(
                check(q, tat, NOW + elapsed + refused.retry_after_ms, 1)
                    .verdict
                    .allowed(),
                "waiting that long is enough"
            );
        }
        assert_eq!(
            refusal_of_one(q, &check(q, tat, NOW + 1_000, 0).verdict),
            None
        );
    }
}
