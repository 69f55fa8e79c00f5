//! Reading a condition from its stored JSON (`crm_lead_scoring_rules.condition`) into a
//! [`Condition`], checking everything on the way. The shape:
//!
//! - a leaf tests one field: `{"field": F, "op": O, "value": V}`; `exists` takes no value,
//!   `between` takes `min` and/or `max` instead of `value`;
//! - a combinator holds exactly one key: `{"all": [C, ...]}`, `{"any": [C, ...]}` or
//!   `{"not": C}`.
//!
//! Nesting and size are bounded so a stored rule cannot make scoring slow, and so every condition
//! accepted here fits the database's cap on `crm_lead_scoring_rules.condition`. The database
//! checks the same grammar and limits whenever a rule is written
//! (`private.lead_scoring_condition_problem`, sql/migrations/0022_lead_scoring_rule_validation.sql);
//! tests/sql_parity.rs and tests/e2e/lead-scoring-rules.test.mjs keep the two in step.

use crate::condition::{Condition, OptStatusSet, StatusSet};
use crate::error::{Fault, Location, RuleProblem};
use crate::lead::{LeadStatus, OptStatus};
use crate::text::LooseText;
use crate::vocabulary::{list_names, Field, FieldKind, Operator};
use serde_json::{Map, Value};
use shared::time::MILLIS_PER_DAY;

pub const MAX_DEPTH: usize = 8;
/// Condition nodes plus listed values, per rule.
pub const MAX_ITEMS: usize = 256;
/// Characters of the text a rule compares (tags and text values, counted as given), per rule.
pub const MAX_TEXT_CHARS: usize = 4_096;
const MAX_DAYS: f64 = 36_500.0;

pub fn compile_condition(value: &Value, at: &Location<'_>) -> Result<Condition, Fault> {
    let mut budget = Budget {
        items: ItemBudget(MAX_ITEMS),
        text: TextBudget(MAX_TEXT_CHARS),
    };
    compile(value, at, 1, &mut budget)
}

/// What is left of one rule's size limits while its condition is read. Two fields, so a
/// closure can spend text while the list it reads spends items.
struct Budget {
    items: ItemBudget,
    text: TextBudget,
}

struct ItemBudget(usize);

impl ItemBudget {
    fn spend(&mut self, at: &Location<'_>) -> Result<(), Fault> {
        self.0 = self
            .0
            .checked_sub(1)
            .ok_or_else(|| Fault::at(at, RuleProblem::TooLarge { limit: MAX_ITEMS }))?;
        Ok(())
    }
}

struct TextBudget(usize);

impl TextBudget {
    fn spend(&mut self, text: &str, at: &Location<'_>) -> Result<(), Fault> {
        self.0 = self.0.checked_sub(text.chars().count()).ok_or_else(|| {
            Fault::at(
                at,
                RuleProblem::TooMuchText {
                    limit: MAX_TEXT_CHARS,
                },
            )
        })?;
        Ok(())
    }
}

fn compile(
    value: &Value,
    at: &Location<'_>,
    depth: usize,
    budget: &mut Budget,
) -> Result<Condition, Fault> {
    if depth > MAX_DEPTH {
        return Err(Fault::at(at, RuleProblem::TooDeep { limit: MAX_DEPTH }));
    }
    budget.items.spend(at)?;
    let Some(object) = value.as_object() else {
        return Err(Fault::at(at, RuleProblem::NotAnObject));
    };
    let Some(combinator) = ["all", "any", "not"]
        .into_iter()
        .find(|key| object.contains_key(*key))
    else {
        return compile_leaf(object, at, budget);
    };
    if object.len() != 1 {
        return Err(Fault::at(
            at,
            RuleProblem::MalformedCondition("a combinator holds exactly one key: all, any or not"),
        ));
    }
    let inner_at = Location::Key(at, combinator);
    let inner = &object[combinator];
    if combinator == "not" {
        return Ok(Condition::Not(Box::new(compile(
            inner,
            &inner_at,
            depth + 1,
            budget,
        )?)));
    }
    let parts = match inner.as_array() {
        Some(parts) if !parts.is_empty() => parts,
        _ => {
            return Err(Fault::at(
                &inner_at,
                RuleProblem::WrongType {
                    expected: "a non-empty array of conditions",
                },
            ))
        }
    };
    let parts = parts
        .iter()
        .enumerate()
        .map(|(index, part)| compile(part, &Location::Index(&inner_at, index), depth + 1, budget))
        .collect::<Result<Box<[_]>, _>>()?;
    Ok(if combinator == "all" {
        Condition::All(parts)
    } else {
        Condition::Any(parts)
    })
}

