//! Runs one request's statements in one transaction: impersonate the role, publish the
//! request to SQL through `request.*` settings, call the pre-request function, run the plan,
//! then commit or roll back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use deadpool_postgres::{Object, ObjectId, Pool, PoolError};
use postgres_types::ToSql;
use serde_json::Value;

use crate::error::{from_db_error, ApiError};
use crate::plan;
use crate::plan::sql::TextParam;
use tokio_postgres::Statement;

/// The settings a request's transaction starts with.
pub struct TxSettings {
    pub read_only: bool,
    /// `(name, value)` pairs applied with `set_config(name, value, true)`, in order.
    pub settings: Vec<(String, String)>,
    pub pre_request: Option<String>,
    pub authenticated: bool,
    /// The role the transaction runs as: prepared statements are planned and reused per role.
    pub role: String,
    /// Test builds only (`test_hooks`): panic after the statement, before the transaction ends.
    #[cfg(feature = "test-hooks")]
    pub panic_mid_transaction: bool,
}

impl TxSettings {
    fn begin_sql(&self) -> &'static str {
        if self.read_only {
            "begin isolation level read committed read only"
        } else {
            "begin"
        }
    }

    /// The setup statement's parameters: each setting's name, then its value.
    fn setup_params(&self) -> Vec<TextParam<'_>> {
        self.settings
            .iter()
            .flat_map(|(name, value)| [TextParam(Some(name)), TextParam(Some(value))])
            .collect()
    }
}

fn text_params(values: &[Option<String>]) -> Vec<TextParam<'_>> {
    values.iter().map(|v| TextParam(v.as_deref())).collect()
}

fn as_sql_refs<'a>(params: &'a [TextParam<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// The row every statement returns.
#[derive(Debug, Default)]
pub struct Outcome {
    pub total: Option<i64>,
    pub page_total: i64,
    pub body: String,
    pub location: Option<Vec<Option<String>>>,
    pub inserted: Option<i64>,
    pub response_headers: Option<String>,
    pub response_status: Option<String>,
    pub planned_total: Option<i64>,
}

/// What must hold before the transaction may commit, and how it ends when it holds.
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    /// `application/vnd.pgrst.object+json`: exactly one row.
    pub singular: bool,
    /// `Prefer: handling=strict, max-affected=N`.
    pub max_affected: Option<i64>,
    /// False for `Prefer: tx=rollback` (where allowed) or `db-tx-end = rollback`.
    pub commit: bool,
}

impl Checks {
    fn inspects_result(&self) -> bool {
        self.singular || self.max_affected.is_some()
    }

    fn judge(&self, outcome: &Outcome) -> Result<(), ApiError> {
        if self.singular && outcome.page_total != 1 {
            return Err(ApiError::new(
                406,
                "PGRST116",
                "Cannot coerce the result to a single JSON object",
            )
            .with_details(format!("The result contains {} rows", outcome.page_total)));
        }
        if let Some(max) = self.max_affected {
            if outcome.page_total > max {
                return Err(ApiError::new(
                    400,
                    "PGRST124",
                    "Query result exceeds max-affected preference constraint",
                )
                .with_details(format!("The query affects {} rows", outcome.page_total)));
            }
        }
        Ok(())
    }
}

/// How many statements one connection keeps prepared before it starts over.
const STATEMENT_CACHE_LIMIT: usize = 512;

/// The statements each pooled connection has prepared, keyed by the role they were planned
/// under as well as by their text.
///
/// Why the role is part of the key: Postgres checks some privileges only while it *plans* a
/// statement. The planner inlines a `LANGUAGE sql` function (a scalar one of any volatility, a
/// set-returning stable or immutable one, a computed field) only after checking that the current
/// role may EXECUTE it, and the inlined plan keeps no function call to check again. A prepared
/// statement's generic plan (used from the first execution when the statement has no
/// parameters, from the sixth otherwise) then serves every later execution, whatever role is
/// current, and Postgres replans on a role change only plans that depend on row-level security.
/// Shared across roles, a plan made for `service_role` hands anon the result of a function anon
/// may not execute. Tables, views and columns are checked again by the executor at every run,
/// so only plan-time checks leak; planning each statement under the role that runs it makes
/// every check Postgres does under that role (the role read back after a pre-request function,
/// which may switch it). GRANT and REVOKE on a function invalidate the
/// plans that inlined it; a change of role membership does not, and a schema reload
/// (`NOTIFY pgrst`) clears this cache for that case.
///
/// A statement is prepared the first time inside a request's transaction, after the role and
/// search_path are set (as PostgREST does, so name lookup sees what the role sees); once
/// prepared, the whole request can go out in one round trip.
#[derive(Debug, Default)]
pub struct PreparedStatements {
    by_connection: Mutex<HashMap<ObjectId, ConnectionStatements>>,
}

