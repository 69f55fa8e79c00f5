//! The schema cache: what the exposed schemas contain (relations, columns, keys, foreign keys,
//! functions, per-role settings), loaded from the catalogs and swapped whole on reload.

mod introspect;
mod relationships;
mod views;

pub use introspect::load;
pub use relationships::{find_relationship, Cardinality, Relationship};

use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// `format_type()` of the column, valid SQL.
    pub type_sql: String,
    /// Default expression from the catalog, used for `Prefer: missing=default`.
    pub default_sql: Option<String>,
    /// `NOT NULL`: with no default, the OpenAPI document lists the column as required.
    pub not_null: bool,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub schema: String,
    pub name: String,
    /// `r`, `p`, `v`, `m` or `f`, as in `pg_class.relkind`.
    pub kind: char,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    /// Column sets covered by a primary key or unique constraint.
    pub unique_keys: Vec<Vec<String>>,
    /// The oid of the relation's row type, which computed fields take as their argument.
    pub row_type: u32,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    pub fn is_table(&self) -> bool {
        matches!(self.kind, 'r' | 'p')
    }
    pub fn has_unique(&self, columns: &[String]) -> bool {
        self.unique_keys
            .iter()
            .any(|key| key.iter().all(|k| columns.contains(k)))
    }
}

#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub name: String,
    pub table: (String, String),
    pub columns: Vec<String>,
    pub referenced_table: (String, String),
    pub referenced_columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FunctionParam {
    pub name: String,
    pub type_sql: String,
    pub type_oid: u32,
    /// Variadic parameters accept repeated GET arguments.
    pub variadic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnShape {
    Void,
    Scalar,
    SetOfScalar,
    /// A single row of a composite type (or OUT parameters).
    SingleComposite,
    SetOfComposite,
    /// `returns record` / `setof record` without OUT parameters: no column list to read with.
    UntypedRecord,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub schema: String,
    pub name: String,
    pub params: Vec<FunctionParam>,
    /// How many trailing parameters have defaults.
    pub defaulted: usize,
    pub returns: ReturnShape,
    /// Output columns when the result is composite (table type, composite type or OUT params).
    pub result_columns: Vec<Column>,
    /// The relation whose row type the function returns, for embedding on its result.
    pub result_relation: Option<(String, String)>,
    pub volatile: bool,
}

impl Function {
    pub fn required_params(&self) -> &[FunctionParam] {
        &self.params[..self.params.len() - self.defaulted.min(self.params.len())]
    }
    /// One unnamed json/jsonb parameter: the whole request body is the argument.
    pub fn takes_whole_body(&self) -> bool {
        self.params.len() == 1
            && self.params[0].name.is_empty()
            && matches!(self.params[0].type_sql.as_str(), "json" | "jsonb")
    }
}

#[derive(Debug, Default)]
pub struct SchemaCache {
    pub tables: HashMap<(String, String), Table>,
    pub foreign_keys: Vec<ForeignKey>,
    pub functions: HashMap<(String, String), Vec<Function>>,
    /// `ALTER ROLE ... SET` settings a user may set, applied per request like PostgREST does.
    pub role_settings: HashMap<String, Vec<(String, String)>>,
    /// Time zone names Postgres knows, for `Prefer: timezone=`.
    pub timezones: HashSet<String>,
}

impl SchemaCache {
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables.get(&(schema.to_string(), name.to_string()))
    }
    /// A computed field of `table`: a function in the table's schema whose only parameter is
    /// the table's row type and which returns one value.
    pub fn computed_field(&self, table: &Table, name: &str) -> Option<&Function> {
        self.functions(&table.schema, name).iter().find(|f| {
            f.params.len() == 1
                && f.params[0].type_oid == table.row_type
                && matches!(
                    f.returns,
                    ReturnShape::Scalar | ReturnShape::SingleComposite
                )
        })
    }

    pub fn functions(&self, schema: &str, name: &str) -> &[Function] {
        self.functions
            .get(&(schema.to_string(), name.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}
