//! `order=col.desc.nullslast,other` terms.

use super::select::{parse_field, Field};
use super::split::split_top_level;
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq)]
pub struct OrderTerm {
    /// Set for `order=relation(column)`: ordering by a to-one embedded relation's column.
    pub relation: Option<String>,
    pub field: Field,
    pub descending: Option<bool>,
    pub nulls_first: Option<bool>,
}

pub fn parse_order(value: &str) -> Result<Vec<OrderTerm>, ApiError> {
    let mut terms = Vec::new();
    for raw in split_top_level(value, ',') {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let mut parts: Vec<&str> = raw.rsplitn(3, '.').collect();
        parts.reverse();
        let mut descending = None;
        let mut nulls_first = None;
        if parts.len() > 1 {
            match parts[parts.len() - 1] {
                "nullsfirst" => nulls_first = Some(true),
                "nullslast" => nulls_first = Some(false),
                _ => {}
            }
            if nulls_first.is_some() {
                parts.pop();
            }
        }
        if parts.len() > 1 {
            match parts[parts.len() - 1] {
                "asc" => descending = Some(false),
                "desc" => descending = Some(true),
                _ => {}
            }
            if descending.is_some() {
                parts.pop();
            }
        }
        let target = parts.join(".");
        let (relation, field_text) = match target.split_once('(') {
            Some((rel, rest)) => match rest.strip_suffix(')') {
                Some(col) => (Some(rel.to_string()), col.to_string()),
                None => return Err(order_error(value, "unclosed '(' in related order")),
            },
            None => (None, target.clone()),
        };
        if field_text.contains('.') {
            return Err(order_error(
                value,
                "expected column[.asc|.desc][.nullsfirst|.nullslast]",
            ));
        }
        terms.push(OrderTerm {
            relation,
            field: parse_field(&field_text)?,
            descending,
            nulls_first,
        });
    }
    Ok(terms)
}

fn order_error(value: &str, details: &str) -> ApiError {
    ApiError::query_param(format!("\"failed to parse order ({value})\""), details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directions_and_nulls() {
        let terms =
            parse_order("a.desc.nullslast,b,c.nullsfirst,data->>k.asc,author(name).desc").unwrap();
        assert_eq!(terms.len(), 5);
        assert_eq!(terms[0].descending, Some(true));
        assert_eq!(terms[0].nulls_first, Some(false));
        assert_eq!(terms[1].descending, None);
        assert_eq!(terms[2].nulls_first, Some(true));
        assert_eq!(terms[3].field.name, "data");
        assert_eq!(terms[4].relation.as_deref(), Some("author"));
        assert!(parse_order("a.sideways").is_err());
    }
}
