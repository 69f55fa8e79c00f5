//! One rate-limit decision: the GCRA step the limiter's store runs per request
//! (`rate_limit::gcra::check`), for a key part-way through its budget.

use std::hint::black_box;

use rate_limit::gcra::{check, Quota};

use super::Case;

const NOW_MS: u64 = 1_800_000_000_000;

pub fn cases() -> Vec<Case> {
    let quota = Quota::new(600, 60).expect("600 per 60 s is a valid quota");
    vec![Case::new(
        "gcra_decision",
        "one GCRA rate-limit decision (rate-limit gcra)",
        move |iterations| {
            let mut tat = NOW_MS;
            let mut allowed = 0;
            for step in 0..u64::from(iterations) {
                // The clock advances one emission interval per request, so the key stays admissible
                // and every decision does the full allowed path, including the new stored tat.
                let now = NOW_MS + step * quota.emission_interval_ms();
                let decision = check(black_box(quota), black_box(tat), now, 1);
                if decision.verdict.allowed() {
                    tat = decision.tat_ms;
                    allowed += 1;
                }
            }
            allowed
        },
    )]
}
