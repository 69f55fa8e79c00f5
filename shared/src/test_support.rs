//! What the crate's async tests share: [`async_test!`] declares a test once for both targets
//! (natively through `crate::executor::block_on`), and [`Gate`] holds a future back until a test
//! lets it go.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// Declares an async test that runs natively through `crate::executor::block_on` (RustCrypto,
/// where every signature check completes at once) and on wasm32 in Node through wasm-bindgen-test
/// (WebCrypto, whose promises the JS event loop settles): the same assertions against both
/// backends.
macro_rules! async_test {
    ($(#[$meta:meta])* async fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[cfg(not(target_arch = "wasm32"))]
        #[test]
        fn $name() {
            $crate::executor::block_on(async $body)
        }

        $(#[$meta])*
        #[cfg(target_arch = "wasm32")]
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $name() $body
    };
}

/// Closed until [`Gate::open`]; [`Gate::pass`] waits for that.
#[derive(Clone, Default)]
pub struct Gate {
    state: Rc<GateState>,
}

#[derive(Default)]
struct GateState {
    open: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
}

impl Gate {
    pub fn open(&self) {
        self.state.open.set(true);
        for waiter in self.state.waiters.borrow_mut().drain(..) {
            waiter.wake();
        }
    }

    pub fn pass(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|context| {
            if self.state.open.get() {
                Poll::Ready(())
            } else {
                self.state
                    .waiters
                    .borrow_mut()
                    .push(context.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// Lets every other future of a `join` run once before going on.
pub async fn yield_now() {
    crate::auth::yield_once().await
}

/// Polls `future` once and says whether it finished (its output is dropped).
pub async fn poll_once<F: Future + Unpin>(future: &mut F) -> bool {
    std::future::poll_fn(|context| Poll::Ready(Pin::new(&mut *future).poll(context).is_ready()))
        .await
}
