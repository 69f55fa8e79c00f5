//! `order=col.desc.nullslast,other` terms.

use super::grammar;
use super::select::Field;
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq)]
pub struct OrderTerm {
    /// Set for `order=relation(column)`: ordering by a to-one embedded relation's column.
    pub relation: Option<String>,
    pub field: Field,
    pub descending: Option<bool>,
    pub nulls_first: Option<bool>,
}

/// `order=`, parsed by PostgREST's grammar (`grammar.rs`).
pub fn parse_order(value: &str) -> Result<Vec<OrderTerm>, ApiError> {
    grammar::order(value)
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
        assert!(parse_order("").is_err());
    }
}
