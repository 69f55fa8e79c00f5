//! A workspace's rule set as stored: its `crm_lead_scoring_rules` rows (or the built-in rules
//! when it has none) and the half-life from `crm_lead_scoring_settings`. Pure: the rows come
//! from PostgREST through the edge layer.

use crate::decay::{HalfLife, HalfLifeError};
use crate::defaults::default_rule_definitions;
use crate::error::InvalidRules;
use crate::rules::{RuleDefinition, RuleSet};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// Where a workspace's rules come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    /// Rules the workspace saved.
    Workspace,
    /// No saved rules: the built-in ones.
    BuiltIn,
}

/// What one workspace scores with.
#[derive(Debug, Clone)]
pub struct WorkspaceRules {
    pub source: RuleSource,
    pub definitions: Vec<RuleDefinition>,
    pub engagement_half_life: Option<HalfLife>,
}

/// Why stored rules or settings cannot be used (someone wrote the tables around the API, or
/// before the database checked conditions itself).
#[derive(Debug, Clone, PartialEq)]
pub enum StoredRulesError {
    Rules(InvalidRules),
    HalfLife(HalfLifeError),
}

impl fmt::Display for StoredRulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredRulesError::Rules(invalid) => {
                write!(
                    f,
                    "the workspace's saved scoring rules are invalid: {invalid}"
                )
            }
            StoredRulesError::HalfLife(problem) => {
                write!(f, "the workspace's scoring settings are invalid: {problem}")
            }
        }
    }
}

impl WorkspaceRules {
    /// From the workspace's rule rows (any order) and its `engagement_half_life_days`.
    pub fn from_rows(
        rows: Vec<Value>,
        half_life_days: Option<f64>,
    ) -> Result<WorkspaceRules, StoredRulesError> {
        let engagement_half_life = half_life_days.map(HalfLife::from_days).transpose()?;
        if rows.is_empty() {
            return Ok(WorkspaceRules {
                source: RuleSource::BuiltIn,
                definitions: default_rule_definitions(),
                engagement_half_life,
            });
        }
        let definitions = RuleDefinition::list_from_json(&Value::Array(rows))?;
        Ok(WorkspaceRules {
            source: RuleSource::Workspace,
            definitions,
            engagement_half_life,
        })
    }

    pub fn compile(&self) -> Result<RuleSet, StoredRulesError> {
        Ok(RuleSet::compile(
            &self.definitions,
            self.engagement_half_life,
        )?)
    }
}

/// Splits rule rows of several workspaces (each row has a `workspace_id`) by workspace.
pub fn rows_by_workspace(rows: Vec<Value>) -> HashMap<String, Vec<Value>> {
    let mut grouped: HashMap<String, Vec<Value>> = HashMap::new();
    for row in rows {
        let workspace = row
            .get("workspace_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        grouped.entry(workspace).or_default().push(row);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(workspace: &str, key: &str, points: i64) -> Value {
        json!({"workspace_id": workspace, "rule_key": key, "rule_group": "fit", "points": points,
               "condition": {"field": "status", "op": "exists"}, "enabled": true, "sort_order": 0})
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_workspace_without_rows_scores_with_the_built_in_rules() {
        let rules = WorkspaceRules::from_rows(Vec::new(), Some(14.0)).unwrap();
        assert_eq!(rules.source, RuleSource::BuiltIn);
        assert_eq!(rules.definitions, default_rule_definitions());
        assert_eq!(
            rules
                .compile()
                .unwrap()
                .engagement_half_life()
                .unwrap()
                .days(),
            14.0
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn saved_rows_are_used_and_bad_ones_reported() {
        let rules = WorkspaceRules::from_rows(vec![row("w", "only", 7)], None).unwrap();
        assert_eq!(rules.source, RuleSource::Workspace);
        assert_eq!(
            rules.compile().unwrap().rule_keys().collect::<Vec<_>>(),
            ["only"]
        );

        let mut broken = row("w", "broken", 7);
        broken["condition"] = json!({"field": "mood", "op": "exists"});
        let compiled = WorkspaceRules::from_rows(vec![broken], None)
            .unwrap()
            .compile();
        assert!(
            matches!(compiled, Err(StoredRulesError::Rules(errors)) if errors.errors()[0].rule == "broken")
        );
        assert!(matches!(
            WorkspaceRules::from_rows(vec![], Some(0.0)),
            Err(StoredRulesError::HalfLife(_))
        ));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn rows_are_grouped_by_workspace() {
        let grouped = rows_by_workspace(vec![row("a", "x", 1), row("b", "y", 2), row("a", "z", 3)]);
        assert_eq!(grouped["a"].len(), 2);
        assert_eq!(grouped["b"].len(), 1);
    }
}
