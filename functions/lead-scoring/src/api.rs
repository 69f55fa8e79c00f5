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
use std::collections::{HashMap, HashSet};
use worker::{Request, Response};

use crate::batch::{top_movers, BatchBody, ScoreWrite, Selection, TOP_MOVERS};
use crate::config::LeadScoringConfig;
use crate::decay::HalfLife;
use crate::defaults::default_rule_definitions;
use crate::error::InvalidRules;
use crate::lead::Lead;
use crate::rules::{RuleDefinition, RuleSet};
use crate::score::LeadScore;
use crate::store;
use crate::workspace_rules::{StoredRulesError, WorkspaceRules};
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
    let workspace_id = lead.workspace_id.clone().unwrap_or_default();
    let rules = workspace_rule_set(&db, &workspace_id).await?;
    let now = Timestamp::from_unix_millis(clock::now_millis() as i64);
    let scored_at = now.to_rfc3339();
    let scored = rules.score(&lead, now);
    let write = ScoreWrite {
        id,
        score: scored.score,
        score_breakdown: &scored,
        scored_at: &scored_at,
    };
    if store::apply_scores(&db, &[write]).await? == 0 {
        return Err(ApiError::forbidden(
            "you can see this lead but not change it; viewers cannot re-score leads",
        ));
    }
    http::json_response(
        200,
        &json!({ "lead_id": id, "score": scored.score, "score_breakdown": scored, "scored_at": scored_at }),
    )
}

/// `POST /batch` `{"lead_ids": [...]}` or `{"stale_before": ts, "limit"?: n}`: score many of
/// the caller's leads, write them back in one request, report counts and the top movers.
pub async fn score_batch(mut req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let config = LeadScoringConfig::from_source(context.env())
        .map_err(|errors| http::config_error(&errors))?;
    let db = caller_db(&req, context).await?;
    let body: BatchBody = http::read_json(&mut req, context).await?;
    let selection = body
        .selection(config.batch_max)
        .map_err(|refused| ApiError::invalid_field(refused.field, refused.message))?;

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

    let workspaces: Vec<&str> =
        distinct(leads.iter().filter_map(|lead| lead.workspace_id.as_deref()));
    let rule_sets = workspace_rule_sets(&db, &workspaces).await?;
    let now = Timestamp::from_unix_millis(clock::now_millis() as i64);
    let scored_at = now.to_rfc3339();
    let scored: Vec<(&Lead, LeadScore<'_>)> = leads
        .iter()
        .filter_map(|lead| {
            let rules = rule_sets.get(lead.workspace_id.as_deref()?)?;
            Some((lead, rules.score(lead, now)))
        })
        .collect();
    let writes: Vec<ScoreWrite<'_>> = scored
        .iter()
        .filter_map(|(lead, result)| {
            Some(ScoreWrite {
                id: lead.id.as_deref()?,
                score: result.score,
                score_breakdown: result,
                scored_at: &scored_at,
            })
        })
        .collect();
    let updated = store::apply_scores(&db, &writes).await?;
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
            "scored": writes.len(),
            "updated": updated,
            "not_updated": writes.len() - updated.min(writes.len()),
            "not_found": not_found,
            "has_more": has_more,
            "scored_at": scored_at,
            "top_movers": movers,
        }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    lead: Value,
    rules: Option<Value>,
    workspace_id: Option<String>,
    engagement_half_life_days: Option<f64>,
    now: Option<String>,
}

