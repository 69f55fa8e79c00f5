//! One request from start to finish: route it, authenticate it, parse it, plan it, run it in
//! its transaction and shape PostgREST's response. Nothing here touches sockets.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use deadpool_postgres::Pool;
use serde_json::{Map, Value};

use crate::auth::{Identity, Verifier};
use crate::config::Config;
use crate::db::{self, Checks, Outcome, TxSettings};
use crate::error::ApiError;
use crate::plan::call::{self, CallArgs, CallOptions};
use crate::plan::mutate::{self, InsertSpec, MutationOptions};
use crate::plan::{self, sql::ident};
use crate::request::media::{self, Media};
use crate::request::prefer::{Applied, CountPref, Preferences, Resolution, ReturnPref, TxPref};
use crate::request::range::{self, RowWindow};
use crate::request::{CompareOp, Condition, Operation, QueryParams};
use crate::response::Reply;
use crate::schema::{SchemaCache, Table};

/// Everything requests share: settings, the pool, the JWT verifier and the schema cache.
pub struct AppState {
    pub config: Config,
    pub pool: Pool,
    pub verifier: Verifier,
    pub cache: RwLock<Arc<SchemaCache>>,
    pub prepared: db::PreparedStatements,
}

impl AppState {
    pub fn schema_cache(&self) -> Arc<SchemaCache> {
        self.cache.read().map(|c| Arc::clone(&c)).unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }
}

/// The parts of an HTTP request the gateway reads; header names are lower case.
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    fn headers_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

const CORS_EXPOSE: &str = "Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, Transfer-Encoding, Range-Unit, Preference-Applied, Content-Profile";

pub async fn handle(state: &AppState, request: HttpRequest) -> Reply {
    let origin = request.header("origin").map(str::to_string);
    let mut reply = if request.method == "OPTIONS" {
        preflight(&request)
    } else {
        match route(state, &request).await {
            Ok(reply) => reply,
            Err(error) => Reply::from_error(&error),
        }
    };
    reply.headers.push(("Access-Control-Allow-Origin".into(), origin.unwrap_or_else(|| "*".into())));
    reply.headers.push(("Access-Control-Expose-Headers".into(), CORS_EXPOSE.into()));
    reply
}

fn preflight(request: &HttpRequest) -> Reply {
    let requested = request.header("access-control-request-headers").unwrap_or("Authorization, Content-Type, Accept, Prefer, Range, apikey, x-client-info");
    Reply::new(200)
        .header("Allow", "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE")
        .header("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD")
        .header("Access-Control-Allow-Headers", requested)
        .header("Access-Control-Max-Age", "86400")
}

/// What every handler needs to know about the request once it has been authenticated.
struct Context<'a> {
    state: &'a AppState,
    request: &'a HttpRequest,
    cache: Arc<SchemaCache>,
    identity: Identity,
    schema: String,
    prefs: Preferences,
    rollback: bool,
    path: String,
}

async fn route(state: &AppState, request: &HttpRequest) -> Result<Reply, ApiError> {
    let base = &state.config.base_path;
    let relative = if base.is_empty() {
        request.path.as_str()
    } else if request.path == *base {
        "/"
    } else {
        request
            .path
            .strip_prefix(base.as_str())
            .filter(|r| r.starts_with('/'))
            .ok_or_else(|| ApiError::new(404, "PGRST125", "Invalid path specified in request URL"))?
    };
    let segments: Vec<String> = relative
        .trim_start_matches('/')
        .split('/')
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let method = request.method.as_str();
    if !matches!(method, "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE") {
        return Err(ApiError::new(405, "PGRST117", format!("Unsupported HTTP method: {method}")));
    }
    let identity = state.verifier.identify(request.header("authorization"))?;
    let schema = negotiate_schema(&state.config, request)?;
    let prefs = Preferences::parse(request.headers_all("prefer"))?;
    let tx_end = state.config.db_tx_end;
    let rollback = match prefs.tx {
        Some(TxPref::Rollback) if tx_end.allows_override() => true,
        Some(TxPref::Commit) if tx_end.allows_override() => false,
        _ => tx_end.rolls_back_by_default(),
    };
    let mut ctx = Context {
        state,
        request,
        cache: state.schema_cache(),
        identity,
        schema,
        prefs,
        rollback,
        path: relative.to_string(),
    };
    if !state.config.db_tx_end.allows_override() {
        ctx.prefs.tx = None;
    }
    let mut reply = match segments.as_slice() {
        [root] if root.is_empty() => return Err(ApiError::new(404, "PGRST126", "Root endpoint metadata is disabled")),
        [rpc, function] if rpc == "rpc" => rpc_request(&ctx, function).await?,
        [table] => table_request(&ctx, table).await?,
        _ => return Err(ApiError::new(404, "PGRST125", "Invalid path specified in request URL")),
    };
    if state.config.db_schemas.len() > 1 && reply.status < 300 && reply.headers.iter().any(|(n, _)| n == "Content-Type") {
        reply.headers.push(("Content-Profile".into(), ctx.schema.clone()));
    }
    Ok(reply)
}

