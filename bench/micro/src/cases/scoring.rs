//! Scoring leads with the built-in rules, over the lead-scoring crate's own synthetic mix of
//! 1 000 `crm_leads` rows (tags, contact details, timestamps over a year). One operation is one
//! lead; leads/s is its inverse. A second case is everything pure that `POST /leads/{id}` does:
//! parse the row PostgREST returns, compile the rules, score, serialize the breakdown.

use std::hint::black_box;
use std::rc::Rc;

use lead_scoring::{default_rule_definitions, HalfLife, Lead, LeadScore, RuleSet};

#[path = "../../../../functions/lead-scoring/examples/support/synthetic.rs"]
mod synthetic;

use super::Case;

const LEADS: usize = 1_000;

pub fn cases() -> Vec<Case> {
    let rules = Rc::new(synthetic::default_rule_set());
    let leads: Rc<Vec<Lead>> = Rc::new(synthetic::leads(LEADS));
    let rows: Vec<String> = synthetic::lead_rows(LEADS)
        .iter()
        .map(|row| row.to_string())
        .collect();
    vec![
        Case::new("score_lead", "score one lead with the built-in rules (lead-scoring engine)", move |iterations| {
            let mut result = LeadScore::default();
            let mut scored = 0;
            for index in 0..iterations as usize {
                rules.score_into(black_box(&leads[index % LEADS]), synthetic::NOW, &mut result);
                if result.score <= 100 {
                    scored += 1;
                }
            }
            scored
        }),
        Case::new(
            "score_lead_request",
            "parse a lead row, compile the built-in rules, score, serialize the breakdown (lead-scoring)",
            move |iterations| {
                let half_life = HalfLife::from_days(14.0).expect("14 days is a valid half-life");
                (0..iterations as usize)
                    .filter(|index| {
                        let Ok(lead) = serde_json::from_str::<Lead>(black_box(&rows[index % LEADS])) else {
                            return false;
                        };
                        let Ok(rules) = RuleSet::compile(&default_rule_definitions(), Some(half_life)) else {
                            return false;
                        };
                        serde_json::to_string(&rules.score(&lead, synthetic::NOW)).is_ok()
                    })
                    .count() as u32
            },
        ),
    ]
}
