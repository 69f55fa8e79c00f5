//! Horizontal filters: `col=op.value`, `col=not.op.value`, and the logic trees of `or=(...)`,
//! `and=(...)`, `not.or=(...)`, nested as deep as the client wants.

use super::select::{parse_field, Field};
use super::split::{abbreviate, nesting_depth, split_top_level, unquote, MAX_NESTING};
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

    fn from_name(name: &str) -> Option<CompareOp> {
        Some(match name {
            "eq" => CompareOp::Eq,
            "neq" => CompareOp::Neq,
            "gt" => CompareOp::Gt,
            "gte" => CompareOp::Gte,
            "lt" => CompareOp::Lt,
            "lte" => CompareOp::Lte,
            "like" => CompareOp::Like,
            "ilike" => CompareOp::Ilike,
            "match" => CompareOp::Match,
            "imatch" => CompareOp::Imatch,
            "cs" => CompareOp::Contains,
            "cd" => CompareOp::ContainedIn,
            "ov" => CompareOp::Overlaps,
            "sl" => CompareOp::StrictlyLeft,
            "sr" => CompareOp::StrictlyRight,
            "nxr" => CompareOp::NotExtendRight,
            "nxl" => CompareOp::NotExtendLeft,
            "adj" => CompareOp::Adjacent,
            "isdistinct" => CompareOp::IsDistinct,
            _ => return None,
        })
    }

    fn quantifiable(self) -> bool {
        matches!(
            self,
            CompareOp::Eq
                | CompareOp::Gt
                | CompareOp::Gte
                | CompareOp::Lt
                | CompareOp::Lte
                | CompareOp::Like
                | CompareOp::Ilike
                | CompareOp::Match
                | CompareOp::Imatch
        )
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

fn filter_error(text: &str, details: &str) -> ApiError {
    ApiError::query_param(format!("\"failed to parse filter ({text})\""), details)
}

/// `value` is what follows `col=`: `[not.]op[(modifier)].value`.
pub fn parse_filter(field: Field, value: &str) -> Result<Condition, ApiError> {
    let (negated, operation) = parse_operation(value, false)?;
    Ok(Condition::Filter {
        field,
        negated,
        operation,
    })
}

fn parse_operation(text: &str, in_logic_tree: bool) -> Result<(bool, Operation), ApiError> {
    let (negated, rest) = match text.strip_prefix("not.") {
        Some(r) => (true, r),
        None => (false, text),
    };
    let Some((op_token, raw_value)) = rest.split_once('.') else {
        return Err(filter_error(
            text,
            "expected an operator followed by '.' and a value, e.g. eq.5",
        ));
    };
    let value = if in_logic_tree {
        unquote(raw_value)
    } else {
        raw_value.to_string()
    };
    let (op_name, modifier) = match op_token.split_once('(') {
        Some((name, m)) => match m.strip_suffix(')') {
            Some(m) => (name, Some(m)),
            None => return Err(filter_error(text, "unclosed '(' in operator")),
        },
        None => (op_token, None),
    };
    let operation = match op_name {
        "in" => Operation::In(parse_in_list(raw_value, text)?),
        "is" => Operation::Is(match value.to_ascii_lowercase().as_str() {
            "null" => IsValue::Null,
            "not_null" => IsValue::NotNull,
            "true" => IsValue::True,
            "false" => IsValue::False,
            "unknown" => IsValue::Unknown,
            _ => {
                return Err(filter_error(
                    text,
                    "is accepts null, not_null, true, false or unknown",
                ))
            }
        }),
        "fts" | "plfts" | "phfts" | "wfts" => Operation::Fts {
            kind: match op_name {
                "fts" => FtsKind::ToTsquery,
                "plfts" => FtsKind::Plain,
                "phfts" => FtsKind::Phrase,
                _ => FtsKind::Websearch,
            },
            language: modifier.map(str::to_string),
            value,
        },
        name => {
            let Some(op) = CompareOp::from_name(name) else {
                return Err(filter_error(text, &format!("unknown operator '{name}'")));
            };
            let like = matches!(op, CompareOp::Like | CompareOp::Ilike);
            let value = if like { value.replace('*', "%") } else { value };
            match modifier {
                None => Operation::Compare { op, value },
                Some(q @ ("any" | "all")) if op.quantifiable() => Operation::Quantified {
                    op,
                    all: q == "all",
                    array_literal: value,
                },
                Some(other) => {
                    return Err(filter_error(
                        text,
                        &format!("unsupported modifier '{other}' for '{name}'"),
                    ))
                }
            }
        }
    };
    Ok((negated, operation))
}

fn parse_in_list(raw: &str, whole: &str) -> Result<Vec<String>, ApiError> {
    let inner = raw
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| filter_error(whole, "in expects a parenthesised list, e.g. in.(1,2,3)"))?;
    if inner.is_empty() {
        return Ok(Vec::new());
    }
    Ok(split_top_level(inner, ',')
        .iter()
        .map(|v| unquote(v.trim()))
        .collect())
}

