//! What `select=` asks for: columns, `alias:column`, `column::cast`, JSON paths, `*`,
//! aggregates, and embedded resources `alias:relation!hint!inner(...)` (parsed in `grammar.rs`).

use super::cast::Cast;
use super::grammar;
use super::split::{abbreviate, nesting_depth, MAX_NESTING};
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq)]
pub enum JsonKey {
    Key(String),
    /// An array index as written, with its sign: `+0`, `-1` (SQL reads it as `int`).
    Index(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonStep {
    /// `->`: the JSON value.
    Arrow(JsonKey),
    /// `->>`: the value as text.
    DoubleArrow(JsonKey),
}

/// A column reference with an optional JSON path: `data->a->>b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub json_path: Vec<JsonStep>,
}

impl Field {
    /// The key PostgREST gives this field in the result: the last key of its JSON path, else
    /// the column (`data->1->name->>2` is `name`, `tags->0` is `tags`).
    pub fn output_name(&self) -> String {
        self.json_path
            .iter()
            .rev()
            .find_map(|step| match step {
                JsonStep::Arrow(JsonKey::Key(k)) | JsonStep::DoubleArrow(JsonKey::Key(k)) => {
                    Some(k.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| self.name.clone())
    }
}

/// The aggregate functions PostgREST allows in `select` (behind `db-aggregates-enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

impl Aggregate {
    /// The function's name: also the output key when the client gives no alias.
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Count => "count",
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Star,
    Column {
        field: Field,
        alias: Option<String>,
        /// Applied to the column, before any aggregate.
        cast: Option<Cast>,
        /// `col.sum()`, `count()` (whose field is `*`).
        aggregate: Option<Aggregate>,
        /// Applied to the aggregate's result: `col.sum()::int`.
        aggregate_cast: Option<Cast>,
    },
    Embed {
        name: String,
        alias: Option<String>,
        hint: Option<String>,
        inner: bool,
        /// `...relation(cols)`: the columns join the parent row instead of nesting.
        spread: bool,
        children: Vec<SelectItem>,
    },
}

impl SelectItem {
    /// The name filters, orders and limits use to address an embed: its alias, else its name.
    pub fn embed_label(&self) -> Option<&str> {
        match self {
            SelectItem::Embed { alias: Some(a), .. } => Some(a),
            SelectItem::Embed { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// The `select=` parameter, with embeds nested at most `MAX_NESTING` deep, parsed by
/// PostgREST's grammar (`grammar.rs`).
pub fn parse_select(input: &str) -> Result<Vec<SelectItem>, ApiError> {
    if nesting_depth(input) > MAX_NESTING {
        return Err(ApiError::query_param(
            format!(
                "\"failed to parse select parameter ({})\"",
                abbreviate(input)
            ),
            format!("embedded resources may nest at most {MAX_NESTING} levels of parentheses"),
        ));
    }
    let items = grammar::select(input)?;
    // An empty select (`select=`) selects every column, as in PostgREST.
    Ok(if items.is_empty() {
        vec![SelectItem::Star]
    } else {
        items
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_aliases_casts_and_paths() {
        let items = parse_select("id,label:name,price::text,data->a->>b,first:tags->0").unwrap();
        assert_eq!(items.len(), 5);
        match &items[1] {
            SelectItem::Column { alias, field, .. } => {
                assert_eq!(alias.as_deref(), Some("label"));
                assert_eq!(field.name, "name");
            }
            other => panic!("unexpected {other:?}"),
        }
        match &items[2] {
            SelectItem::Column { cast, .. } => {
                assert_eq!(cast.as_ref().map(Cast::sql).as_deref(), Some("\"text\""))
            }
            other => panic!("unexpected {other:?}"),
        }
        match &items[3] {
            SelectItem::Column { field, .. } => {
                assert_eq!(field.output_name(), "b");
                assert_eq!(field.json_path.len(), 2);
            }
            other => panic!("unexpected {other:?}"),
        }
        match &items[4] {
            SelectItem::Column { field, .. } => {
                assert_eq!(
                    field.json_path,
                    vec![JsonStep::Arrow(JsonKey::Index("+0".into()))]
                );
                assert_eq!(field.output_name(), "tags");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(parse_select("").unwrap(), vec![SelectItem::Star]);
    }

    #[test]
    fn casts_are_type_names_only() {
        match &parse_select("total:price::numeric.sum()::int").unwrap()[0] {
            SelectItem::Column {
                field,
                alias,
                cast,
                aggregate,
                aggregate_cast,
            } => {
                assert_eq!(field.name, "price");
                assert_eq!(alias.as_deref(), Some("total"));
                assert_eq!(cast.as_ref().map(Cast::sql).as_deref(), Some("\"numeric\""));
                assert_eq!(*aggregate, Some(Aggregate::Sum));
                assert_eq!(
                    aggregate_cast.as_ref().map(Cast::sql).as_deref(),
                    Some("\"int4\"")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        for refused in [
            "price.sum()::int or true",
            "price::text;drop",
            "id::int is not null or true",
        ] {
            assert!(parse_select(refused).is_err(), "{refused}");
        }
        assert!(parse_select(&"a(".repeat(20)).is_err());
    }
}
