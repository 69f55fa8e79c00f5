//! Table and view endpoints: GET/HEAD reads, POST inserts and upserts, PUT, PATCH, DELETE.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{query_pairs, read_reply, Context, Ran};
use crate::db::Outcome;
use crate::error::ApiError;
use crate::plan;
use crate::plan::mutate::{self, InsertSpec, MutationOptions};
use crate::request::media::Media;
use crate::request::prefer::{Applied, Resolution, ReturnPref};
use crate::request::{CompareOp, Condition, Operation, QueryParams};
use crate::response::Reply;
use crate::schema::Table;

pub(super) async fn table_request(ctx: &Context<'_>, name: &str) -> Result<Reply, ApiError> {
    let table = ctx.table(name)?;
    match ctx.request.method.as_str() {
        "GET" | "HEAD" => read(ctx, table).await,
        "POST" => insert(ctx, table).await,
        "PUT" => put(ctx, table).await,
        "PATCH" => update(ctx, table).await,
        "DELETE" => delete(ctx, table).await,
        other => Err(ApiError::new(
            405,
            "PGRST117",
            format!("Unsupported HTTP method: {other}"),
        )),
    }
}

async fn read(ctx: &Context<'_>, table: &Table) -> Result<Reply, ApiError> {
    let query = ctx.query(&query_pairs(ctx.request))?;
    let media = ctx.media()?;
    let window = ctx.row_window(&query)?;
    let count = ctx.prefs.count;
    let max_rows = ctx.state.config.db_max_rows;
    let plan = plan::read_table(&ctx.cache, table, &query, &window, media, count, max_rows)?;
    let outcome = match ctx
        .run(
            plan.explain.as_ref(),
            &plan.statement,
            true,
            ctx.checks(media, None),
        )
        .await?
    {
        Ran::Outcome(outcome) => outcome,
        Ran::Plan(reply) => return Ok(reply),
    };
    let total = plan::count::table_total(count, outcome.total, outcome.planned_total, max_rows);
    read_reply(ctx, media, &window, outcome, total, false)
}

fn mutation_options<'q>(
    ctx: &Context,
    query: &'q QueryParams,
    media: Media,
) -> MutationOptions<'q> {
    MutationOptions {
        return_pref: ctx.prefs.return_pref.unwrap_or(ReturnPref::Minimal),
        missing_default: ctx.prefs.missing_default,
        media,
        query,
    }
}

fn mutation_headers(
    ctx: &Context,
    mut reply: Reply,
    applied: Applied,
    media: Media,
    outcome: &Outcome,
    range_from_zero: bool,
) -> Reply {
    let total = ctx.prefs.count.map(|_| outcome.page_total);
    let total_text = total.map_or("*".to_string(), |t| t.to_string());
    let range = if range_from_zero && outcome.page_total > 0 {
        format!("0-{}/{total_text}", outcome.page_total - 1)
    } else {
        format!("*/{total_text}")
    };
    reply = reply.header("Content-Range", range);
    if let Some(value) = applied.header_value() {
        reply = reply.header("Preference-Applied", value);
    }
    if ctx.prefs.return_pref == Some(ReturnPref::Representation) {
        reply = reply.header("Content-Type", media.content_type());
        if ctx.request.method != "HEAD" {
            reply.body = outcome.body.clone();
        }
    }
    reply
}

