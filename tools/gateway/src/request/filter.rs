//! Horizontal filters: `col=op.value`, `col=not.op.value`, and the logic trees of `or=(...)`,
//! `and=(...)`, `not.or=(...)` (parsed in `grammar.rs`).

use super::grammar;
use super::select::Field;
use super::split::{abbreviate, nesting_depth, MAX_NESTING};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    Ilike,
    Match,
    Imatch,
    Contains,
    ContainedIn,
    Overlaps,
    StrictlyLeft,
    StrictlyRight,
    NotExtendRight,
    NotExtendLeft,
    Adjacent,
    IsDistinct,
}

impl CompareOp {
    pub fn sql(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Neq => "<>",
            CompareOp::Gt => ">",
            CompareOp::Gte => ">=",
            CompareOp::Lt => "<",
            CompareOp::Lte => "<=",
            CompareOp::Like => "like",
            CompareOp::Ilike => "ilike",
            CompareOp::Match => "~",
            CompareOp::Imatch => "~*",
            CompareOp::Contains => "@>",
            CompareOp::ContainedIn => "<@",
            CompareOp::Overlaps => "&&",
            CompareOp::StrictlyLeft => "<<",
            CompareOp::StrictlyRight => ">>",
            CompareOp::NotExtendRight => "&<",
            CompareOp::NotExtendLeft => "&>",
            CompareOp::Adjacent => "-|-",
            CompareOp::IsDistinct => "is distinct from",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsValue {
    Null,
    NotNull,
    True,
    False,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtsKind {
    ToTsquery,
    Plain,
    Phrase,
    Websearch,
}

impl FtsKind {
    pub fn function(self) -> &'static str {
        match self {
            FtsKind::ToTsquery => "to_tsquery",
            FtsKind::Plain => "plainto_tsquery",
            FtsKind::Phrase => "phraseto_tsquery",
            FtsKind::Websearch => "websearch_to_tsquery",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    Compare {
        op: CompareOp,
        value: String,
    },
    /// `eq(any).{a,b}`: the value is a Postgres array literal.
    Quantified {
        op: CompareOp,
        all: bool,
        array_literal: String,
    },
    In(Vec<String>),
    Is(IsValue),
    Fts {
        kind: FtsKind,
        language: Option<String>,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Filter {
        field: Field,
        negated: bool,
        operation: Operation,
    },
    Logic {
        and: bool,
        negated: bool,
        children: Vec<Condition>,
    },
}

/// `value` is what follows `col=`: `[not.]op[(modifier)].value`.
pub fn parse_filter(field: Field, value: &str) -> Result<Condition, ApiError> {
    let (negated, operation) = grammar::filter(value)?;
    Ok(Condition::Filter {
        field,
        negated,
        operation,
    })
}

/// The value of a logic-tree key (`operator` is `or`, `and`, `not.or` or `not.and`), nested at
/// most `MAX_NESTING` deep.
pub fn parse_logic_tree(operator: &str, value: &str) -> Result<Condition, ApiError> {
    if nesting_depth(value) > MAX_NESTING {
        return Err(ApiError::query_param(
            format!("\"failed to parse logic tree ({})\"", abbreviate(value)),
            format!("logic trees may nest at most {MAX_NESTING} levels of parentheses"),
        ));
    }
    grammar::logic_tree(operator, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> Field {
        Field {
            name: name.into(),
            json_path: vec![],
        }
    }

    #[test]
    fn parses_operators() {
        let c = parse_filter(field("a"), "not.like.*x*").unwrap();
        assert_eq!(
            c,
            Condition::Filter {
                field: field("a"),
                negated: true,
                operation: Operation::Compare {
                    op: CompareOp::Like,
                    value: "%x%".into()
                },
            }
        );
        assert!(parse_filter(field("a"), "bogus.1").is_err());
        assert!(parse_filter(field("a"), "is.maybe").is_err());
    }

    #[test]
    fn parses_nested_logic() {
        let tree = parse_logic_tree(
            "or",
            "(a.eq.1,and(b.gt.2,c.in.(1,2)),not.or(d.is.null,e.eq.\"x,y\"))",
        )
        .unwrap();
        let Condition::Logic { children, .. } = tree else {
            panic!("{tree:?}")
        };
        assert_eq!(children.len(), 3);
        assert!(parse_logic_tree(
            "or",
            &format!("({}a.eq.1{})", "or(".repeat(20), ")".repeat(20))
        )
        .is_err());
    }
}
