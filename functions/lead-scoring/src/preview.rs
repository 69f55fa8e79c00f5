//! The body of `POST /preview` read into what scoring it needs, before anything is fetched:
//! the lead, the instant to score at, the half-life, and which rules (sent in the body, the
//! workspace's, or the built-in ones). Checked in that order; each refusal is a 400 naming its
//! field, or `invalid_rules` listing every bad rule.

use serde::Deserialize;
use serde_json::Value;
use shared::error::ApiError;
use shared::time::Timestamp;

use crate::decay::HalfLife;
use crate::defaults::default_rule_definitions;
use crate::lead::Lead;
use crate::rules::RuleSet;

/// `{"lead": {...}, "rules"?: [...], "workspace_id"?: id, "engagement_half_life_days"?: n,
/// "now"?: ts}`, and nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    lead: Value,
    rules: Option<Value>,
    workspace_id: Option<String>,
    engagement_half_life_days: Option<f64>,
    now: Option<String>,
}

/// A checked preview request.
#[derive(Debug)]
pub struct Preview {
    pub lead: Lead,
    /// `None`: score at the current time.
    pub now: Option<Timestamp>,
    pub engagement_half_life: Option<HalfLife>,
    pub rules: PreviewRules,
}

/// The rules to score with: the ones sent, else the workspace's, else the built-in ones.
#[derive(Debug)]
pub enum PreviewRules {
    /// Rules sent in the body, compiled with the half-life sent.
    Sent(RuleSet),
    /// The stored rules of this workspace (an id as sent, not yet checked), to be fetched
    /// under the caller's JWT; the half-life sent, if any, replaces the stored one.
    OfWorkspace(String),
    /// The built-in rules, with the half-life sent.
    BuiltIn(RuleSet),
}

impl Preview {
    pub fn from_body(body: PreviewBody) -> Result<Preview, ApiError> {
        let lead = Lead::from_client_json(body.lead)
            .map_err(|problem| ApiError::invalid_field("lead", format!("not a lead: {problem}")))?;
        let now = body
            .now
            .map(|text| Timestamp::parse_rfc3339(&text))
            .transpose()
            .map_err(|problem| ApiError::invalid_field("now", problem.to_string()))?;
        let engagement_half_life = body
            .engagement_half_life_days
            .map(HalfLife::from_days)
            .transpose()
            .map_err(|problem| {
                ApiError::invalid_field("engagement_half_life_days", problem.to_string())
            })?;
        let rules = match (body.rules, body.workspace_id) {
            (Some(rules), _) => {
                PreviewRules::Sent(RuleSet::from_json(&rules, engagement_half_life)?)
            }
            (None, Some(workspace_id)) => PreviewRules::OfWorkspace(workspace_id),
            (None, None) => PreviewRules::BuiltIn(RuleSet::compile(
                &default_rule_definitions(),
                engagement_half_life,
            )?),
        };
        Ok(Preview {
            lead,
            now,
            engagement_half_life,
            rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn preview(body: Value) -> Result<Preview, ApiError> {
        Preview::from_body(serde_json::from_value(body).expect("a preview body"))
    }

    fn refused_field(body: Value) -> String {
        let error = preview(body).expect_err("refused");
        assert_eq!((error.status, error.code), (400, "invalid_field"));
        error.details.expect("details")["field"]
            .as_str()
            .expect("a field name")
            .to_string()
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn rules_sent_win_over_the_workspace_and_the_built_in_ones() {
        let rule = json!([{"rule_key": "any", "rule_group": "fit", "points": 5,
                           "condition": {"field": "status", "op": "exists"}}]);
        let sent = preview(json!({"lead": {}, "rules": rule, "workspace_id": "w"})).unwrap();
        assert!(matches!(sent.rules, PreviewRules::Sent(rules) if rules.rule_keys().eq(["any"])));
        let stored = preview(json!({"lead": {}, "workspace_id": "w"})).unwrap();
        assert!(matches!(stored.rules, PreviewRules::OfWorkspace(id) if id == "w"));
        let built_in = preview(json!({"lead": {}, "engagement_half_life_days": 7})).unwrap();
        let PreviewRules::BuiltIn(rules) = built_in.rules else {
            panic!("built-in rules expected")
        };
        assert_eq!(rules.engagement_half_life().map(HalfLife::days), Some(7.0));
        assert_eq!(built_in.now, None);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn each_refusal_names_its_field_in_the_order_they_are_checked() {
        let all_bad = json!({"lead": {"status": "hot"}, "now": "soon",
                             "engagement_half_life_days": 0, "rules": "none"});
        assert_eq!(refused_field(all_bad), "lead");
        assert_eq!(
            refused_field(json!({"lead": {}, "now": "soon", "engagement_half_life_days": 0})),
            "now"
        );
        assert_eq!(
            refused_field(json!({"lead": {}, "engagement_half_life_days": 0})),
            "engagement_half_life_days"
        );
        let error = preview(json!({"lead": {}, "rules": "none"})).expect_err("refused");
        assert_eq!((error.status, error.code), (400, "invalid_rules"));
        let now = preview(json!({"lead": {}, "now": "2026-01-15T10:00:00+01:00"}))
            .unwrap()
            .now;
        assert_eq!(
            now.map(Timestamp::to_rfc3339).as_deref(),
            Some("2026-01-15T09:00:00.000Z")
        );
    }
}
