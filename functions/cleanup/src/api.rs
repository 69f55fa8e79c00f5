//! `POST /functions/v1/cleanup/run`: runs jobs on demand for a scheduler or an operator.
//! Body (optional): `{"jobs": ["erasures", ...], "budget_ms": N}`; without `jobs`, every job.
//! Who may call it is declared with every other privileged endpoint in `shared::privileged`
//! (`PrivilegedEndpoint::CleanupRun`): the secret key, a service_role JWT, `CLEANUP_SECRET`
//! (`x-cleanup-secret` or Bearer) or a maintenance role token this Worker minted.

use crate::config::MAX_BUDGET_MS;
use crate::plan::Job;
use crate::run::{record_summary, run_jobs};
use crate::summary::Trigger;
use serde::Deserialize;
use shared::auth::DatabaseRole;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::privileged::PrivilegedEndpoint;
use shared::security_events;
use worker::{Request, Response};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    #[serde(default)]
    jobs: Option<Vec<String>>,
    #[serde(default)]
    budget_ms: Option<u64>,
}

pub async fn run(mut req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let config = crate::config::parsed(context.env())?;
    let authorized = context
        .privileged_caller(
            &req,
            PrivilegedEndpoint::CleanupRun,
            config.secret.as_deref(),
        )
        .await;
    security_events::record_privileged_call(context, &req, "cleanup/run", &authorized, true).await;
    authorized?;
    let body: RunBody = http::read_optional_json(&mut req, context).await?;
    let jobs = selected_jobs(body.jobs.as_deref())?;
    let budget_ms = match body.budget_ms {
        None => config.budget_ms,
        Some(budget) if (1..=MAX_BUDGET_MS).contains(&budget) => budget,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "budget_ms",
                format!("must be a whole number of milliseconds from 1 to {MAX_BUDGET_MS}"),
            ))
        }
    };
    let db = context
        .db_as_role(DatabaseRole::Maintenance, "cleanup")
        .await?;
    let summary = run_jobs(&db, &jobs, &config.jobs, budget_ms, Trigger::Request).await;
    record_summary(&db, &summary).await?;
    http::json_response(200, &summary)
}

fn selected_jobs(names: Option<&[String]>) -> Result<Vec<Job>, ApiError> {
    let Some(names) = names else {
        return Ok(Job::ALL.to_vec());
    };
    if names.is_empty() {
        return Err(ApiError::invalid_field(
            "jobs",
            "must name at least one job; leave it out to run every job",
        ));
    }
    let known = || Job::ALL.map(Job::name).join(", ");
    let mut jobs = Vec::with_capacity(names.len());
    for name in names {
        let job = Job::from_name(name).ok_or_else(|| {
            ApiError::invalid_field("jobs", format!("unknown job '{name}'; known: {}", known()))
        })?;
        if !jobs.contains(&job) {
            jobs.push(job);
        }
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn jobs_default_to_all_and_keep_the_callers_order_without_repeats() {
        assert_eq!(selected_jobs(None).unwrap(), Job::ALL.to_vec());
        let chosen = selected_jobs(Some(&names(&[
            "expired_tokens",
            "erasures",
            "expired_tokens",
        ])))
        .unwrap();
        assert_eq!(chosen, vec![Job::ExpiredTokens, Job::Erasures]);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn unknown_or_no_jobs_are_refused_naming_the_field() {
        let unknown = selected_jobs(Some(&names(&["vacuum"]))).unwrap_err();
        assert_eq!(unknown.status, 400);
        assert!(unknown.message.contains("vacuum") && unknown.message.contains("erasures"));
        assert_eq!(selected_jobs(Some(&[])).unwrap_err().status, 400);
    }
}
