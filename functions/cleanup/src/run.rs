//! Runs a list of jobs as the maintenance role within a time budget: each job batch after
//! batch until it has nothing left, the budget would be overrun, or the database errs; then one
//! summary row in `system_logs`. A run cut short leaves the rest for the next one: every batch
//! is idempotent and commits on its own.

use crate::decay;
use crate::plan::{add_counts, outcome_of, rpc_call, Budget, Job, JobSettings};
use crate::summary::{JobReport, RunSummary, Trigger};
use serde_json::{json, Map, Value};
use shared::clock::now_millis;
use shared::db::{self, Db};
use shared::error::ApiError;

/// The `source` of the run summaries in `system_logs`.
pub const LOG_SOURCE: &str = "cleanup";

pub async fn run_jobs(
    db: &Db,
    jobs: &[Job],
    settings: &JobSettings,
    budget_ms: u64,
    trigger: Trigger,
) -> RunSummary {
    let started = now_millis();
    let mut budget = Budget::new(started, budget_ms);
    let mut reports = Vec::with_capacity(jobs.len());
    let mut not_started = Vec::new();
    for (position, job) in jobs.iter().enumerate() {
        if !budget.may_start_batch(now_millis()) {
            not_started = jobs[position..].to_vec();
            break;
        }
        reports.push(run_job(db, *job, settings, &mut budget).await);
    }
    RunSummary::new(
        trigger,
        budget_ms,
        budget.elapsed_ms(now_millis()),
        reports,
        not_started,
    )
}

async fn run_job(db: &Db, job: Job, settings: &JobSettings, budget: &mut Budget) -> JobReport {
    let started = now_millis();
    let mut report = JobReport {
        job,
        rows: 0,
        batches: 0,
        duration_ms: 0,
        complete: false,
        counts: Map::new(),
        error: None,
    };
    while budget.may_start_batch(now_millis()) {
        let batch_started = now_millis();
        let outcome = run_batch(db, job, settings).await;
        budget.record_batch(now_millis().saturating_sub(batch_started));
        report.batches += 1;
        match outcome {
            Ok(counts) => {
                add_counts(&mut report.counts, &counts);
                let outcome = outcome_of(job, &counts);
                report.rows += outcome.changed;
                if !outcome.more_may_remain(job.batch_size()) {
                    report.complete = true;
                    break;
                }
            }
            Err(error) => {
                report.error = Some(format!("{}: {}", error.code, error.log_text()));
                break;
            }
        }
    }
    report.duration_ms = now_millis().saturating_sub(started);
    report
}

async fn run_batch(db: &Db, job: Job, settings: &JobSettings) -> Result<Value, ApiError> {
    match rpc_call(job, settings) {
        Some((function, args)) => db::fetch_json(db.rpc(function, &args)).await,
        None => decay::rescore_batch(db, settings, now_millis()).await,
    }
}

/// Writes the run's one `system_logs` row.
pub async fn record_summary(db: &Db, summary: &RunSummary) -> Result<(), ApiError> {
    let details = serde_json::to_value(summary).map_err(|error| {
        ApiError::internal(format!("could not encode the run summary: {error}"))
    })?;
    let call = db.rpc(
        "write_system_log",
        &json!({ "level": summary.level(), "source": LOG_SOURCE, "message": summary.message(), "details": details }),
    );
    db::execute(call).await.map(|_| ())
}
