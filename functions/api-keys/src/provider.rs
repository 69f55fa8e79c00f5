//! Sends a health-check request to a provider and reads only its status. Redirects are not
//! followed, so the key is never carried to a host the catalogue did not name; the body is
//! never read. The header values holding the key become JavaScript strings for `fetch`, which
//! Rust cannot wipe; the Rust copies are wiped when the request is dropped.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{
    AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
};

use crate::catalogue::{ProbeRequest, ProbeVerdict};

pub async fn probe(request: ProbeRequest, timeout_ms: u64) -> ProbeVerdict {
    let headers = Headers::new();
    for (name, value) in &request.headers {
        if headers.set(name, value).is_err() {
            return ProbeVerdict::Unreachable;
        }
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    let Ok(outgoing) = Request::new_with_init(&request.url, &init) else {
        return ProbeVerdict::Unreachable;
    };
    drop(request);
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(outgoing);
    let sending = pin!(fetch.send_with_signal(&signal));
    let deadline = pin!(Delay::from(Duration::from_millis(timeout_ms)));
    match select(sending, deadline).await {
        Either::Left((Ok(response), _)) => ProbeVerdict::from_status(response.status_code()),
        Either::Left((Err(_), _)) => ProbeVerdict::Unreachable,
        Either::Right(_) => {
            controller.abort();
            ProbeVerdict::TimedOut {
                after_ms: timeout_ms,
            }
        }
    }
}