async fn insert(ctx: &Context<'_>, table: &Table) -> Result<Reply, ApiError> {
    let query = ctx.query(&query_pairs(ctx.request))?;
    let media = ctx.media()?;
    let (payload, text) = ctx.json_body()?;
    let columns = mutate::payload_columns(table, &payload, query.columns.as_ref())?;
    let body = if payload.is_object() {
        format!("[{text}]")
    } else {
        text
    };
    let conflict_columns = query
        .on_conflict
        .clone()
        .unwrap_or_else(|| table.primary_key.clone());
    let on_conflict = match ctx.prefs.resolution {
        Some(resolution) if !conflict_columns.is_empty() => Some((conflict_columns, resolution)),
        _ => None,
    };
    let spec = InsertSpec {
        table,
        columns,
        body,
        missing_default: ctx.prefs.missing_default,
        on_conflict: on_conflict.clone(),
    };
    let options = mutation_options(ctx, &query, media);
    let statement = mutate::insert(&ctx.cache, &spec, &options)?;
    let outcome = match ctx
        .run(None, &statement, false, ctx.checks(media, None))
        .await?
    {
        Ran::Outcome(outcome) => outcome,
        Ran::Plan(reply) => return Ok(reply),
    };
    let merged_only = ctx.prefs.resolution == Some(Resolution::MergeDuplicates)
        && outcome.inserted.is_some_and(|i| i <= 0);
    let mut reply = Reply::new(if merged_only { 200 } else { 201 });
    if let Some(location) = &outcome.location {
        let query: Vec<String> = table
            .primary_key
            .iter()
            .zip(location)
            .map(|(column, value)| {
                let value = value.clone().unwrap_or_else(|| "null".into());
                format!("{}=eq.{}", encode(column), encode(&value))
            })
            .collect();
        reply = reply.header("Location", format!("/{}?{}", table.name, query.join("&")));
    }
    let applied = Applied {
        resolution: on_conflict.map(|(_, r)| r),
        return_pref: ctx.prefs.return_pref,
        count: ctx.prefs.count,
        missing_default: ctx.prefs.missing_default,
        ..ctx.applied()
    };
    let reply = mutation_headers(ctx, reply, applied, media, &outcome, false);
    reply.apply_gucs(
        outcome.response_headers.as_deref(),
        outcome.response_status.as_deref(),
    )
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn put(ctx: &Context<'_>, table: &Table) -> Result<Reply, ApiError> {
    let query = ctx.query(&query_pairs(ctx.request))?;
    let media = ctx.media()?;
    if !query.limits.is_empty() || !query.offsets.is_empty() {
        return Err(ApiError::new(
            400,
            "PGRST114",
            "limit/offset querystring parameters are not allowed for PUT",
        ));
    }
    let invalid_filters = || {
        ApiError::new(
            405,
            "PGRST105",
            "Filters must include all and only primary key columns with 'eq' operators",
        )
    };
    let mut key_values: BTreeMap<String, String> = BTreeMap::new();
    for (path, condition) in &query.conditions {
        match condition {
            Condition::Filter {
                field,
                negated: false,
                operation:
                    Operation::Compare {
                        op: CompareOp::Eq,
                        value,
                    },
            } if path.is_empty()
                && field.json_path.is_empty()
                && table.primary_key.contains(&field.name) =>
            {
                key_values.insert(field.name.clone(), value.clone());
            }
            _ => return Err(invalid_filters()),
        }
    }
    if table.primary_key.is_empty() || key_values.len() != table.primary_key.len() {
        return Err(invalid_filters());
    }
    let (payload, text) = ctx.json_body()?;
    let object = match &payload {
        Value::Object(o) => o.clone(),
        Value::Array(items) if items.len() == 1 && items[0].is_object() => {
            items[0].as_object().cloned().unwrap_or_default()
        }
        _ => return Err(ApiError::invalid_body("PUT expects a single JSON object")),
    };
    for (column, expected) in &key_values {
        let given = match object.get(column) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        if given.as_deref() != Some(expected.as_str()) {
            return Err(ApiError::new(
                400,
                "PGRST115",
                "Payload values do not match URL in primary key column(s)",
            ));
        }
    }
    let columns = mutate::payload_columns(table, &Value::Object(object.clone()), None)?;
    let body = if payload.is_object() {
        format!("[{text}]")
    } else {
        text
    };
    let spec = InsertSpec {
        table,
        columns,
        body,
        missing_default: false,
        on_conflict: Some((table.primary_key.clone(), Resolution::MergeDuplicates)),
    };
    let options = mutation_options(ctx, &query, media);
    let statement = mutate::insert(&ctx.cache, &spec, &options)?;
    let outcome = match ctx
        .run(None, &statement, false, ctx.checks(media, None))
        .await?
    {
        Ran::Outcome(outcome) => outcome,
        Ran::Plan(reply) => return Ok(reply),
    };
    let applied = Applied {
        return_pref: ctx.prefs.return_pref,
        count: ctx.prefs.count,
        ..ctx.applied()
    };
    let mut reply = if ctx.prefs.return_pref == Some(ReturnPref::Representation) {
        let status = if outcome.inserted.is_some_and(|i| i > 0) {
            201
        } else {
            200
        };
        Reply::new(status).header("Content-Type", media.content_type())
    } else {
        Reply::new(204)
    };
    if let Some(value) = applied.header_value() {
        reply = reply.header("Preference-Applied", value);
    }
    if reply.status != 204 && ctx.request.method != "HEAD" {
        reply.body = outcome.body.clone();
    }
    reply.apply_gucs(
        outcome.response_headers.as_deref(),
        outcome.response_status.as_deref(),
    )
}

async fn update(ctx: &Context<'_>, table: &Table) -> Result<Reply, ApiError> {
    let query = ctx.query(&query_pairs(ctx.request))?;
    let media = ctx.media()?;
    let (payload, text) = ctx.json_body()?;
    let Value::Object(object) = &payload else {
        return Err(ApiError::invalid_body("PATCH expects a single JSON object"));
    };
    let limit = query.limits.get(&Vec::new()).copied();
    let options = mutation_options(ctx, &query, media);
    let statement = mutate::update(&ctx.cache, table, object, &text, &options, limit)?;
    finish_change(ctx, media, &statement, true).await
}

async fn delete(ctx: &Context<'_>, table: &Table) -> Result<Reply, ApiError> {
    let query = ctx.query(&query_pairs(ctx.request))?;
    let media = ctx.media()?;
    let limit = query.limits.get(&Vec::new()).copied();
    let options = mutation_options(ctx, &query, media);
    let statement = mutate::delete(&ctx.cache, table, &options, limit)?;
    finish_change(ctx, media, &statement, false).await
}

async fn finish_change(
    ctx: &Context<'_>,
    media: Media,
    statement: &plan::Statement,
    is_update: bool,
) -> Result<Reply, ApiError> {
    let max_affected = ctx.strict_max_affected();
    let outcome = match ctx
        .run(None, statement, false, ctx.checks(media, max_affected))
        .await?
    {
        Ran::Outcome(outcome) => outcome,
        Ran::Plan(reply) => return Ok(reply),
    };
    let representation = ctx.prefs.return_pref == Some(ReturnPref::Representation);
    let applied = Applied {
        return_pref: ctx.prefs.return_pref,
        count: ctx.prefs.count,
        missing_default: is_update && ctx.prefs.missing_default,
        max_affected,
        ..ctx.applied()
    };
    let reply = mutation_headers(
        ctx,
        Reply::new(if representation { 200 } else { 204 }),
        applied,
        media,
        &outcome,
        is_update,
    );
    reply.apply_gucs(
        outcome.response_headers.as_deref(),
        outcome.response_status.as_deref(),
    )
}