fn compile_leaf(
    object: &Map<String, Value>,
    at: &Location<'_>,
    budget: &mut Budget,
) -> Result<Condition, Fault> {
    if let Some(key) = object
        .keys()
        .find(|key| !matches!(key.as_str(), "field" | "op" | "value" | "min" | "max"))
    {
        return Err(Fault::at(at, RuleProblem::UnexpectedKey(key.clone())));
    }
    if !object.contains_key("field") && !object.contains_key("op") {
        return Err(Fault::at(
            at,
            RuleProblem::MalformedCondition(
                "a condition is {\"field\", \"op\", \"value\"} or one of {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}}",
            ),
        ));
    }
    let field_at = Location::Key(at, "field");
    let field_name = required_str(object.get("field"), &field_at)?;
    let field = Field::from_name(field_name)
        .ok_or_else(|| Fault::at(&field_at, RuleProblem::UnknownField(field_name.to_owned())))?;
    let op_at = Location::Key(at, "op");
    let op_name = required_str(object.get("op"), &op_at)?;
    let operator = Operator::from_name(op_name)
        .ok_or_else(|| Fault::at(&op_at, RuleProblem::UnknownOperator(op_name.to_owned())))?;
    let kind = field.kind();
    if !kind.operators().contains(&operator) {
        return Err(Fault::at(
            &op_at,
            RuleProblem::OperatorNotForField { field, operator },
        ));
    }
    check_operands(object, operator, at)?;

    let value_at = Location::Key(at, "value");
    let value = || {
        object
            .get("value")
            .ok_or_else(|| Fault::at(&value_at, RuleProblem::Missing))
    };
    use FieldKind as K;
    use Operator as O;
    Ok(match (kind, operator) {
        (K::Status, O::Equals) => {
            Condition::StatusIn(StatusSet::default().with(status_named(value()?, &value_at)?))
        }
        (K::Status, O::In) => Condition::StatusIn(
            list(value()?, &value_at, &mut budget.items, status_named)?
                .into_iter()
                .fold(StatusSet::default(), StatusSet::with),
        ),
        (K::Status, O::Exists) => Condition::StatusIn(StatusSet::everything()),
        (K::OptStatus, O::Equals) => Condition::OptStatusIn(
            OptStatusSet::default().with(opt_status_named(value()?, &value_at)?),
        ),
        (K::OptStatus, O::In) => Condition::OptStatusIn(
            list(value()?, &value_at, &mut budget.items, opt_status_named)?
                .into_iter()
                .fold(OptStatusSet::default(), OptStatusSet::with),
        ),
        (K::OptStatus, O::Exists) => Condition::OptStatusPresent,
        (K::Tags, O::ContainsTag) => {
            let value = value()?;
            let tags = if value.is_string() {
                vec![loose_text(value, &value_at, &mut budget.text)?]
            } else {
                list(value, &value_at, &mut budget.items, |item, at| {
                    loose_text(item, at, &mut budget.text)
                })?
            };
            Condition::HasAnyOfTags(tags.into_boxed_slice())
        }
        (K::Tags, O::Exists) => Condition::HasSomeTag,
        (K::Text, O::Equals) => Condition::TextIn(
            field,
            Box::new([loose_text(value()?, &value_at, &mut budget.text)?]),
        ),
        (K::Text, O::In) => Condition::TextIn(
            field,
            list(value()?, &value_at, &mut budget.items, |item, at| {
                loose_text(item, at, &mut budget.text)
            })?
            .into_boxed_slice(),
        ),
        (K::Text, O::Exists) => Condition::TextPresent(field),
        (K::Flag, O::Equals) => match value()?.as_bool() {
            Some(expected) => Condition::Flag(field, expected),
            None => {
                return Err(Fault::at(
                    &value_at,
                    RuleProblem::WrongType {
                        expected: "true or false",
                    },
                ))
            }
        },
        (K::Count, O::Equals) => Condition::CountIn(Box::new([count(value()?, &value_at)?])),
        (K::Count, O::In) => Condition::CountIn(
            list(value()?, &value_at, &mut budget.items, count)?.into_boxed_slice(),
        ),
        (K::Count, O::Between) => count_range(object, at)?,
        (K::Instant, O::OlderThanDays) => {
            Condition::OlderThan(field, days_as_millis(value()?, &value_at)?)
        }
        (K::Instant, O::NewerThanDays) => {
            Condition::NewerThan(field, days_as_millis(value()?, &value_at)?)
        }
        (K::Instant, O::Exists) => Condition::InstantPresent(field),
        _ => {
            return Err(Fault::at(
                &op_at,
                RuleProblem::OperatorNotForField { field, operator },
            ))
        }
    })
}

