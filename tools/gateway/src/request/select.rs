//! The `select=` grammar: columns, `alias:column`, `column::cast`, JSON paths, `*`, and
//! embedded resources `alias:relation!hint!inner(...)`.

use super::cast::Cast;
use super::split::{abbreviate, nesting_depth, split_top_level, unquote, MAX_NESTING};
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq)]
pub enum JsonKey {
    Key(String),
    Index(i64),
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
    /// The key PostgREST gives this field in the result: the last JSON key, else the column.
    pub fn output_name(&self) -> String {
        match self.json_path.last() {
            Some(JsonStep::Arrow(k) | JsonStep::DoubleArrow(k)) => match k {
                JsonKey::Key(s) => s.clone(),
                JsonKey::Index(i) => i.to_string(),
            },
            None => self.name.clone(),
        }
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
    fn from_name(name: &str) -> Option<Aggregate> {
        Some(match name {
            "count" => Aggregate::Count,
            "sum" => Aggregate::Sum,
            "avg" => Aggregate::Avg,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            _ => return None,
        })
    }

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

/// The `select=` parameter, with embeds nested at most `MAX_NESTING` deep.
pub fn parse_select(input: &str) -> Result<Vec<SelectItem>, ApiError> {
    if nesting_depth(input) > MAX_NESTING {
        return Err(select_error(
            input,
            &format!("embedded resources may nest at most {MAX_NESTING} levels of parentheses"),
        ));
    }
    parse_select_list(input)
}

fn parse_select_list(input: &str) -> Result<Vec<SelectItem>, ApiError> {
    let mut items = Vec::new();
    for raw in split_top_level(input, ',') {
        let item = raw.trim();
        if item.is_empty() {
            if input.trim().is_empty() {
                continue;
            }
            return Err(select_error(input, "empty item in select"));
        }
        items.push(parse_item(item, input)?);
    }
    if items.is_empty() {
        items.push(SelectItem::Star);
    }
    Ok(items)
}

fn select_error(input: &str, details: &str) -> ApiError {
    ApiError::query_param(
        format!(
            "\"failed to parse select parameter ({})\"",
            abbreviate(input)
        ),
        details,
    )
}

fn parse_item(item: &str, whole: &str) -> Result<SelectItem, ApiError> {
    if item == "*" {
        return Ok(SelectItem::Star);
    }
    let (spread, item) = match item.strip_prefix("...") {
        Some(rest) => (true, rest),
        None => (false, item),
    };
    let (alias, rest) = split_alias(item);
    if !spread {
        if let Some(column) = parse_aggregate(rest, alias.clone(), whole)? {
            return Ok(column);
        }
    }
    if let Some(open) = find_unquoted(rest, '(') {
        if !rest.ends_with(')') {
            return Err(select_error(
                whole,
                "an embedded resource must end with ')'",
            ));
        }
        let head = &rest[..open];
        let inside = &rest[open + 1..rest.len() - 1];
        let mut parts = head.split('!');
        let name = unquote(parts.next().unwrap_or_default().trim());
        if name.is_empty() {
            return Err(select_error(whole, "an embedded resource needs a name"));
        }
        let mut hint = None;
        let mut inner = false;
        for modifier in parts {
            match modifier {
                "inner" => inner = true,
                "left" => inner = false,
                other if hint.is_none() => hint = Some(other.to_string()),
                _ => {
                    return Err(select_error(
                        whole,
                        "too many '!' modifiers on an embedded resource",
                    ))
                }
            }
        }
        let children = if inside.trim().is_empty() {
            Vec::new()
        } else {
            parse_select_list(inside)?
        };
        return Ok(SelectItem::Embed {
            name,
            alias,
            hint,
            inner,
            spread,
            children,
        });
    }
    if spread {
        return Err(select_error(
            whole,
            "the spread operator '...' applies to embedded resources only",
        ));
    }
    let (field_text, cast) = match rest.find("::") {
        Some(i) => {
            let text = &rest[i + 2..];
            let cast = Cast::parse(text)
                .ok_or_else(|| select_error(whole, &format!("'{text}' is not a type name; a cast takes a type, optionally schema-qualified, with optional []")))?;
            (&rest[..i], Some(cast))
        }
        None => (rest, None),
    };
    let field = parse_field(field_text.trim())?;
    Ok(SelectItem::Column {
        field,
        alias,
        cast,
        aggregate: None,
        aggregate_cast: None,
    })
}

/// `count()`, `col.sum()`, `col::numeric.avg()::int`, ... or `None` when `rest` is no aggregate.
fn parse_aggregate(
    rest: &str,
    alias: Option<String>,
    whole: &str,
) -> Result<Option<SelectItem>, ApiError> {
    let Some(call) = rest.find("()") else {
        return Ok(None);
    };
    let (head, tail) = (&rest[..call], &rest[call + 2..]);
    let (field_text, function) = match head.rsplit_once('.') {
        Some((field, function)) => (Some(field), function),
        None => (None, head),
    };
    let Some(aggregate) = Aggregate::from_name(function.trim()) else {
        return Ok(None);
    };
    let aggregate_cast = match tail.trim() {
        "" => None,
        cast => match cast.strip_prefix("::").and_then(Cast::parse) {
            Some(cast) => Some(cast),
            None => {
                return Err(select_error(
                    whole,
                    &format!("'{cast}' after an aggregate is not a cast to a type name"),
                ))
            }
        },
    };
    let (field, cast) = match field_text {
        None if aggregate == Aggregate::Count => (
            Field {
                name: "*".to_string(),
                json_path: Vec::new(),
            },
            None,
        ),
        None => {
            return Err(select_error(
                whole,
                &format!("{}() needs a column, e.g. amount.{}()", function, function),
            ))
        }
        Some(text) => {
            let (column, cast) = match text.find("::") {
                Some(i) => {
                    let cast = Cast::parse(&text[i + 2..]).ok_or_else(|| {
                        select_error(whole, &format!("'{}' is not a type name", &text[i + 2..]))
                    })?;
                    (&text[..i], Some(cast))
                }
                None => (text, None),
            };
            (parse_field(column.trim())?, cast)
        }
    };
    Ok(Some(SelectItem::Column {
        field,
        alias,
        cast,
        aggregate: Some(aggregate),
        aggregate_cast,
    }))
}

fn find_unquoted(s: &str, wanted: char) -> Option<usize> {
    let mut in_quotes = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            c if c == wanted && !in_quotes => return Some(i),
            _ => {}
        }
    }
    None
}

