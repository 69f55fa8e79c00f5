//! Runs `shared::auth`'s async verification natively: with RustCrypto every signature check and
//! every fetch here completes without waiting on anything outside the future.

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
/// would wait forever natively: that is a finding, so it panics instead of hanging.
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
