//! What the client asked for, parsed from the URL and headers into plain values: no SQL and no
//! schema knowledge here, only PostgREST's query-string grammar.

pub mod cast;
pub mod filter;
mod grammar;
pub mod media;
pub mod order;
mod parsec;
pub mod prefer;
pub mod range;
pub mod select;
mod split;

use std::collections::HashMap;

use crate::error::ApiError;
pub use filter::{CompareOp, Condition, FtsKind, IsValue, Operation};
pub use order::OrderTerm;
pub use select::{Aggregate, Field, JsonKey, JsonStep, SelectItem};

/// A path of embed names (or aliases) from the top-level relation; empty means top level.
pub type EmbedPath = Vec<String>;

/// The query string's `key=value` pairs, decoded (`+` is a space); as in PostgREST, a key
/// without `=` is no parameter at all.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| pair.contains('='))
        .flat_map(|pair| form_urlencoded::parse(pair.as_bytes()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[derive(Debug, Default)]
pub struct QueryParams {
    pub select: Vec<SelectItem>,
    pub conditions: Vec<(EmbedPath, Condition)>,
    pub orders: HashMap<EmbedPath, Vec<OrderTerm>>,
    pub limits: HashMap<EmbedPath, i64>,
    pub offsets: HashMap<EmbedPath, i64>,
    pub columns: Option<Vec<String>>,
    pub on_conflict: Option<Vec<String>>,
}

impl QueryParams {
    pub fn parse(pairs: &[(String, String)]) -> Result<QueryParams, ApiError> {
        let mut params = QueryParams {
            select: vec![SelectItem::Star],
            ..Default::default()
        };
        for (key, value) in pairs {
            match key.as_str() {
                "select" => params.select = select::parse_select(value)?,
                "columns" => params.columns = Some(grammar::columns("columns", value)?),
                "on_conflict" => params.on_conflict = Some(grammar::columns("on_conflict", value)?),
                _ => params.add_keyed(key, value)?,
            }
        }
        Ok(params)
    }

    /// Whether the select uses an aggregate function anywhere (embeds included).
    pub fn uses_aggregates(&self) -> bool {
        fn any(items: &[SelectItem]) -> bool {
            items.iter().any(|item| match item {
                SelectItem::Column { aggregate, .. } => aggregate.is_some(),
                SelectItem::Embed { children, .. } => any(children),
                SelectItem::Star => false,
            })
        }
        any(&self.select)
    }

    fn add_keyed(&mut self, key: &str, value: &str) -> Result<(), ApiError> {
        for (suffix, and, negated) in [
            ("not.or", false, true),
            ("not.and", true, true),
            ("or", false, false),
            ("and", true, false),
        ] {
            if let Some(path) = strip_key_suffix(key, suffix) {
                let operator = match (and, negated) {
                    (true, true) => "not.and",
                    (false, true) => "not.or",
                    (true, false) => "and",
                    (false, false) => "or",
                };
                let condition = filter::parse_logic_tree(operator, value)?;
                self.conditions.push((path, condition));
                return Ok(());
            }
        }
        if let Some(path) = strip_key_suffix(key, "order") {
            self.orders.insert(path, order::parse_order(value)?);
            return Ok(());
        }
        for (suffix, is_limit) in [("limit", true), ("offset", false)] {
            if let Some(path) = strip_key_suffix(key, suffix) {
                // As PostgREST: a value that is not an integer is ignored.
                if let Some(n) = range::parse_count(value) {
                    if is_limit {
                        self.limits.insert(path, n)
                    } else {
                        self.offsets.insert(path, n)
                    };
                }
                return Ok(());
            }
        }
        let (path, field) = grammar::tree_path(key)?;
        let condition = filter::parse_filter(field, value)?;
        self.conditions.push((path, condition));
        Ok(())
    }
}

/// `order` -> Some([]), `rel.order` -> Some(["rel"]), `ordering` -> None.
fn strip_key_suffix(key: &str, suffix: &str) -> Option<EmbedPath> {
    if key == suffix {
        return Some(Vec::new());
    }
    let prefix = key.strip_suffix(suffix)?.strip_suffix('.')?;
    if prefix.contains("->") {
        return None;
    }
    Some(prefix.split('.').map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keys_are_routed_by_suffix_and_embed_path() {
        let q = QueryParams::parse(&pairs(&[
            ("select", "id,posts(id)"),
            ("posts.order", "id.desc"),
            ("posts.limit", "2"),
            ("not.or", "(a.eq.1,b.eq.2)"),
            ("posts.title", "like.*x*"),
            ("data->>k", "eq.v"),
        ]))
        .unwrap();
        assert_eq!(q.orders[&vec!["posts".to_string()]].len(), 1);
        assert_eq!(q.limits[&vec!["posts".to_string()]], 2);
        assert_eq!(q.conditions.len(), 3);
        assert_eq!(q.conditions[1].0, vec!["posts".to_string()]);
        assert!(q.conditions[2].0.is_empty());
    }
}
