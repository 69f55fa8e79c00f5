//! The run planner: which jobs a cron expression starts, how each job's batch is called, when
//! a job has nothing left, and when the run must stop to stay inside its time budget. Pure: the
//! clock is passed in, nothing here talks to the database.

use serde::Serialize;
use serde_json::{json, Map, Value};

/// The frequent trigger: short, cheap jobs whose backlog should never grow.
pub const FREQUENT_CRON: &str = "*/15 * * * *";
/// The daily trigger: retention sweeps, which delete in bulk and can wait for a quiet hour.
pub const DAILY_CRON: &str = "30 3 * * *";

/// One kind of work the cleanup function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    /// GDPR erasure of users whose scheduled deletion is due (`cleanup_due_erasures`).
    Erasures,
    /// Expired or used reset tokens and dead workspace invitations (`cleanup_expired_tokens`).
    ExpiredTokens,
    /// `system_logs` older than their level's retention (`cleanup_system_logs`).
    LogRetention,
    /// Rate-limit counters whose window has passed (`cleanup_rate_limit_counters`).
    RateLimitCounters,
    /// Processed and ignored webhook events past their retention (`cleanup_webhook_events`).
    WebhookRetention,
    /// Failed webhook events whose next attempt has come (`retry_due_webhook_events`).
    WebhookRetries,
    /// Leads whose score is older than the decay interval, re-scored by the lead-scoring engine.
    LeadScoreDecay,
    /// `security_event_logs` older than the retention of the log level named like their
    /// severity (`cleanup_security_events`).
    SecurityEventRetention,
}

impl Job {
    /// Every job, in the order a run takes them: erasure first, because it is a legal duty.
    pub const ALL: [Job; 8] = [
        Job::Erasures,
        Job::ExpiredTokens,
        Job::WebhookRetries,
        Job::RateLimitCounters,
        Job::LeadScoreDecay,
        Job::LogRetention,
        Job::WebhookRetention,
        Job::SecurityEventRetention,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::Erasures => "erasures",
            Job::ExpiredTokens => "expired_tokens",
            Job::LogRetention => "log_retention",
            Job::RateLimitCounters => "rate_limit_counters",
            Job::WebhookRetention => "webhook_retention",
            Job::WebhookRetries => "webhook_retries",
            Job::LeadScoreDecay => "lead_score_decay",
            Job::SecurityEventRetention => "security_event_retention",
        }
    }

    pub fn from_name(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|job| job.name() == name)
    }

    /// Rows one batch call may take; small for erasure, where each row is a whole user.
    pub fn batch_size(self) -> u32 {
        match self {
            Job::Erasures => 10,
            Job::ExpiredTokens => 1_000,
            Job::LogRetention => 5_000,
            Job::RateLimitCounters => 5_000,
            Job::WebhookRetention => 1_000,
            Job::WebhookRetries => 50,
            Job::LeadScoreDecay => 200,
            Job::SecurityEventRetention => 5_000,
        }
    }
}

/// What a cron expression starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronPlan {
    pub jobs: Vec<Job>,
    /// False when the expression is none of ours (a trigger added in the dashboard): every job
    /// runs, which is safe because each is idempotent, and the summary says so.
    pub recognised: bool,
}

pub fn jobs_for_cron(cron: &str) -> CronPlan {
    let frequent = vec![
        Job::Erasures,
        Job::ExpiredTokens,
        Job::WebhookRetries,
        Job::RateLimitCounters,
        Job::LeadScoreDecay,
    ];
    let daily = vec![
        Job::LogRetention,
        Job::WebhookRetention,
        Job::SecurityEventRetention,
    ];
    match cron
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .as_str()
    {
        FREQUENT_CRON => CronPlan {
            jobs: frequent,
            recognised: true,
        },
        DAILY_CRON => CronPlan {
            jobs: daily,
            recognised: true,
        },
        _ => CronPlan {
            jobs: Job::ALL.to_vec(),
            recognised: false,
        },
    }
}

/// The tunable parts of the jobs, from the function's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSettings {
    /// A webhook event failing this many attempts is given up (its status stays `failed`).
    /// The backoff between attempts is the database's: 1 minute * 2^(attempts - 1), at most
    /// 6 hours (`process_webhook_event`, migration 0014).
    pub webhook_max_attempts: u32,
    pub webhook_retention_days: u32,
    /// A lead scored longer ago than this is re-scored, so engagement decay shows.
    pub lead_decay_days: u32,
}

