//! HTTP in and out for the lead-scoring endpoints. Each handler verifies the caller, reads
//! leads and rules through PostgREST under the caller's own JWT (so RLS decides what exists for
//! them), runs the engine, and writes scores back under the same JWT. A lead the caller cannot
//! see is a 404, never someone else's score.

use serde::Deserialize;
use serde_json::{json, Value};
use shared::clock;
use shared::db::{is_uuid, Db};
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::security_events::{self, Client, Resource};
use std::collections::HashSet;
use worker::{Request, Response};

use crate::batch::{top_movers, BatchBody, Selection, TOP_MOVERS};
use crate::decay::HalfLife;
use crate::preview::{Preview, PreviewBody, PreviewRules};
use crate::rules::{RuleDefinition, RuleSet};
use crate::service::{self, WorkspaceRuleSets};
use crate::store;
use crate::workspace_rules::WorkspaceRules;
use shared::time::Timestamp;

/// `POST /leads/{id}`: score one lead, write `score`, `score_breakdown` and `scored_at` back.
pub async fn score_lead(
    req: Request,
    context: &RequestContext,
    id: &str,
) -> Result<Response, ApiError> {
    if !is_uuid(id) {
        return Err(ApiError::invalid_field(
            "id",
            format!("{id:?} is not a lead id (a UUID)"),
        ));
    }
    let db = caller_db(&req, context).await?;
    let Some(lead) = store::lead(&db, id).await? else {
        report_hidden(context, &req, Resource::Lead, &[id]).await;
        return Err(no_lead(id));
    };
    let Some(workspace_id) = lead.workspace_id.as_deref() else {
        return Err(ApiError::internal("the lead has no workspace"));
    };
    let rule_sets = usable_rule_sets(&db, &[workspace_id]).await?;
    let now = Timestamp::from_unix_millis(clock::now_millis() as i64);
    let scored_at = now.to_rfc3339();
    let mut rescoring = rule_sets.score(std::slice::from_ref(&lead), now);
    if service::write_scores(&db, &rescoring.scored, &scored_at).await? == 0 {
        return Err(ApiError::forbidden(
            "you can see this lead but not change it; viewers cannot re-score leads",
        ));
    }
    let (_, scored) = rescoring
        .scored
        .pop()
        .ok_or_else(|| ApiError::internal("the lead has no id"))?;
    http::json_response(
        200,
        &json!({ "lead_id": id, "score": scored.score, "score_breakdown": scored, "scored_at": scored_at }),
    )
}

/// `POST /batch` `{"lead_ids": [...]}` or `{"stale_before": ts, "limit"?: n}`: score many of
/// the caller's leads, write them back in one request, report counts and the top movers.
pub async fn score_batch(mut req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let config = crate::config::parsed(context.env())?;
    let db = caller_db(&req, context).await?;
    let body: BatchBody = http::read_json(&mut req, context).await?;
    let selection = body.selection(config.batch_max)?;

    let (leads, requested, not_found, has_more) = match &selection {
        Selection::LeadIds(ids) => {
            let leads = store::leads_by_ids(&db, ids).await?;
            let found: HashSet<&str> = leads.iter().filter_map(|lead| lead.id.as_deref()).collect();
            let missing: Vec<String> = ids
                .iter()
                .filter(|id| !found.contains(&id.as_str()))
                .cloned()
                .collect();
            let hidden: Vec<&str> = missing.iter().map(String::as_str).collect();
            report_hidden(context, &req, Resource::Lead, &hidden).await;
            (leads, ids.len(), missing, false)
        }
        Selection::StaleBefore { before, limit } => {
            let mut leads = store::stale_leads(&db, *before, limit + 1).await?;
            let has_more = leads.len() > *limit;
            leads.truncate(*limit);
            let count = leads.len();
            (leads, count, Vec::new(), has_more)
        }
    };

    let rule_sets = usable_rule_sets(&db, &service::workspaces_of(&leads)).await?;
    let now = Timestamp::from_unix_millis(clock::now_millis() as i64);
    let scored_at = now.to_rfc3339();
    let scored = rule_sets.score(&leads, now).scored;
    let updated = service::write_scores(&db, &scored, &scored_at).await?;
    let movers = top_movers(
        scored
            .iter()
            .filter_map(|(lead, result)| Some((lead.id.as_deref()?, lead.score, result.score))),
        TOP_MOVERS,
    );
    http::json_response(
        200,
        &json!({
            "requested": requested,
            "scored": scored.len(),
            "updated": updated,
            "not_updated": scored.len() - updated.min(scored.len()),
            "not_found": not_found,
            "has_more": has_more,
            "scored_at": scored_at,
            "top_movers": movers,
        }),
    )
}

/// `POST /preview` `{"lead": {...}, "rules"?: [...], "workspace_id"?: id,
/// "engagement_half_life_days"?: n, "now"?: ts}`: score a lead sent in the body, write nothing.
/// Rules: the ones sent, else the workspace's, else the built-in ones.
pub async fn preview(mut req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let db = caller_db(&req, context).await?;
    let body: PreviewBody = http::read_json(&mut req, context).await?;
    let preview = Preview::from_body(body)?;
    let now = preview
        .now
        .unwrap_or_else(|| Timestamp::from_unix_millis(clock::now_millis() as i64));
    let rules = match preview.rules {
        PreviewRules::Sent(rules) | PreviewRules::BuiltIn(rules) => rules,
        PreviewRules::OfWorkspace(workspace_id) => {
            let mut stored = visible_workspace_rules(&db, &workspace_id, context, &req).await?;
            stored.engagement_half_life =
                preview.engagement_half_life.or(stored.engagement_half_life);
            stored.compile()?
        }
    };
    let scored = rules.score(&preview.lead, now);
    http::json_response(
        200,
        &json!({ "score": scored.score, "score_breakdown": scored, "now": now.to_rfc3339() }),
    )
}

