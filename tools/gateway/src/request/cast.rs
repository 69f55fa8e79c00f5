//! `::type` casts in `select`: only a type name, optionally schema-qualified, with optional
//! `[]`, which reaches SQL quoted. Nothing else a client writes after `::` becomes SQL text.

/// A type to cast to, as Postgres names it in `pg_type` (so it can be quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cast {
    pub schema: Option<String>,
    pub name: String,
    pub array_dimensions: usize,
}

/// SQL's keyword spellings of built-in types. Postgres' grammar turns these into the `pg_type`
/// names on the right; a quoted `"int"` or `"double precision"` names no type, so they are
/// translated before quoting. Every other name is taken as written (lower-cased, as Postgres
/// folds an unquoted name).
const SQL_SPELLINGS: &[(&str, &str)] = &[
    ("int", "int4"),
    ("integer", "int4"),
    ("smallint", "int2"),
    ("bigint", "int8"),
    ("real", "float4"),
    ("float", "float8"),
    ("double precision", "float8"),
    ("boolean", "bool"),
    ("decimal", "numeric"),
    ("dec", "numeric"),
    ("char", "bpchar"),
    ("character", "bpchar"),
    ("character varying", "varchar"),
    ("bit varying", "varbit"),
    ("timestamp with time zone", "timestamptz"),
    ("timestamp without time zone", "timestamp"),
    ("time with time zone", "timetz"),
    ("time without time zone", "time"),
];

impl Cast {
    /// Parses what follows `::`; `None` when it is not a type name.
    pub fn parse(text: &str) -> Option<Cast> {
        let mut rest = text.trim();
        let mut array_dimensions = 0;
        while let Some(inner) = rest.strip_suffix("[]") {
            array_dimensions += 1;
            rest = inner.trim_end();
        }
        let (schema, name) = match rest.split_once('.') {
            Some((schema, name)) => (Some(schema.trim()), name.trim()),
            None => (None, rest),
        };
        let words: Vec<String> = name
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        if words.is_empty() || !words.iter().all(|w| is_identifier(w)) {
            return None;
        }
        let spelled = words.join(" ");
        let name = match (
            schema,
            SQL_SPELLINGS.iter().find(|(sql, _)| *sql == spelled),
        ) {
            (None, Some((_, typname))) => typname.to_string(),
            _ if words.len() == 1 => spelled,
            _ => return None,
        };
        let schema = match schema {
            Some(s) if is_identifier(s) => Some(s.to_ascii_lowercase()),
            Some(_) => return None,
            None => None,
        };
        Some(Cast {
            schema,
            name,
            array_dimensions,
        })
    }

    /// The quoted type, e.g. `"pg_catalog"."int4"[]`.
    pub fn sql(&self) -> String {
        let quote = |s: &str| format!("\"{s}\"");
        let mut sql = match &self.schema {
            Some(schema) => format!("{}.{}", quote(schema), quote(&self.name)),
            None => quote(&self.name),
        };
        for _ in 0..self.array_dimensions {
            sql.push_str("[]");
        }
        sql
    }
}

/// Letters, digits, `_` and `$`, not starting with a digit: an identifier that needs no
/// quoting, so it cannot contain a quote either.
fn is_identifier(word: &str) -> bool {
    let mut chars = word.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(text: &str) -> Option<String> {
        Cast::parse(text).map(|c| c.sql())
    }

    #[test]
    fn type_names_are_translated_and_quoted() {
        assert_eq!(sql("text").as_deref(), Some("\"text\""));
        assert_eq!(sql("int").as_deref(), Some("\"int4\""));
        assert_eq!(sql("Double  Precision").as_deref(), Some("\"float8\""));
        assert_eq!(
            sql("timestamp with time zone").as_deref(),
            Some("\"timestamptz\"")
        );
        assert_eq!(sql("int[]").as_deref(), Some("\"int4\"[]"));
        assert_eq!(sql("text[][]").as_deref(), Some("\"text\"[][]"));
        assert_eq!(sql("public.mood").as_deref(), Some("\"public\".\"mood\""));
        assert_eq!(
            sql("extra.my_type[]").as_deref(),
            Some("\"extra\".\"my_type\"[]")
        );
    }

    #[test]
    fn anything_but_a_type_name_is_refused() {
        for bad in [
            "int is not null or true",
            "text) from pg_authid --",
            "\"text\"",
            "int4;drop table x",
            "varchar(10)",
            "a.b.c",
            "1abc",
            "",
            "[]",
            "public.double precision",
            "text[",
        ] {
            assert_eq!(Cast::parse(bad), None, "{bad}");
        }
    }
}