/// `exists` takes nothing, `between` takes `min`/`max`, every other operator takes `value`.
fn check_operands(
    object: &Map<String, Value>,
    operator: Operator,
    at: &Location<'_>,
) -> Result<(), Fault> {
    let has = |key: &str| object.contains_key(key);
    let misplaced = match operator {
        Operator::Exists if has("value") || has("min") || has("max") => {
            Some("exists takes no value, min or max")
        }
        Operator::Between if has("value") => Some("between takes min and/or max, not value"),
        Operator::Between => None,
        _ if has("min") || has("max") => {
            Some("min and max belong to the between operator; use value")
        }
        _ => None,
    };
    match misplaced {
        Some(why) => Err(Fault::at(at, RuleProblem::MalformedCondition(why))),
        None => Ok(()),
    }
}

fn required_str<'v>(value: Option<&'v Value>, at: &Location<'_>) -> Result<&'v str, Fault> {
    match value {
        None => Err(Fault::at(at, RuleProblem::Missing)),
        Some(value) => value.as_str().ok_or_else(|| {
            Fault::at(
                at,
                RuleProblem::WrongType {
                    expected: "a string",
                },
            )
        }),
    }
}

fn list<T>(
    value: &Value,
    at: &Location<'_>,
    budget: &mut ItemBudget,
    mut read_one: impl FnMut(&Value, &Location<'_>) -> Result<T, Fault>,
) -> Result<Vec<T>, Fault> {
    let items = match value.as_array() {
        Some(items) if !items.is_empty() => items,
        _ => {
            return Err(Fault::at(
                at,
                RuleProblem::WrongType {
                    expected: "a non-empty array",
                },
            ))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let item_at = Location::Index(at, index);
            budget.spend(&item_at)?;
            read_one(item, &item_at)
        })
        .collect()
}

fn status_named(value: &Value, at: &Location<'_>) -> Result<LeadStatus, Fault> {
    let name = required_str(Some(value), at)?;
    LeadStatus::ALL
        .into_iter()
        .find(|status| status.as_str() == name)
        .ok_or_else(|| {
            let known = list_names(&LeadStatus::ALL, LeadStatus::as_str);
            Fault::at(
                at,
                RuleProblem::BadValue(format!("unknown status {name:?}; statuses are: {known}")),
            )
        })
}

fn opt_status_named(value: &Value, at: &Location<'_>) -> Result<OptStatus, Fault> {
    let name = required_str(Some(value), at)?;
    OptStatus::ALL
        .into_iter()
        .find(|status| status.as_str() == name)
        .ok_or_else(|| {
            let known = list_names(&OptStatus::ALL, OptStatus::as_str);
            Fault::at(
                at,
                RuleProblem::BadValue(format!("unknown opt_status {name:?}; values are: {known}")),
            )
        })
}

fn loose_text(
    value: &Value,
    at: &Location<'_>,
    budget: &mut TextBudget,
) -> Result<LooseText, Fault> {
    let raw = required_str(Some(value), at)?;
    budget.spend(raw, at)?;
    LooseText::new(raw).ok_or_else(|| {
        Fault::at(
            at,
            RuleProblem::BadValue(format!("{raw:?} has no letters or digits to match on")),
        )
    })
}

fn count(value: &Value, at: &Location<'_>) -> Result<u32, Fault> {
    value
        .as_u64()
        .and_then(|number| u32::try_from(number).ok())
        .ok_or_else(|| {
            Fault::at(
                at,
                RuleProblem::WrongType {
                    expected: "a whole number from 0 to 4294967295",
                },
            )
        })
}

fn count_range(object: &Map<String, Value>, at: &Location<'_>) -> Result<Condition, Fault> {
    let bound = |key: &'static str| -> Result<Option<u32>, Fault> {
        object
            .get(key)
            .map(|value| count(value, &Location::Key(at, key)))
            .transpose()
    };
    let (min, max) = (bound("min")?, bound("max")?);
    if min.is_none() && max.is_none() {
        return Err(Fault::at(
            at,
            RuleProblem::MalformedCondition("between needs min, max or both"),
        ));
    }
    let (min, max) = (min.unwrap_or(0), max.unwrap_or(u32::MAX));
    if min > max {
        return Err(Fault::at(
            at,
            RuleProblem::BadValue(format!("min {min} is greater than max {max}")),
        ));
    }
    Ok(Condition::CountBetween { min, max })
}

fn days_as_millis(value: &Value, at: &Location<'_>) -> Result<i64, Fault> {
    match value.as_f64() {
        Some(days) if (0.0..=MAX_DAYS).contains(&days) => {
            Ok((days * MILLIS_PER_DAY as f64).round() as i64)
        }
        _ => Err(Fault::at(
            at,
            RuleProblem::WrongType {
                expected: "a number of days from 0 to 36500",
            },
        )),
    }
}
