//! The OpenAPI (Swagger 2.0) document PostgREST serves at the root: one path per relation and
//! function of the schema, one definition per relation, and the shared parameters. Built from
//! the schema cache and the privileges of the role asking (PostgREST's default
//! `openapi-mode = follow-privileges`); nothing here talks to the database.

use serde_json::{json, Map, Value};

use crate::schema::{Column, Function, ReturnShape, SchemaCache, Table};

/// What the requesting role may do with each relation and function of the schema.
#[derive(Debug, Default)]
pub struct Privileges {
    /// (relation name, may select, may insert, may update, may delete)
    pub relations: Vec<(String, bool, bool, bool, bool)>,
    /// Function signatures (see `signature`) the role may execute.
    pub functions: Vec<String>,
}

/// `"schema"."name"(type, ...)`: the text form of a function's `regprocedure`, which
/// `has_function_privilege` accepts.
pub fn signature(function: &Function) -> String {
    let types: Vec<&str> = function
        .params
        .iter()
        .map(|p| p.type_sql.as_str())
        .collect();
    format!(
        "{}.{}({})",
        quote(&function.schema),
        quote(&function.name),
        types.join(", ")
    )
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The document for `schema` as `privileges` allow, served from `host` under `base_path`.
pub fn document(
    cache: &SchemaCache,
    schema: &str,
    privileges: &Privileges,
    host: Option<&str>,
    base_path: &str,
) -> Value {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    let mut parameters = shared_parameters();
    paths.insert(
        "/".to_string(),
        json!({"get": {
            "produces": ["application/openapi+json", "application/json"],
            "responses": {"200": {"description": "OK"}},
            "summary": "OpenAPI description (this document)",
            "tags": ["Introspection"],
        }}),
    );
    let mut relations: Vec<&Table> = cache
        .tables
        .values()
        .filter(|t| t.schema == schema)
        .collect();
    relations.sort_by(|a, b| a.name.cmp(&b.name));
    for table in relations {
        let Some(&(_, select, insert, update, delete)) = privileges
            .relations
            .iter()
            .find(|(name, ..)| *name == table.name)
        else {
            continue;
        };
        if !(select || insert || update || delete) {
            continue;
        }
        definitions.insert(table.name.clone(), definition(cache, table));
        let filters: Vec<Value> = table
            .columns
            .iter()
            .map(|c| {
                let key = format!("rowFilter.{}.{}", table.name, c.name);
                let mut parameter =
                    json!({"name": c.name, "in": "query", "required": false, "type": "string"});
                parameter["format"] = json!(base_type(&c.type_sql));
                parameters.insert(key.clone(), parameter);
                json!({"$ref": format!("#/parameters/{key}")})
            })
            .collect();
        let body_key = format!("body.{}", table.name);
        parameters.insert(
            body_key.clone(),
            json!({"name": table.name, "in": "body", "required": false, "description": table.name,
                   "schema": {"$ref": format!("#/definitions/{}", table.name)}}),
        );
        let reference = |name: &str| json!({"$ref": format!("#/parameters/{name}")});
        let tags = json!([table.name]);
        let mut path = Map::new();
        if select {
            let mut get_parameters = filters.clone();
            for name in [
                "select",
                "order",
                "range",
                "rangeUnit",
                "offset",
                "limit",
                "preferCount",
            ] {
                get_parameters.push(reference(name));
            }
            path.insert(
                "get".into(),
                json!({"parameters": get_parameters, "tags": tags, "responses": {
                    "200": {"description": "OK", "schema": {"type": "array", "items": {"$ref": format!("#/definitions/{}", table.name)}}},
                    "206": {"description": "Partial Content"}}}),
            );
        }
        if insert {
            path.insert(
                "post".into(),
                json!({"parameters": [reference(&body_key), reference("select"), reference("preferPost")], "tags": tags,
                       "responses": {"201": {"description": "Created"}}}),
            );
        }
        if update {
            let mut patch_parameters = filters.clone();
            patch_parameters.extend([reference(&body_key), reference("preferReturn")]);
            path.insert(
                "patch".into(),
                json!({"parameters": patch_parameters, "tags": tags, "responses": {"204": {"description": "No Content"}}}),
            );
        }
        if delete {
            let mut delete_parameters = filters;
            delete_parameters.push(reference("preferReturn"));
            path.insert(
                "delete".into(),
                json!({"parameters": delete_parameters, "tags": tags, "responses": {"204": {"description": "No Content"}}}),
            );
        }
        paths.insert(format!("/{}", table.name), Value::Object(path));
    }
    let mut functions: Vec<&Function> = cache
        .functions
        .values()
        .flatten()
        .filter(|f| f.schema == schema)
        .collect();
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    for function in functions {
        if !privileges.functions.contains(&signature(function))
            || paths.contains_key(&format!("/rpc/{}", function.name))
        {
            continue;
        }
        paths.insert(format!("/rpc/{}", function.name), rpc_path(function));
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "standard public schema", "description": "", "version": env!("CARGO_PKG_VERSION")},
        "host": host.unwrap_or_default(),
        "basePath": if base_path.is_empty() { "/" } else { base_path },
        "schemes": ["http"],
        "consumes": media_types(),
        "produces": media_types(),
        "paths": paths,
        "definitions": definitions,
        "parameters": parameters,
        "externalDocs": {"description": "PostgREST Documentation", "url": "https://postgrest.org/en/v14/references/api.html"},
    })
}

