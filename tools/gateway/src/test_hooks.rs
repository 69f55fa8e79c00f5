//! Hooks for the gateway's own tests, compiled only with the `test-hooks` feature (which only
//! the tests turn on) and set in-process through `Gateway::state`: no request can reach them.

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct TestHooks {
    panic_next_transaction: AtomicBool,
}

impl TestHooks {
    /// The next request whose statement has run but whose transaction has not ended yet (a
    /// singular response, checked before COMMIT) panics there, as a bug in that window would.
    pub fn panic_next_transaction(&self) {
        self.panic_next_transaction.store(true, Ordering::SeqCst);
    }

    pub(crate) fn take_panic(&self) -> bool {
        self.panic_next_transaction.swap(false, Ordering::SeqCst)
    }
}