/// `POST /preview` `{"lead": {...}, "rules"?: [...], "workspace_id"?: id,
/// "engagement_half_life_days"?: n, "now"?: ts}`: score a lead sent in the body, write nothing.
/// Rules: the ones sent, else the workspace's, else the built-in ones.
pub async fn preview(mut req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let db = caller_db(&req, context).await?;
    let body: PreviewBody = http::read_json(&mut req, context).await?;
    let lead = Lead::from_client_json(body.lead)
        .map_err(|problem| ApiError::invalid_field("lead", format!("not a lead: {problem}")))?;
    let now = match body.now {
        Some(text) => Timestamp::parse_rfc3339(&text)
            .map_err(|problem| ApiError::invalid_field("now", problem.to_string()))?,
        None => Timestamp::from_unix_millis(clock::now_millis() as i64),
    };
    let half_life = body
        .engagement_half_life_days
        .map(HalfLife::from_days)
        .transpose()
        .map_err(|problem| {
            ApiError::invalid_field("engagement_half_life_days", problem.to_string())
        })?;
    let rules = match (body.rules, body.workspace_id) {
        (Some(rules), _) => RuleSet::from_json(&rules, half_life).map_err(invalid_rules)?,
        (None, Some(workspace_id)) => {
            let mut stored = visible_workspace_rules(&db, &workspace_id, context, &req).await?;
            stored.engagement_half_life = half_life.or(stored.engagement_half_life);
            stored.compile().map_err(stored_rules_error)?
        }
        (None, None) => {
            RuleSet::compile(&default_rule_definitions(), half_life).map_err(invalid_rules)?
        }
    };
    let scored = rules.score(&lead, now);
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
    let definitions = RuleDefinition::list_from_json(&body.rules).map_err(invalid_rules)?;
    RuleSet::compile(&definitions, half_life).map_err(invalid_rules)?;
    if !store::workspace_visible(&db, &body.workspace_id).await? {
        report_hidden(context, &req, Resource::Workspace, &[&body.workspace_id]).await;
        return Err(no_workspace(&body.workspace_id));
    }
    store::replace_rules(&db, &body.workspace_id, &definitions).await?;
    if let Some(days) = body.engagement_half_life_days {
        store::save_half_life(&db, &body.workspace_id, days).await?;
    }
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
    WorkspaceRules::from_rows(
        rows.remove(workspace_id).unwrap_or_default(),
        half_lives.get(workspace_id).copied(),
    )
    .map_err(stored_rules_error)
}

async fn workspace_rule_set(db: &Db, workspace_id: &str) -> Result<RuleSet, ApiError> {
    let mut sets = workspace_rule_sets(db, &[workspace_id]).await?;
    sets.remove(workspace_id)
        .ok_or_else(|| ApiError::internal("the lead has no workspace"))
}

/// Compiled rule sets for each workspace, in two requests whatever the number of workspaces.
async fn workspace_rule_sets(
    db: &Db,
    workspace_ids: &[&str],
) -> Result<HashMap<String, RuleSet>, ApiError> {
    if workspace_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let (mut rows, half_lives) = store::rules_of(db, workspace_ids).await?;
    workspace_ids
        .iter()
        .map(|workspace_id| {
            let stored = WorkspaceRules::from_rows(
                rows.remove(*workspace_id).unwrap_or_default(),
                half_lives.get(*workspace_id).copied(),
            )
            .and_then(|stored| stored.compile())
            .map_err(stored_rules_error)?;
            Ok(((*workspace_id).to_owned(), stored))
        })
        .collect()
}

fn rules_body(workspace_id: &str, rules: &WorkspaceRules) -> Value {
    json!({
        "workspace_id": workspace_id,
        "source": rules.source,
        "engagement_half_life_days": rules.engagement_half_life.map(HalfLife::days),
        "rules": rules.definitions,
    })
}

fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// 400 listing every problem, each naming its rule and where in it.
fn invalid_rules(invalid: InvalidRules) -> ApiError {
    let problems: Vec<Value> = invalid
        .errors()
        .iter()
        .map(|error| json!({ "rule": error.rule, "location": error.location, "message": error.problem.to_string() }))
        .collect();
    ApiError::bad_request("invalid_rules", invalid.to_string())
        .with_details(json!({ "rules": problems }))
}

/// Stored rules that no longer validate: the rule set needs saving again through `PUT /rules`.
fn stored_rules_error(error: StoredRulesError) -> ApiError {
    match error {
        StoredRulesError::Rules(invalid) => {
            let mut error = invalid_rules(invalid);
            error.status = 409;
            error.code = "invalid_stored_rules";
            error.message = format!("the workspace's saved scoring rules are invalid ({}); save a valid set with PUT /functions/v1/lead-scoring/rules", error.message);
            error
        }
        StoredRulesError::HalfLife(problem) => {
            ApiError::new(409, "invalid_stored_rules", problem.to_string())
        }
    }
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
