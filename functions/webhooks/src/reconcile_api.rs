//! The Stripe reconcile job: pulls the events Stripe could not deliver since the last run
//! (every page of `GET /v1/events?delivery_success=false`, with the restricted key
//! `STRIPE_RECONCILE_API_KEY`) and feeds each page through the intake as the webhook_ingest
//! role (`receive_webhook_events`, sql/migrations/0033_webhook_reconcile.sql); the run and its
//! counts are recorded as the maintenance role. Runs from the bundle's cron ([`scheduled`]) and
//! on demand for an operator at `POST /functions/v1/webhooks/reconcile/stripe` ([`request`]).

use crate::operator::Actor;
use crate::operator_api;
use crate::reconcile::{BatchOutcome, Counts, EventsPage, ReconcileConfig, MAX_PAGES};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::DatabaseRole;
use shared::config::CoreConfig;
use shared::db::Db;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::logging;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit, Response};

const INTAKE_JOB: &str = "stripe-reconcile-intake";
const RUN_JOB: &str = "webhooks-reconcile";

/// What a run did, as the operator sees it.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub run: String,
    /// The window's start, Unix seconds.
    pub since: i64,
    #[serde(flatten)]
    pub counts: Counts,
    /// Why the run stopped early, if it did; the next run covers the same window again.
    pub error: Option<String>,
}

#[derive(Deserialize)]
struct Started {
    run: String,
    since: i64,
}

pub async fn request(req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let actor = operator_api::admit(&req, context, "webhooks/reconcile/stripe").await?;
    let config = ReconcileConfig::from_source(context.env())?.ok_or_else(|| {
        ApiError::new(
            409,
            "reconcile_not_configured",
            "set STRIPE_RECONCILE_API_KEY (a restricted Stripe key that reads Events) to reconcile",
        )
    })?;
    let runs = context
        .db_as_role(DatabaseRole::Maintenance, RUN_JOB)
        .await?;
    let intake = context
        .db_as_role(DatabaseRole::WebhookIngest, INTAKE_JOB)
        .await?;
    let summary = run(&config, &runs, &intake, "request", Some(&actor)).await?;
    match &summary.error {
        None => http::json_response(200, &summary),
        Some(problem) => Err(ApiError::new(502, "reconcile_incomplete", problem.clone())
            .with_details(serde_json::to_value(&summary).unwrap_or_default())),
    }
}

/// The cron's run; does nothing when reconcile is not configured.
pub async fn scheduled(env: &Env) {
    let outcome = async {
        let Some(config) = ReconcileConfig::from_source(env)? else {
            return Ok(None);
        };
        let core = CoreConfig::from_source(env)?;
        let runs = Db::for_role(&core, DatabaseRole::Maintenance, RUN_JOB).await?;
        let intake = Db::for_role(&core, DatabaseRole::WebhookIngest, INTAKE_JOB).await?;
        run(&config, &runs, &intake, "cron", None).await.map(Some)
    }
    .await;
    let line = match outcome {
        Ok(None) => return,
        Ok(Some(summary)) => json!({
            "level": (if summary.error.is_some() { "warn" } else { "info" }),
            "msg": "stripe reconcile run",
            "summary": summary,
        }),
        Err(problem) => json!({
            "level": "error",
            "msg": "stripe reconcile run not started",
            "problem": problem.log_text(),
        }),
    };
    logging::emit(&line.to_string());
}

/// One run: opens it (the window), pulls and feeds every page, closes it with its counts.
pub async fn run(
    config: &ReconcileConfig,
    runs: &Db,
    intake: &Db,
    trigger: &str,
    actor: Option<&Actor>,
) -> Result<Summary, ApiError> {
    let args = json!({
        "provider": "stripe",
        "run_trigger": trigger,
        "actor": actor.map(Actor::to_json),
    });
    let started: Started =
        shared::db::fetch_json(runs.rpc("start_webhook_reconcile_run", &args)).await?;
    let mut counts = Counts::default();
    let error = pull_every_page(config, intake, started.since, &mut counts)
        .await
        .err();
    let finish = json!({ "run": started.run, "counts": counts, "error": error });
    shared::db::execute(runs.rpc("finish_webhook_reconcile_run", &finish)).await?;
    Ok(Summary {
        run: started.run,
        since: started.since,
        counts,
        error,
    })
}

async fn pull_every_page(
    config: &ReconcileConfig,
    intake: &Db,
    since: i64,
    counts: &mut Counts,
) -> Result<(), String> {
    let mut cursor: Option<String> = None;
    loop {
        if counts.pages >= MAX_PAGES {
            return Err(format!(
                "stopped after {MAX_PAGES} pages; the next run covers this window again"
            ));
        }
        let page = fetch_page(config, &config.page_url(since, cursor.as_deref())).await?;
        counts.pages += 1;
        counts.pulled += u32::try_from(page.data.len()).unwrap_or(u32::MAX);
        let (batch, skipped) = page.batch();
        counts.refused += skipped;
        if !batch.is_empty() {
            let args = json!({ "provider": "stripe", "events": batch });
            let outcomes: Vec<BatchOutcome> =
                shared::db::fetch_json(intake.rpc("receive_webhook_events", &args))
                    .await
                    .map_err(|error| format!("the intake refused a page: {}", error.message))?;
            counts.add(&outcomes);
        }
        match page.next_cursor() {
            Some(last) => cursor = Some(last.to_string()),
            None => return Ok(()),
        }
    }
}

async fn fetch_page(config: &ReconcileConfig, url: &str) -> Result<EventsPage, String> {
    let headers = Headers::new();
    headers
        .set("authorization", &format!("Bearer {}", config.api_key))
        .map_err(|_| "the API key cannot be sent as a header".to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let outgoing = Request::new_with_init(url, &init)
        .map_err(|_| format!("{url} is not a URL Stripe can be asked at"))?;
    let mut response = Fetch::Request(outgoing)
        .send()
        .await
        .map_err(|error| format!("Stripe's events API could not be reached: {error}"))?;
    let status = response.status_code();
    let body = response
        .text()
        .await
        .map_err(|_| "Stripe's answer could not be read".to_string())?;
    if status != 200 {
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|error| error["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_default();
        return Err(format!("Stripe's events API answered {status}: {message}"));
    }
    serde_json::from_str(&body)
        .map_err(|error| format!("Stripe's events page is not a list: {error}"))
}
