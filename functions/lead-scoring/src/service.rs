//! Rescoring, once: group leads by workspace, load and compile each workspace's saved rules,
//! score, write the scores back. [`crate::api`] calls it under the caller's JWT and cleanup's
//! decay job as the maintenance role; only [`crate::store`] below it talks to PostgREST.
//!
//! One policy for saved rules that do not compile (someone wrote the tables before the
//! database checked conditions, migration 0022): the leads of that workspace are not scored
//! and not written; each becomes an [`Unscorable`] lead with the reason, and every other
//! workspace's leads are scored as usual. Whoever may record the reason does
//! ([`mark_unscorable`]: the decay job, so those leads leave its queue); a signed-in caller,
//! who cannot mark leads, is told the reason instead (409 `invalid_stored_rules`, built from
//! [`WorkspaceRuleSets::first_problem`]) and can fix the rules with `PUT /rules`.

use crate::batch::ScoreWrite;
use crate::lead::Lead;
use crate::rules::RuleSet;
use crate::score::LeadScore;
use crate::store;
use crate::workspace_rules::{StoredRulesError, WorkspaceRules};
use serde::Serialize;
use serde_json::{json, Value};
use shared::db::{self, Db};
use shared::error::ApiError;
use shared::time::Timestamp;
use std::collections::HashMap;

/// The compiled rules of each workspace asked for, or why its saved rules cannot be used.
#[derive(Debug, Default)]
pub struct WorkspaceRuleSets {
    /// In the order the workspaces were asked for, so the first problem is stable.
    sets: Vec<(String, Result<RuleSet, StoredRulesError>)>,
}

/// A lead that cannot be scored and why: one element of `mark_leads_unscorable(marks)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unscorable {
    pub id: String,
    pub reason: String,
}

/// Leads scored with their workspace's rules, and those that could not be.
#[derive(Debug, Default)]
pub struct Rescoring<'a> {
    pub scored: Vec<(&'a Lead, LeadScore<'a>)>,
    pub unscorable: Vec<Unscorable>,
}

/// What [`rescore`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rescored {
    /// Leads whose new score was written (RLS may skip some the caller cannot update).
    pub updated: usize,
    /// Leads marked unscorable with the reason.
    pub marked: u64,
}

impl WorkspaceRuleSets {
    /// Compiles each workspace's saved rule rows (none: the built-in rules) and half-life.
    pub fn compile(
        workspace_ids: &[&str],
        mut rows: HashMap<String, Vec<Value>>,
        half_lives: &HashMap<String, f64>,
    ) -> WorkspaceRuleSets {
        let sets = workspace_ids
            .iter()
            .map(|workspace| {
                let compiled = WorkspaceRules::from_rows(
                    rows.remove(*workspace).unwrap_or_default(),
                    half_lives.get(*workspace).copied(),
                )
                .and_then(|stored| stored.compile());
                ((*workspace).to_owned(), compiled)
            })
            .collect();
        WorkspaceRuleSets { sets }
    }

    pub fn get(&self, workspace_id: &str) -> Option<&Result<RuleSet, StoredRulesError>> {
        self.sets
            .iter()
            .find(|(workspace, _)| workspace == workspace_id)
            .map(|(_, compiled)| compiled)
    }

    /// Why the first workspace whose saved rules cannot be used cannot use them.
    pub fn first_problem(&self) -> Option<&StoredRulesError> {
        self.sets
            .iter()
            .find_map(|(_, compiled)| compiled.as_ref().err())
    }

    /// Scores each lead with its workspace's rules. A lead without an id or a workspace is
    /// left out (it cannot be written or marked); a lead whose workspace's rules cannot be used
    /// is [`Unscorable`] with the reason.
    pub fn score<'a>(&'a self, leads: &'a [Lead], now: Timestamp) -> Rescoring<'a> {
        let mut rescoring = Rescoring::default();
        for lead in leads {
            let (Some(id), Some(workspace)) = (lead.id.as_deref(), lead.workspace_id.as_deref())
            else {
                continue;
            };
            let reason = match self.get(workspace) {
                Some(Ok(rules)) => {
                    rescoring.scored.push((lead, rules.score(lead, now)));
                    continue;
                }
                Some(Err(problem)) => problem.to_string(),
                None => "the workspace's scoring rules were not loaded".to_owned(),
            };
            rescoring.unscorable.push(Unscorable {
                id: id.to_owned(),
                reason,
            });
        }
        rescoring
    }
}

/// The workspaces of `leads`, each once, in the order they first appear.
pub fn workspaces_of(leads: &[Lead]) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::new();
    for workspace in leads.iter().filter_map(|lead| lead.workspace_id.as_deref()) {
        if !seen.contains(&workspace) {
            seen.push(workspace);
        }
    }
    seen
}

/// The rule sets of the listed workspaces, in two requests whatever their number.
pub async fn rule_sets(db: &Db, workspace_ids: &[&str]) -> Result<WorkspaceRuleSets, ApiError> {
    if workspace_ids.is_empty() {
        return Ok(WorkspaceRuleSets::default());
    }
    let (rows, half_lives) = store::rules_of(db, workspace_ids).await?;
    Ok(WorkspaceRuleSets::compile(workspace_ids, rows, &half_lives))
}

