//! Lease mode: the Durable Object charges requests to an isolate a few at a time, ahead of
//! need, and the isolate admits from what it holds without a remote round trip. What it holds is
//! refilled in the background (`ctx.waitUntil`) once half is spent, so a caller well under its
//! limit never waits on the object; only a key the isolate has not seen lately, or one whose
//! lease ran out faster than a refill could arrive, waits for one.
//!
//! # What the mode guarantees
//!
//! For a quota of `L` per `W` with emission interval `T` ([`crate::gcra`]), a lease is at most
//! [`LeaseTerms::size`] `n = clamp(floor(L / 40), 1, 50)` requests, and a request of it is
//! spent within [`LeaseTerms::ttl_ms`] `= max(4·n·T, 1 s)` of the lease being asked for, or
//! dropped. Quotas too small for that to stay within a tenth of `L` (`L < 40` or `W < 10 s`)
//! are decided exactly, one request at a time, whatever the mode says ([`LeaseTerms::of`]).
//!
//! - **At most a tenth of `L` over exact mode, in any period.** Every request admitted was
//!   charged by the object's exact GCRA ([`crate::gcra::lease`]) before it was admitted, and at
//!   most `ttl` before. So in any period of length `D`, across any number of isolates, lease
//!   mode admits at most what exact mode could admit in `D + ttl`: `L + floor(D / T) +
//!   ceil(ttl / T)` against exact mode's `L + floor(D / T)`, and `ceil(ttl / T) <= L / 10`. The
//!   long-run rate is exact mode's.
//! - **Early refusals, bounded in time.** Requests charged to one isolate cannot be spent by
//!   another, so while other isolates hold unspent leases of a key, a request may be refused
//!   although the key still has budget: what they hold, at most a lease and a half each (a
//!   request that finds the lease empty while a lease or refill is on its way asks for itself
//!   only), and for at most `ttl`. Within one isolate, requests one after another are admitted
//!   as often as exact mode would admit them: a lease is spent before it expires unless the
//!   caller is below a quarter of its rate, where what expires cannot use the budget up (tested
//!   below against exact mode on the same arrivals); a burst that finds the lease empty at the
//!   end of the budget can be refused up to `n - 1` requests early, held by this isolate.
//! - **Refusals stay exact.** A refusal comes from the object; the isolate then refuses the
//!   key locally until the object's `Retry-After` has passed, which is exact because a key's
//!   budget cannot come back sooner than that, whatever other isolates do.
//!
//! Exact mode (`RATE_LIMIT_MODE=<endpoint>=exact`, `crate::policy`) asks the object on every
//! request. The Postgres store is always exact, and so is `POST /check`: it decides for someone
//! else, at any cost.
//!
//! This module is the isolate's book of leases, free of `worker` types so the guarantees are
//! tested natively against the real [`crate::gcra`] with many simulated isolates; the guard
//! (`crate::guard`) drives it.

use crate::gcra::{Quota, Refusal, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Requests of `L` per lease: `L / 40`, so four leases' lifetimes stay within a tenth of `L`.
const QUOTA_PER_LEASE: u32 = 40;
/// The largest lease: beyond this the early refusals an isolate can cause outweigh the hops
/// it saves.
pub const MAX_LEASE: u32 = 50;
/// A lease may be spent for this many of its requests' emission intervals: long enough that a
/// caller at a quarter of its rate or more spends it before it expires.
const TTL_INTERVALS_PER_REQUEST: u64 = 4;
/// A lease lives at least this long, so a quota with a short interval is not asked every few ms.
pub const MIN_TTL_MS: u64 = 1_000;
/// Keys one isolate keeps a lease or a refusal for; past this, expired ones are forgotten, and
/// if that is not enough, all of them (forgetting a lease only ever refuses early).
pub const MAX_KEYS: usize = 10_000;

/// How many requests a lease holds and how long it may be spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTerms {
    pub size: u32,
    pub ttl_ms: u64,
}

impl LeaseTerms {
    /// The terms for `quota`, or `None` when a lease could admit more than a tenth of `L` over
    /// exact mode: such quotas are decided exactly.
    pub fn of(quota: Quota) -> Option<LeaseTerms> {
        let size = (quota.max_requests() / QUOTA_PER_LEASE).clamp(1, MAX_LEASE);
        let ttl_ms = (TTL_INTERVALS_PER_REQUEST * u64::from(size) * quota.emission_interval_ms())
            .max(MIN_TTL_MS);
        let terms = LeaseTerms { size, ttl_ms };
        (terms.overshoot(quota) * 10 <= u64::from(quota.max_requests())).then_some(terms)
    }

