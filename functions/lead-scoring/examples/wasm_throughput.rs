//! The engine compiled to wasm32 for the throughput benchmark that `bench/functions/lead-scoring/wasm-throughput.mjs`
//! runs in Node (V8, the engine Workers use). Plain exports and no wasm-bindgen glue: the
//! timing happens in JS around `score_prepared`, so the module needs no clock, and the JS
//! imports the crate's edge layer declares are stubbed (the engine never calls them).

#[path = "support/synthetic.rs"]
mod synthetic;

use lead_scoring::{Lead, LeadScore, RuleSet};
use std::cell::RefCell;

struct Prepared {
    rules: RuleSet,
    leads: Vec<Lead>,
    page: String,
}

thread_local! {
    static PREPARED: RefCell<Option<Prepared>> = const { RefCell::new(None) };
}

/// Builds `count` synthetic leads (parsed, and as one JSON page) and the built-in rule set.
#[no_mangle]
pub extern "C" fn prepare(count: u32) {
    let rows = synthetic::lead_rows(count as usize);
    let page = serde_json::to_string(&rows).expect("rows serialize");
    let leads = synthetic::leads(count as usize);
    PREPARED.with(|prepared| {
        *prepared.borrow_mut() = Some(Prepared {
            rules: synthetic::default_rule_set(),
            leads,
            page,
        });
    });
}

/// Scores every prepared lead `rounds` times; returns the sum of the scores.
#[no_mangle]
pub extern "C" fn score_prepared(rounds: u32) -> u64 {
    PREPARED.with(|prepared| {
        let prepared = prepared.borrow();
        let Some(Prepared { rules, leads, .. }) = prepared.as_ref() else {
            return 0;
        };
        let mut result = LeadScore::default();
        let mut checksum = 0u64;
        for _ in 0..rounds {
            for lead in leads {
                rules.score_into(lead, synthetic::NOW, &mut result);
                checksum += u64::from(result.score);
            }
        }
        checksum
    })
}

/// Parses the prepared JSON page and scores it, `rounds` times; returns the sum of the scores.
#[no_mangle]
pub extern "C" fn parse_and_score_prepared(rounds: u32) -> u64 {
    PREPARED.with(|prepared| {
        let prepared = prepared.borrow();
        let Some(Prepared { rules, page, .. }) = prepared.as_ref() else {
            return 0;
        };
        let mut result = LeadScore::default();
        let mut checksum = 0u64;
        for _ in 0..rounds {
            let leads: Vec<Lead> = serde_json::from_str(page).expect("the page parses");
            for lead in &leads {
                rules.score_into(lead, synthetic::NOW, &mut result);
                checksum += u64::from(result.score);
            }
        }
        checksum
    })
}
