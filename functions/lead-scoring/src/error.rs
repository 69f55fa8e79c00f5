//! Why a rule set was refused. Every error names the rule (its `rule_key`, or its position
//! when the key itself is missing) and where in the rule the problem is, so a rule editor can
//! point at it and a 400 response can say exactly what to fix.

use crate::vocabulary::{list_names, Field, Operator};
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

/// The 400 for a refused rule set, listing every problem, each naming its rule and where in it.
pub fn invalid_rules(invalid: InvalidRules) -> ApiError {
    let problems: Vec<Value> = invalid
        .errors()
        .iter()
        .map(|error| json!({ "rule": error.rule, "location": error.location, "message": error.problem.to_string() }))
        .collect();
    ApiError::bad_request("invalid_rules", invalid.to_string())
        .with_details(json!({ "rules": problems }))
}

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
