//! The webhook intake with the rate limiter behind its hook: verified deliveries spend their
//! provider's budget, refused ones their source IP's (functions/rate-limit/src/guard.rs).

use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::registry::Function;
use worker::{Request, Response};

/// `webhooks::FUNCTION` with its deliveries charged to the limiter.
pub const FUNCTION: Function = Function {
    handle: |req, context| Box::pin(handle(req, context)),
    ..webhooks::FUNCTION
};

async fn handle(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    let limits = WebhookLimits {
        client_ip: http::header(&req, "cf-connecting-ip"),
        context: context.clone(),
    };
    webhooks::handle_limited(req, context, &limits).await
}

struct WebhookLimits {
    context: RequestContext,
    client_ip: Option<String>,
}

impl webhooks::DeliveryLimits for WebhookLimits {
    async fn verified(
        &self,
        provider: webhooks::Provider,
    ) -> Result<Vec<(&'static str, String)>, ApiError> {
        rate_limiter::guard::charge_verified_delivery(&self.context, provider.as_str()).await
    }

    async fn unverified(&self) {
        rate_limiter::guard::charge_unverified_delivery(&self.context, self.client_ip.as_deref())
            .await
    }
}