fn media_types() -> Value {
    json!([
        "application/json",
        "application/vnd.pgrst.object+json;nulls=stripped",
        "application/vnd.pgrst.object+json",
        "text/csv"
    ])
}

fn definition(cache: &SchemaCache, table: &Table) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for column in &table.columns {
        let mut property = swagger_type(&column.type_sql);
        let mut notes = Vec::new();
        if table.primary_key.contains(&column.name) {
            notes.push("This is a Primary Key.<pk/>".to_string());
        }
        let key = (table.schema.clone(), table.name.clone());
        for fk in cache
            .foreign_keys
            .iter()
            .filter(|fk| fk.table == key && fk.columns.len() == 1 && fk.columns[0] == column.name)
        {
            let (target, target_column) = (&fk.referenced_table.1, &fk.referenced_columns[0]);
            notes.push(format!("This is a Foreign Key to `{target}.{target_column}`.<fk table='{target}' column='{target_column}'/>"));
        }
        if !notes.is_empty() {
            property["description"] = json!(format!("Note:\n{}", notes.join("\n")));
        }
        if let Some(default) = &column.default_sql {
            property["default"] = json!(default);
        }
        if is_required(column) {
            required.push(column.name.clone());
        }
        properties.insert(column.name.clone(), property);
    }
    let mut definition = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        definition["required"] = json!(required);
    }
    definition
}

fn is_required(column: &Column) -> bool {
    column.not_null && column.default_sql.is_none()
}

fn rpc_path(function: &Function) -> Value {
    let tag = json!([format!("(rpc) {}", function.name)]);
    let required: Vec<&str> = function
        .required_params()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let mut properties = Map::new();
    for param in &function.params {
        properties.insert(param.name.clone(), swagger_type(&param.type_sql));
    }
    let body = json!({"name": "args", "in": "body", "required": true,
                      "schema": {"type": "object", "required": required, "properties": properties}});
    let response = if function.returns == ReturnShape::Void {
        "No Content"
    } else {
        "OK"
    };
    let status = if function.returns == ReturnShape::Void {
        "204"
    } else {
        "200"
    };
    let mut path = Map::new();
    path.insert(
        "post".into(),
        json!({"parameters": [body, {"$ref": "#/parameters/preferParams"}], "tags": tag,
               "produces": ["application/json", "application/vnd.pgrst.object+json;nulls=stripped", "application/vnd.pgrst.object+json"],
               "responses": {status: {"description": response}}}),
    );
    if !function.volatile {
        let query: Vec<Value> = function
            .params
            .iter()
            .map(|p| {
                let mut parameter = swagger_type(&p.type_sql);
                parameter["name"] = json!(p.name);
                parameter["in"] = json!("query");
                parameter["required"] = json!(required.contains(&p.name.as_str()));
                parameter
            })
            .collect();
        path.insert("get".into(), json!({"parameters": query, "tags": tag, "responses": {status: {"description": response}}}));
    }
    Value::Object(path)
}