    /// How many more requests than exact mode lease mode can admit in any period.
    pub fn overshoot(self, quota: Quota) -> u64 {
        self.ttl_ms.div_ceil(quota.emission_interval_ms())
    }
}

/// A quota that can be leased, with its terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leased {
    pub quota: Quota,
    pub terms: LeaseTerms,
}

impl Leased {
    /// `None` for a quota decided exactly ([`LeaseTerms::of`]).
    pub fn new(quota: Quota) -> Option<Leased> {
        LeaseTerms::of(quota).map(|terms| Leased { quota, terms })
    }
}

/// What the isolate can say about one request without asking the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// Admitted from the lease. When `refill` is set, the caller starts the one refill of this
    /// key (in the background) and reports it with [`LeaseBook::settle_refill`].
    Admitted { verdict: Verdict, refill: bool },
    /// Refused: the object refused this key and its `Retry-After` has not passed.
    Refused(Verdict),
    /// Nothing to spend: ask the object for a lease of `size` and report it with
    /// [`LeaseBook::settle_ask`]. (Even when a refill is on its way: in workerd a request cannot
    /// wait on I/O another request started.)
    Ask { size: u32 },
}

/// What a request gets once the object has answered its own [`Local::Ask`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Admitted; `refill` as in [`Local::Admitted`].
    Admitted {
        verdict: Verdict,
        refill: bool,
    },
    Refused(Verdict),
}

impl From<Answer> for Local {
    fn from(answer: Answer) -> Local {
        match answer {
            Answer::Admitted { verdict, refill } => Local::Admitted { verdict, refill },
            Answer::Refused(verdict) => Local::Refused(verdict),
        }
    }
}

/// A request's [`Local::Ask`]: how many it asked for, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    pub size: u32,
    pub at_ms: u64,
}

/// The object's answer (`crate::durable`): how many requests it charged and its verdict after
/// that. A lease asks for up to its size; an exact check is granted its whole cost or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub granted: u32,
    #[serde(flatten)]
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Batch {
    left: u32,
    expires_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    quota: Quota,
    batches: Vec<Batch>,
    /// The object's `remaining` after the latest grant (what other isolates left), and when
    /// the key would have been whole then, in ms since the epoch.
    remaining_elsewhere: u32,
    whole_at_ms: u64,
    refused_until_ms: u64,
    /// A request's ask for a whole lease is on its way.
    leasing: bool,
    refilling: bool,
}

impl Entry {
    fn new(quota: Quota) -> Entry {
        Entry {
            quota,
            batches: Vec::new(),
            remaining_elsewhere: 0,
            whole_at_ms: 0,
            refused_until_ms: 0,
            leasing: false,
            refilling: false,
        }
    }

    fn held(&self) -> u32 {
        self.batches.iter().map(|batch| batch.left).sum()
    }

    fn forget_expired(&mut self, now_ms: u64) {
        self.batches
            .retain(|batch| batch.left > 0 && batch.expires_at_ms > now_ms);
    }

    fn is_idle(&self, now_ms: u64) -> bool {
        !self.refilling
            && !self.leasing
            && self.refused_until_ms <= now_ms
            && self
                .batches
                .iter()
                .all(|batch| batch.left == 0 || batch.expires_at_ms <= now_ms)
    }

    /// The caller's budget as this isolate sees it: the object's remaining after its latest
    /// grant plus what is still held here, and the time until whole less what is held.
    fn admitted(&self, now_ms: u64) -> Verdict {
        let held = self.held();
        let held_ms = u64::from(held) * self.quota.emission_interval_ms();
        Verdict {
            refusal: None,
            remaining: self
                .remaining_elsewhere
                .saturating_add(held)
                .min(self.quota.max_requests()),
            retry_after_ms: 0,
            reset_after_ms: self
                .whole_at_ms
                .saturating_sub(held_ms)
                .saturating_sub(now_ms),
        }
    }

    fn refused(&self, now_ms: u64) -> Verdict {
        Verdict {
            refusal: Some(Refusal::OverLimit),
            remaining: 0,
            retry_after_ms: self.refused_until_ms.saturating_sub(now_ms).max(1),
            reset_after_ms: self.whole_at_ms.saturating_sub(now_ms),
        }
    }

