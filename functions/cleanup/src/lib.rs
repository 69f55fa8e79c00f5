//! The cleanup function: rls-edge's scheduled maintenance. It is the cron jobs' edge half and
//! their planner, not their SQL: every job is one batched, idempotent, `SKIP LOCKED` RPC
//! (migrations 0014-0016) called as the narrow `maintenance` database role, except lead-score
//! decay, which scores with the lead-scoring engine and writes back with `apply_lead_scores`.
//!
//! | job | does | trigger |
//! |---|---|---|
//! | `erasures` | GDPR erasure of users whose `system_scheduled_deletions` row is due; one transaction per user, an audit row without personal data; a failure is retried next run and reported | every 15 min |
//! | `expired_tokens` | expired or used reset tokens, dead workspace invitations | every 15 min |
//! | `webhook_retries` | failed webhook events whose `next_attempt_at` has come, re-applied; given up after `CLEANUP_WEBHOOK_MAX_ATTEMPTS` (backoff 1 min * 2^(n-1), cap 6 h, in SQL) | every 15 min |
//! | `rate_limit_counters` | counters whose window has passed | every 15 min |
//! | `lead_score_decay` | leads scored more than `CLEANUP_LEAD_DECAY_DAYS` ago, re-scored; a lead that cannot be scored is marked with the reason and leaves the queue until its workspace's rules change | every 15 min |
//! | `log_retention` | `system_logs` past their level's `system_logs_settings.retention_days` | daily 03:30 |
//! | `webhook_retention` | processed / ignored webhook events older than `CLEANUP_WEBHOOK_RETENTION_DAYS` | daily 03:30 |
//! | `security_event_retention` | `security_event_logs` past the `system_logs_settings.retention_days` of the level named like their severity | daily 03:30 |
//!
//! Each run stays inside its time budget ([`plan::Budget`]: a batch starts only if it is
//! expected to fit), leaves the rest for the next run, and writes one `system_logs` row
//! (source `cleanup`) with the [`summary::RunSummary`]: per job rows, batches, duration, error.
//!
//! Entry points: [`scheduled`] for the Worker's cron handler, and [`handle`] for
//! `POST /functions/v1/cleanup/run` (see [`api`]). Settings: [`config`].

pub mod api;
pub mod config;
pub mod decay;
pub mod plan;
pub mod run;
pub mod summary;

use config::CleanupConfig;
use serde_json::json;
use shared::auth::DatabaseRole;
use shared::config::CoreConfig;
use shared::db::Db;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::logging;
use shared::registry::{Function, RateLimit, Scheduled};
use std::rc::Rc;
use summary::Trigger;
use worker::{Env, Method, Request, Response};

/// The function as a Worker registers it (`shared::registry`): its jobs run on every cron
/// trigger, and `POST /run` spends the shared `default` budget.
pub const FUNCTION: Function = Function {
    name: "cleanup",
    handle: |req, context| Box::pin(handle(req, context)),
    scheduled: Some(Scheduled {
        crons: &[plan::FREQUENT_CRON, plan::DAILY_CRON],
        run: |cron, env| Box::pin(async move { scheduled(&cron, &env).await }),
    }),
    rate_limit: RateLimit::SharedDefault,
    config_check: |context| config::parsed(context.env()).err().unwrap_or_default(),
};

pub async fn handle(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    match (req.method(), context.segments().as_slice()) {
        (Method::Post, ["run"]) => api::run(req, &context).await,
        (_, ["run"]) => Err(http::method_not_allowed(&req, &["POST"])),
        _ => Err(http::no_route(&context)),
    }
}

/// Runs the jobs of `cron` (see [`plan::jobs_for_cron`]) and logs one line with the summary.
/// A scheduled event has no one to answer: problems go to the log and to `system_logs`.
pub async fn scheduled(cron: &str, env: &Env) {
    let (db, config) = match maintenance_setup(env).await {
        Ok(setup) => setup,
        Err(problem) => {
            logging::emit(&json!({ "level": "error", "msg": "cleanup run not started", "cron": cron, "problem": problem.log_text() }).to_string());
            return;
        }
    };
    let plan = plan::jobs_for_cron(cron);
    let trigger = Trigger::Cron {
        cron: cron.to_string(),
        recognised: plan.recognised,
    };
    let summary = run::run_jobs(&db, &plan.jobs, &config.jobs, config.budget_ms, trigger).await;
    let recorded = run::record_summary(&db, &summary)
        .await
        .err()
        .map(|error| error.log_text());
    logging::emit(&json!({ "level": summary.level(), "msg": "cleanup run", "summary": summary, "summary_not_recorded": recorded }).to_string());
}

/// The maintenance-role client and the function's settings, from the Worker's environment
/// alone (a scheduled event has no request context).
async fn maintenance_setup(env: &Env) -> Result<(Db, Rc<CleanupConfig>), ApiError> {
    let core = CoreConfig::from_source(env)?;
    let config = config::parsed(env)?;
    let db = Db::for_role(&core, DatabaseRole::Maintenance, "cleanup").await?;
    Ok((db, config))
}