/// The RPC and arguments of one batch of `job`; `None` for lead-score decay, which the edge
/// runs itself because the scoring engine is Rust.
pub fn rpc_call(job: Job, settings: &JobSettings) -> Option<(&'static str, Value)> {
    let batch_size = job.batch_size();
    match job {
        Job::Erasures => Some(("cleanup_due_erasures", json!({ "batch_size": batch_size }))),
        Job::ExpiredTokens => Some((
            "cleanup_expired_tokens",
            json!({ "batch_size": batch_size }),
        )),
        Job::LogRetention => Some(("cleanup_system_logs", json!({ "batch_size": batch_size }))),
        Job::RateLimitCounters => Some((
            "cleanup_rate_limit_counters",
            json!({ "batch_size": batch_size }),
        )),
        Job::WebhookRetention => Some((
            "cleanup_webhook_events",
            json!({ "batch_size": batch_size, "retention_days": settings.webhook_retention_days }),
        )),
        Job::WebhookRetries => Some((
            "retry_due_webhook_events",
            json!({ "batch_size": batch_size, "max_attempts": settings.webhook_max_attempts }),
        )),
        Job::SecurityEventRetention => Some((
            "cleanup_security_events",
            json!({ "batch_size": batch_size }),
        )),
        Job::LeadScoreDecay => None,
    }
}

/// What one batch did: how many rows it picked up and how many of those it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub taken: u64,
    pub changed: u64,
}

impl BatchOutcome {
    /// A full batch that changed something may have left more behind; a short batch, or one
    /// that changed nothing (rows it cannot handle would come back forever), ends the job.
    pub fn more_may_remain(self, batch_size: u32) -> bool {
        self.taken >= u64::from(batch_size) && self.changed > 0
    }
}

/// Reads a batch's outcome from the counts its RPC returned.
pub fn outcome_of(job: Job, counts: &Value) -> BatchOutcome {
    let count = |key: &str| counts.get(key).and_then(Value::as_u64).unwrap_or(0);
    match job {
        Job::Erasures => BatchOutcome {
            taken: count("erased") + count("failed"),
            changed: count("erased") + count("failed"),
        },
        Job::ExpiredTokens => {
            let most = count("reset_tokens").max(count("invitations"));
            BatchOutcome {
                taken: most,
                changed: most,
            }
        }
        Job::LogRetention
        | Job::RateLimitCounters
        | Job::WebhookRetention
        | Job::SecurityEventRetention => BatchOutcome {
            taken: count("deleted"),
            changed: count("deleted"),
        },
        // Every retried event changes: it is applied, or its attempts and next attempt move on.
        Job::WebhookRetries => BatchOutcome {
            taken: count("retried"),
            changed: count("retried"),
        },
        // A lead marked unscorable leaves the queue: that is progress too.
        Job::LeadScoreDecay => BatchOutcome {
            taken: count("listed"),
            changed: count("rescored") + count("unscorable"),
        },
    }
}

/// Adds every numeric field of `counts` (one level of nesting, e.g. `by_level`) to `totals`.
pub fn add_counts(totals: &mut Map<String, Value>, counts: &Value) {
    let Some(fields) = counts.as_object() else {
        return;
    };
    for (key, value) in fields {
        match value {
            Value::Number(number) => {
                let sum = totals.get(key).and_then(Value::as_u64).unwrap_or(0)
                    + number.as_u64().unwrap_or(0);
                totals.insert(key.clone(), Value::from(sum));
            }
            Value::Object(_) => {
                let entry = totals
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(nested) = entry {
                    add_counts(nested, value);
                }
            }
            _ => {}
        }
    }
}

/// The run's time budget. A batch starts only when the time spent so far plus the longest
/// batch seen in this run still fits, so the run never overshoots by more than one batch's
/// misjudged length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    started_ms: u64,
    limit_ms: u64,
    longest_batch_ms: u64,
}

impl Budget {
    pub fn new(started_ms: u64, limit_ms: u64) -> Budget {
        Budget {
            started_ms,
            limit_ms,
            longest_batch_ms: 0,
        }
    }

    pub fn limit_ms(self) -> u64 {
        self.limit_ms
    }

