//! Where leads and rules come from and scores go: PostgREST, under whichever JWT the [`Db`]
//! carries, so RLS decides what is visible and writable. Each function is one request (or one
//! per page of ids); no logic beyond shaping queries and rows lives here.

use crate::batch::ScoreWrite;
use crate::lead::Lead;
use crate::rules::RuleDefinition;
use crate::workspace_rules::rows_by_workspace;
use serde::Deserialize;
use serde_json::{json, Value};
use shared::db::{self, Db};
use shared::error::ApiError;
use shared::time::Timestamp;
use std::collections::HashMap;

const LEADS: &str = "crm_leads";
const RULES: &str = "crm_lead_scoring_rules";
const SETTINGS: &str = "crm_lead_scoring_settings";

/// What the engine reads of a lead. Notes are embedded as ids and counted
/// ([`Lead::notes_count`]).
const LEAD_COLUMNS: &str =
    "id,workspace_id,name,status,opt_status,tags,email,phone,company,source,is_deleted,\
score,created_at,updated_at,last_contacted_at,notes_count:crm_lead_notes(id)";
const RULE_COLUMNS: &str = "workspace_id,rule_key,rule_group,condition,points,enabled,sort_order";
/// Ids per `in.(...)` filter, so a 1,000-lead batch stays well inside URL length limits.
const IDS_PER_QUERY: usize = 100;

pub async fn lead(db: &Db, id: &str) -> Result<Option<Lead>, ApiError> {
    let query = db.from(LEADS).select(LEAD_COLUMNS).eq("id", id);
    Ok(db::fetch_json::<Vec<Lead>>(query).await?.into_iter().next())
}

/// The visible leads among `ids` (those RLS hides are simply absent).
pub async fn leads_by_ids(db: &Db, ids: &[String]) -> Result<Vec<Lead>, ApiError> {
    let mut leads = Vec::with_capacity(ids.len());
    for page in ids.chunks(IDS_PER_QUERY) {
        let query = db.from(LEADS).select(LEAD_COLUMNS).in_("id", page);
        leads.extend(db::fetch_json::<Vec<Lead>>(query).await?);
    }
    Ok(leads)
}

/// Up to `limit` visible, not deleted leads never scored or scored before `before`, stalest
/// first.
pub async fn stale_leads(db: &Db, before: Timestamp, limit: usize) -> Result<Vec<Lead>, ApiError> {
    let query = db
        .from(LEADS)
        .select(LEAD_COLUMNS)
        .eq("is_deleted", "false")
        // Quoted: `.` and `:` are reserved inside PostgREST's logic trees.
        .or(format!(
            "scored_at.is.null,scored_at.lt.\"{}\"",
            before.to_rfc3339()
        ))
        .order("scored_at.asc.nullsfirst,id.asc")
        .limit(limit);
    db::fetch_json(query).await
}

/// Whether the caller can see the workspace at all (members, owners, platform admins).
pub async fn workspace_visible(db: &Db, workspace_id: &str) -> Result<bool, ApiError> {
    let query = db.from("workspaces").select("id").eq("id", workspace_id);
    Ok(!db::fetch_json::<Vec<Value>>(query).await?.is_empty())
}

#[derive(Deserialize)]
struct SettingsRow {
    workspace_id: String,
    engagement_half_life_days: Option<f64>,
}

/// The stored rule rows and half-life of each listed workspace (a workspace with no rows or
/// no settings row is absent from the respective map).
pub async fn rules_of(
    db: &Db,
    workspace_ids: &[&str],
) -> Result<(HashMap<String, Vec<Value>>, HashMap<String, f64>), ApiError> {
    let rules = db
        .from(RULES)
        .select(RULE_COLUMNS)
        .in_("workspace_id", workspace_ids)
        .order("sort_order.asc,rule_key.asc");
    let rows: Vec<Value> = db::fetch_json(rules).await?;
    let settings = db
        .from(SETTINGS)
        .select("workspace_id,engagement_half_life_days")
        .in_("workspace_id", workspace_ids);
    let half_lives = db::fetch_json::<Vec<SettingsRow>>(settings)
        .await?
        .into_iter()
        .filter_map(|row| Some((row.workspace_id, row.engagement_half_life_days?)))
        .collect();
    Ok((rows_by_workspace(rows), half_lives))
}

/// Writes the scores in one request; returns how many leads were updated (RLS skips the rest).
pub async fn apply_scores(db: &Db, writes: &[ScoreWrite<'_>]) -> Result<usize, ApiError> {
    if writes.is_empty() {
        return Ok(0);
    }
    db::fetch_json(db.rpc("apply_lead_scores", &json!({ "scores": writes }))).await
}

/// Replaces the workspace's whole rule set and, when `half_life_days` is `Some`, sets (or
/// clears, with `Some(None)`) its engagement half-life: one transaction
/// (`save_lead_scoring_rules`, sql/migrations/0026_save_lead_scoring_rules.sql). Returns the
/// stored rows.
pub async fn save_rules(
    db: &Db,
    workspace_id: &str,
    definitions: &[RuleDefinition],
    half_life_days: Option<Option<u32>>,
) -> Result<Vec<Value>, ApiError> {
    let call = db.rpc(
        "save_lead_scoring_rules",
        &json!({
            "workspace_id": workspace_id,
            "rules": definitions,
            "set_half_life": half_life_days.is_some(),
            "engagement_half_life_days": half_life_days.flatten(),
        }),
    );
    db::fetch_json(call).await
}
