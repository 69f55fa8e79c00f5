//! Lead scoring (`functions/lead-scoring`): a rule set as `PUT /rules` and `POST /preview`
//! receive it, and the whole preview body (the lead, `now`, the half-life and the rules).

use lead_scoring::preview::{Preview, PreviewBody, PreviewRules};
use lead_scoring::rules::MAX_RULES;
use lead_scoring::{HalfLife, Lead, LeadScore, RuleDefinition, RuleSet, Timestamp};
use serde_json::{json, Value};
use shared::error::ApiError;

/// 2027-01-15T08:00:00Z, the instant fixed leads are scored at.
const NOW: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);

thread_local! {
    static LEADS: Vec<Lead> = sample_leads();
}

/// Leads that make most conditions reachable: one with every field, a fresh empty one, and
/// the two that score 0 without looking at the rules.
fn sample_leads() -> Vec<Lead> {
    [
        json!({"status": "active", "opt_status": "opted_in", "tags": ["Probate", "vacant", "tax-delinquent"],
               "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+1 555 0100", "company": "Engines",
               "source": "referral", "notes_count": 3, "created_at": "2026-10-01T10:00:00Z",
               "updated_at": "2026-12-01T10:00:00+02:00", "last_contacted_at": "2027-01-10T09:30:00.5Z"}),
        json!({}),
        json!({"status": "new", "opt_status": "opted_out", "tags": ["probate"]}),
        json!({"is_deleted": true, "notes_count": [{"id": 1}, {"id": 2}]}),
    ]
    .into_iter()
    .map(|lead| serde_json::from_value(lead).expect("sample leads parse"))
    .collect()
}

/// A rule list (the `rules` of a `PUT /rules` or preview body). Both ways of reading it must
/// agree, what is stored must read back the same, and the compiled set must score every
/// sample lead with a breakdown that adds up.
pub fn rules(data: &[u8]) {
    let Ok(rules) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let half_life = HalfLife::from_days(14.0).ok();
    let compiled = RuleSet::from_json(&rules, half_life);
    let definitions = RuleDefinition::list_from_json(&rules);
    let compiled_from_definitions = definitions
        .clone()
        .and_then(|definitions| RuleSet::compile(&definitions, half_life));
    assert_eq!(
        compiled.is_ok(),
        compiled_from_definitions.is_ok(),
        "RuleSet::from_json and list_from_json + compile disagree"
    );
    if let Ok(definitions) = definitions {
        let stored = serde_json::to_value(&definitions).expect("definitions serialize");
        assert_eq!(
            RuleDefinition::list_from_json(&stored).as_ref(),
            Ok(&definitions),
            "rules do not read back as they were stored"
        );
    }
    match compiled {
        Ok(rules) => {
            assert!(rules.rule_keys().count() <= MAX_RULES);
            LEADS.with(|leads| {
                for lead in leads {
                    assert_explained(&rules.score(lead, NOW));
                }
            });
        }
        Err(invalid) => {
            assert!(!invalid.errors().is_empty());
            assert_eq!(ApiError::from(invalid).status, 400);
        }
    }
}

/// A `POST /preview` body, checked as the endpoint checks it, then scored when its rules are
/// at hand (sent or built in; a workspace's would be fetched).
pub fn preview(data: &[u8]) {
    let Ok(body) = shared::http::parse_json::<PreviewBody>(data) else {
        return;
    };
    let preview = match Preview::from_body(body) {
        Ok(preview) => preview,
        Err(refused) => {
            assert_eq!(refused.status, 400, "{refused:?}");
            return;
        }
    };
    let now = preview.now.unwrap_or(NOW);
    let written = now.to_rfc3339();
    let in_range = (-62_167_219_200_000..=253_402_300_799_999).contains(&now.unix_millis());
    if in_range {
        assert_eq!(
            Timestamp::parse_rfc3339(&written),
            Ok(now),
            "{written} does not read back"
        );
    }
    if let PreviewRules::Sent(rules) | PreviewRules::BuiltIn(rules) = preview.rules {
        assert_explained(&rules.score(&preview.lead, now));
    }
}

/// A score is its breakdown's sum clamped to 0..=100, unless the lead is out of play, and it
/// serializes for `score_breakdown`.
fn assert_explained(score: &LeadScore<'_>) {
    let fired: i32 = score.fired.iter().map(|rule| rule.points).sum();
    assert_eq!(score.raw_total, fired);
    assert_eq!(score.raw_total, score.groups.total());
    if score.reason.is_none() {
        assert_eq!(i32::from(score.score), score.raw_total.clamp(0, 100));
    } else {
        assert_eq!((score.score, score.fired.len()), (0, 0));
    }
    for rule in &score.fired {
        assert!(rule.points.abs() <= rule.base_points.abs());
    }
    serde_json::to_string(score).expect("the breakdown serializes");
}