/// `alias:rest`, where the colon is not part of a `::` cast.
fn split_alias(item: &str) -> (Option<String>, &str) {
    let bytes = item.as_bytes();
    let mut in_quotes = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'(' if !in_quotes => break,
            b':' if !in_quotes => {
                let double = bytes.get(i + 1) == Some(&b':') || (i > 0 && bytes[i - 1] == b':');
                if double {
                    return (None, item);
                }
                return (Some(unquote(item[..i].trim())), item[i + 1..].trim());
            }
            _ => {}
        }
    }
    (None, item)
}

/// Parses `col`, `"my col"`, `data->a->>b`, `arr->0`.
pub fn parse_field(text: &str) -> Result<Field, ApiError> {
    let mut segments = Vec::new();
    let mut rest = text;
    let name_end = rest.find("->").unwrap_or(rest.len());
    let name = unquote(rest[..name_end].trim());
    rest = &rest[name_end..];
    while !rest.is_empty() {
        let text_op = rest.starts_with("->>");
        rest = &rest[if text_op { 3 } else { 2 }..];
        let end = rest.find("->").unwrap_or(rest.len());
        let raw_key = rest[..end].trim();
        rest = &rest[end..];
        if raw_key.is_empty() {
            return Err(ApiError::query_param(
                format!("\"failed to parse json path ({text})\""),
                "empty key in JSON path",
            ));
        }
        let key = match raw_key.parse::<i64>() {
            Ok(i) if !raw_key.starts_with('"') => JsonKey::Index(i),
            _ => JsonKey::Key(unquote(raw_key).trim_matches('\'').to_string()),
        };
        segments.push(if text_op {
            JsonStep::DoubleArrow(key)
        } else {
            JsonStep::Arrow(key)
        });
    }
    if name.is_empty() {
        return Err(ApiError::query_param(
            format!("\"failed to parse field ({text})\""),
            "empty column name",
        ));
    }
    Ok(Field {
        name,
        json_path: segments,
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
                assert_eq!(field.json_path, vec![JsonStep::Arrow(JsonKey::Index(0))])
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn parses_embeds_with_hints_and_inner() {
        let items =
            parse_select("*,author:users!posts_author_fkey!inner(id,name),comments(*)").unwrap();
        match &items[1] {
            SelectItem::Embed {
                name,
                alias,
                hint,
                inner,
                children,
                ..
            } => {
                assert_eq!(name, "users");
                assert_eq!(alias.as_deref(), Some("author"));
                assert_eq!(hint.as_deref(), Some("posts_author_fkey"));
                assert!(*inner);
                assert_eq!(children.len(), 2);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            &parse_select("id,...authors(name)").unwrap()[1],
            SelectItem::Embed { spread: true, .. }
        ));
        assert!(parse_select("...name").is_err());
        assert!(matches!(
            &parse_select("count()").unwrap()[0],
            SelectItem::Column {
                aggregate: Some(Aggregate::Count),
                ..
            }
        ));
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
        assert!(parse_select("price.sum()::int or true").is_err());
        assert!(parse_select("price::text;drop").is_err());
        assert!(parse_select("id::int is not null or true").is_err());
    }
}
