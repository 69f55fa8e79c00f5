//! The built-in rules a workspace scores with until it saves its own: a real-estate investor's
//! view of a seller lead. Motivation (why the owner might sell) weighs most, then fit (can we
//! reach them, where did they come from, where are they in the pipeline), then engagement (how
//! warm the conversation is). They are written in the same JSON a workspace stores
//! (`default_rules.json`), so they double as the worked example of the rule format.

use crate::rules::RuleDefinition;

const DEFAULT_RULES_JSON: &str = include_str!("default_rules.json");

/// The built-in rule definitions, in the stored format.
pub fn default_rule_definitions() -> Vec<RuleDefinition> {
    let rules = serde_json::from_str(DEFAULT_RULES_JSON)
        .expect("default_rules.json is valid JSON (tested)");
    RuleDefinition::list_from_json(&rules).expect("default_rules.json holds valid rules (tested)")
}
