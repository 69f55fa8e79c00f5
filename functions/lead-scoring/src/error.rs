//! Why a rule set was refused. Every error names the rule (its `rule_key`, or its position
//! when the key itself is missing) and where in the rule the problem is, so a rule editor can
//! point at it and a 400 response can say exactly what to fix.

use crate::batch::SelectionError;
use crate::decay::HalfLifeError;
use crate::vocabulary::{list_names, Field, Operator};
use crate::workspace_rules::StoredRulesError;
use serde_json::{json, Value};
use shared::error::ApiError;
use std::fmt;

/// Every problem found in a rule set, in the order the rules were given. Never empty.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidRules(pub Vec<RuleError>);

impl InvalidRules {
    pub fn errors(&self) -> &[RuleError] {
        &self.0
    }
}

impl fmt::Display for InvalidRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => f.write_str("the rule set is invalid"),
            [only] => write!(f, "{only}"),
            [first, rest @ ..] => write!(f, "{first} (and {} more problem(s))", rest.len()),
        }
    }
}

impl std::error::Error for InvalidRules {}

/// One problem in one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    /// The rule's `rule_key`, or `#N` (1-based position) when it has no usable key.
    pub rule: String,
    /// Where in the rule: `points`, `condition.any[1].value`, ...
    pub location: String,
    pub problem: RuleProblem,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule {:?}, {}: {}",
            self.rule, self.location, self.problem
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleProblem {
    /// The rule set is not a JSON array, or too long.
    NotAList,
    TooManyRules {
        limit: usize,
    },
    NotAnObject,
    Missing,
    WrongType {
        expected: &'static str,
    },
    UnexpectedKey(String),
    InvalidKey,
    DuplicateKey,
    UnknownGroup(String),
    PointsOutOfRange(i64),
    UnknownField(String),
    UnknownOperator(String),
    OperatorNotForField {
        field: Field,
        operator: Operator,
    },
    /// The condition object is neither a leaf nor exactly one combinator.
    MalformedCondition(&'static str),
    BadValue(String),
    TooDeep {
        limit: usize,
    },
    TooLarge {
        limit: usize,
    },
    TooMuchText {
        limit: usize,
    },
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleProblem::NotAList => f.write_str("rules must be a JSON array of rule objects"),
            RuleProblem::TooManyRules { limit } => {
                write!(f, "a workspace can have at most {limit} rules")
            }
            RuleProblem::NotAnObject => f.write_str("must be a JSON object"),
            RuleProblem::Missing => f.write_str("is required"),
            RuleProblem::WrongType { expected } => write!(f, "must be {expected}"),
            RuleProblem::UnexpectedKey(key) => write!(f, "unexpected key {key:?}"),
            RuleProblem::InvalidKey => f.write_str(
                "rule_key must be 1 to 64 characters of lowercase letters, digits and _",
            ),
            RuleProblem::DuplicateKey => f.write_str("another rule already uses this rule_key"),
            RuleProblem::UnknownGroup(group) => {
                write!(
                    f,
                    "unknown rule_group {group:?}; use fit, engagement or motivation"
                )
            }
            RuleProblem::PointsOutOfRange(points) => {
                write!(f, "points {points} is outside -100..100")
            }
            RuleProblem::UnknownField(field) => write!(
                f,
                "unknown field {field:?}; known fields: {}",
                list_names(&Field::ALL, Field::name)
            ),
            RuleProblem::UnknownOperator(operator) => write!(
                f,
                "unknown operator {operator:?}; known operators: {}",
                list_names(&Operator::ALL, Operator::name)
            ),
            RuleProblem::OperatorNotForField { field, operator } => write!(
                f,
                "operator {:?} does not apply to field {:?}; it accepts: {}",
                operator.name(),
                field.name(),
                list_names(field.kind().operators(), Operator::name)
            ),
            RuleProblem::MalformedCondition(why) => f.write_str(why),
            RuleProblem::BadValue(why) => f.write_str(why),
            RuleProblem::TooDeep { limit } => {
                write!(f, "conditions nest at most {limit} levels deep")
            }
            RuleProblem::TooLarge { limit } => write!(
                f,
                "a rule holds at most {limit} conditions and listed values"
            ),
            RuleProblem::TooMuchText { limit } => write!(
                f,
                "a rule compares at most {limit} characters of text in all"
            ),
        }
    }
}

