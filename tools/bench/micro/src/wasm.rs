//! The exports `run.mjs` drives: it builds the suite once, then times `run(index, n)` calls
//! with `performance.now()`, so the clock never enters the measured code.

use wasm_bindgen::prelude::wasm_bindgen;

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
        self.cases.get(index).map(|case| case.id.to_string()).unwrap_or_default()
    }

    pub fn description(&self, index: usize) -> String {
        self.cases.get(index).map(|case| case.description.to_string()).unwrap_or_default()
    }

    /// Runs case `index` `iterations` times; how many operations succeeded (0 for no such case).
    pub fn run(&self, index: usize, iterations: u32) -> u32 {
        self.cases.get(index).map_or(0, |case| case.run(iterations))
    }
}

impl Default for Suite {
    fn default() -> Self {
        Suite::new()
    }
}
