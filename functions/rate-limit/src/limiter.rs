//! One charge against one key: pick the store, ask it, and apply the endpoint's failure mode
//! when it cannot answer. The guard and the `/check` endpoint both go through here, so they
//! cannot disagree.

use crate::gcra::{Quota, Refusal, Verdict};
use crate::policy::{EndpointSettings, FailureMode};
use crate::store::{self, Store, StoreError};
use shared::http::RequestContext;

pub struct Charge<'a> {
    /// The endpoint whose budget is spent (also part of the state's key).
    pub endpoint: &'a str,
    pub key: &'a str,
    pub quota: Quota,
    pub cost: u32,
    pub settings: EndpointSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Decided {
        verdict: Verdict,
        store: Store,
    },
    /// The store could not answer; what to do is the endpoint's failure mode.
    StoreDown {
        failure_mode: FailureMode,
    },
}

pub async fn charge(context: &RequestContext, charge: Charge<'_>) -> Outcome {
    let store = match store::pick(context, charge.settings.store) {
        Ok(store) => store,
        Err(error) => return store_down(context, &charge, error),
    };
    // A cost above the whole quota can never fit; ask for the state without spending anything
    // so the answer still reports what is left.
    let impossible = charge.cost > charge.quota.max_requests();
    let cost = if impossible { 0 } else { charge.cost };
    match store::check(
        context,
        store,
        charge.endpoint,
        charge.key,
        charge.quota,
        cost,
    )
    .await
    {
        Ok(mut verdict) => {
            if impossible {
                verdict.refusal = Some(Refusal::CostExceedsQuota);
                verdict.retry_after_ms = 0;
            }
            Outcome::Decided { verdict, store }
        }
        Err(error) => store_down(context, &charge, error),
    }
}

fn store_down(context: &RequestContext, charge: &Charge<'_>, error: StoreError) -> Outcome {
    let failure_mode = charge.settings.failure_mode;
    shared::logging::emit(
        &serde_json::json!({
            "level": "error",
            "msg": "rate-limit: store unavailable",
            "request_id": context.request_id(),
            "endpoint": charge.endpoint,
            "store": error.store,
            "problem": error.problem,
            "failure_mode": match failure_mode { FailureMode::Open => "open", FailureMode::Closed => "closed" },
        })
        .to_string(),
    );
    Outcome::StoreDown { failure_mode }
}
