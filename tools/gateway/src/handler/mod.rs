//! One request from start to finish: route it, authenticate it, parse it, plan it, run it in
//! its transaction and shape PostgREST's response. Nothing here touches sockets.

mod root;
mod rpc;
mod tables;

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use deadpool_postgres::Pool;
use serde_json::{Map, Value};

use crate::auth::{Identity, Verifier};
use crate::config::Config;
use crate::db::{self, Checks, Outcome, TxSettings};
use crate::error::ApiError;
use crate::plan::sql::ident;
use crate::request::media::{self, Media, PlanRequest};
use crate::request::prefer::{Applied, Preferences, TxPref};
use crate::request::range::{self, RowWindow};
use crate::request::QueryParams;
use crate::response::Reply;
use crate::schema::{SchemaCache, Table};
use rpc::rpc_request;
use tables::table_request;

/// Everything requests share: settings, the pool, the JWT verifier and the schema cache.
pub struct AppState {
    pub config: Config,
    pub pool: Pool,
    pub verifier: Verifier,
    pub cache: RwLock<Arc<SchemaCache>>,
    pub prepared: db::PreparedStatements,
    #[cfg(feature = "test-hooks")]
    pub test_hooks: crate::test_hooks::TestHooks,
}

impl AppState {
    pub fn schema_cache(&self) -> Arc<SchemaCache> {
        self.cache
            .read()
            .map(|c| Arc::clone(&c))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
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
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn headers_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
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
    reply.headers.push((
        "Access-Control-Allow-Origin".into(),
        origin.unwrap_or_else(|| "*".into()),
    ));
    reply
        .headers
        .push(("Access-Control-Expose-Headers".into(), CORS_EXPOSE.into()));
    reply
}

fn preflight(request: &HttpRequest) -> Reply {
    let requested = request
        .header("access-control-request-headers")
        .unwrap_or("Authorization, Content-Type, Accept, Prefer, Range, apikey, x-client-info");
    Reply::new(200)
        .header("Allow", "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE")
        .header(
            "Access-Control-Allow-Methods",
            "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD",
        )
        .header("Access-Control-Allow-Headers", requested)
        .header("Access-Control-Max-Age", "86400")
}

/// What running a request's statement gave.
enum Ran {
    Outcome(Outcome),
    /// The client asked for the execution plan: here is the answer.
    Plan(Reply),
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
            .ok_or_else(|| {
                ApiError::new(404, "PGRST125", "Invalid path specified in request URL")
            })?
    };
    let segments: Vec<String> = relative
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let method = request.method.as_str();
    if !matches!(method, "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE") {
        return Err(ApiError::new(
            405,
            "PGRST117",
            format!("Unsupported HTTP method: {method}"),
        ));
    }
    let identity = state.verifier.identify(request.header("authorization"))?;
    let (schema, negotiated_by_profile) = negotiate_schema(&state.config, request)?;
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
    if let Some(timezone) = ctx.prefs.timezone.take() {
        // As PostgREST: a time zone Postgres does not know is ignored, or refused when strict.
        if ctx.cache.timezones.contains(&timezone) {
            ctx.prefs.timezone = Some(timezone);
        } else if ctx.prefs.strict == Some(true) {
            return Err(ApiError::new(
                400,
                "PGRST122",
                "Invalid preferences given with handling=strict",
            )
            .with_details(format!("Invalid preferences: timezone={timezone}")));
        }
    }
    let mut reply = match segments.as_slice() {
        [root] if root.is_empty() => root::openapi_request(&ctx).await?,
        [rpc, function] if rpc == "rpc" => rpc_request(&ctx, function).await?,
        [table] => table_request(&ctx, table).await?,
        _ => {
            return Err(ApiError::new(
                404,
                "PGRST125",
                "Invalid path specified in request URL",
            ))
        }
    };
    if negotiated_by_profile
        && reply.status < 300
        && reply.headers.iter().any(|(n, _)| n == "Content-Type")
    {
        reply
            .headers
            .push(("Content-Profile".into(), ctx.schema.clone()));
    }
    Ok(reply)
}

