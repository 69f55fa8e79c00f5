//! Lead-score decay, the one job whose work is Rust: leads whose score is older than the decay
//! interval are listed by `list_leads_due_for_rescoring` (which counts their notes, a table the
//! maintenance role cannot read), then rescored by `lead_scoring::service::rescore`: scored
//! with their workspace's rules and written back in one `apply_lead_scores` call.
//!
//! A lead that cannot be scored (its workspace's saved rules do not compile, the policy of
//! `lead_scoring::service`, or its row cannot be read, decided here) is marked with the reason
//! through `mark_leads_unscorable` (migration 0022): it leaves the queue until the workspace's
//! rules or settings change, instead of staying first in it every run and stopping the job
//! before other workspaces' leads.

use crate::plan::{Job, JobSettings};
use lead_scoring::service::{self, Unscorable};
use lead_scoring::{Lead, Timestamp};
use serde_json::{json, Value};
use shared::db::{self, Db};
use shared::error::ApiError;

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
    let (leads, unreadable) = read_leads(rows);
    let now = Timestamp::from_unix_millis(i64::try_from(now_ms).unwrap_or(i64::MAX));
    let rescored = service::rescore(db, &leads, unreadable, now).await?;
    Ok(json!({ "listed": listed, "rescored": rescored.updated, "unscorable": rescored.marked }))
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

#[cfg(test)]
mod tests {
    use super::*;

    const WORKSPACE: &str = "0d8f5c4e-1111-4c59-9d4a-0d6d1b2a9c11";

    fn row(id: &str, workspace: &str) -> Value {
        json!({ "id": id, "workspace_id": workspace, "name": "Seller", "status": "new", "tags": ["probate"],
                "created_at": "2026-01-01T00:00:00+00:00", "notes_count": 2 })
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
}
