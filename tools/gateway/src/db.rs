//! Runs one request's statements in one transaction: impersonate the role, publish the
//! request to SQL through `request.*` settings, call the pre-request function, run the plan,
//! then commit or roll back.

use std::time::Duration;

use deadpool_postgres::{Object, Pool, PoolError};
use postgres_types::ToSql;
use serde_json::Value;

use crate::error::{from_db_error, ApiError};
use crate::plan::sql::TextParam;
use crate::plan::Statement;

/// The settings a request's transaction starts with.
pub struct TxSettings {
    pub read_only: bool,
    /// `(name, value)` pairs applied with `set_config(name, value, true)`, in order.
    pub settings: Vec<(String, String)>,
    pub pre_request: Option<String>,
    pub authenticated: bool,
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

/// Decides from the outcome whether to keep the work: Ok(true) commits, Ok(false) rolls back,
/// Err rolls back and answers the error.
pub type Verdict<'a> = Box<dyn FnOnce(&Outcome) -> Result<bool, ApiError> + Send + 'a>;

const STATEMENT_CACHE_LIMIT: usize = 512;

pub async fn acquire(pool: &Pool) -> Result<Object, ApiError> {
    pool.get().await.map_err(|e| match e {
        PoolError::Timeout(_) => ApiError::new(504, "PGRST003", "Timed out acquiring connection from connection pool."),
        PoolError::Backend(err) => ApiError::new(503, "PGRST000", "Database connection error. Retrying the connection.")
            .with_details(err.to_string()),
        other => ApiError::new(503, "PGRST000", "Database connection error. Retrying the connection.").with_details(other.to_string()),
    })
}

pub async fn run(
    pool: &Pool,
    tx: &TxSettings,
    explain: Option<&Statement>,
    main: &Statement,
    verdict: Verdict<'_>,
) -> Result<Outcome, ApiError> {
    let client = acquire(pool).await?;
    if client.statement_cache.size() > STATEMENT_CACHE_LIMIT {
        client.statement_cache.clear();
    }
    let begin = if tx.read_only { "begin isolation level read committed read only" } else { "begin" };
    let result = in_transaction(&client, begin, tx, explain, main, verdict).await;
    match result {
        Ok((outcome, commit)) => {
            let end = if commit { "commit" } else { "rollback" };
            client.batch_execute(end).await.map_err(|e| from_db_error(&e, tx.authenticated))?;
            Ok(outcome)
        }
        Err(error) => {
            // The connection goes back to the pool clean, or is dropped if it cannot be.
            if client.batch_execute("rollback").await.is_err() {
                let _ = Object::take(client);
            }
            Err(error)
        }
    }
}

async fn in_transaction(
    client: &Object,
    begin: &str,
    tx: &TxSettings,
    explain: Option<&Statement>,
    main: &Statement,
    verdict: Verdict<'_>,
) -> Result<(Outcome, bool), ApiError> {
    let db_err = |e: tokio_postgres::Error| from_db_error(&e, tx.authenticated);
    let setup_sql = setup_statement(tx.settings.len());
    let setup_values: Vec<&str> = tx.settings.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]).collect();
    let setup_params: Vec<TextParam> = setup_values.iter().map(|v| TextParam(Some(v))).collect();
    let setup_refs: Vec<&(dyn ToSql + Sync)> = setup_params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    // BEGIN and the settings go out together; the server still runs them in order.
    let setup = async {
        let statement = client.prepare_cached(&setup_sql).await?;
        client.query(&statement, &setup_refs).await
    };
    let (begun, configured) = tokio::join!(client.batch_execute(begin), setup);
    begun.map_err(db_err)?;
    configured.map_err(db_err)?;
    if let Some(pre_request) = &tx.pre_request {
        client.batch_execute(pre_request).await.map_err(db_err)?;
    }
    let planned_total = match explain {
        Some(statement) => Some(planned_rows(client, statement).await.map_err(db_err)?),
        None => None,
    };
    let statement = client.prepare_cached(&main.sql).await.map_err(db_err)?;
    let params: Vec<TextParam> = main.params.iter().map(|v| TextParam(v.as_deref())).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let row = client.query_opt(&statement, &refs).await.map_err(db_err)?;
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
    let commit = verdict(&outcome)?;
    Ok((outcome, commit))
}

fn setup_statement(pairs: usize) -> String {
    let calls: Vec<String> = (0..pairs).map(|i| format!("set_config(${}, ${}, true)", 2 * i + 1, 2 * i + 2)).collect();
    format!("select {}", if calls.is_empty() { "1".to_string() } else { calls.join(", ") })
}

async fn planned_rows(client: &Object, statement: &Statement) -> Result<i64, tokio_postgres::Error> {
    let prepared = client.prepare_cached(&statement.sql).await?;
    let params: Vec<TextParam> = statement.params.iter().map(|v| TextParam(v.as_deref())).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let row = client.query_one(&prepared, &refs).await?;
    let plan: Value = row.get(0);
    Ok(plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0) as i64)
}

/// Waits up to `timeout` for Postgres to accept a connection, for a clear startup error.
pub async fn check_reachable(pool: &Pool, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, pool.get()).await {
        Ok(Ok(client)) => client.simple_query("select 1").await.map(|_| ()).map_err(|e| e.to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no connection within {} seconds", timeout.as_secs())),
    }
}
