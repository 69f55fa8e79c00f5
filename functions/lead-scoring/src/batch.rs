//! The pure parts of `POST /batch`: which leads a request asks for, the rows written back to
//! `apply_lead_scores`, and the top movers reported to the caller.

use crate::score::LeadScore;
use serde::{Deserialize, Serialize};
use shared::db::is_uuid;
use shared::time::Timestamp;

/// How many of the biggest score changes a batch reports.
pub const TOP_MOVERS: usize = 10;

/// The request body: exactly one of `lead_ids` or `stale_before` (with an optional `limit`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    pub lead_ids: Option<Vec<String>>,
    pub stale_before: Option<String>,
    pub limit: Option<usize>,
}

/// Which leads to score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These leads (deduplicated, in the order given).
    LeadIds(Vec<String>),
    /// Leads never scored or scored before `before`, stalest first, at most `limit`.
    StaleBefore { before: Timestamp, limit: usize },
}

/// A body that asks for something we will not do, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> SelectionError {
    SelectionError {
        field,
        message: message.into(),
    }
}

impl BatchBody {
    pub fn selection(self, batch_max: usize) -> Result<Selection, SelectionError> {
        match (self.lead_ids, self.stale_before) {
            (Some(_), Some(_)) | (None, None) => Err(refuse(
                "lead_ids",
                "send either lead_ids or stale_before, not both",
            )),
            (Some(ids), None) => {
                if self.limit.is_some() {
                    return Err(refuse(
                        "limit",
                        "limit goes with stale_before; lead_ids already says how many",
                    ));
                }
                lead_ids(ids, batch_max).map(Selection::LeadIds)
            }
            (None, Some(before)) => {
                let before = Timestamp::parse_rfc3339(&before)
                    .map_err(|problem| refuse("stale_before", format!("{problem}")))?;
                let limit = self.limit.unwrap_or(batch_max);
                if limit == 0 || limit > batch_max {
                    return Err(refuse(
                        "limit",
                        format!("must be between 1 and {batch_max}"),
                    ));
                }
                Ok(Selection::StaleBefore { before, limit })
            }
        }
    }
}

fn lead_ids(ids: Vec<String>, batch_max: usize) -> Result<Vec<String>, SelectionError> {
    if ids.is_empty() {
        return Err(refuse("lead_ids", "list at least one lead id"));
    }
    if ids.len() > batch_max {
        return Err(refuse(
            "lead_ids",
            format!("at most {batch_max} lead ids per call; send the rest in another call"),
        ));
    }
    let mut unique: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !is_uuid(&id) {
            return Err(refuse(
                "lead_ids",
                format!("{id:?} is not a lead id (a UUID)"),
            ));
        }
        let id = id.to_ascii_lowercase();
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    Ok(unique)
}

/// One element of `apply_lead_scores(scores)`.
#[derive(Debug, Serialize)]
pub struct ScoreWrite<'a> {
    pub id: &'a str,
    pub score: u8,
    pub score_breakdown: &'a LeadScore<'a>,
    pub scored_at: &'a str,
}

/// A lead whose score changed in this batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mover {
    pub lead_id: String,
    pub previous_score: i32,
    pub score: u8,
    pub change: i32,
}

/// The `count` largest changes among leads that had a score before, biggest first (up or
/// down alike), ties broken by lead id so the answer is stable. Unchanged leads are not movers.
pub fn top_movers<'a>(
    outcomes: impl IntoIterator<Item = (&'a str, Option<i32>, u8)>,
    count: usize,
) -> Vec<Mover> {
    let mut movers: Vec<Mover> = outcomes
        .into_iter()
        .filter_map(|(lead_id, previous, score)| {
            let previous = previous?;
            let change = i32::from(score) - previous;
            (change != 0).then(|| Mover {
                lead_id: lead_id.to_owned(),
                previous_score: previous,
                score,
                change,
            })
        })
        .collect();
    movers.sort_by(|a, b| {
        b.change
            .abs()
            .cmp(&a.change.abs())
            .then_with(|| a.lead_id.cmp(&b.lead_id))
    });
    movers.truncate(count);
    movers
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "a11ce000-0000-4000-8000-000000000001";
    const B: &str = "b0b00000-0000-4000-8000-000000000002";

    fn body(json: serde_json::Value) -> BatchBody {
        serde_json::from_value(json).unwrap()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn lead_ids_are_checked_lowercased_and_deduplicated() {
        let upper = A.to_ascii_uppercase();
        let selection = body(serde_json::json!({"lead_ids": [A, B, upper]}))
            .selection(10)
            .unwrap();
        assert_eq!(
            selection,
            Selection::LeadIds(vec![A.to_owned(), B.to_owned()])
        );

        let error = body(serde_json::json!({"lead_ids": [A, "1; drop table"]}))
            .selection(10)
            .unwrap_err();
        assert_eq!(error.field, "lead_ids");
        assert!(error.message.contains("not a lead id"));
        assert_eq!(
            body(serde_json::json!({"lead_ids": []}))
                .selection(10)
                .unwrap_err()
                .field,
            "lead_ids"
        );
        let too_many = body(serde_json::json!({"lead_ids": [A, B, A]}))
            .selection(2)
            .unwrap_err();
        assert!(
            too_many.message.contains("at most 2"),
            "{}",
            too_many.message
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn stale_before_takes_a_timestamp_and_a_bounded_limit() {
        let selection = body(serde_json::json!({"stale_before": "2026-01-15T10:00:00Z"}))
            .selection(500)
            .unwrap();
        let before = Timestamp::parse_rfc3339("2026-01-15T10:00:00Z").unwrap();
        assert_eq!(selection, Selection::StaleBefore { before, limit: 500 });
        let limited =
            body(serde_json::json!({"stale_before": "2026-01-15T10:00:00Z", "limit": 20}))
                .selection(500);
        assert_eq!(
            limited.unwrap(),
            Selection::StaleBefore { before, limit: 20 }
        );

        for (json, field) in [
            (
                serde_json::json!({"stale_before": "yesterday"}),
                "stale_before",
            ),
            (
                serde_json::json!({"stale_before": "2026-01-15T10:00:00Z", "limit": 0}),
                "limit",
            ),
            (
                serde_json::json!({"stale_before": "2026-01-15T10:00:00Z", "limit": 501}),
                "limit",
            ),
            (serde_json::json!({"lead_ids": [A], "limit": 5}), "limit"),
            (
                serde_json::json!({"lead_ids": [A], "stale_before": "2026-01-15T10:00:00Z"}),
                "lead_ids",
            ),
            (serde_json::json!({}), "lead_ids"),
        ] {
            assert_eq!(
                body(json.clone()).selection(500).unwrap_err().field,
                field,
                "{json}"
            );
        }
        assert!(serde_json::from_value::<BatchBody>(serde_json::json!({"ids": [A]})).is_err());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn top_movers_are_the_biggest_changes_with_ties_by_lead_id() {
        let outcomes = [
            ("d", Some(50), 40u8),
            ("c", Some(10), 20),
            ("b", Some(30), 30),
            ("a", Some(60), 70),
            ("e", None, 90),
            ("f", Some(0), 100),
        ];
        let movers = top_movers(outcomes, 3);
        let summary: Vec<_> = movers
            .iter()
            .map(|mover| (mover.lead_id.as_str(), mover.change))
            .collect();
        assert_eq!(summary, [("f", 100), ("a", 10), ("c", 10)]);
        assert_eq!(
            top_movers(outcomes, 10).len(),
            4,
            "unchanged and never-scored leads are not movers"
        );
    }
}