    /// Whether to ask for more now: half of a lease is spent. (Not by age: asking again while
    /// a lease is still mostly unspent would charge a slow caller faster than it spends.)
    fn wants_refill(&self, terms: LeaseTerms) -> bool {
        !self.refilling && self.held() * 2 <= terms.size
    }

    fn record(&mut self, grant: &Grant, terms: LeaseTerms, left: u32, asked_at_ms: u64) {
        let now_whole_at = asked_at_ms.saturating_add(grant.verdict.reset_after_ms);
        self.whole_at_ms = now_whole_at;
        if grant.granted == 0 {
            self.remaining_elsewhere = 0;
            self.refused_until_ms = asked_at_ms.saturating_add(grant.verdict.retry_after_ms);
            return;
        }
        self.remaining_elsewhere = grant.verdict.remaining;
        if left > 0 {
            self.batches.push(Batch {
                left,
                expires_at_ms: asked_at_ms.saturating_add(terms.ttl_ms),
            });
        }
    }
}

/// One isolate's leases and remembered refusals, by (policy, key).
#[derive(Debug, Default)]
pub struct LeaseBook {
    entries: HashMap<String, Entry>,
}

impl LeaseBook {
    /// One request's turn: `spend` takes one request from the lease; without it (a peek) the
    /// request only learns whether the key is refused.
    pub fn take(&mut self, key: &str, leased: Leased, spend: bool, now_ms: u64) -> Local {
        let Leased { quota, terms } = leased;
        let entry = self.entry(key, quota, now_ms);
        entry.forget_expired(now_ms);
        if let Some(batch) = entry.batches.first_mut() {
            if spend {
                batch.left -= 1;
            }
            let refill = entry.wants_refill(terms);
            entry.refilling |= refill;
            entry.forget_expired(now_ms);
            return Local::Admitted {
                verdict: entry.admitted(now_ms),
                refill,
            };
        }
        if entry.refused_until_ms > now_ms {
            return Local::Refused(entry.refused(now_ms));
        }
        // While a lease is on its way, a request asks for itself only: a burst that finds the
        // lease empty would otherwise charge a whole lease per request and refuse the rest.
        if entry.leasing || entry.refilling {
            return Local::Ask { size: 1 };
        }
        entry.leasing = true;
        Local::Ask { size: terms.size }
    }

    /// The object could not answer a request's [`Local::Ask`].
    pub fn ask_failed(&mut self, key: &str, leased: Leased, asked: Asked, now_ms: u64) {
        let entry = self.entry(key, leased.quota, now_ms);
        if asked.size == leased.terms.size {
            entry.leasing = false;
        }
    }

    /// The object's answer to a request's own [`Local::Ask`], asked at `asked_at_ms`. Answers
    /// as [`LeaseBook::take`] would have with that lease in hand: a request that spends takes
    /// one of the grant, the rest is held for the next ones.
    pub fn settle_ask(
        &mut self,
        key: &str,
        leased: Leased,
        spend: bool,
        asked: Asked,
        grant: Grant,
        now_ms: u64,
    ) -> Answer {
        let Leased { quota, terms } = leased;
        let asked_at_ms = asked.at_ms;
        let entry = self.entry(key, quota, now_ms);
        if asked.size == terms.size {
            entry.leasing = false;
        }
        if grant.granted == 0 {
            entry.record(&grant, terms, 0, asked_at_ms);
            return Answer::Refused(grant.verdict);
        }
        let left = grant.granted - u32::from(spend);
        entry.record(&grant, terms, left, asked_at_ms);
        entry.forget_expired(now_ms);
        let refill = entry.wants_refill(terms);
        entry.refilling |= refill;
        Answer::Admitted {
            verdict: entry.admitted(now_ms),
            refill,
        }
    }

    /// The answer to a background refill asked at `asked_at_ms` (`None`: the object could not
    /// answer).
    pub fn settle_refill(
        &mut self,
        key: &str,
        leased: Leased,
        grant: Option<Grant>,
        asked_at_ms: u64,
        now_ms: u64,
    ) {
        let Leased { quota, terms } = leased;
        let entry = self.entry(key, quota, now_ms);
        entry.refilling = false;
        if let Some(grant) = grant {
            entry.record(&grant, terms, grant.granted, asked_at_ms);
        }
    }

