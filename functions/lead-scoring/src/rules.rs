//! Rules as a workspace stores them (`crm_lead_scoring_rules` rows) and the compiled rule set
//! the engine runs. Reading and compiling check everything and report every problem, each
//! naming its rule; a compiled [`RuleSet`] is known to be valid and is immutable, so one can be
//! built per request (or cached) and used for any number of leads.

use crate::condition::Condition;
use crate::condition_json::compile_condition;
use crate::decay::HalfLife;
use crate::error::{Fault, InvalidRules, Location, RuleError, RuleProblem};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashSet;

pub const MAX_RULES: usize = 200;
pub const MIN_POINTS: i32 = -100;
pub const MAX_POINTS: i32 = 100;
const MAX_KEY_LENGTH: usize = 64;

/// The three kinds of signal a rule can contribute to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleGroup {
    /// Can we reach them, and do they look like a deal we do: contact details, source, stage.
    Fit,
    /// How warm the relationship is: recent contact, notes. The group recency decay acts on.
    Engagement,
    /// Why the owner might sell: probate, tax delinquency, vacancy, pre-foreclosure...
    Motivation,
}

impl RuleGroup {
    pub fn from_name(name: &str) -> Option<RuleGroup> {
        match name {
            "fit" => Some(RuleGroup::Fit),
            "engagement" => Some(RuleGroup::Engagement),
            "motivation" => Some(RuleGroup::Motivation),
            _ => None,
        }
    }
}

/// One rule as stored: the columns of `crm_lead_scoring_rules` the engine cares about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleDefinition {
    pub rule_key: String,
    pub rule_group: RuleGroup,
    /// The condition's JSON, kept as given so it round-trips to the table unchanged.
    pub condition: Value,
    pub points: i32,
    pub enabled: bool,
    pub sort_order: i32,
}

impl RuleDefinition {
    /// Reads a JSON array of rule objects (a PUT body, or rows from PostgREST; columns other
    /// than the rule's own, like `id` or `workspace_id`, are ignored). Conditions are not yet
    /// compiled: [`RuleSet::compile`] does that.
    pub fn list_from_json(rules: &Value) -> Result<Vec<RuleDefinition>, InvalidRules> {
        let mut definitions = Vec::new();
        let mut errors = Vec::new();
        for item in read_items(rules)? {
            match item {
                Ok(definition) => definitions.push(definition),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(definitions)
        } else {
            Err(InvalidRules(errors))
        }
    }

    fn from_json(item: &Value, index: usize) -> Result<RuleDefinition, RuleError> {
        let position = format!("#{}", index + 1);
        let Some(object) = item.as_object() else {
            return Err(
                Fault::at(&Location::Top("rule"), RuleProblem::NotAnObject).in_rule(&position)
            );
        };
        let usable_key = object
            .get("rule_key")
            .and_then(Value::as_str)
            .filter(|key| is_valid_key(key));
        let rule = usable_key.unwrap_or(&position);
        let read = || -> Result<RuleDefinition, Fault> {
            let key_at = Location::Top("rule_key");
            let rule_key = text(object, "rule_key")?;
            if !is_valid_key(rule_key) {
                return Err(Fault::at(&key_at, RuleProblem::InvalidKey));
            }
            let group_name = text(object, "rule_group")?;
            let rule_group = RuleGroup::from_name(group_name).ok_or_else(|| {
                Fault::at(
                    &Location::Top("rule_group"),
                    RuleProblem::UnknownGroup(group_name.to_owned()),
                )
            })?;
            let condition = object
                .get("condition")
                .filter(|condition| !condition.is_null())
                .ok_or_else(|| Fault::at(&Location::Top("condition"), RuleProblem::Missing))?
                .clone();
            let points_at = Location::Top("points");
            let points = match object.get("points") {
                None | Some(Value::Null) => {
                    return Err(Fault::at(&points_at, RuleProblem::Missing))
                }
                Some(points) => points.as_i64().ok_or_else(|| {
                    Fault::at(
                        &points_at,
                        RuleProblem::WrongType {
                            expected: "a whole number from -100 to 100",
                        },
                    )
                })?,
            };
            let points =
                checked_points(points).map_err(|problem| Fault::at(&points_at, problem))?;
            let enabled = match object.get("enabled") {
                None | Some(Value::Null) => true,
                Some(enabled) => enabled.as_bool().ok_or_else(|| {
                    Fault::at(
                        &Location::Top("enabled"),
                        RuleProblem::WrongType {
                            expected: "true or false",
                        },
                    )
                })?,
            };
            let sort_order = match object.get("sort_order") {
                None | Some(Value::Null) => i32::try_from(index).unwrap_or(i32::MAX),
                Some(order) => order
                    .as_i64()
                    .and_then(|order| i32::try_from(order).ok())
                    .ok_or_else(|| {
                        Fault::at(
                            &Location::Top("sort_order"),
                            RuleProblem::WrongType {
                                expected: "a whole number",
                            },
                        )
                    })?,
            };
            Ok(RuleDefinition {
                rule_key: rule_key.to_owned(),
                rule_group,
                condition,
                points,
                enabled,
                sort_order,
            })
        };
        read().map_err(|fault| fault.in_rule(rule))
    }
}

/// Each item of a JSON rule list read on its own, so one bad rule does not hide the next.
fn read_items(rules: &Value) -> Result<Vec<Result<RuleDefinition, RuleError>>, InvalidRules> {
    let Some(items) = rules.as_array() else {
        return Err(set_level(RuleProblem::NotAList));
    };
    if items.len() > MAX_RULES {
        return Err(set_level(RuleProblem::TooManyRules { limit: MAX_RULES }));
    }
    Ok(items
        .iter()
        .enumerate()
        .map(|(index, item)| RuleDefinition::from_json(item, index))
        .collect())
}

fn text<'v>(object: &'v Map<String, Value>, key: &'static str) -> Result<&'v str, Fault> {
    match object.get(key) {
        None | Some(Value::Null) => Err(Fault::at(&Location::Top(key), RuleProblem::Missing)),
        Some(value) => value.as_str().ok_or_else(|| {
            Fault::at(
                &Location::Top(key),
                RuleProblem::WrongType {
                    expected: "a string",
                },
            )
        }),
    }
}

/// The format `crm_lead_scoring_rules` enforces: `^[a-z0-9][a-z0-9_.-]{0,63}$`.
fn is_valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    let starts_well = bytes
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit());
    starts_well
        && key.len() <= MAX_KEY_LENGTH
        && bytes.all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'_' | b'.' | b'-')
        })
}