/// The value of `or=`/`and=`: `(cond,cond,...)`, nested at most `MAX_NESTING` deep.
pub fn parse_logic_tree(value: &str) -> Result<Vec<Condition>, ApiError> {
    if nesting_depth(value) > MAX_NESTING {
        return Err(ApiError::query_param(
            format!("\"failed to parse logic tree ({})\"", abbreviate(value)),
            format!("logic trees may nest at most {MAX_NESTING} levels of parentheses"),
        ));
    }
    parse_logic_children(value)
}

fn parse_logic_children(value: &str) -> Result<Vec<Condition>, ApiError> {
    let inner = value
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            ApiError::query_param(
                format!("\"failed to parse logic tree ({value})\""),
                "expected a parenthesised list, e.g. or=(a.eq.1,b.eq.2)",
            )
        })?;
    let mut children = Vec::new();
    for part in split_top_level(inner, ',') {
        children.push(parse_logic_item(part.trim())?);
    }
    Ok(children)
}

fn parse_logic_item(item: &str) -> Result<Condition, ApiError> {
    for (prefix, and, negated) in [
        ("not.and(", true, true),
        ("not.or(", false, true),
        ("and(", true, false),
        ("or(", false, false),
    ] {
        if item.starts_with(prefix) {
            let list = &item[prefix.len() - 1..];
            return Ok(Condition::Logic {
                and,
                negated,
                children: parse_logic_children(list)?,
            });
        }
    }
    let head_end = item.find("->").unwrap_or(0);
    let dot = item[head_end..]
        .find('.')
        .map(|i| i + head_end)
        .ok_or_else(|| filter_error(item, "expected column.operator.value"))?;
    let field = parse_field(&item[..dot])?;
    let (negated, operation) = parse_operation(&item[dot + 1..], true)?;
    Ok(Condition::Filter {
        field,
        negated,
        operation,
    })
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
        let c = parse_filter(field("a"), "in.(1,\"b,c\",3)").unwrap();
        assert!(
            matches!(c, Condition::Filter { operation: Operation::In(ref v), .. } if v == &vec!["1".to_string(), "b,c".into(), "3".into()])
        );
        let c = parse_filter(field("a"), "fts(english).cat & dog").unwrap();
        assert!(matches!(
            c,
            Condition::Filter {
                operation: Operation::Fts {
                    language: Some(_),
                    ..
                },
                ..
            }
        ));
        let c = parse_filter(field("a"), "eq(any).{1,2}").unwrap();
        assert!(matches!(
            c,
            Condition::Filter {
                operation: Operation::Quantified { all: false, .. },
                ..
            }
        ));
        assert!(parse_filter(field("a"), "bogus.1").is_err());
        assert!(parse_filter(field("a"), "is.maybe").is_err());
    }

    #[test]
    fn parses_nested_logic() {
        let children =
            parse_logic_tree("(a.eq.1,and(b.gt.2,c.in.(1,2)),not.or(d.is.null,e.eq.\"x,y\"))")
                .unwrap();
        assert_eq!(children.len(), 3);
        match &children[2] {
            Condition::Logic {
                and: false,
                negated: true,
                children,
            } => match &children[1] {
                Condition::Filter {
                    operation: Operation::Compare { value, .. },
                    ..
                } => assert_eq!(value, "x,y"),
                other => panic!("unexpected {other:?}"),
            },
            other => panic!("unexpected {other:?}"),
        }
    }
}
