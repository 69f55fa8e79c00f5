//! Native throughput of the scoring engine: `cargo run --release -p lead-scoring --example
//! throughput [-- LEADS ROUNDS]`. Prints leads per second for scoring alone (leads already
//! parsed, one reused result buffer) and for reading a PostgREST JSON page plus scoring it.

#[path = "support/synthetic.rs"]
mod synthetic;

use lead_scoring::{Lead, LeadScore};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let mut arguments = std::env::args()
        .skip(1)
        .map(|argument| argument.parse::<usize>());
    let lead_count = arguments.next().and_then(Result::ok).unwrap_or(100_000);
    let rounds = arguments.next().and_then(Result::ok).unwrap_or(10);

    let rules = synthetic::default_rule_set();
    let leads = synthetic::leads(lead_count);
    let page = serde_json::to_string(&synthetic::lead_rows(lead_count)).expect("rows serialize");

    let mut result = LeadScore::default();
    let mut checksum = 0u64;
    for lead in &leads {
        rules.score_into(lead, synthetic::NOW, &mut result);
        checksum += u64::from(result.score);
    }

    let started = Instant::now();
    for _ in 0..rounds {
        for lead in &leads {
            rules.score_into(black_box(lead), synthetic::NOW, &mut result);
            checksum += u64::from(black_box(result.score));
        }
    }
    let scoring = started.elapsed().as_secs_f64();

    let started = Instant::now();
    for _ in 0..rounds {
        let parsed: Vec<Lead> = serde_json::from_str(black_box(&page)).expect("the page parses");
        for lead in &parsed {
            rules.score_into(lead, synthetic::NOW, &mut result);
            checksum += u64::from(result.score);
        }
    }
    let parsing_and_scoring = started.elapsed().as_secs_f64();

    let total = (lead_count * rounds) as f64;
    let mean_score = checksum as f64 / (lead_count * (2 * rounds + 1)) as f64;
    println!(
        "native, {lead_count} leads x {rounds} rounds, {} rules, mean score {mean_score:.1}",
        rules.rule_keys().count()
    );
    println!(
        "  score only:        {:>12.0} leads/s ({:.2} us/lead)",
        total / scoring,
        scoring * 1e6 / total
    );
    println!(
        "  parse JSON + score:{:>12.0} leads/s ({:.2} us/lead)",
        total / parsing_and_scoring,
        parsing_and_scoring * 1e6 / total
    );
}