fn checked_points(points: i64) -> Result<i32, RuleProblem> {
    i32::try_from(points)
        .ok()
        .filter(|points| (MIN_POINTS..=MAX_POINTS).contains(points))
        .ok_or(RuleProblem::PointsOutOfRange(points))
}

fn set_level(problem: RuleProblem) -> InvalidRules {
    InvalidRules(vec![RuleError {
        rule: "rules".to_owned(),
        location: "rules".to_owned(),
        problem,
    }])
}

/// A validated, compiled rule set with the workspace's decay setting: what
/// [`RuleSet::score`](crate::RuleSet::score) runs. Rules are kept in evaluation order
/// (`sort_order`, then `rule_key`); disabled rules are validated but not kept.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) rules: Box<[CompiledRule]>,
    pub(crate) engagement_half_life: Option<HalfLife>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub key: Box<str>,
    pub group: RuleGroup,
    pub points: i32,
    pub sort_order: i32,
    pub condition: Condition,
}

impl RuleSet {
    /// Checks every definition (key format and uniqueness, points range, condition) and
    /// compiles the enabled ones. Reports every problem found, not just the first.
    pub fn compile(
        definitions: &[RuleDefinition],
        engagement_half_life: Option<HalfLife>,
    ) -> Result<RuleSet, InvalidRules> {
        if definitions.len() > MAX_RULES {
            return Err(set_level(RuleProblem::TooManyRules { limit: MAX_RULES }));
        }
        let mut compiler = Compiler::default();
        for (index, definition) in definitions.iter().enumerate() {
            compiler.add(index, definition);
        }
        compiler.finish(engagement_half_life)
    }

    /// [`RuleDefinition::list_from_json`] then [`RuleSet::compile`], reporting the problems of
    /// both steps together.
    pub fn from_json(
        rules: &Value,
        engagement_half_life: Option<HalfLife>,
    ) -> Result<RuleSet, InvalidRules> {
        let items = read_items(rules)?;
        let mut compiler = Compiler::default();
        for (index, item) in items.iter().enumerate() {
            match item {
                Ok(definition) => compiler.add(index, definition),
                Err(error) => compiler.errors.push(error.clone()),
            }
        }
        compiler.finish(engagement_half_life)
    }

    /// The enabled rules' keys, in the order they are evaluated and reported.
    pub fn rule_keys(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule| &*rule.key)
    }

    pub fn engagement_half_life(&self) -> Option<HalfLife> {
        self.engagement_half_life
    }
}

#[derive(Default)]
struct Compiler<'d> {
    seen_keys: HashSet<&'d str>,
    rules: Vec<CompiledRule>,
    errors: Vec<RuleError>,
}

impl<'d> Compiler<'d> {
    fn add(&mut self, index: usize, definition: &'d RuleDefinition) {
        match compile_rule(definition, &mut self.seen_keys) {
            Ok(rule) if definition.enabled => self.rules.push(rule),
            Ok(_) => {}
            Err(fault) => {
                let position = format!("#{}", index + 1);
                let rule = if is_valid_key(&definition.rule_key) {
                    &definition.rule_key
                } else {
                    &position
                };
                self.errors.push(fault.in_rule(rule));
            }
        }
    }

    fn finish(mut self, engagement_half_life: Option<HalfLife>) -> Result<RuleSet, InvalidRules> {
        if !self.errors.is_empty() {
            return Err(InvalidRules(self.errors));
        }
        self.rules.sort_by(|a, b| {
            a.sort_order
                .cmp(&b.sort_order)
                .then_with(|| a.key.cmp(&b.key))
        });
        Ok(RuleSet {
            rules: self.rules.into_boxed_slice(),
            engagement_half_life,
        })
    }
}

fn compile_rule<'d>(
    definition: &'d RuleDefinition,
    seen_keys: &mut HashSet<&'d str>,
) -> Result<CompiledRule, Fault> {
    if !is_valid_key(&definition.rule_key) {
        return Err(Fault::at(
            &Location::Top("rule_key"),
            RuleProblem::InvalidKey,
        ));
    }
    if !seen_keys.insert(&definition.rule_key) {
        return Err(Fault::at(
            &Location::Top("rule_key"),
            RuleProblem::DuplicateKey,
        ));
    }
    let points = checked_points(i64::from(definition.points))
        .map_err(|problem| Fault::at(&Location::Top("points"), problem))?;
    let condition = compile_condition(&definition.condition, &Location::Top("condition"))?;
    Ok(CompiledRule {
        key: definition.rule_key.as_str().into(),
        group: definition.rule_group,
        points,
        sort_order: definition.sort_order,
        condition,
    })
}