/// One connection's statements: role -> SQL text -> statement.
#[derive(Debug, Default)]
struct ConnectionStatements {
    by_role: HashMap<String, HashMap<String, Statement>>,
    count: usize,
}

impl PreparedStatements {
    fn get(&self, connection: ObjectId, role: &str, sql: &str) -> Option<Statement> {
        let known = self.by_connection.lock().ok()?;
        known.get(&connection)?.by_role.get(role)?.get(sql).cloned()
    }

    fn remember(&self, connection: ObjectId, role: &str, sql: &str, statement: Statement) {
        if let Ok(mut known) = self.by_connection.lock() {
            let statements = known.entry(connection).or_default();
            if statements.count >= STATEMENT_CACHE_LIMIT {
                *statements = ConnectionStatements::default();
            }
            let previous = statements
                .by_role
                .entry(role.to_string())
                .or_default()
                .insert(sql.to_string(), statement);
            if previous.is_none() {
                statements.count += 1;
            }
        }
    }

    fn forget_connection(&self, connection: ObjectId) {
        if let Ok(mut known) = self.by_connection.lock() {
            known.remove(&connection);
        }
    }

    /// Call together with clearing the pool's statement caches.
    pub fn forget_all(&self) {
        if let Ok(mut known) = self.by_connection.lock() {
            known.clear();
        }
    }
}

pub async fn acquire(pool: &Pool) -> Result<Object, ApiError> {
    pool.get().await.map_err(|e| match e {
        PoolError::Timeout(_) => ApiError::new(
            504,
            "PGRST003",
            "Timed out acquiring connection from connection pool.",
        ),
        PoolError::Backend(err) => ApiError::new(
            503,
            "PGRST000",
            "Database connection error. Retrying the connection.",
        )
        .with_details(err.to_string()),
        other => ApiError::new(
            503,
            "PGRST000",
            "Database connection error. Retrying the connection.",
        )
        .with_details(other.to_string()),
    })
}

/// A pooled connection lent to one transaction. Unless the transaction was ended (`release`),
/// dropping it (a panic, or the request task being cancelled) closes the connection instead of
/// returning it to the pool: the pool does not check for an open transaction when it lends a
/// connection again, and a half-done transaction would hold its locks and carry its writes into
/// the next request. Postgres rolls back a transaction whose connection closes.
struct Lease<'a> {
    client: Option<Object>,
    prepared: &'a PreparedStatements,
}

impl Lease<'_> {
    fn client(&self) -> &Object {
        self.client
            .as_ref()
            .expect("a lease holds its connection until released or discarded")
    }

    /// The transaction is over: the connection may serve another request.
    fn release(mut self) {
        self.client.take();
    }

    /// The connection is in an unknown state: close it.
    fn discard(mut self) {
        self.close();
    }

    fn close(&mut self) {
        if let Some(client) = self.client.take() {
            self.prepared.forget_connection(Object::id(&client));
            drop(Object::take(client));
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.close();
    }
}

pub async fn run(
    pool: &Pool,
    prepared: &PreparedStatements,
    tx: &TxSettings,
    explain: Option<&plan::Statement>,
    main: &plan::Statement,
    checks: Checks,
) -> Result<Outcome, ApiError> {
    let lease = Lease {
        client: Some(acquire(pool).await?),
        prepared,
    };
    let client = lease.client();
    match in_transaction(client, prepared, tx, explain, main, checks).await {
        Ok((outcome, None)) => {
            lease.release();
            Ok(outcome)
        }
        Ok((outcome, Some(commit))) => {
            #[cfg(feature = "test-hooks")]
            if tx.panic_mid_transaction {
                panic!("test hook: a panic in the middle of a transaction");
            }
            let end = if commit { "commit" } else { "rollback" };
            match client.batch_execute(end).await {
                Ok(()) => {
                    lease.release();
                    Ok(outcome)
                }
                Err(e) => {
                    lease.discard();
                    Err(from_db_error(&e, tx.authenticated))
                }
            }
        }
        Err(error) => {
            // A connection that cannot even roll back does not go back to the pool.
            if client.batch_execute("rollback").await.is_ok() {
                lease.release();
            } else {
                lease.discard();
            }
            Err(error)
        }
    }
}