fn negotiate_schema(config: &Config, request: &HttpRequest) -> Result<String, ApiError> {
    let header = if matches!(request.method.as_str(), "GET" | "HEAD") { "accept-profile" } else { "content-profile" };
    match request.header(header) {
        None => Ok(config.db_schemas[0].clone()),
        Some(wanted) if config.db_schemas.iter().any(|s| s == wanted) => Ok(wanted.to_string()),
        Some(wanted) => Err(ApiError::new(406, "PGRST106", format!("Invalid schema: {wanted}"))
            .with_hint(format!("Only the following schemas are exposed: {}", config.db_schemas.join(", ")))),
    }
}

fn query_pairs(request: &HttpRequest) -> Vec<(String, String)> {
    form_urlencoded::parse(request.query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

impl Context<'_> {
    fn tx_settings(&self, read_only: bool) -> TxSettings {
        let config = &self.state.config;
        let headers: Map<String, Value> = self
            .request
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), Value::String(v.clone())))
            .collect();
        let cookies: Map<String, Value> = self
            .request
            .header("cookie")
            .map(|c| {
                c.split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (k.trim().to_string(), Value::String(v.trim().to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let mut search_path = vec![ident(&self.schema)];
        search_path.extend(config.db_extra_search_path.iter().map(|s| ident(s)));
        let mut settings = vec![
            ("role".to_string(), self.identity.role.clone()),
            ("request.jwt.claims".to_string(), self.identity.claims.to_string()),
            ("request.method".to_string(), self.request.method.clone()),
            ("request.path".to_string(), self.path.clone()),
            ("request.headers".to_string(), Value::Object(headers).to_string()),
            ("request.cookies".to_string(), Value::Object(cookies).to_string()),
            ("search_path".to_string(), search_path.join(", ")),
        ];
        if let Some(ms) = config.statement_timeout_ms {
            settings.push(("statement_timeout".to_string(), ms.to_string()));
        }
        if let Some(role_settings) = self.cache.role_settings.get(&self.identity.role) {
            settings.extend(role_settings.iter().cloned());
        }
        TxSettings {
            read_only,
            settings,
            pre_request: config
                .db_pre_request
                .as_ref()
                .map(|(schema, function)| format!("select {}.{}()", ident(schema), ident(function))),
            authenticated: self.identity.authenticated,
        }
    }

    fn media(&self) -> Result<Media, ApiError> {
        media::negotiate(self.request.header("accept"))
    }

    fn applied(&self) -> Applied {
        Applied { tx: self.prefs.tx, strict: self.prefs.strict, ..Default::default() }
    }

    /// Singular responses and `max-affected` are checked before the transaction ends.
    fn checks(&self, media: Media, max_affected: Option<i64>) -> Checks {
        Checks { singular: media.is_singular(), max_affected, commit: !self.rollback }
    }

    fn strict_max_affected(&self) -> Option<i64> {
        self.prefs.max_affected.filter(|_| self.prefs.strict == Some(true))
    }

    fn table(&self, name: &str) -> Result<&Table, ApiError> {
        self.cache.table(&self.schema, name).ok_or_else(|| {
            ApiError::new(404, "PGRST205", format!("Could not find the table '{}.{}' in the schema cache", self.schema, name))
        })
    }

    fn row_window(&self, query: &QueryParams, use_range_header: bool) -> Result<RowWindow, ApiError> {
        let header = match self.request.header("range").filter(|_| use_range_header) {
            Some(value) => Some(range::parse_range_header(value)?),
            None => None,
        };
        let top = Vec::new();
        range::combine(header, query.limits.get(&top).copied(), query.offsets.get(&top).copied(), self.state.config.db_max_rows)
    }

    fn json_body(&self) -> Result<(Value, String), ApiError> {
        media::check_content_type(self.request.header("content-type"))?;
        let text = std::str::from_utf8(&self.request.body).map_err(|_| ApiError::invalid_body("Empty or invalid json"))?;
        let value: Value = serde_json::from_str(text).map_err(|_| ApiError::invalid_body("Empty or invalid json"))?;
        Ok((value, text.to_string()))
    }
}

async fn table_request(ctx: &Context<'_>, name: &str) -> Result<Reply, ApiError> {
    let table = ctx.table(name)?;
    match ctx.request.method.as_str() {
        "GET" | "HEAD" => read(ctx, table).await,
        "POST" => insert(ctx, table).await,
        "PUT" => put(ctx, table).await,
        "PATCH" => update(ctx, table).await,
        "DELETE" => delete(ctx, table).await,
        other => Err(ApiError::new(405, "PGRST117", format!("Unsupported HTTP method: {other}"))),
    }
}

fn resolve_total(count: Option<CountPref>, outcome: &Outcome, max_rows: Option<u64>) -> Option<i64> {
    match count {
        None => None,
        Some(CountPref::Exact) => outcome.total,
        Some(CountPref::Planned) => outcome.planned_total,
        Some(CountPref::Estimated) => match (outcome.planned_total, max_rows) {
            (Some(planned), Some(max)) if planned > max as i64 => Some(planned),
            _ => outcome.total,
        },
    }
}

/// Status, Content-Range and body of a read-like answer (tables and functions).
fn read_reply(ctx: &Context, media: Media, window: &RowWindow, outcome: Outcome, count: Option<CountPref>, void: bool) -> Result<Reply, ApiError> {
    let total = resolve_total(count, &outcome, ctx.state.config.db_max_rows);
    let (status, content_range) = range::status_and_content_range(window.offset, outcome.page_total, total);
    let applied = Applied { count, ..ctx.applied() };
    let mut reply = Reply::new(status).header("Content-Range", content_range);
    if let Some(value) = applied.header_value() {
        reply = reply.header("Preference-Applied", value);
    }
    if status == 416 {
        let error = ApiError::new(416, "PGRST103", "Requested range not satisfiable").with_details(format!(
            "An offset of {} was requested, but there are only {} rows.",
            window.offset,
            total.unwrap_or(0)
        ));
        reply.headers.push(("Content-Type".into(), "application/json; charset=utf-8".into()));
        reply.body = error.body();
    } else if void {
        reply.status = 204;
    } else {
        reply.headers.push(("Content-Type".into(), media.content_type().into()));
        if ctx.request.method != "HEAD" {
            reply.body = outcome.body;
        }
    }
    reply.apply_gucs(outcome.response_headers.as_deref(), outcome.response_status.as_deref())
}

async fn read(ctx: &Context<'_>, table: &Table) -> Result<Reply, ApiError> {
    let query = QueryParams::parse(&query_pairs(ctx.request))?;
    let media = ctx.media()?;
    let window = ctx.row_window(&query, true)?;
    let count = ctx.prefs.count;
    let exact = matches!(count, Some(CountPref::Exact | CountPref::Estimated));
    let plan = plan::read_table(&ctx.cache, table, &query, &window, media, count, exact)?;
    let outcome = db::run(&ctx.state.pool, &ctx.state.prepared, &ctx.tx_settings(true), plan.explain.as_ref(), &plan.statement, ctx.checks(media, None)).await?;
    read_reply(ctx, media, &window, outcome, count, false)
}

fn mutation_options<'q>(ctx: &Context, query: &'q QueryParams, media: Media) -> MutationOptions<'q> {
    MutationOptions {
        return_pref: ctx.prefs.return_pref.unwrap_or(ReturnPref::Minimal),
        media,
        count_rows: ctx.prefs.count.is_some(),
        query,
    }
}

