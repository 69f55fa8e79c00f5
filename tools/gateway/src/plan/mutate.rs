//! INSERT (with upsert), UPDATE and DELETE statements. The mutation runs in a CTE; the rows it
//! returns are then projected with the request's `select` like any read.

use serde_json::Value;

use super::read::{ReadBuilder, RelView};
use super::sql::{ident, qualified};
use super::{body_sql, projection_or_null, BodyShape, Statement, RESPONSE_GUCS};
use crate::error::ApiError;
use crate::request::media::Media;
use crate::request::prefer::{Resolution, ReturnPref};
use crate::request::{QueryParams, SelectItem};
use crate::schema::{find_relationship, Cardinality, SchemaCache, Table};

pub struct MutationOptions<'a> {
    pub return_pref: ReturnPref,
    /// `Prefer: missing=default`: columns without a value take their default.
    pub missing_default: bool,
    pub media: Media,
    pub query: &'a QueryParams,
}

/// Columns an insert writes: `columns=` when given, else the keys of the payload, which must
/// be the same in every object of an array.
pub fn payload_columns(
    table: &Table,
    payload: &Value,
    columns_param: Option<&Vec<String>>,
) -> Result<Vec<String>, ApiError> {
    let columns: Vec<String> = match columns_param {
        Some(cols) => cols.clone(),
        None => {
            let objects: Vec<&serde_json::Map<String, Value>> = match payload {
                Value::Object(o) => vec![o],
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_object()
                            .ok_or_else(|| ApiError::invalid_body("All object keys must match"))
                    })
                    .collect::<Result<_, _>>()?,
                _ => {
                    return Err(ApiError::invalid_body(
                        "Expected a JSON object or an array of objects",
                    ))
                }
            };
            let Some(first) = objects.first() else {
                return Ok(Vec::new());
            };
            let keys: Vec<String> = first.keys().cloned().collect();
            for other in &objects[1..] {
                if other.len() != keys.len() || !keys.iter().all(|k| other.contains_key(k)) {
                    return Err(ApiError::invalid_body("All object keys must match"));
                }
            }
            keys
        }
    };
    for column in &columns {
        if table.column(column).is_none() {
            return Err(ApiError::column_not_in_cache(&table.name, column));
        }
    }
    Ok(columns)
}

fn returned_rows_select<'a>(
    builder: &mut ReadBuilder<'a>,
    table: &'a Table,
    options: &MutationOptions,
    extra_columns: &str,
) -> Result<String, ApiError> {
    let body = if options.return_pref == ReturnPref::Representation {
        builder.top_level_projection_only = true;
        let rel = RelView {
            key: Some((table.schema.clone(), table.name.clone())),
            display_name: table.name.clone(),
            columns: &table.columns,
            whole_rows: false,
        };
        let level = builder.level(&rel, "pgrst_source", &options.query.select, &Vec::new())?;
        builder.check_embed_paths()?;
        (
            format!(
                "{} from pgrst_source{}",
                level.select_list(),
                level.group_by_sql()
            ),
            body_sql(
                BodyShape::Rows,
                options.media,
                &mut builder.params,
                &level.names(),
            ),
        )
    } else {
        (
            "1 as pgrst_row from pgrst_source".to_string(),
            body_sql(BodyShape::Nothing, options.media, &mut builder.params, &[]),
        )
    };
    let location = if options.return_pref == ReturnPref::HeadersOnly
        && !table.primary_key.is_empty()
    {
        let parts: Vec<String> = table
            .primary_key
            .iter()
            .map(|c| format!("pgrst_source.{}::text", ident(c)))
            .collect();
        format!("(select case when pg_catalog.count(*) = 1 then (select array[{}] from pgrst_source limit 1) end from pgrst_source)", parts.join(", "))
    } else {
        "null::text[]".to_string()
    };
    Ok(format!(
        "select null::int8 as total, pg_catalog.count(_postgrest_t)::int8 as page_total, {} as body, {location} as location, {extra_columns} as inserted, {RESPONSE_GUCS} from (select {}) _postgrest_t",
        body.1, body.0
    ))
}