/// `GET /rules?workspace_id=...`: the workspace's rules (or the built-in ones) and half-life.
pub async fn get_rules(req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let db = caller_db(&req, context).await?;
    let url = req
        .url()
        .map_err(|_| ApiError::bad_request("invalid_request", "the request URL is unreadable"))?;
    let workspace_id = url
        .query_pairs()
        .find(|(name, _)| name == "workspace_id")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| {
            ApiError::invalid_field(
                "workspace_id",
                "add ?workspace_id=<uuid> to say whose rules",
            )
        })?;
    let rules = visible_workspace_rules(&db, &workspace_id, context, &req).await?;
    http::json_response(200, &rules_body(&workspace_id, &rules))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutRulesBody {
    workspace_id: String,
    rules: Value,
    /// Absent: leave the setting alone; `null`: no decay; a number of days: decay.
    #[serde(default, deserialize_with = "present")]
    engagement_half_life_days: Option<Option<u32>>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(deserializer).map(Some)
}

/// `PUT /rules` `{"workspace_id", "rules": [...], "engagement_half_life_days"?: n | null}`:
/// validate every rule (400 naming each bad one), then replace the workspace's rule set in one
/// transaction. Owners and admins only (403 otherwise, decided by the database). An empty list
/// goes back to the built-in rules.
pub async fn put_rules(mut req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let db = caller_db(&req, context).await?;
    let body: PutRulesBody = http::read_json(&mut req, context).await?;
    if !is_uuid(&body.workspace_id) {
        return Err(ApiError::invalid_field(
            "workspace_id",
            "not a workspace id (a UUID)",
        ));
    }
    let half_life = match body.engagement_half_life_days {
        Some(Some(days)) => {
            if !(1..=3_650).contains(&days) {
                return Err(ApiError::invalid_field(
                    "engagement_half_life_days",
                    "must be 1 to 3650 days, or null",
                ));
            }
            Some(HalfLife::from_days(f64::from(days)).map_err(|problem| {
                ApiError::invalid_field("engagement_half_life_days", problem.to_string())
            })?)
        }
        _ => None,
    };
    let definitions = RuleDefinition::list_from_json(&body.rules)?;
    RuleSet::compile(&definitions, half_life)?;
    if !store::workspace_visible(&db, &body.workspace_id).await? {
        report_hidden(context, &req, Resource::Workspace, &[&body.workspace_id]).await;
        return Err(no_workspace(&body.workspace_id));
    }
    store::save_rules(
        &db,
        &body.workspace_id,
        &definitions,
        body.engagement_half_life_days,
    )
    .await?;
    let saved = visible_workspace_rules(&db, &body.workspace_id, context, &req).await?;
    http::json_response(200, &rules_body(&body.workspace_id, &saved))
}

async fn caller_db(req: &Request, context: &RequestContext) -> Result<Db, ApiError> {
    let caller = context.caller(req).await?;
    context.db_as_caller(&caller)
}

/// The workspace's rules, or 404 when the caller cannot see the workspace (RLS would otherwise
/// make it look like a workspace with no rules, i.e. one using the built-in set).
async fn visible_workspace_rules(
    db: &Db,
    workspace_id: &str,
    context: &RequestContext,
    req: &Request,
) -> Result<WorkspaceRules, ApiError> {
    if !is_uuid(workspace_id) {
        return Err(ApiError::invalid_field(
            "workspace_id",
            "not a workspace id (a UUID)",
        ));
    }
    if !store::workspace_visible(db, workspace_id).await? {
        report_hidden(context, req, Resource::Workspace, &[workspace_id]).await;
        return Err(no_workspace(workspace_id));
    }
    let (mut rows, half_lives) = store::rules_of(db, &[workspace_id]).await?;
    Ok(WorkspaceRules::from_rows(
        rows.remove(workspace_id).unwrap_or_default(),
        half_lives.get(workspace_id).copied(),
    )?)
}

/// The rule sets of the workspaces, or 409 when one's saved rules cannot be used: the caller
/// cannot mark leads unscorable (see [`service`]), so they learn why and can save valid rules.
async fn usable_rule_sets(db: &Db, workspace_ids: &[&str]) -> Result<WorkspaceRuleSets, ApiError> {
    let rule_sets = service::rule_sets(db, workspace_ids).await?;
    match rule_sets.first_problem() {
        Some(problem) => Err(problem.clone().into()),
        None => Ok(rule_sets),
    }
}

fn rules_body(workspace_id: &str, rules: &WorkspaceRules) -> Value {
    json!({
        "workspace_id": workspace_id,
        "source": rules.source,
        "engagement_half_life_days": rules.engagement_half_life.map(HalfLife::days),
        "rules": rules.definitions,
    })
}

/// Ids RLS hid from the caller may be another tenant's: reported as a possible cross-tenant
/// attempt, which the database records (for the owner) only when they exist elsewhere. The
/// caller's answer stays the same 404 either way.
async fn report_hidden(context: &RequestContext, req: &Request, resource: Resource, ids: &[&str]) {
    let Ok(caller) = context.caller(req).await else {
        return;
    };
    if let Some(actor) = caller.user_id() {
        security_events::record_refused_access(context, &Client::of(req), actor, resource, ids)
            .await;
    }
}

fn no_lead(id: &str) -> ApiError {
    ApiError::not_found(format!("no lead {id} (or not one you can see)"))
}

fn no_workspace(id: &str) -> ApiError {
    ApiError::not_found(format!("no workspace {id} (or not one you belong to)"))
}