/// The type without its modifiers: `numeric(10,2)` -> `numeric`.
fn base_type(type_sql: &str) -> String {
    match type_sql.find('(') {
        Some(open) => {
            let close = type_sql[open..]
                .find(')')
                .map_or(type_sql.len(), |c| open + c + 1);
            format!("{}{}", &type_sql[..open], &type_sql[close..])
        }
        None => type_sql.to_string(),
    }
}

/// PostgREST's mapping of Postgres types to Swagger types; `format` names the Postgres type.
fn swagger_type(type_sql: &str) -> Value {
    let format = base_type(type_sql);
    let kind = match format.as_str() {
        "smallint" | "integer" | "bigint" => Some("integer"),
        "numeric" | "real" | "double precision" => Some("number"),
        "boolean" => Some("boolean"),
        "json" | "jsonb" => None,
        array if array.ends_with("[]") => Some("array"),
        _ => Some("string"),
    };
    let mut value = json!({"format": format});
    if let Some(kind) = kind {
        value["type"] = json!(kind);
        if kind == "array" {
            value["items"] = json!({"type": "string"});
        }
    }
    value
}

fn shared_parameters() -> Map<String, Value> {
    let prefer = |name: &str, values: &[&str]| json!({"name": "Prefer", "in": "header", "required": false, "type": "string", "description": name, "enum": values});
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "type": "string", "description": description});
    let mut parameters = Map::new();
    parameters.insert(
        "preferParams".into(),
        prefer("Preference", &["params=single-object"]),
    );
    parameters.insert(
        "preferReturn".into(),
        prefer(
            "Preference",
            &["return=representation", "return=minimal", "return=none"],
        ),
    );
    parameters.insert("preferCount".into(), prefer("Preference", &["count=none"]));
    parameters.insert(
        "preferPost".into(),
        prefer(
            "Preference",
            &[
                "return=representation",
                "return=minimal",
                "return=none",
                "resolution=ignore-duplicates",
                "resolution=merge-duplicates",
            ],
        ),
    );
    parameters.insert("select".into(), query("select", "Filtering Columns"));
    parameters.insert("on_conflict".into(), query("on_conflict", "On Conflict"));
    parameters.insert("order".into(), query("order", "Ordering"));
    parameters.insert("offset".into(), query("offset", "Limiting and Pagination"));
    parameters.insert("limit".into(), query("limit", "Limiting and Pagination"));
    parameters.insert(
        "range".into(),
        json!({"name": "Range", "in": "header", "required": false, "type": "string", "description": "Limiting and Pagination"}),
    );
    parameters.insert(
        "rangeUnit".into(),
        json!({"name": "Range-Unit", "in": "header", "required": false, "type": "string", "description": "Limiting and Pagination", "default": "items"}),
    );
    parameters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_map_as_postgrest_maps_them() {
        assert_eq!(
            swagger_type("integer"),
            json!({"format": "integer", "type": "integer"})
        );
        assert_eq!(
            swagger_type("numeric(10,2)"),
            json!({"format": "numeric", "type": "number"})
        );
        assert_eq!(
            swagger_type("character varying(20)"),
            json!({"format": "character varying", "type": "string"})
        );
        assert_eq!(
            swagger_type("text[]"),
            json!({"format": "text[]", "type": "array", "items": {"type": "string"}})
        );
        assert_eq!(swagger_type("jsonb"), json!({"format": "jsonb"}));
        assert_eq!(
            base_type("timestamp(3) with time zone"),
            "timestamp with time zone"
        );
    }
}