/// The columns a mutation must return: what the representation selects (embeds need their join
/// columns), the primary key for a `Location`, or nothing. Like PostgREST, a mutation returns no
/// more than needed, so column-level SELECT grants are enough.
fn returning_sql(
    cache: &SchemaCache,
    table: &Table,
    options: &MutationOptions,
    target: &str,
) -> String {
    let mut columns: Vec<String> = Vec::new();
    let add = |name: &str, columns: &mut Vec<String>| {
        if table.column(name).is_some() && !columns.iter().any(|c| c == name) {
            columns.push(name.to_string());
        }
    };
    match options.return_pref {
        ReturnPref::Representation => {
            let origin = (table.schema.clone(), table.name.clone());
            for item in &options.query.select {
                match item {
                    SelectItem::Star => table
                        .columns
                        .iter()
                        .for_each(|c| add(&c.name, &mut columns)),
                    SelectItem::Column { field, .. } => add(&field.name, &mut columns),
                    SelectItem::Embed { name, hint, .. } => {
                        if let Ok(relationship) =
                            find_relationship(cache, &origin, name, hint.as_deref())
                        {
                            let origin_columns: Vec<String> = match &relationship.cardinality {
                                Cardinality::ManyToMany { origin_pairs, .. } => {
                                    origin_pairs.iter().map(|(_, o)| o.clone()).collect()
                                }
                                _ => relationship.pairs.iter().map(|(o, _)| o.clone()).collect(),
                            };
                            origin_columns.iter().for_each(|c| add(c, &mut columns));
                        }
                    }
                }
            }
        }
        ReturnPref::HeadersOnly => table.primary_key.iter().for_each(|c| add(c, &mut columns)),
        ReturnPref::Minimal => {}
    }
    if columns.is_empty() {
        "1 as pgrst_returned".to_string()
    } else {
        columns
            .iter()
            .map(|c| format!("{target}.{}", ident(c)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub struct InsertSpec<'a> {
    pub table: &'a Table,
    pub columns: Vec<String>,
    pub body: String,
    pub missing_default: bool,
    pub on_conflict: Option<(Vec<String>, Resolution)>,
}

pub fn insert<'a>(
    cache: &'a SchemaCache,
    spec: &InsertSpec<'a>,
    options: &MutationOptions<'a>,
) -> Result<Statement, ApiError> {
    let mut builder = ReadBuilder::new(cache, options.query);
    let table = spec.table;
    let target = qualified(&table.schema, &table.name);
    let body = builder.params.push(spec.body.clone());
    let column_list: Vec<String> = spec.columns.iter().map(|c| ident(c)).collect();
    let source = if spec.missing_default {
        let values: Vec<String> = spec
            .columns
            .iter()
            .map(|c| {
                let default = table
                    .column(c)
                    .and_then(|col| col.default_sql.clone())
                    .unwrap_or_else(|| "null".to_string());
                let key = builder.params.push(c.clone());
                format!(
                    "case when pgrst_json.val::jsonb ? {key} then pgrst_row.{} else {default} end",
                    ident(c)
                )
            })
            .collect();
        format!(
            "select {} from json_array_elements({body}::json) as pgrst_json(val) cross join lateral json_populate_record(null::{target}, pgrst_json.val) as pgrst_row",
            projection_or_null(&values)
        )
    } else {
        let cols: Vec<String> = spec
            .columns
            .iter()
            .map(|c| format!("pgrst_row.{}", ident(c)))
            .collect();
        format!(
            "select {} from json_populate_recordset(null::{target}, {body}::json) as pgrst_row",
            cols.join(", ")
        )
    };
    let source = if spec.columns.is_empty() {
        // No columns: every row takes its defaults.
        format!("select from json_array_elements({body}::json)")
    } else {
        source
    };
    let into = if column_list.is_empty() {
        target.clone()
    } else {
        format!("{target} ({})", column_list.join(", "))
    };
    let mut sql = format!("insert into {into} {source}");
    if let Some((conflict_columns, resolution)) = &spec.on_conflict {
        for column in conflict_columns {
            if table.column(column).is_none() {
                return Err(ApiError::unknown_column(&table.name, column));
            }
        }
        let targets: Vec<String> = conflict_columns.iter().map(|c| ident(c)).collect();
        sql.push_str(&format!(" on conflict ({})", targets.join(", ")));
        let updates: Vec<String> = spec
            .columns
            .iter()
            .map(|c| format!("{} = excluded.{}", ident(c), ident(c)))
            .collect();
        if *resolution == Resolution::IgnoreDuplicates || updates.is_empty() {
            sql.push_str(" do nothing");
        } else {
            sql.push_str(&format!(" do update set {}", updates.join(", ")));
        }
    }
    let returning = returning_sql(cache, table, options, &target);
    // Only an upsert needs to tell inserted rows from updated ones (200 versus 201).
    let inserted = if table.is_table() && spec.on_conflict.is_some() {
        sql.push_str(&format!(
            " returning {returning}, ({target}.xmax = 0) as pgrst_inserted"
        ));
        "(select pg_catalog.count(*) from pgrst_source where pgrst_inserted)::int8"
    } else {
        sql.push_str(&format!(" returning {returning}"));
        "null::int8"
    };
    let outer = returned_rows_select(&mut builder, table, options, inserted)?;
    Ok(Statement::finish(
        &builder.params,
        &format!("with pgrst_source as ({sql}) {outer}"),
    ))
}

pub fn update<'a>(
    cache: &'a SchemaCache,
    table: &'a Table,
    payload: &serde_json::Map<String, Value>,
    body: &str,
    options: &MutationOptions<'a>,
    limit: Option<i64>,
) -> Result<Statement, ApiError> {
    let mut builder = ReadBuilder::new(cache, options.query);
    let target = qualified(&table.schema, &table.name);
    // `columns=` names what is set (other keys are ignored); otherwise the payload's keys.
    let columns: Vec<String> = match &options.query.columns {
        Some(listed) => listed.clone(),
        None => payload.keys().cloned().collect(),
    };
    for column in &columns {
        if table.column(column).is_none() {
            return Err(ApiError::column_not_in_cache(&table.name, column));
        }
    }
    let conditions = top_level_conditions(&mut builder, table, &target, limit)?;
    let returning = returning_sql(cache, table, options, target.as_str());
    let sql = if columns.is_empty() {
        format!("select {returning} from {target} where false")
    } else {
        let body = builder.params.push(body.to_string());
        let sets: Vec<String> = columns
            .iter()
            .map(|k| {
                if options.missing_default && !payload.contains_key(k) {
                    // A listed column the payload lacks takes its default (`Prefer: missing=default`).
                    format!("{} = default", ident(k))
                } else {
                    format!("{} = pgrst_row.{}", ident(k), ident(k))
                }
            })
            .collect();
        format!(
            "update {target} set {} from (select * from json_populate_record(null::{target}, {body}::json)) as pgrst_row{conditions} returning {returning}",
            sets.join(", ")
        )
    };
    let outer = returned_rows_select(&mut builder, table, options, "null::int8")?;
    Ok(Statement::finish(
        &builder.params,
        &format!("with pgrst_source as ({sql}) {outer}"),
    ))
}

pub fn delete<'a>(
    cache: &'a SchemaCache,
    table: &'a Table,
    options: &MutationOptions<'a>,
    limit: Option<i64>,
) -> Result<Statement, ApiError> {
    let mut builder = ReadBuilder::new(cache, options.query);
    let target = qualified(&table.schema, &table.name);
    let conditions = top_level_conditions(&mut builder, table, &target, limit)?;
    let returning = returning_sql(cache, table, options, &target);
    let sql = format!("delete from {target}{conditions} returning {returning}");
    let outer = returned_rows_select(&mut builder, table, options, "null::int8")?;
    Ok(Statement::finish(
        &builder.params,
        &format!("with pgrst_source as ({sql}) {outer}"),
    ))
}

