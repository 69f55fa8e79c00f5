//! The alert run: claims the alerts that are due (`claim_webhook_alerts`, as the maintenance
//! role), posts each one's message to `WEBHOOK_ALERT_URL` and records whether it went out
//! (`record_webhook_alert`); one that could not be posted is claimed again by the next run.
//! Runs from the bundle's cron ([`scheduled`]) and for an operator at
//! `POST /functions/v1/webhooks/alerts/run` ([`request`]).

use crate::alerts::{Alert, AlertConfig};
use crate::operator_api;
use serde::Serialize;
use serde_json::json;
use shared::auth::DatabaseRole;
use shared::config::CoreConfig;
use shared::db::Db;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::logging;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit, Response};

const JOB: &str = "webhooks-alerts";

#[derive(Debug, Default, Serialize)]
pub struct AlertRun {
    pub sent: u32,
    pub failed: u32,
}

pub async fn request(req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    operator_api::admit(&req, context, "webhooks/alerts/run").await?;
    let config = AlertConfig::from_source(context.env())?.ok_or_else(|| {
        ApiError::new(
            409,
            "alerts_not_configured",
            "set WEBHOOK_ALERT_URL (a Slack-compatible incoming webhook) to send alerts",
        )
    })?;
    let db = context.db_as_role(DatabaseRole::Maintenance, JOB).await?;
    http::json_response(200, &run(&config, &db).await?)
}

/// The cron's run; does nothing when alerts are not configured.
pub async fn scheduled(env: &Env) {
    let outcome = async {
        let Some(config) = AlertConfig::from_source(env)? else {
            return Ok(None);
        };
        let core = CoreConfig::from_source(env)?;
        let db = Db::for_role(&core, DatabaseRole::Maintenance, JOB).await?;
        run(&config, &db).await.map(Some)
    }
    .await;
    let line = match outcome {
        Ok(None) => return,
        Ok(Some(done)) => json!({
            "level": (if done.failed > 0 { "warn" } else { "info" }),
            "msg": "webhook alert run",
            "sent": done.sent,
            "failed": done.failed,
        }),
        Err(problem) => json!({
            "level": "error",
            "msg": "webhook alert run not started",
            "problem": problem.log_text(),
        }),
    };
    logging::emit(&line.to_string());
}

pub async fn run(config: &AlertConfig, db: &Db) -> Result<AlertRun, ApiError> {
    let args = json!({
        "backlog_threshold": config.backlog_threshold,
        "max_per_hour": config.max_per_hour,
    });
    let alerts: Vec<Alert> = shared::db::fetch_json(db.rpc("claim_webhook_alerts", &args)).await?;
    let mut done = AlertRun::default();
    for alert in alerts {
        let posted = post(&config.url, &alert).await;
        match posted {
            Ok(()) => done.sent += 1,
            Err(_) => done.failed += 1,
        }
        let record = json!({ "alert": alert.id, "sent": posted.is_ok(), "error": posted.err() });
        shared::db::execute(db.rpc("record_webhook_alert", &record)).await?;
    }
    Ok(done)
}

async fn post(url: &str, alert: &Alert) -> Result<(), String> {
    let headers = Headers::new();
    headers
        .set("content-type", "application/json")
        .map_err(|_| "the alert could not be built".to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(alert.message().to_string().into()));
    let outgoing = Request::new_with_init(url, &init)
        .map_err(|_| "WEBHOOK_ALERT_URL is not a URL".to_string())?;
    let response = Fetch::Request(outgoing)
        .send()
        .await
        .map_err(|error| format!("the alert URL could not be reached: {error}"))?;
    match response.status_code() {
        200..=299 => Ok(()),
        status => Err(format!("the alert URL answered {status}")),
    }
}