/// Runs `statement` (an EXPLAIN) in a transaction set up like any request's and rolls it back;
/// returns the plan's rows as text (one JSON document, or the lines of the text format).
pub async fn explain(
    pool: &Pool,
    tx: &TxSettings,
    statement: &plan::Statement,
) -> Result<Vec<String>, ApiError> {
    let lease = Lease {
        client: Some(acquire(pool).await?),
        prepared: &PreparedStatements::default(),
    };
    let client = lease.client();
    let db_err = |e: tokio_postgres::Error| from_db_error(&e, tx.authenticated);
    let setup_params = tx.setup_params();
    let setup_refs = as_sql_refs(&setup_params);
    let params = text_params(&statement.params);
    let refs = as_sql_refs(&params);
    let explained = async {
        client.batch_execute(tx.begin_sql()).await?;
        client
            .query(&setup_statement(tx.settings.len()), &setup_refs)
            .await?;
        if let Some(sql) = &tx.pre_request {
            client.batch_execute(sql).await?;
        }
        // Unnamed and planned now, under the request's role: nothing is cached across roles.
        let rows = client.query(&statement.sql, &refs).await?;
        Ok::<_, tokio_postgres::Error>(
            rows.iter()
                .map(|row| match row.try_get::<_, Value>(0) {
                    Ok(json) => json.to_string(),
                    Err(_) => row.get::<_, String>(0),
                })
                .collect(),
        )
    }
    .await;
    if client.batch_execute("rollback").await.is_ok() {
        lease.release();
    } else {
        lease.discard();
    }
    explained.map_err(db_err)
}

