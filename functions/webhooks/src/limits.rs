//! The intake's one hook for rate limiting. Who sent a delivery is known only once its
//! signature is checked, so the limiter cannot decide everything before the handler runs: the
//! handler tells it about each delivery it verified (charged to the provider, since a provider
//! sends from a few shared addresses) and each one it refused (charged to the source IP, so a
//! flood of forgeries is soon turned away before it is verified).
//!
//! The bundle plugs the rate limiter in here (src/lib.rs); a Worker serving this function
//! alone has no limiter and uses [`NoLimits`].

use crate::envelope::Provider;
use shared::error::ApiError;
use std::future::Future;

pub trait DeliveryLimits {
    /// A delivery from `provider` whose signature checked out, before anything is stored. An
    /// error (a 429) refuses it; otherwise the fields to put on the answer.
    fn verified(
        &self,
        provider: Provider,
    ) -> impl Future<Output = Result<Vec<(&'static str, String)>, ApiError>>;

    /// A request refused before any signature checked out: a bad or missing signature, an
    /// unreadable or oversized body, or no delivery at all (another method or path).
    fn unverified(&self) -> impl Future<Output = ()>;
}

/// No limit at all.
pub struct NoLimits;

impl DeliveryLimits for NoLimits {
    async fn verified(&self, _provider: Provider) -> Result<Vec<(&'static str, String)>, ApiError> {
        Ok(Vec::new())
    }

    async fn unverified(&self) {}
}
