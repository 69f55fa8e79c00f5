//! Lead-score decay, the one job whose work is Rust: leads whose score is older than the decay
//! interval are listed by `list_leads_due_for_rescoring` (which counts their notes, a table the
//! maintenance role cannot read), scored with their workspace's rules by the lead-scoring
//! engine, and written back in one `apply_lead_scores` call.
//!
//! A lead that cannot be scored (its workspace's saved rules do not compile, or its row cannot
//! be read) is marked with the reason through `mark_leads_unscorable` (migration 0022): it
//! leaves the queue until the workspace's rules or settings change, instead of staying first in
//! it every run and stopping the job before other workspaces' leads.

use crate::plan::{Job, JobSettings};
use lead_scoring::batch::ScoreWrite;
use lead_scoring::workspace_rules::WorkspaceRules;
use lead_scoring::{store, Lead, LeadScore, RuleSet, Timestamp};
use serde::Serialize;
use serde_json::{json, Value};
use shared::db::{self, Db};
use shared::error::ApiError;
use std::collections::{BTreeSet, HashMap};

/// One batch; returns `{"listed", "rescored", "unscorable"}` (unscorable: leads marked with
/// the reason they could not be scored).
pub async fn rescore_batch(
    db: &Db,
    settings: &JobSettings,
    now_ms: u64,
) -> Result<Value, ApiError> {
    let listing = db.rpc(
        "list_leads_due_for_rescoring",
        &json!({ "batch_size": Job::LeadScoreDecay.batch_size(), "older_than_days": settings.lead_decay_days }),
    );
    let rows: Vec<Value> = db::fetch_json(listing).await?;
    let listed = rows.len();
    let (leads, mut unscorable) = read_leads(rows);
    let workspaces: Vec<&str> = leads
        .iter()
        .filter_map(|lead| lead.workspace_id.as_deref())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rule_sets = rule_sets_of(db, &workspaces).await?;

    let now = Timestamp::from_unix_millis(i64::try_from(now_ms).unwrap_or(i64::MAX));
    let scored_at = now.to_rfc3339();
    let scored: Vec<(&str, LeadScore<'_>)> = pair_with_rules(&leads, &rule_sets, &mut unscorable)
        .into_iter()
        .map(|(id, lead, rules)| (id, rules.score(lead, now)))
        .collect();
    let writes: Vec<ScoreWrite<'_>> = scored
        .iter()
        .map(|(id, result)| ScoreWrite {
            id,
            score: result.score,
            score_breakdown: result,
            scored_at: &scored_at,
        })
        .collect();
    let rescored = store::apply_scores(db, &writes).await?;
    let marked = mark_unscorable(db, &unscorable).await?;
    Ok(json!({ "listed": listed, "rescored": rescored, "unscorable": marked }))
}

/// A lead the job cannot score and why: one element of `mark_leads_unscorable(marks)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unscorable {
    pub id: String,
    pub reason: String,
}

/// The listed rows as leads; a row that is not a readable lead is unscorable (its id is all
/// that is needed to mark it; a row without one cannot come from the listing).
pub fn read_leads(rows: Vec<Value>) -> (Vec<Lead>, Vec<Unscorable>) {
    let mut leads = Vec::with_capacity(rows.len());
    let mut unscorable = Vec::new();
    for row in rows {
        let id = row.get("id").and_then(Value::as_str).map(str::to_owned);
        match (serde_json::from_value::<Lead>(row), id) {
            (Ok(lead), Some(_)) => leads.push(lead),
            (Err(problem), Some(id)) => unscorable.push(Unscorable {
                id,
                reason: format!("the lead cannot be read: {problem}"),
            }),
            (_, None) => {}
        }
    }
    (leads, unscorable)
}

/// Each lead (with its id) and the rules of its workspace; a lead whose workspace's rules
/// cannot be used is added to `unscorable` with the reason instead.
pub fn pair_with_rules<'a>(
    leads: &'a [Lead],
    rule_sets: &'a HashMap<String, Result<RuleSet, String>>,
    unscorable: &mut Vec<Unscorable>,
) -> Vec<(&'a str, &'a Lead, &'a RuleSet)> {
    let mut pairs = Vec::with_capacity(leads.len());
    for lead in leads {
        let (Some(id), Some(workspace)) = (lead.id.as_deref(), lead.workspace_id.as_deref()) else {
            continue;
        };
        match rule_sets.get(workspace) {
            Some(Ok(rules)) => pairs.push((id, lead, rules)),
            Some(Err(reason)) => unscorable.push(Unscorable {
                id: id.to_owned(),
                reason: reason.clone(),
            }),
            None => unscorable.push(Unscorable {
                id: id.to_owned(),
                reason: "the workspace's scoring rules were not found".to_owned(),
            }),
        }
    }
    pairs
}