/// Where in a rule's JSON a problem is, built on the stack while walking it and only turned
/// into text when something is wrong.
#[derive(Debug, Clone, Copy)]
pub enum Location<'a> {
    Top(&'static str),
    Key(&'a Location<'a>, &'static str),
    Index(&'a Location<'a>, usize),
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Top(name) => f.write_str(name),
            Location::Key(parent, key) => write!(f, "{parent}.{key}"),
            Location::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// A problem at a location, before it is known which rule it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub location: String,
    pub problem: RuleProblem,
}

impl Fault {
    pub fn at(location: &Location<'_>, problem: RuleProblem) -> Self {
        Fault {
            location: location.to_string(),
            problem,
        }
    }

    pub fn in_rule(self, rule: &str) -> RuleError {
        RuleError {
            rule: rule.to_owned(),
            location: self.location,
            problem: self.problem,
        }
    }
}

/// 400 `invalid_rules` listing every problem, each naming its rule and where in it.
impl From<InvalidRules> for ApiError {
    fn from(invalid: InvalidRules) -> Self {
        let problems: Vec<Value> = invalid
            .errors()
            .iter()
            .map(|error| json!({ "rule": error.rule, "location": error.location, "message": error.problem.to_string() }))
            .collect();
        ApiError::bad_request("invalid_rules", invalid.to_string())
            .with_details(json!({ "rules": problems }))
    }
}

/// Saved rules that no longer validate: 409 `invalid_stored_rules`, the rule set needs saving
/// again through `PUT /rules`.
impl From<StoredRulesError> for ApiError {
    fn from(error: StoredRulesError) -> Self {
        match error {
            StoredRulesError::Rules(invalid) => {
                let mut error = ApiError::from(invalid);
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
}

impl From<InvalidRules> for StoredRulesError {
    fn from(invalid: InvalidRules) -> Self {
        StoredRulesError::Rules(invalid)
    }
}

impl From<HalfLifeError> for StoredRulesError {
    fn from(problem: HalfLifeError) -> Self {
        StoredRulesError::HalfLife(problem)
    }
}

/// A batch body asking for something we will not do: 400 naming the field.
impl From<SelectionError> for ApiError {
    fn from(refused: SelectionError) -> Self {
        ApiError::invalid_field(refused.field, refused.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decay::HalfLife;
    use crate::rules::RuleSet;

    fn invalid_rules() -> InvalidRules {
        let rules = json!([{ "rule_key": "x", "rule_group": "fit", "points": 5,
                             "condition": { "field": "pool", "op": "exists" } }]);
        RuleSet::from_json(&rules, None).unwrap_err()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn invalid_rules_are_a_400_listing_each_problem() {
        let invalid = invalid_rules();
        let error = ApiError::from(invalid.clone());
        assert_eq!((error.status, error.code), (400, "invalid_rules"));
        assert_eq!(error.message, invalid.to_string());
        let problem = &invalid.errors()[0];
        assert_eq!(
            error.details,
            Some(
                json!({ "rules": [{ "rule": "x", "location": problem.location, "message": problem.problem.to_string() }] })
            )
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn saved_rules_that_do_not_compile_are_a_409_that_says_how_to_fix_them() {
        let invalid = invalid_rules();
        let error = ApiError::from(StoredRulesError::from(invalid.clone()));
        assert_eq!((error.status, error.code), (409, "invalid_stored_rules"));
        assert_eq!(
            error.message,
            format!("the workspace's saved scoring rules are invalid ({invalid}); save a valid set with PUT /functions/v1/lead-scoring/rules")
        );
        assert_eq!(
            error.details,
            ApiError::from(invalid).details,
            "the same problem list as a 400"
        );

        let half_life = HalfLife::from_days(0.0).unwrap_err();
        let error = ApiError::from(StoredRulesError::from(half_life));
        assert_eq!((error.status, error.code), (409, "invalid_stored_rules"));
        assert_eq!(error.message, half_life.to_string());
        assert_eq!(error.details, None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_refused_batch_selection_is_a_400_naming_the_field() {
        let error = ApiError::from(SelectionError {
            field: "limit",
            message: "limit goes with stale_before".to_string(),
        });
        assert_eq!((error.status, error.code), (400, "invalid_field"));
        assert_eq!(error.message, "limit goes with stale_before");
        assert_eq!(error.details, Some(json!({ "field": "limit" })));
    }
}
