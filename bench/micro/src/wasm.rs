//! The exports `run.mjs` drives: it builds the suite once, then times `run(index, n)` calls (or
//! awaits `run_async(index, n)` for the cases that await WebCrypto) with `performance.now()`, so
//! the clock never enters the measured code.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::{all_cases, Case};

#[wasm_bindgen]
pub struct Suite {
    cases: Vec<Case>,
}

#[wasm_bindgen]
impl Suite {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Suite {
        Suite { cases: all_cases() }
    }

    pub fn count(&self) -> usize {
        self.cases.len()
    }

    pub fn id(&self, index: usize) -> String {
        self.cases
            .get(index)
            .map(|case| case.id.to_string())
            .unwrap_or_default()
    }

    pub fn description(&self, index: usize) -> String {
        self.cases
            .get(index)
            .map(|case| case.description.to_string())
            .unwrap_or_default()
    }

    /// Whether case `index` must be run with [`Suite::run_async`] (it awaits WebCrypto).
    pub fn is_async(&self, index: usize) -> bool {
        self.cases.get(index).is_some_and(Case::is_async)
    }

    /// Runs case `index` `iterations` times; how many operations succeeded (0 for no such case).
    pub fn run(&self, index: usize, iterations: u32) -> u32 {
        self.cases.get(index).map_or(0, |case| case.run(iterations))
    }

    /// Like [`Suite::run`], awaiting each operation: a promise of how many succeeded.
    pub fn run_async(&self, index: usize, iterations: u32) -> js_sys::Promise {
        let operations = self.cases.get(index).map(|case| case.run_async(iterations));
        wasm_bindgen_futures::future_to_promise(async move {
            let succeeded = match operations {
                Some(operations) => operations.await,
                None => 0,
            };
            Ok(JsValue::from(succeeded))
        })
    }
}

impl Default for Suite {
    fn default() -> Self {
        Suite::new()
    }
}