    /// Requests held for `key` under `quota` right now.
    pub fn held(&self, key: &str, quota: Quota, now_ms: u64) -> u32 {
        self.entries
            .get(key)
            .filter(|entry| entry.quota == quota)
            .map_or(0, |entry| {
                entry
                    .batches
                    .iter()
                    .filter(|batch| batch.expires_at_ms > now_ms)
                    .map(|batch| batch.left)
                    .sum()
            })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The key's entry; a lease under another quota (the limit was changed) is dropped.
    fn entry(&mut self, key: &str, quota: Quota, now_ms: u64) -> &mut Entry {
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_KEYS {
            self.entries.retain(|_, entry| !entry.is_idle(now_ms));
            if self.entries.len() >= MAX_KEYS {
                self.entries.clear();
            }
        }
        let entry = self
            .entries
            .entry(key.to_string())
            .or_insert_with(|| Entry::new(quota));
        if entry.quota != quota {
            *entry = Entry::new(quota);
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcra::{self, check};
    use crate::test_support::{quota, TestRng, NOW};

    /// The Durable Object of one key: its stored state, decided by the real GCRA.
    struct Object {
        quota: Quota,
        tat_ms: u64,
    }

    impl Object {
        fn lease(&mut self, size: u32, now_ms: u64) -> Grant {
            let (granted, decision) = gcra::lease(self.quota, self.tat_ms, now_ms, size);
            self.tat_ms = decision.tat_ms;
            Grant {
                granted,
                verdict: decision.verdict,
            }
        }
    }

    /// One request that spends, the object answering at once when it must be asked.
    fn spend_one(book: &mut LeaseBook, object: &mut Object, leased: Leased, now: u64) -> Local {
        match book.take("k", leased, true, now) {
            Local::Ask { size } => {
                let asked = Asked { size, at_ms: now };
                let grant = object.lease(size, now);
                book.settle_ask("k", leased, true, asked, grant, now).into()
            }
            local => local,
        }
    }

    struct Isolate {
        book: LeaseBook,
        /// A refill on its way: asked at, reaches the object at.
        refill: Option<(u64, u64)>,
    }

    struct Run {
        admitted_at: Vec<u64>,
        refused: usize,
        exact_admitted_at: Vec<u64>,
    }

    /// Requests for one key arrive at random isolates with random gaps; refills reach the
    /// object after a random latency (or at once, when a request waits for one). The same
    /// arrivals are decided by exact mode (one check each) alongside.
    fn simulate(q: Quota, isolates: usize, seed: u64, arrivals: usize, max_gap_ms: u64) -> Run {
        const KEY: &str = "signup/user:1";
        let leased = Leased::new(q).expect("a quota that can be leased");
        let mut rng = TestRng(seed);
        let mut object = Object {
            quota: q,
            tat_ms: 0,
        };
        let mut exact_tat = 0;
        let mut fleet: Vec<Isolate> = (0..isolates)
            .map(|_| Isolate {
                book: LeaseBook::default(),
                refill: None,
            })
            .collect();
        let mut run = Run {
            admitted_at: Vec::new(),
            refused: 0,
            exact_admitted_at: Vec::new(),
        };
        let mut now = NOW;
        for _ in 0..arrivals {
            now += rng.below(max_gap_ms + 1);
            let exact = check(q, exact_tat, now, 1);
            exact_tat = exact.tat_ms;
            if exact.verdict.allowed() {
                run.exact_admitted_at.push(now);
            }
            // Refills land at the object in the order they reach it.
            let mut due: Vec<(u64, usize)> = fleet
                .iter()
                .enumerate()
                .filter_map(|(index, isolate)| isolate.refill.map(|(_, at)| (at, index)))
                .filter(|(at, _)| *at <= now)
                .collect();
            due.sort();
            for (at, index) in due {
                let (asked, _) = fleet[index].refill.take().unwrap();
                let grant = object.lease(leased.terms.size, at);
                fleet[index]
                    .book
                    .settle_refill(KEY, leased, Some(grant), asked, now);
            }
            let index = rng.below(isolates as u64) as usize;
            let latency = 1 + rng.below(40);
            let isolate = &mut fleet[index];
            let mut local = isolate.book.take(KEY, leased, true, now);
            if let Local::Ask { size } = local {
                let grant = object.lease(size, now);
                local = isolate
                    .book
                    .settle_ask(KEY, leased, true, Asked { size, at_ms: now }, grant, now)
                    .into();
            }
            match local {
                Local::Admitted { refill, .. } => {
                    run.admitted_at.push(now);
                    if refill {
                        isolate.refill = Some((now, now + latency));
                    }
                }
                Local::Refused(_) => run.refused += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        run
    }

    /// The most admissions in any closed period of `span_ms`.
    fn busiest(admitted_at: &[u64], span_ms: u64) -> u64 {
        let mut start = 0;
        let mut most = 0;
        for end in 0..admitted_at.len() {
            while admitted_at[end] - admitted_at[start] > span_ms {
                start += 1;
            }
            most = most.max((end - start + 1) as u64);
        }
        most
    }

    fn leased(max_requests: u32, window_seconds: u32) -> Leased {
        Leased::new(quota(max_requests, window_seconds)).unwrap()
    }

    fn asked_whole(leased: Leased) -> Asked {
        Asked {
            size: leased.terms.size,
            at_ms: NOW,
        }
    }

    fn grant(granted: u32, remaining: u32) -> Grant {
        Grant {
            granted,
            verdict: Verdict {
                refusal: None,
                remaining,
                retry_after_ms: 0,
                reset_after_ms: 3_000,
            },
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn terms_follow_the_quota_and_small_quotas_are_not_leased() {
        let terms = |max_requests, window_seconds| {
            LeaseTerms::of(quota(max_requests, window_seconds))
                .map(|terms| (terms.size, terms.ttl_ms))
        };
        assert_eq!(
            terms(10, 60),
            None,
            "signup's 10 per minute is decided exactly"
        );
        assert_eq!(terms(39, 60), None);
        assert_eq!(terms(40, 60), Some((1, 6_000)));
        assert_eq!(terms(60, 60), Some((1, 4_000)));
        assert_eq!(terms(1_000, 60), Some((25, 6_000)));
        assert_eq!(terms(10_000, 60), Some((50, 1_200)));
        assert_eq!(terms(1_000, 9), None, "one second's rate is over a tenth");
        for (max_requests, window_seconds) in [(40, 10), (60, 60), (999, 60), (100_000, 3_600)] {
            let q = quota(max_requests, window_seconds);
            let terms = LeaseTerms::of(q).unwrap();
            assert!(terms.overshoot(q) * 10 <= u64::from(max_requests), "{q:?}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn across_isolates_no_period_admits_more_than_exact_mode_plus_a_tenth_of_the_limit() {
        for (q, max_gap_ms) in [
            (quota(40, 60), 3_000),
            (quota(60, 60), 400),
            (quota(60, 60), 2_500),
            (quota(1_000, 60), 30),
            (quota(10_000, 60), 3),
        ] {
            let overshoot = LeaseTerms::of(q).unwrap().overshoot(q);
            for (isolates, seed) in [(1, 7), (3, 11), (16, 13)] {
                let run = simulate(q, isolates, seed, 20_000, max_gap_ms);
                let interval = q.emission_interval_ms();
                for span in [
                    0,
                    interval,
                    q.window_ms() / 2,
                    q.window_ms(),
                    5 * q.window_ms(),
                ] {
                    let exact_bound = u64::from(q.max_requests()) + span / interval;
                    assert!(busiest(&run.exact_admitted_at, span) <= exact_bound);
                    let most = busiest(&run.admitted_at, span);
                    assert!(
                        most <= exact_bound + overshoot,
                        "{q:?}, {isolates} isolates: {most} admitted within {span} ms; exact allows {exact_bound}, lease {overshoot} more"
                    );
                }
            }
        }
    }

    /// The attack the ttl exists for: many isolates take a lease each, sit on it until the key's
    /// budget is whole again, then spend it together with the fresh budget.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn leases_hoarded_across_isolates_cannot_be_spent_with_the_next_budget() {
        let leased = leased(1_000, 60);
        let q = leased.quota;
        let mut object = Object {
            quota: q,
            tat_ms: 0,
        };
        let mut fleet: Vec<LeaseBook> = (0..40).map(|_| LeaseBook::default()).collect();
        let admitted_at = |book: &mut LeaseBook, object: &mut Object, now: u64| {
            let local = spend_one(book, object, leased, now);
            match local {
                Local::Admitted { refill, .. } => {
                    if refill {
                        let grant = object.lease(leased.terms.size, now);
                        book.settle_refill("k", leased, Some(grant), now, now);
                    }
                    true
                }
                _ => false,
            }
        };
        let first: usize = fleet
            .iter_mut()
            .map(|book| usize::from(admitted_at(book, &mut object, NOW)))
            .sum();
        assert_eq!(first, 40);
        let whole_again = NOW + q.window_ms();
        let mut second = 0;
        for book in &mut fleet {
            for _ in 0..100 {
                second += usize::from(admitted_at(book, &mut object, whole_again));
            }
        }
        let bound = q.max_requests() as usize + LeaseTerms::of(q).unwrap().overshoot(q) as usize;
        assert!(
            second <= bound,
            "{second} admitted at one instant; at most {bound}"
        );
        let held: u32 = fleet
            .iter()
            .map(|book| book.held("k", q, whole_again))
            .sum();
        assert_eq!(
            second + held as usize,
            1_000,
            "the fresh budget, admitted or still held, and no more: the hoard expired"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn in_one_isolate_a_caller_is_admitted_as_often_as_exact_mode_admits_it() {
        for max_requests in [40, 60, 200, 1_000] {
            let q = quota(max_requests, 60);
            for share_of_rate in [0.1, 0.25, 0.5, 0.8, 0.9, 0.95, 1.5] {
                let mean_gap = q.emission_interval_ms() as f64 / share_of_rate;
                let run = simulate(q, 1, 29, 20_000, (2.0 * mean_gap) as u64);
                let (lease, exact) = (run.admitted_at.len(), run.exact_admitted_at.len());
                assert!(
                    lease >= exact,
                    "{q:?} at {share_of_rate} of its rate: lease admitted {lease}, exact {exact}"
                );
            }
        }
    }

    /// Requests that arrive together, before the object has answered any: one asks for a whole
    /// lease, the rest for themselves, so the burst is admitted as exact mode would admit it.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_burst_that_finds_the_lease_empty_charges_one_lease_beyond_what_it_admits() {
        for (q, burst) in [(quota(1_000, 60), 200), (quota(200, 3_600), 300)] {
            let leased = Leased::new(q).unwrap();
            let mut book = LeaseBook::default();
            let mut object = Object {
                quota: q,
                tat_ms: 0,
            };
            let asks: Vec<u32> = (0..burst)
                .map(|_| match book.take("k", leased, true, NOW) {
                    Local::Ask { size } => size,
                    other => panic!("nothing is held yet: {other:?}"),
                })
                .collect();
            assert_eq!(asks[0], leased.terms.size);
            assert!(
                asks[1..].iter().all(|size| *size == 1),
                "the rest ask for themselves"
            );
            let admitted = asks
                .iter()
                .filter(|size| {
                    let asked = Asked {
                        size: **size,
                        at_ms: NOW,
                    };
                    let grant = object.lease(**size, NOW);
                    matches!(
                        book.settle_ask("k", leased, true, asked, grant, NOW),
                        Answer::Admitted { .. }
                    )
                })
                .count();
            let size = leased.terms.size as usize;
            let limit = q.max_requests() as usize;
            let held = book.held("k", q, NOW) as usize;
            assert!(held < size, "{q:?}: at most the first lease's rest is held");
            assert_eq!(
                admitted + held,
                (burst + size - 1).min(limit),
                "{q:?}: the object charged one lease beyond the burst, or the whole budget"
            );
            let exact = burst.min(limit);
            assert!(
                admitted + size > exact,
                "{q:?}: {admitted} admitted; exact mode {exact}"
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_caller_under_its_limit_waits_on_the_object_only_for_its_first_request() {
        let leased = leased(200, 60);
        let mut book = LeaseBook::default();
        let mut object = Object {
            quota: leased.quota,
            tat_ms: 0,
        };
        let mut asks = 0;
        let mut now = NOW;
        for _ in 0..2_000 {
            now += 400;
            let local = match book.take("k", leased, true, now) {
                Local::Ask { size } => {
                    asks += 1;
                    book.settle_ask(
                        "k",
                        leased,
                        true,
                        Asked { size, at_ms: now },
                        object.lease(size, now),
                        now,
                    )
                    .into()
                }
                local => local,
            };
            let Local::Admitted { refill, .. } = local else {
                panic!("refused under the limit: {local:?}");
            };
            if refill {
                // The refill lands before the next request.
                let grant = object.lease(leased.terms.size, now + 20);
                book.settle_refill("k", leased, Some(grant), now, now + 20);
            }
        }
        assert_eq!(asks, 1);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reported_fields_match_exact_mode_in_one_isolate() {
        let leased = leased(60, 60);
        let q = leased.quota;
        let mut book = LeaseBook::default();
        let mut object = Object {
            quota: q,
            tat_ms: 0,
        };
        let mut exact_tat = 0;
        for _ in 0..60 {
            let local = spend_one(&mut book, &mut object, leased, NOW);
            let Local::Admitted { verdict, refill } = local else {
                panic!("{local:?}");
            };
            if refill {
                let grant = object.lease(leased.terms.size, NOW);
                book.settle_refill("k", leased, Some(grant), NOW, NOW);
            }
            let exact = check(q, exact_tat, NOW, 1);
            exact_tat = exact.tat_ms;
            assert_eq!(verdict, exact.verdict);
        }
        let refused = spend_one(&mut book, &mut object, leased, NOW);
        assert_eq!(refused, Local::Refused(check(q, exact_tat, NOW, 1).verdict));
        let later = NOW + 400;
        let Local::Refused(remembered) = book.take("k", leased, true, later) else {
            panic!("refused locally until Retry-After");
        };
        assert_eq!(remembered, check(q, exact_tat, later, 1).verdict);
        assert!(matches!(
            book.take("k", leased, true, NOW + 1_000),
            Local::Ask { .. }
        ));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_peek_spends_nothing_and_a_refill_is_asked_once_half_is_spent() {
        let leased = leased(200, 60);
        let mut book = LeaseBook::default();
        assert_eq!(book.take("k", leased, false, NOW), Local::Ask { size: 5 });
        book.settle_ask("k", leased, false, asked_whole(leased), grant(5, 195), NOW);
        for _ in 0..10 {
            assert!(matches!(
                book.take("k", leased, false, NOW),
                Local::Admitted { refill: false, .. }
            ));
        }
        assert_eq!(book.held("k", leased.quota, NOW), 5);
        for _ in 0..3 {
            book.take("k", leased, true, NOW);
        }
        assert_eq!(
            book.held("k", leased.quota, NOW),
            2,
            "half spent: a refill is asked"
        );
        assert!(
            matches!(
                book.take("k", leased, true, NOW),
                Local::Admitted { refill: false, .. }
            ),
            "one refill at a time"
        );
        book.take("k", leased, true, NOW);
        assert_eq!(
            book.take("k", leased, true, NOW),
            Local::Ask { size: 1 },
            "nothing left and the refill not back: the request asks for itself only"
        );
        book.settle_refill("k", leased, None, NOW, NOW);
        book.settle_ask("k", leased, true, asked_whole(leased), grant(5, 190), NOW);
        assert!(matches!(
            book.take("k", leased, true, NOW),
            Local::Admitted { refill: false, .. }
        ));
        assert!(
            matches!(
                book.take("k", leased, true, NOW),
                Local::Admitted { refill: true, .. }
            ),
            "a failed refill is asked again once half is spent"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_lease_expires_unspent_and_a_changed_limit_drops_it() {
        let leased = leased(200, 60);
        let mut book = LeaseBook::default();
        book.settle_ask("k", leased, true, asked_whole(leased), grant(5, 195), NOW);
        assert_eq!(book.held("k", leased.quota, NOW + 5_999), 4);
        assert_eq!(
            book.held("k", leased.quota, NOW + 6_000),
            0,
            "ttl is 4 x 5 x 300 ms"
        );
        assert_eq!(
            book.take("k", leased, true, NOW + 6_000),
            Local::Ask { size: 5 }
        );
        book.settle_ask("k", leased, true, asked_whole(leased), grant(5, 195), NOW);
        let raised = self::leased(400, 60);
        assert_eq!(book.held("k", raised.quota, NOW), 0);
        assert_eq!(book.take("k", raised, true, NOW), Local::Ask { size: 10 });
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_book_forgets_idle_keys_beyond_its_size() {
        let leased = leased(200, 60);
        let mut book = LeaseBook::default();
        for index in 0..MAX_KEYS {
            book.settle_ask(
                &format!("k{index}"),
                leased,
                true,
                asked_whole(leased),
                grant(5, 195),
                NOW,
            );
        }
        assert_eq!(book.len(), MAX_KEYS);
        book.take("fresh", leased, true, NOW + 10_000);
        assert_eq!(book.len(), 1, "every other lease had expired");
    }
}