/// Writes the scores in one request (`apply_lead_scores`); returns how many leads were updated.
pub async fn write_scores(
    db: &Db,
    scored: &[(&Lead, LeadScore<'_>)],
    scored_at: &str,
) -> Result<usize, ApiError> {
    let writes: Vec<ScoreWrite<'_>> = scored
        .iter()
        .filter_map(|(lead, result)| {
            Some(ScoreWrite {
                id: lead.id.as_deref()?,
                score: result.score,
                score_breakdown: result,
                scored_at,
            })
        })
        .collect();
    store::apply_scores(db, &writes).await
}

/// Records why each lead cannot be scored (`mark_leads_unscorable`, migration 0022: maintenance
/// and service_role only); a marked lead leaves the re-scoring queue until its workspace's rules
/// or settings change. Returns how many were marked.
pub async fn mark_unscorable(db: &Db, unscorable: &[Unscorable]) -> Result<u64, ApiError> {
    if unscorable.is_empty() {
        return Ok(0);
    }
    db::fetch_json(db.rpc("mark_leads_unscorable", &json!({ "marks": unscorable }))).await
}

/// Rescores `leads` as a caller who may mark leads (the decay job): scores and writes every
/// lead that can be scored, and marks the rest, together with `unreadable` (rows that were not
/// leads), with the reason.
pub async fn rescore(
    db: &Db,
    leads: &[Lead],
    mut unreadable: Vec<Unscorable>,
    now: Timestamp,
) -> Result<Rescored, ApiError> {
    let rule_sets = rule_sets(db, &workspaces_of(leads)).await?;
    let rescoring = rule_sets.score(leads, now);
    let updated = write_scores(db, &rescoring.scored, &now.to_rfc3339()).await?;
    unreadable.extend(rescoring.unscorable);
    let marked = mark_unscorable(db, &unreadable).await?;
    Ok(Rescored { updated, marked })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKSPACE: &str = "0d8f5c4e-1111-4c59-9d4a-0d6d1b2a9c11";
    const BROKEN: &str = "0d8f5c4e-2222-4c59-9d4a-0d6d1b2a9c11";

    fn lead(id: &str, workspace: &str) -> Lead {
        serde_json::from_value(
            json!({ "id": id, "workspace_id": workspace, "name": "Seller", "status": "new",
            "tags": ["probate"], "created_at": "2026-01-01T00:00:00+00:00", "notes_count": 2 }),
        )
        .unwrap()
    }

    fn rule_row(workspace: &str, field: &str) -> Value {
        json!({ "workspace_id": workspace, "rule_key": "probate", "rule_group": "motivation", "points": 30,
                "condition": { "field": field, "op": "contains_tag", "value": "probate" } })
    }

    fn rule_sets() -> WorkspaceRuleSets {
        let rows = HashMap::from([
            (WORKSPACE.to_owned(), vec![rule_row(WORKSPACE, "tags")]),
            (BROKEN.to_owned(), vec![rule_row(BROKEN, "pool")]),
        ]);
        WorkspaceRuleSets::compile(&[WORKSPACE, BROKEN], rows, &HashMap::new())
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn leads_of_a_workspace_whose_rules_do_not_compile_are_unscorable_and_the_rest_are_scored() {
        let leads = [
            lead("a", BROKEN),
            lead("b", WORKSPACE),
            lead("c", BROKEN),
            lead("d", "unlisted"),
        ];
        let sets = rule_sets();
        let now = Timestamp::parse_rfc3339("2026-03-01T00:00:00Z").unwrap();
        let rescoring = sets.score(&leads, now);
        let scored: Vec<(&str, u8)> = rescoring
            .scored
            .iter()
            .map(|(lead, result)| (lead.id.as_deref().unwrap(), result.score))
            .collect();
        assert_eq!(scored, [("b", 30)]);
        let ids: Vec<&str> = rescoring
            .unscorable
            .iter()
            .map(|mark| mark.id.as_str())
            .collect();
        assert_eq!(ids, ["a", "c", "d"]);
        assert!(
            rescoring.unscorable[0]
                .reason
                .starts_with("the workspace's saved scoring rules are invalid: "),
            "{}",
            rescoring.unscorable[0].reason
        );
        assert!(rescoring.unscorable[0]
            .reason
            .contains("unknown field \"pool\""));
        assert_eq!(
            rescoring.unscorable[2].reason,
            "the workspace's scoring rules were not loaded"
        );
        assert_eq!(
            serde_json::to_value(&rescoring.unscorable[0]).unwrap(),
            json!({ "id": "a", "reason": rescoring.unscorable[0].reason })
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_first_problem_is_the_first_broken_workspace_asked_for() {
        let sets = rule_sets();
        assert!(matches!(
            sets.first_problem(),
            Some(StoredRulesError::Rules(_))
        ));
        let healthy = WorkspaceRuleSets::compile(&[WORKSPACE], HashMap::new(), &HashMap::new());
        assert!(healthy.first_problem().is_none());
        assert!(
            matches!(healthy.get(WORKSPACE), Some(Ok(_))),
            "a workspace without rows has the built-in rules"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_broken_half_life_makes_the_workspace_unscorable_too() {
        let sets = WorkspaceRuleSets::compile(
            &[WORKSPACE],
            HashMap::new(),
            &HashMap::from([(WORKSPACE.to_owned(), 0.0)]),
        );
        assert!(matches!(
            sets.first_problem(),
            Some(StoredRulesError::HalfLife(_))
        ));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn workspaces_are_listed_once_in_order_of_appearance() {
        let leads = [lead("a", BROKEN), lead("b", WORKSPACE), lead("c", BROKEN)];
        assert_eq!(workspaces_of(&leads), [BROKEN, WORKSPACE]);
    }
}