    pub fn elapsed_ms(self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.started_ms)
    }

    pub fn may_start_batch(self, now_ms: u64) -> bool {
        let elapsed = self.elapsed_ms(now_ms);
        elapsed < self.limit_ms && elapsed + self.longest_batch_ms <= self.limit_ms
    }

    pub fn record_batch(&mut self, took_ms: u64) {
        self.longest_batch_ms = self.longest_batch_ms.max(took_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> JobSettings {
        JobSettings {
            webhook_max_attempts: 8,
            webhook_retention_days: 30,
            lead_decay_days: 7,
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_two_triggers_split_the_jobs_and_together_cover_all() {
        let frequent = jobs_for_cron(FREQUENT_CRON);
        let daily = jobs_for_cron(DAILY_CRON);
        assert!(frequent.recognised && daily.recognised);
        assert!(frequent.jobs.contains(&Job::Erasures));
        assert!(daily.jobs.contains(&Job::LogRetention));
        assert!(!frequent.jobs.contains(&Job::LogRetention));
        for job in Job::ALL {
            assert!(
                frequent.jobs.contains(&job) != daily.jobs.contains(&job),
                "{job:?} in exactly one trigger"
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn extra_spaces_still_match_and_an_unknown_expression_runs_everything() {
        assert_eq!(
            jobs_for_cron("*/15  *  * * *").jobs,
            jobs_for_cron(FREQUENT_CRON).jobs
        );
        let unknown = jobs_for_cron("0 * * * *");
        assert!(!unknown.recognised);
        assert_eq!(unknown.jobs, Job::ALL.to_vec());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn job_names_round_trip_and_match_serde() {
        for job in Job::ALL {
            assert_eq!(Job::from_name(job.name()), Some(job));
            assert_eq!(serde_json::to_value(job).unwrap(), Value::from(job.name()));
        }
        assert_eq!(Job::from_name("everything"), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn rpc_calls_carry_the_settings() {
        let (name, args) = rpc_call(Job::WebhookRetries, &settings()).unwrap();
        assert_eq!(name, "retry_due_webhook_events");
        assert_eq!(args, json!({ "batch_size": 50, "max_attempts": 8 }));
        let (name, args) = rpc_call(Job::WebhookRetention, &settings()).unwrap();
        assert_eq!(name, "cleanup_webhook_events");
        assert_eq!(args["retention_days"], 30);
        assert!(rpc_call(Job::LeadScoreDecay, &settings()).is_none());
        for job in Job::ALL
            .into_iter()
            .filter(|job| *job != Job::LeadScoreDecay)
        {
            assert_eq!(
                rpc_call(job, &settings()).unwrap().1["batch_size"],
                job.batch_size()
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_job_continues_only_after_a_full_batch_that_changed_something() {
        let full = outcome_of(Job::Erasures, &json!({ "erased": 7, "failed": 3 }));
        assert_eq!(
            full,
            BatchOutcome {
                taken: 10,
                changed: 10
            }
        );
        assert!(full.more_may_remain(Job::Erasures.batch_size()));
        let short = outcome_of(Job::Erasures, &json!({ "erased": 2, "failed": 0 }));
        assert!(!short.more_may_remain(Job::Erasures.batch_size()));
        let stuck = outcome_of(
            Job::LeadScoreDecay,
            &json!({ "listed": 200, "rescored": 0, "unscorable": 0 }),
        );
        assert!(!stuck.more_may_remain(Job::LeadScoreDecay.batch_size()));
        let marked = outcome_of(
            Job::LeadScoreDecay,
            &json!({ "listed": 200, "rescored": 0, "unscorable": 200 }),
        );
        assert!(
            marked.more_may_remain(Job::LeadScoreDecay.batch_size()),
            "marked leads left the queue; the next batch is new work"
        );
        let tokens = outcome_of(
            Job::ExpiredTokens,
            &json!({ "reset_tokens": 3, "invitations": 1000 }),
        );
        assert!(tokens.more_may_remain(Job::ExpiredTokens.batch_size()));
        assert_eq!(
            outcome_of(Job::LogRetention, &json!({})),
            BatchOutcome {
                taken: 0,
                changed: 0
            }
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn counts_add_up_across_batches_including_nested_ones() {
        let mut totals = Map::new();
        add_counts(
            &mut totals,
            &json!({ "deleted": 3, "by_level": { "info": 2, "debug": 1 }, "note": "x" }),
        );
        add_counts(
            &mut totals,
            &json!({ "deleted": 4, "by_level": { "info": 4 } }),
        );
        assert_eq!(
            Value::Object(totals),
            json!({ "deleted": 7, "by_level": { "info": 6, "debug": 1 } })
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_budget_stops_before_a_batch_that_would_not_fit() {
        let mut budget = Budget::new(1_000, 100);
        assert!(budget.may_start_batch(1_000));
        budget.record_batch(40);
        assert!(
            budget.may_start_batch(1_060),
            "60 spent + 40 expected = 100 fits"
        );
        assert!(!budget.may_start_batch(1_061));
        budget.record_batch(10);
        assert!(
            !budget.may_start_batch(1_061),
            "the longest batch still counts"
        );
        assert_eq!(
            budget.elapsed_ms(900),
            0,
            "a clock going backwards is not negative time"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_tiny_budget_allows_the_first_batch_and_nothing_after_it() {
        let mut budget = Budget::new(0, 1);
        assert!(budget.may_start_batch(0));
        budget.record_batch(3);
        assert!(!budget.may_start_batch(3));
        assert!(!Budget::new(0, 0).may_start_batch(0));
    }
}