/// The WHERE of an UPDATE/DELETE; with `limit`, only the first rows by `order` are touched.
fn top_level_conditions<'a>(
    builder: &mut ReadBuilder<'a>,
    table: &'a Table,
    target: &str,
    limit: Option<i64>,
) -> Result<String, ApiError> {
    let rel = RelView {
        key: Some((table.schema.clone(), table.name.clone())),
        display_name: table.name.clone(),
        columns: &table.columns,
        whole_rows: true,
    };
    let query = builder.query;
    let mut parts = Vec::new();
    for (path, condition) in &query.conditions {
        if !path.is_empty() {
            return Err(ApiError::not_implemented(
                "filters on embedded resources are not supported for PATCH and DELETE",
            ));
        }
        parts.push(builder.condition_sql(&rel, target, condition, &[], path)?);
    }
    if let Some(limit) = limit {
        if !table.is_table() {
            return Err(ApiError::not_implemented(
                "limit on PATCH/DELETE of a view is not supported by this gateway",
            ));
        }
        let mut order = Vec::new();
        let empty = Vec::new();
        for term in query.orders.get(&empty).into_iter().flatten() {
            let field = builder.field_sql(&rel, "pgrst_limited", &term.field)?;
            order.push(format!(
                "{field}{}",
                if term.descending == Some(true) {
                    " desc"
                } else {
                    ""
                }
            ));
        }
        let mut inner = Vec::new();
        for (path, condition) in &query.conditions {
            inner.push(builder.condition_sql(&rel, "pgrst_limited", condition, &[], path)?);
        }
        let inner_where = if inner.is_empty() {
            String::new()
        } else {
            format!(" where {}", inner.join(" and "))
        };
        let order_sql = if order.is_empty() {
            String::new()
        } else {
            format!(" order by {}", order.join(", "))
        };
        let limit_param = builder.params.push(limit.to_string());
        parts.push(format!(
            "{target}.ctid = any(array(select pgrst_limited.ctid from {target} as pgrst_limited{inner_where}{order_sql} limit {limit_param}))"
        ));
    }
    Ok(if parts.is_empty() {
        String::new()
    } else {
        format!(" where {}", parts.join(" and "))
    })
}
