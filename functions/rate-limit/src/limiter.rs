//! One charge against one key: pick the store, ask it (or spend from this isolate's lease of
//! it, [`crate::lease`]), and apply the endpoint's failure mode when it cannot answer. The
//! guard and the `/check` endpoint both go through here, so they cannot disagree.

use crate::gcra::{Quota, Refusal, Verdict};
use crate::lease::{Answer, Asked, LeaseBook, Leased, Local};
use crate::policy::{EndpointSettings, FailureMode, Mode};
use crate::store::{self, Store, StoreError};
use shared::http::RequestContext;
use std::cell::RefCell;

thread_local! {
    /// This isolate's leases, by Durable Object name.
    static LEASES: RefCell<LeaseBook> = RefCell::default();
}

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
    let leased = Leased::new(charge.quota).filter(|_| {
        store == Store::DurableObject && charge.settings.mode == Mode::Lease && charge.cost <= 1
    });
    if let Some(leased) = leased {
        return charge_leased(context, &charge, leased).await;
    }
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

/// [`charge`] in lease mode: from this isolate's lease when it holds one, else from a lease
/// asked of the object now; a lease half spent is refilled after the response.
async fn charge_leased(context: &RequestContext, charge: &Charge<'_>, leased: Leased) -> Outcome {
    let name = store::object_name(charge.endpoint, charge.key);
    let spend = charge.cost == 1;
    let asked_at = shared::clock::now_millis();
    let answer = match LEASES.with(|book| book.borrow_mut().take(&name, leased, spend, asked_at)) {
        Local::Admitted { verdict, refill } => Answer::Admitted { verdict, refill },
        Local::Refused(verdict) => Answer::Refused(verdict),
        Local::Ask { size } => {
            let asked = Asked {
                size,
                at_ms: asked_at,
            };
            let answer =
                store::lease(context, charge.endpoint, charge.key, charge.quota, size).await;
            let now = shared::clock::now_millis();
            let grant = match answer {
                Ok(grant) => grant,
                Err(error) => {
                    LEASES.with(|book| book.borrow_mut().ask_failed(&name, leased, asked, now));
                    return store_down(context, charge, error);
                }
            };
            LEASES.with(|book| {
                book.borrow_mut()
                    .settle_ask(&name, leased, spend, asked, grant, now)
            })
        }
    };
    let verdict = match answer {
        Answer::Admitted { verdict, refill } => {
            if refill {
                refill_in_background(context, charge, name, leased);
            }
            verdict
        }
        Answer::Refused(verdict) => verdict,
    };
    Outcome::Decided {
        verdict,
        store: Store::DurableObject,
    }
}

/// Asks the object for the next lease of `name` after the response (`ctx.waitUntil`).
fn refill_in_background(
    context: &RequestContext,
    charge: &Charge<'_>,
    name: String,
    leased: Leased,
) {
    let background = context.clone();
    let (endpoint, key) = (charge.endpoint.to_string(), charge.key.to_string());
    context.wait_until(async move {
        let asked_at = shared::clock::now_millis();
        let size = leased.terms.size;
        let grant = match store::lease(&background, &endpoint, &key, leased.quota, size).await {
            Ok(grant) => Some(grant),
            Err(error) => {
                log_store_error(&background, &endpoint, &error, "refill-later");
                None
            }
        };
        let now = shared::clock::now_millis();
        LEASES.with(|book| {
            book.borrow_mut()
                .settle_refill(&name, leased, grant, asked_at, now)
        });
    });
}

fn store_down(context: &RequestContext, charge: &Charge<'_>, error: StoreError) -> Outcome {
    let failure_mode = charge.settings.failure_mode;
    let answer = match failure_mode {
        FailureMode::Open => "open",
        FailureMode::Closed => "closed",
    };
    log_store_error(context, charge.endpoint, &error, answer);
    Outcome::StoreDown { failure_mode }
}

/// One log line per store failure; `failure_mode` says what the request got (`open`,
/// `closed`) or that nothing waited for the answer (`refill-later`).
fn log_store_error(
    context: &RequestContext,
    endpoint: &str,
    error: &StoreError,
    failure_mode: &str,
) {
    shared::logging::emit(
        &serde_json::json!({
            "level": "error",
            "msg": "rate-limit: store unavailable",
            "request_id": context.request_id(),
            "endpoint": endpoint,
            "store": error.store,
            "problem": error.problem,
            "failure_mode": failure_mode,
        })
        .to_string(),
    );
}
