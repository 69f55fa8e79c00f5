//! Lead-score decay, the one job whose work is Rust: leads whose score is older than the decay
//! interval are listed by `list_leads_due_for_rescoring` (which counts their notes, a table the
//! maintenance role cannot read), scored with their workspace's rules by the lead-scoring
//! engine, and written back in one `apply_lead_scores` call.

use crate::plan::{Job, JobSettings};
use lead_scoring::batch::ScoreWrite;
use lead_scoring::workspace_rules::WorkspaceRules;
use lead_scoring::{store, Lead, LeadScore, RuleSet, Timestamp};
use serde_json::{json, Value};
use shared::db::{self, Db};
use shared::error::ApiError;
use std::collections::{BTreeSet, HashMap};

/// One batch; returns `{"listed", "rescored", "unscorable"}` (unscorable: the workspace's
/// stored rules no longer compile, so its leads keep their old score).
pub async fn rescore_batch(db: &Db, settings: &JobSettings, now_ms: u64) -> Result<Value, ApiError> {
    let listing = db.rpc(
        "list_leads_due_for_rescoring",
        &json!({ "batch_size": Job::LeadScoreDecay.batch_size(), "older_than_days": settings.lead_decay_days }),
    );
    let leads: Vec<Lead> = db::fetch_json(listing).await?;
    let workspaces: Vec<&str> = leads
        .iter()
        .filter_map(|lead| lead.workspace_id.as_deref())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rule_sets = rule_sets_of(db, &workspaces).await?;

    let now = Timestamp::from_unix_millis(i64::try_from(now_ms).unwrap_or(i64::MAX));
    let scored_at = now.to_rfc3339();
    let scored: Vec<(&str, LeadScore<'_>)> = leads
        .iter()
        .filter_map(|lead| {
            let rules = rule_sets.get(lead.workspace_id.as_deref()?)?;
            Some((lead.id.as_deref()?, rules.score(lead, now)))
        })
        .collect();
    let writes: Vec<ScoreWrite<'_>> = scored
        .iter()
        .map(|(id, result)| ScoreWrite { id, score: result.score, score_breakdown: result, scored_at: &scored_at })
        .collect();
    let rescored = store::apply_scores(db, &writes).await?;
    Ok(json!({ "listed": leads.len(), "rescored": rescored, "unscorable": leads.len() - scored.len() }))
}

/// The compiled rules of each workspace whose stored rules are usable.
async fn rule_sets_of(db: &Db, workspaces: &[&str]) -> Result<HashMap<String, RuleSet>, ApiError> {
    if workspaces.is_empty() {
        return Ok(HashMap::new());
    }
    let (mut rows, half_lives) = store::rules_of(db, workspaces).await?;
    Ok(workspaces
        .iter()
        .filter_map(|workspace| {
            let stored = WorkspaceRules::from_rows(rows.remove(*workspace).unwrap_or_default(), half_lives.get(*workspace).copied());
            let compiled = stored.and_then(|stored| stored.compile()).ok()?;
            Some(((*workspace).to_string(), compiled))
        })
        .collect())
}