/// The compiled rules of each workspace, or why its stored rules cannot be used.
async fn rule_sets_of(
    db: &Db,
    workspaces: &[&str],
) -> Result<HashMap<String, Result<RuleSet, String>>, ApiError> {
    if workspaces.is_empty() {
        return Ok(HashMap::new());
    }
    let (mut rows, half_lives) = store::rules_of(db, workspaces).await?;
    Ok(workspaces
        .iter()
        .map(|workspace| {
            let stored = WorkspaceRules::from_rows(
                rows.remove(*workspace).unwrap_or_default(),
                half_lives.get(*workspace).copied(),
            );
            let compiled = stored
                .and_then(|stored| stored.compile())
                .map_err(|problem| problem.to_string());
            ((*workspace).to_string(), compiled)
        })
        .collect())
}

async fn mark_unscorable(db: &Db, unscorable: &[Unscorable]) -> Result<u64, ApiError> {
    if unscorable.is_empty() {
        return Ok(0);
    }
    db::fetch_json(db.rpc("mark_leads_unscorable", &json!({ "marks": unscorable }))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKSPACE: &str = "0d8f5c4e-1111-4c59-9d4a-0d6d1b2a9c11";
    const BROKEN: &str = "0d8f5c4e-2222-4c59-9d4a-0d6d1b2a9c11";

    fn row(id: &str, workspace: &str) -> Value {
        json!({ "id": id, "workspace_id": workspace, "name": "Seller", "status": "new", "tags": ["probate"],
                "created_at": "2026-01-01T00:00:00+00:00", "notes_count": 2 })
    }

    fn rule_sets() -> HashMap<String, Result<RuleSet, String>> {
        let rules = json!([{ "rule_key": "probate", "rule_group": "motivation", "points": 30,
                             "condition": { "field": "tags", "op": "contains_tag", "value": "probate" } }]);
        HashMap::from([
            (WORKSPACE.to_owned(), Ok(RuleSet::from_json(&rules, None).unwrap())),
            (BROKEN.to_owned(), Err("the workspace's saved scoring rules are invalid: rule \"x\", condition.field: unknown field \"pool\"".to_owned())),
        ])
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_row_that_is_not_a_readable_lead_is_unscorable_with_the_reason() {
        let mut unreadable = row("b", WORKSPACE);
        unreadable["last_contacted_at"] = json!("10000-01-01T00:00:00+00:00");
        let (leads, unscorable) = read_leads(vec![
            row("a", WORKSPACE),
            unreadable,
            json!({ "status": "new" }),
        ]);
        assert_eq!(leads.len(), 1);
        assert_eq!(
            unscorable.len(),
            1,
            "a row without an id cannot be marked and is left alone"
        );
        assert_eq!(unscorable[0].id, "b");
        assert!(
            unscorable[0]
                .reason
                .starts_with("the lead cannot be read: "),
            "{}",
            unscorable[0].reason
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn leads_of_a_workspace_whose_rules_cannot_be_used_are_unscorable_and_the_rest_are_scored() {
        let rows = vec![
            row("a", BROKEN),
            row("b", WORKSPACE),
            row("c", BROKEN),
            row("d", "unlisted"),
        ];
        let (leads, mut unscorable) = read_leads(rows);
        let rule_sets = rule_sets();
        let pairs = pair_with_rules(&leads, &rule_sets, &mut unscorable);
        assert_eq!(
            pairs.iter().map(|(id, _, _)| *id).collect::<Vec<_>>(),
            ["b"]
        );
        let now = Timestamp::parse_rfc3339("2026-03-01T00:00:00Z").unwrap();
        assert_eq!(pairs[0].2.score(pairs[0].1, now).score, 30);
        assert_eq!(
            unscorable
                .iter()
                .map(|mark| mark.id.as_str())
                .collect::<Vec<_>>(),
            ["a", "c", "d"]
        );
        assert!(unscorable[0].reason.contains("unknown field \"pool\""));
        assert_eq!(
            unscorable[2].reason,
            "the workspace's scoring rules were not found"
        );
        assert_eq!(
            serde_json::to_value(&unscorable[0]).unwrap(),
            json!({ "id": "a", "reason": unscorable[0].reason })
        );
    }
}