/// Sends BEGIN, the settings, the pre-request call, the optional EXPLAIN, the statement and,
/// when no check needs the result, COMMIT/ROLLBACK in one round trip. The server runs them in
/// order; once one fails the transaction is aborted, so nothing after it takes effect (a
/// COMMIT of an aborted transaction rolls back). Returns the end still to send, if any.
async fn in_transaction(
    client: &Object,
    prepared: &PreparedStatements,
    tx: &TxSettings,
    explain: Option<&plan::Statement>,
    main: &plan::Statement,
    checks: Checks,
) -> Result<(Outcome, Option<bool>), ApiError> {
    let db_err = |e: tokio_postgres::Error| from_db_error(&e, tx.authenticated);
    let connection = Object::id(client);
    let setup_sql = setup_statement(tx.settings.len());
    let setup_params = tx.setup_params();
    let setup_refs = as_sql_refs(&setup_params);
    // The settings statement calls only the built-in set_config, which Postgres never inlines,
    // so it may be prepared outside the transaction and shared by every role.
    let setup_statement = client.prepare_cached(&setup_sql).await.map_err(db_err)?;
    // Without a pre-request function the role set above is the one the statement runs under,
    // so a statement this connection prepared for it can go out in the same round trip. A
    // pre-request function may switch role itself: then the role is read back first.
    let known = |role: &str| {
        let main_statement = prepared.get(connection, role, &main.sql)?;
        let explain_statement = match explain {
            Some(e) => Some(prepared.get(connection, role, &e.sql)?),
            None => None,
        };
        Some(Prepared {
            main: main_statement,
            explain: explain_statement,
        })
    };
    let end_now = !checks.inspects_result();
    let end = if checks.commit { "commit" } else { "rollback" };

    let started = client.batch_execute(tx.begin_sql());
    let configured = client.query(&setup_statement, &setup_refs);
    let pre_requested = async {
        match &tx.pre_request {
            Some(sql) => {
                client.batch_execute(sql).await?;
                let rows = client.simple_query("select current_user").await?;
                Ok(rows.iter().find_map(|message| match message {
                    tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
                    _ => None,
                }))
            }
            None => Ok(None),
        }
    };
    let fast = if tx.pre_request.is_none() {
        known(&tx.role)
    } else {
        None
    };
    let (explained, row, ended) = match fast {
        Some(prepared_statements) => {
            let (begun, configured, pre_requested, rest) = tokio::join!(
                biased;
                started,
                configured,
                pre_requested,
                statements(client, &prepared_statements, explain, main, end_now.then_some(end)),
            );
            begun.map_err(db_err)?;
            configured.map_err(db_err)?;
            pre_requested.map_err(db_err)?;
            rest.map_err(db_err)?
        }
        None => {
            let (begun, configured, pre_requested) =
                tokio::join!(biased; started, configured, pre_requested);
            begun.map_err(db_err)?;
            configured.map_err(db_err)?;
            let role = pre_requested
                .map_err(db_err)?
                .unwrap_or_else(|| tx.role.clone());
            let prepared_statements = match known(&role) {
                Some(statements) => statements,
                None => {
                    // Prepared now, under the role that runs it, inside its transaction.
                    let main_statement = client.prepare(&main.sql).await.map_err(db_err)?;
                    prepared.remember(connection, &role, &main.sql, main_statement.clone());
                    let explain_statement = match explain {
                        Some(e) => {
                            let statement = client.prepare(&e.sql).await.map_err(db_err)?;
                            prepared.remember(connection, &role, &e.sql, statement.clone());
                            Some(statement)
                        }
                        None => None,
                    };
                    Prepared {
                        main: main_statement,
                        explain: explain_statement,
                    }
                }
            };
            statements(
                client,
                &prepared_statements,
                explain,
                main,
                end_now.then_some(end),
            )
            .await
            .map_err(db_err)?
        }
    };
    let planned_total = explained.map(|row| {
        let plan: Value = row.get(0);
        plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0) as i64
    });
    let mut outcome = match row {
        Some(row) => Outcome {
            total: row.get(0),
            page_total: row.get(1),
            body: row.get(2),
            location: row.get(3),
            inserted: row.get(4),
            response_headers: row.get(5),
            response_status: row.get(6),
            planned_total: None,
        },
        None => Outcome::default(),
    };
    outcome.planned_total = planned_total;
    if ended {
        return Ok((outcome, None));
    }
    checks.judge(&outcome)?;
    Ok((outcome, Some(checks.commit)))
}

/// A request's statements, prepared on its connection under its role.
struct Prepared {
    main: Statement,
    explain: Option<Statement>,
}

/// Runs the optional EXPLAIN and the statement, then the end of the transaction when it is
/// already known; all sent back to back.
async fn statements(
    client: &Object,
    prepared: &Prepared,
    explain: Option<&plan::Statement>,
    main: &plan::Statement,
    end: Option<&str>,
) -> Result<
    (
        Option<tokio_postgres::Row>,
        Option<tokio_postgres::Row>,
        bool,
    ),
    tokio_postgres::Error,
> {
    let main_params = text_params(&main.params);
    let main_refs = as_sql_refs(&main_params);
    let explain_params = explain.map(|e| text_params(&e.params)).unwrap_or_default();
    let explain_refs = as_sql_refs(&explain_params);
    let (explained, row, ended) = tokio::join!(
        biased;
        async {
            match &prepared.explain {
                Some(statement) => client.query_one(statement, &explain_refs).await.map(Some),
                None => Ok(None),
            }
        },
        client.query_opt(&prepared.main, &main_refs),
        async {
            match end {
                Some(sql) => client.batch_execute(sql).await.map(|_| true),
                None => Ok(false),
            }
        },
    );
    Ok((explained?, row?, ended?))
}

fn setup_statement(pairs: usize) -> String {
    let calls: Vec<String> = (0..pairs)
        .map(|i| format!("set_config(${}, ${}, true)", 2 * i + 1, 2 * i + 2))
        .collect();
    format!(
        "select {}",
        if calls.is_empty() {
            "1".to_string()
        } else {
            calls.join(", ")
        }
    )
}

/// Waits up to `timeout` for Postgres to accept a connection, for a clear startup error.
pub async fn check_reachable(pool: &Pool, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, pool.get()).await {
        Ok(Ok(client)) => client
            .simple_query("select 1")
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no connection within {} seconds",
            timeout.as_secs()
        )),
    }
}
