//! What one run did, as written to `system_logs` and returned by `POST /run`: per job the rows
//! touched, batches, duration and error, and for the run whether it stopped early. Counts
//! only: no user ids, addresses or payloads ever appear here.

use crate::plan::Job;
use serde::Serialize;
use serde_json::{Map, Value};

/// What started the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    Cron { cron: String, recognised: bool },
    Request,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobReport {
    pub job: Job,
    /// Rows changed (deleted, erased, retried, re-scored), summed over batches.
    pub rows: u64,
    pub batches: u32,
    pub duration_ms: u64,
    /// True when the job found nothing more to do; false when the budget or an error cut it.
    pub complete: bool,
    /// The RPC's own counts, summed over batches.
    pub counts: Map<String, Value>,
    pub error: Option<String>,
}

impl JobReport {
    fn reports_failures(&self) -> bool {
        ["failed", "gave_up"]
            .iter()
            .any(|key| self.counts.get(*key).and_then(Value::as_u64).unwrap_or(0) > 0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub trigger: Trigger,
    pub budget_ms: u64,
    pub duration_ms: u64,
    /// True when the budget ran out before every job finished; the rest waits for the next run.
    pub stopped_early: bool,
    pub jobs: Vec<JobReport>,
    /// Jobs the budget did not let start.
    pub not_started: Vec<Job>,
    pub rows: u64,
    pub errors: u32,
}

impl RunSummary {
    pub fn new(
        trigger: Trigger,
        budget_ms: u64,
        duration_ms: u64,
        jobs: Vec<JobReport>,
        not_started: Vec<Job>,
    ) -> RunSummary {
        let stopped_early =
            !not_started.is_empty() || jobs.iter().any(|job| !job.complete && job.error.is_none());
        let rows = jobs.iter().map(|job| job.rows).sum();
        let errors = u32::try_from(jobs.iter().filter(|job| job.error.is_some()).count())
            .unwrap_or(u32::MAX);
        RunSummary {
            trigger,
            budget_ms,
            duration_ms,
            stopped_early,
            jobs,
            not_started,
            rows,
            errors,
        }
    }

    /// `system_logs` level: an error when a job failed, a warning when an erasure or a webhook
    /// retry failed inside a job that otherwise ran, else info.
    pub fn level(&self) -> &'static str {
        if self.errors > 0 {
            "error"
        } else if self.jobs.iter().any(JobReport::reports_failures) {
            "warning"
        } else {
            "info"
        }
    }

    pub fn message(&self) -> String {
        let jobs: Vec<&str> = self.jobs.iter().map(|report| report.job.name()).collect();
        let ending = if self.stopped_early {
            ", stopped early"
        } else {
            ""
        };
        format!(
            "cleanup run: {} rows in {} ms ({}){ending}",
            self.rows,
            self.duration_ms,
            jobs.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(job: Job, complete: bool, error: Option<&str>, counts: Value) -> JobReport {
        JobReport {
            job,
            rows: 2,
            batches: 1,
            duration_ms: 5,
            complete,
            counts: counts.as_object().cloned().unwrap_or_default(),
            error: error.map(str::to_string),
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_clean_run_is_info_and_complete() {
        let summary = RunSummary::new(
            Trigger::Request,
            100,
            9,
            vec![report(
                Job::ExpiredTokens,
                true,
                None,
                json!({ "reset_tokens": 2 }),
            )],
            vec![],
        );
        assert_eq!(summary.level(), "info");
        assert!(!summary.stopped_early);
        assert_eq!(summary.rows, 2);
        assert_eq!(
            summary.message(),
            "cleanup run: 2 rows in 9 ms (expired_tokens)"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_cut_job_or_an_unstarted_one_means_stopped_early() {
        let cut = RunSummary::new(
            Trigger::Request,
            1,
            3,
            vec![report(Job::Erasures, false, None, json!({}))],
            vec![],
        );
        assert!(cut.stopped_early);
        let unstarted = RunSummary::new(
            Trigger::Request,
            1,
            3,
            vec![report(Job::Erasures, true, None, json!({}))],
            vec![Job::ExpiredTokens],
        );
        assert!(unstarted.stopped_early);
        assert!(unstarted.message().ends_with(", stopped early"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn errors_and_failed_erasures_raise_the_level() {
        let failed = RunSummary::new(
            Trigger::Request,
            1,
            3,
            vec![report(
                Job::Erasures,
                true,
                None,
                json!({ "erased": 1, "failed": 1 }),
            )],
            vec![],
        );
        assert_eq!(failed.level(), "warning");
        let broken = RunSummary::new(
            Trigger::Request,
            1,
            3,
            vec![report(Job::LogRetention, false, Some("db down"), json!({}))],
            vec![],
        );
        assert_eq!(broken.level(), "error");
        assert_eq!(broken.errors, 1);
        assert!(!broken.stopped_early, "an error is not a budget stop");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_trigger_serialises_with_its_kind() {
        let cron = Trigger::Cron {
            cron: "*/15 * * * *".into(),
            recognised: true,
        };
        assert_eq!(
            serde_json::to_value(cron).unwrap(),
            json!({ "kind": "cron", "cron": "*/15 * * * *", "recognised": true })
        );
        assert_eq!(
            serde_json::to_value(Trigger::Request).unwrap(),
            json!({ "kind": "request" })
        );
    }
}
