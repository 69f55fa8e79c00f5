//! The slowest input of a fuzzing run. libFuzzer's own timeout counts whole seconds, far above
//! the 100 ms goal, so each target times its calls and, when `RLS_EDGE_FUZZ_SLOWEST_DIR` names a
//! directory, keeps there (as a file named after the target) the slowest input it has seen.
//! `npm run fuzz` then times that input and the corpus again natively, without sanitizers, and
//! reports the slowest: that is the figure checked against the goal.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub const DIRECTORY_VARIABLE: &str = "RLS_EDGE_FUZZ_SLOWEST_DIR";

static SLOWEST_NANOS: AtomicU64 = AtomicU64::new(0);

/// Runs the target called `name` on `data`, keeping `data` when it is the slowest so far.
pub fn timed(name: &str, data: &[u8]) {
    let Some(run) = crate::target(name) else {
        panic!("fuzz target {name:?} is not listed in TARGETS");
    };
    let started = Instant::now();
    run(data);
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    if nanos > SLOWEST_NANOS.fetch_max(nanos, Ordering::Relaxed) {
        keep(name, data);
    }
}

/// Best effort: the file feeds a figure, and a failed write must not stop the run.
fn keep(name: &str, data: &[u8]) {
    if let Some(directory) = std::env::var_os(DIRECTORY_VARIABLE) {
        let _ = std::fs::write(Path::new(&directory).join(name), data);
    }
}
