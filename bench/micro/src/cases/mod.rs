//! The cases: each is a named operation run `iterations` times, returning how many succeeded.
//! Most are plain calls; the JWT cases are async because WebCrypto is (natively their futures
//! complete at once).

use std::future::Future;
use std::pin::Pin;

mod jwt;
mod limiter;
mod scoring;
mod vault;
mod webhooks;

pub struct Case {
    /// Stable identifier used in bench/results.json.
    pub id: &'static str,
    pub description: &'static str,
    run: Runner,
}

/// `iterations` operations: how many succeeded.
pub type OperationsFuture = Pin<Box<dyn Future<Output = u32>>>;

enum Runner {
    Sync(Box<dyn Fn(u32) -> u32>),
    Async(Box<dyn Fn(u32) -> OperationsFuture>),
}

impl Case {
    fn new(
        id: &'static str,
        description: &'static str,
        run: impl Fn(u32) -> u32 + 'static,
    ) -> Case {
        Case {
            id,
            description,
            run: Runner::Sync(Box::new(run)),
        }
    }

    fn new_async(
        id: &'static str,
        description: &'static str,
        run: impl Fn(u32) -> OperationsFuture + 'static,
    ) -> Case {
        Case {
            id,
            description,
            run: Runner::Async(Box::new(run)),
        }
    }

    pub fn is_async(&self) -> bool {
        matches!(self.run, Runner::Async(_))
    }

    /// Runs the operation `iterations` times; the count of operations that succeeded. An async
    /// case whose futures do not complete at once (WebCrypto) counts none: use [`Case::run_async`].
    pub fn run(&self, iterations: u32) -> u32 {
        match &self.run {
            Runner::Sync(run) => run(iterations),
            Runner::Async(run) => run_now(run(iterations)).unwrap_or(0),
        }
    }

    /// Runs the operation `iterations` times, awaiting each.
    pub fn run_async(&self, iterations: u32) -> OperationsFuture {
        match &self.run {
            Runner::Sync(run) => {
                let succeeded = run(iterations);
                Box::pin(std::future::ready(succeeded))
            }
            Runner::Async(run) => run(iterations),
        }
    }
}

/// The output of a future that completes without waiting, as RustCrypto's do.
fn run_now(mut future: OperationsFuture) -> Option<u32> {
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(succeeded) => Some(succeeded),
        std::task::Poll::Pending => None,
    }
}

/// Every case, fixtures prepared (keys parsed, tokens signed, bodies built) outside the timing.
pub fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(jwt::cases());
    cases.extend(webhooks::cases());
    cases.extend(vault::cases());
    cases.extend(scoring::cases());
    cases.extend(limiter::cases());
    cases
}
