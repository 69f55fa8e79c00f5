//! The cases: each is a named operation run `iterations` times, returning how many succeeded.

mod jwt;
mod limiter;
mod scoring;
mod vault;
mod webhooks;

pub struct Case {
    /// Stable identifier used in bench/results.json.
    pub id: &'static str,
    pub description: &'static str,
    run: Box<dyn Fn(u32) -> u32>,
}

impl Case {
    fn new(id: &'static str, description: &'static str, run: impl Fn(u32) -> u32 + 'static) -> Case {
        Case { id, description, run: Box::new(run) }
    }

    /// Runs the operation `iterations` times; the count of operations that succeeded.
    pub fn run(&self, iterations: u32) -> u32 {
        (self.run)(iterations)
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
