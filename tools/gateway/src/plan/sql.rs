//! SQL text helpers: quoted identifiers and bind parameters sent as untyped text, so Postgres
//! infers each parameter's type from where it is used, as it would for a literal.

use bytes::BytesMut;
use postgres_types::{to_sql_checked, Format, IsNull, ToSql, Type};

/// `"name"` with embedded quotes doubled; the only way identifiers enter generated SQL.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// The values of one statement's placeholders. `push` hands out a marker; `finish` numbers the
/// markers actually present in the SQL as `$1..$n`, so unused values are never sent.
#[derive(Debug, Default)]
pub struct Params {
    values: Vec<Option<String>>,
}

const MARK: char = '\u{1}';

impl Params {
    /// Adds a value and returns the marker that stands for it in SQL text.
    pub fn push(&mut self, value: impl Into<String>) -> String {
        self.values.push(Some(value.into()));
        format!("{MARK}{}{MARK}", self.values.len() - 1)
    }

    /// Replaces markers by `$n` in order of first appearance and returns the matching values.
    pub fn finish(&self, sql: &str) -> (String, Vec<Option<String>>) {
        let mut out = String::with_capacity(sql.len());
        // numbers[marker] is the `$n` a marker was given; a table, so long filter lists stay linear.
        let mut numbers: Vec<Option<usize>> = vec![None; self.values.len()];
        let mut values = Vec::new();
        let mut rest = sql;
        while let Some(start) = rest.find(MARK) {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find(MARK) else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let index: usize = after[..end].parse().unwrap_or(usize::MAX);
            let number = match numbers.get(index).copied().flatten() {
                Some(n) => n,
                None => {
                    values.push(self.values.get(index).cloned().flatten());
                    if let Some(slot) = numbers.get_mut(index) {
                        *slot = Some(values.len());
                    }
                    values.len()
                }
            };
            out.push('$');
            out.push_str(&number.to_string());
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        (out, values)
    }
}

/// A parameter sent in Postgres' text format whatever type the server inferred for it.
#[derive(Debug)]
pub struct TextParam<'a>(pub Option<&'a str>);

impl ToSql for TextParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Some(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// A Postgres array literal `{"a","b"}` for `= any($n)`.
pub fn array_literal(values: &[String]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers_and_arrays() {
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(qualified("public", "t"), "\"public\".\"t\"");
        assert_eq!(
            array_literal(&["a,b".into(), "c\"d".into()]),
            "{\"a,b\",\"c\\\"d\"}"
        );
        let mut p = Params::default();
        let x = p.push("x");
        let y = p.push("y");
        let z = p.push("z");
        let (sql, values) = p.finish(&format!("a = {z} and b = {x} or c = {z}"));
        assert_eq!(sql, "a = $1 and b = $2 or c = $1");
        assert_eq!(values, vec![Some("z".to_string()), Some("x".to_string())]);
        assert!(!y.is_empty());
    }
}