/// The schema a request works in, and whether it was negotiated (a profile header was sent or
/// several schemas are exposed), in which case the answer names it in `Content-Profile`.
fn negotiate_schema(config: &Config, request: &HttpRequest) -> Result<(String, bool), ApiError> {
    let header = if matches!(request.method.as_str(), "GET" | "HEAD") {
        "accept-profile"
    } else {
        "content-profile"
    };
    match request.header(header) {
        None => Ok((config.db_schemas[0].clone(), config.db_schemas.len() > 1)),
        Some(wanted) if config.db_schemas.iter().any(|s| s == wanted) => {
            Ok((wanted.to_string(), true))
        }
        Some(wanted) => Err(
            ApiError::new(406, "PGRST106", format!("Invalid schema: {wanted}")).with_hint(format!(
                "Only the following schemas are exposed: {}",
                config.db_schemas.join(", ")
            )),
        ),
    }
}

fn query_pairs(request: &HttpRequest) -> Vec<(String, String)> {
    crate::request::query_pairs(&request.query)
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
            (
                "request.jwt.claims".to_string(),
                self.identity.claims.to_string(),
            ),
            ("request.method".to_string(), self.request.method.clone()),
            ("request.path".to_string(), self.path.clone()),
            (
                "request.headers".to_string(),
                Value::Object(headers).to_string(),
            ),
            (
                "request.cookies".to_string(),
                Value::Object(cookies).to_string(),
            ),
            ("search_path".to_string(), search_path.join(", ")),
        ];
        if let Some(ms) = config.statement_timeout_ms {
            settings.push(("statement_timeout".to_string(), ms.to_string()));
        }
        if let Some(role_settings) = self.cache.role_settings.get(&self.identity.role) {
            settings.extend(role_settings.iter().cloned());
        }
        if let Some(timezone) = &self.prefs.timezone {
            settings.push(("timezone".to_string(), timezone.clone()));
        }
        // A role's own settings may switch role again; the last `role` set is the one that runs.
        let role = settings
            .iter()
            .rev()
            .find(|(name, _)| name == "role")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        TxSettings {
            read_only,
            settings,
            pre_request: config.db_pre_request.as_ref().map(|(schema, function)| {
                format!("select {}.{}()", ident(schema), ident(function))
            }),
            authenticated: self.identity.authenticated,
            role,
            #[cfg(feature = "test-hooks")]
            panic_mid_transaction: self.state.test_hooks.take_panic(),
        }
    }

    /// The query string parsed, with aggregates refused unless `db-aggregates-enabled`.
    fn query(&self, pairs: &[(String, String)]) -> Result<QueryParams, ApiError> {
        let query = QueryParams::parse(pairs)?;
        if query.uses_aggregates() && !self.state.config.db_aggregates_enabled {
            return Err(ApiError::new(
                400,
                "PGRST123",
                "Use of aggregate functions is not allowed",
            ));
        }
        Ok(query)
    }

    /// The media type of the result; for a plan request, the media the plan is `for`.
    fn media(&self) -> Result<Media, ApiError> {
        match self.plan()? {
            Some(plan) => media::negotiate(Some(&plan.for_media)),
            None => media::negotiate(self.request.header("accept")),
        }
    }

    /// The execution plan asked for in `Accept`, refused unless `db-plan-enabled`.
    fn plan(&self) -> Result<Option<PlanRequest>, ApiError> {
        let plan = media::plan_request(self.request.header("accept"))?;
        if plan.is_some() && !self.state.config.db_plan_enabled {
            return Err(ApiError::new(
                406,
                "PGRST107",
                format!(
                    "None of these media types are available: {}",
                    self.request.header("accept").unwrap_or_default()
                ),
            ));
        }
        Ok(plan)
    }

    /// Runs the request's statement, or answers its plan when the client asked for one. A plan
    /// runs in a transaction that always rolls back, so `options=analyze` on a write changes
    /// nothing.
    async fn run(
        &self,
        explain: Option<&crate::plan::Statement>,
        statement: &crate::plan::Statement,
        read_only: bool,
        checks: Checks,
    ) -> Result<Ran, ApiError> {
        let tx = self.tx_settings(read_only);
        if let Some(plan) = self.plan()? {
            let explained = crate::plan::Statement {
                sql: plan.explain_sql(&statement.sql),
                params: statement.params.clone(),
            };
            let lines = db::explain(&self.state.pool, &tx, &explained).await?;
            let mut reply = Reply::new(200).header("Content-Type", plan.content_type());
            if self.request.method != "HEAD" {
                reply.body = lines.join("\n");
            }
            return Ok(Ran::Plan(reply));
        }
        let outcome = db::run(
            &self.state.pool,
            &self.state.prepared,
            &tx,
            explain,
            statement,
            checks,
        )
        .await?;
        Ok(Ran::Outcome(outcome))
    }

    fn applied(&self) -> Applied {
        Applied {
            tx: self.prefs.tx,
            strict: self.prefs.strict,
            timezone: self.prefs.timezone.clone(),
            ..Default::default()
        }
    }

    /// Singular responses and `max-affected` are checked before the transaction ends.
    fn checks(&self, media: Media, max_affected: Option<i64>) -> Checks {
        Checks {
            singular: media.is_singular(),
            max_affected,
            commit: !self.rollback,
        }
    }

    fn strict_max_affected(&self) -> Option<i64> {
        self.prefs
            .max_affected
            .filter(|_| self.prefs.strict == Some(true))
    }

    fn table(&self, name: &str) -> Result<&Table, ApiError> {
        self.cache.table(&self.schema, name).ok_or_else(|| {
            ApiError::new(
                404,
                "PGRST205",
                format!(
                    "Could not find the table '{}.{}' in the schema cache",
                    self.schema, name
                ),
            )
        })
    }

    /// The top-level row window; the `Range` header counts for GET only (PostgREST follows
    /// RFC 9110, which has other methods ignore it).
    fn row_window(&self, query: &QueryParams) -> Result<RowWindow, ApiError> {
        let header = self
            .request
            .header("range")
            .filter(|_| self.request.method == "GET")
            .and_then(range::parse_range_header);
        let top = Vec::new();
        range::combine(
            header,
            query.limits.get(&top).copied(),
            query.offsets.get(&top).copied(),
            self.state.config.db_max_rows,
        )
    }

    fn json_body(&self) -> Result<(Value, String), ApiError> {
        media::body_as_json(self.request.header("content-type"), &self.request.body, "")
    }
}

