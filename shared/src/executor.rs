//! Runs this crate's async code to completion natively, on the calling thread: with RustCrypto
//! every signature check and every in-memory fetch completes without waiting on anything outside
//! the future. The crate's own tests use it (`test_support::async_test!`), and so do the fuzz
//! targets (fuzz/, through the `native-executor` feature).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct WokenFlag(AtomicBool);

impl Wake for WokenFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls `future` to completion on this thread. A future that waits while nothing has woken it
/// would wait forever natively: that is a bug in the caller's setup, so it panics instead of
/// hanging.
pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    let woken = Arc::new(WokenFlag(AtomicBool::new(false)));
    let waker = Waker::from(Arc::clone(&woken));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        assert!(
            woken.0.swap(false, Ordering::SeqCst),
            "a future waits for something nothing will wake"
        );
    }
}