fn mutation_headers(ctx: &Context, mut reply: Reply, applied: Applied, media: Media, outcome: &Outcome, range_from_zero: bool) -> Reply {
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
    let query = QueryParams::parse(&query_pairs(ctx.request))?;
    let media = ctx.media()?;
    let (payload, text) = ctx.json_body()?;
    let columns = mutate::payload_columns(table, &payload, query.columns.as_ref())?;
    let body = if payload.is_object() { format!("[{text}]") } else { text };
    let conflict_columns = query.on_conflict.clone().unwrap_or_else(|| table.primary_key.clone());
    let on_conflict = match ctx.prefs.resolution {
        Some(resolution) if !conflict_columns.is_empty() => Some((conflict_columns, resolution)),
        _ => None,
    };
    let spec = InsertSpec { table, columns, body, missing_default: ctx.prefs.missing_default, on_conflict: on_conflict.clone() };
    let options = mutation_options(ctx, &query, media);
    let statement = mutate::insert(&ctx.cache, &spec, &options)?;
    let outcome = db::run(&ctx.state.pool, &ctx.state.prepared, &ctx.tx_settings(false), None, &statement, ctx.checks(media, None)).await?;
    let merged_only = ctx.prefs.resolution == Some(Resolution::MergeDuplicates) && outcome.inserted.is_some_and(|i| i <= 0);
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
    reply.apply_gucs(outcome.response_headers.as_deref(), outcome.response_status.as_deref())
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn put(ctx: &Context<'_>, table: &Table) -> Result<Reply, ApiError> {
    let query = QueryParams::parse(&query_pairs(ctx.request))?;
    let media = ctx.media()?;
    if !query.limits.is_empty() || !query.offsets.is_empty() {
        return Err(ApiError::new(400, "PGRST114", "limit/offset querystring parameters are not allowed for PUT"));
    }
    let invalid_filters = || ApiError::new(405, "PGRST105", "Filters must include all and only primary key columns with 'eq' operators");
    let mut key_values: BTreeMap<String, String> = BTreeMap::new();
    for (path, condition) in &query.conditions {
        match condition {
            Condition::Filter { field, negated: false, operation: Operation::Compare { op: CompareOp::Eq, value } }
                if path.is_empty() && field.json_path.is_empty() && table.primary_key.contains(&field.name) =>
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
        Value::Array(items) if items.len() == 1 && items[0].is_object() => items[0].as_object().cloned().unwrap_or_default(),
        _ => return Err(ApiError::invalid_body("PUT expects a single JSON object")),
    };
    for (column, expected) in &key_values {
        let given = match object.get(column) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        if given.as_deref() != Some(expected.as_str()) {
            return Err(ApiError::new(400, "PGRST115", "Payload values do not match URL in primary key column(s)"));
        }
    }
    let columns = mutate::payload_columns(table, &Value::Object(object.clone()), None)?;
    let body = if payload.is_object() { format!("[{text}]") } else { text };
    let spec = InsertSpec {
        table,
        columns,
        body,
        missing_default: false,
        on_conflict: Some((table.primary_key.clone(), Resolution::MergeDuplicates)),
    };
    let options = mutation_options(ctx, &query, media);
    let statement = mutate::insert(&ctx.cache, &spec, &options)?;
    let outcome = db::run(&ctx.state.pool, &ctx.state.prepared, &ctx.tx_settings(false), None, &statement, ctx.checks(media, None)).await?;
    let applied = Applied { return_pref: ctx.prefs.return_pref, count: ctx.prefs.count, ..ctx.applied() };
    let mut reply = if ctx.prefs.return_pref == Some(ReturnPref::Representation) {
        let status = if outcome.inserted.is_some_and(|i| i > 0) { 201 } else { 200 };
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
    reply.apply_gucs(outcome.response_headers.as_deref(), outcome.response_status.as_deref())
}

async fn update(ctx: &Context<'_>, table: &Table) -> Result<Reply, ApiError> {
    let query = QueryParams::parse(&query_pairs(ctx.request))?;
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
    let query = QueryParams::parse(&query_pairs(ctx.request))?;
    let media = ctx.media()?;
    let limit = query.limits.get(&Vec::new()).copied();
    let options = mutation_options(ctx, &query, media);
    let statement = mutate::delete(&ctx.cache, table, &options, limit)?;
    finish_change(ctx, media, &statement, false).await
}

async fn finish_change(ctx: &Context<'_>, media: Media, statement: &plan::Statement, is_update: bool) -> Result<Reply, ApiError> {
    let max_affected = ctx.strict_max_affected();
    let outcome = db::run(&ctx.state.pool, &ctx.state.prepared, &ctx.tx_settings(false), None, statement, ctx.checks(media, max_affected)).await?;
    let representation = ctx.prefs.return_pref == Some(ReturnPref::Representation);
    let applied = Applied {
        return_pref: ctx.prefs.return_pref,
        count: ctx.prefs.count,
        missing_default: is_update && ctx.prefs.missing_default,
        max_affected,
        ..ctx.applied()
    };
    let reply = mutation_headers(ctx, Reply::new(if representation { 200 } else { 204 }), applied, media, &outcome, is_update);
    reply.apply_gucs(outcome.response_headers.as_deref(), outcome.response_status.as_deref())
}

const RESERVED_KEYS: &[&str] = &["select", "order", "limit", "offset", "or", "and", "not.or", "not.and", "columns", "on_conflict"];

async fn rpc_request(ctx: &Context<'_>, name: &str) -> Result<Reply, ApiError> {
    let method = ctx.request.method.as_str();
    if !matches!(method, "GET" | "HEAD" | "POST") {
        return Err(ApiError::new(405, "PGRST101", format!("Cannot use the {method} method on RPC")));
    }
    let candidates = ctx.cache.functions(&ctx.schema, name);
    let pairs = query_pairs(ctx.request);
    let media = ctx.media()?;
    let (function, args, filter_pairs) = if method == "POST" {
        media::check_content_type(ctx.request.header("content-type"))?;
        let text = std::str::from_utf8(&ctx.request.body).map_err(|_| ApiError::invalid_body("Empty or invalid json"))?;
        let text = if text.trim().is_empty() { "{}" } else { text };
        let payload: Value = serde_json::from_str(text).map_err(|_| ApiError::invalid_body("Empty or invalid json"))?;
        let keys: Vec<String> = match &payload {
            Value::Object(o) => o.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let function = call::choose_function(candidates, &ctx.schema, name, &keys, true, true)?;
        let args = if function.takes_whole_body() {
            CallArgs::WholeBody(text.to_string())
        } else if payload.is_object() {
            CallArgs::Named { json: text.to_string(), names: keys }
        } else {
            return Err(ApiError::not_implemented("calling a function with a JSON array body (bulk call) is not supported"));
        };
        (function, args, pairs)
    } else {
        let mut keys: Vec<String> = Vec::new();
        for (k, _) in &pairs {
            if !RESERVED_KEYS.contains(&k.as_str()) && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        let function = call::choose_function(candidates, &ctx.schema, name, &keys, false, false)?;
        let mut args = Map::new();
        let mut rest = Vec::new();
        for (k, v) in pairs {
            match function.params.iter().find(|p| p.name == k) {
                Some(param) if param.variadic => {
                    let entry = args.entry(k).or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = entry {
                        list.push(Value::String(v));
                    }
                }
                Some(_) => {
                    args.insert(k, Value::String(v));
                }
                None => rest.push((k, v)),
            }
        }
        let names: Vec<String> = args.keys().cloned().collect();
        (function, CallArgs::Named { json: Value::Object(args).to_string(), names }, rest)
    };
    let query = QueryParams::parse(&filter_pairs)?;
    let window = ctx.row_window(&query, method != "POST")?;
    let count = ctx.prefs.count;
    let options = CallOptions {
        query: &query,
        window,
        media,
        exact_count: matches!(count, Some(CountPref::Exact | CountPref::Estimated)),
        planned_count: matches!(count, Some(CountPref::Planned | CountPref::Estimated)),
    };
    let plan = call::call(&ctx.cache, function, &args, &options)?;
    let read_only = method != "POST" || !function.volatile;
    let max_affected = ctx.strict_max_affected();
    let outcome = db::run(&ctx.state.pool, &ctx.state.prepared, &ctx.tx_settings(read_only), plan.explain.as_ref(), &plan.statement, ctx.checks(media, max_affected)).await?;
    let void = function.returns == crate::schema::ReturnShape::Void;
    read_reply(ctx, media, &window, outcome, count, void)
}
