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

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Star,
    Column {
        field: Field,
        alias: Option<String>,
        cast: Option<Cast>,
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
        if (name == "count" && inside.trim().is_empty()) || is_aggregate_call(&name) {
            return Err(ApiError::new(
                400,
                "PGRST123",
                "Use of aggregate functions is not allowed",
            ));
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
    Ok(SelectItem::Column { field, alias, cast })
}

fn is_aggregate_call(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, f)| matches!(f, "sum" | "avg" | "min" | "max" | "count"))
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
        assert!(parse_select("count()").is_err());
        assert!(parse_select("price::text;drop").is_err());
        assert!(parse_select("id::int is not null or true").is_err());
    }
}