/// Status, Content-Range and body of a read-like answer (tables and functions), with the total
/// row count the `Prefer: count=` asked for, when there is one.
fn read_reply(
    ctx: &Context,
    media: Media,
    window: &RowWindow,
    outcome: Outcome,
    total: Option<i64>,
    void: bool,
) -> Result<Reply, ApiError> {
    let (status, content_range) =
        range::status_and_content_range(window.offset, outcome.page_total, total);
    let applied = Applied {
        count: ctx.prefs.count,
        ..ctx.applied()
    };
    let mut reply = Reply::new(status).header("Content-Range", content_range);
    if let Some(value) = applied.header_value() {
        reply = reply.header("Preference-Applied", value);
    }
    if status == 416 {
        let error = ApiError::new(416, "PGRST103", "Requested range not satisfiable").with_details(
            format!(
                "An offset of {} was requested, but there are only {} rows.",
                window.offset,
                total.unwrap_or(0)
            ),
        );
        reply.headers.push((
            "Content-Type".into(),
            "application/json; charset=utf-8".into(),
        ));
        reply.body = error.body();
    } else if void {
        reply.status = 204;
    } else {
        reply
            .headers
            .push(("Content-Type".into(), media.content_type().into()));
        if ctx.request.method != "HEAD" {
            reply.body = outcome.body;
        }
    }
    reply.apply_gucs(
        outcome.response_headers.as_deref(),
        outcome.response_status.as_deref(),
    )
}
