//! HTTP in and out for the two delivery endpoints. Each reads the raw body within the size
//! limit, verifies it byte for byte, lets the rate limiter charge the provider (or, for a
//! delivery that fails verification, its source), reads the envelope, stores the event and
//! answers 200; every refusal happens before anything is stored.
//!
//! Status codes are chosen for the provider's retry logic: 400 only for a delivery that can
//! never succeed (bad or missing signature, timestamp outside tolerance, not an event), 413 for
//! a body over the limit, 5xx when we could not store an authentic event (so it is retried).

use crate::config;
use crate::envelope::{Provider, VerifiedEvent};
use crate::error::VerifyError;
use crate::intake::{self, IntakeOutcome};
use crate::limits::DeliveryLimits;
use crate::sources::Sources;
use crate::stripe;
use crate::svix::SvixHeaders;
use serde_json::json;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::{clock, logging};
use worker::{Request, Response};

pub async fn receive_stripe(
    mut req: Request,
    context: &RequestContext,
    limits: &impl DeliveryLimits,
) -> Result<Response, ApiError> {
    let verifier = config::stripe(context.env())?;
    let body = match http::read_body(&mut req, context.config()?.max_body_bytes).await {
        Ok(body) => body,
        Err(unreadable) => return refused(limits, unreadable).await,
    };
    let signature = http::header(&req, stripe::SIGNATURE_HEADER);
    let verified = match verifier.verify(signature.as_deref(), &body, clock::now_seconds()) {
        Ok(verified) => verified,
        Err(error) => return refused(limits, signature_refused(error)).await,
    };
    let fields = limits.verified(Provider::Stripe).await?;
    let event = VerifiedEvent::from_stripe(&verified)?;
    accept(context, event, fields).await
}

pub async fn receive_resend(
    mut req: Request,
    context: &RequestContext,
    limits: &impl DeliveryLimits,
) -> Result<Response, ApiError> {
    let verifier = config::resend(context.env())?;
    let body = match http::read_body(&mut req, context.config()?.max_body_bytes).await {
        Ok(body) => body,
        Err(unreadable) => return refused(limits, unreadable).await,
    };
    let headers = SvixHeaders::from_lookup(|name| http::header(&req, name));
    let verified = match verifier.verify(&headers, &body, clock::now_seconds()) {
        Ok(verified) => verified,
        Err(error) => return refused(limits, signature_refused(error)).await,
    };
    let fields = limits.verified(Provider::Resend).await?;
    let event = VerifiedEvent::from_resend(&verified)?;
    accept(context, event, fields).await
}

/// A delivery from a configured Standard Webhooks source (crate::sources); a name that is no
/// configured source is no route.
pub async fn receive_source(
    mut req: Request,
    context: &RequestContext,
    name: &str,
    limits: &impl DeliveryLimits,
) -> Result<Response, ApiError> {
    let sources = Sources::from_source(context.env())?;
    let Some(verifier) = sources.verifier(name) else {
        return refused(limits, http::no_route(context)).await;
    };
    let body = match http::read_body(&mut req, context.config()?.max_body_bytes).await {
        Ok(body) => body,
        Err(unreadable) => return refused(limits, unreadable).await,
    };
    let headers = SvixHeaders::from_lookup(|name| http::header(&req, name));
    let verified = match verifier.verify(&headers, &body, clock::now_seconds()) {
        Ok(verified) => verified,
        Err(error) => return refused(limits, signature_refused(error)).await,
    };
    let fields = limits.verified(Provider::Standard).await?;
    let event = VerifiedEvent::from_source(name, &verified)?;
    accept(context, event, fields).await
}

async fn accept(
    context: &RequestContext,
    event: VerifiedEvent,
    fields: Vec<(&'static str, String)>,
) -> Result<Response, ApiError> {
    let provider = event
        .source
        .clone()
        .unwrap_or_else(|| event.envelope.provider.as_str().to_string());
    let (event_id, event_type) = (event.envelope.id.clone(), event.envelope.event_type.clone());
    let outcome = intake::store(context, event).await?;
    log_outcome(context, &provider, &event_id, &event_type, &outcome);
    let mut response = http::json_response(
        200,
        &json!({ "received": true, "status": outcome.status, "event": outcome.event }),
    )?;
    for (name, value) in fields {
        let _ = response.headers_mut().set(name, &value);
    }
    Ok(response)
}

/// One line per stored delivery, next to the router's request line: which event, and what
/// became of it. A failure's error is the database's message about the event, never a body.
fn log_outcome(
    context: &RequestContext,
    provider: &str,
    event_id: &str,
    event_type: &str,
    outcome: &IntakeOutcome,
) {
    let level = if outcome.status == "failed" {
        "warn"
    } else {
        "info"
    };
    let line = json!({
        "level": level,
        "msg": "webhook",
        "request_id": context.request_id(),
        "provider": provider,
        "event_id": event_id,
        "event_type": event_type,
        "status": outcome.status,
        "reason": outcome.reason,
        "error": outcome.error,
    });
    logging::emit(&line.to_string());
}

/// A delivery refused before it was verified (unreadable, too large, a bad signature): the
/// limiter counts it against its source.
async fn refused(limits: &impl DeliveryLimits, error: ApiError) -> Result<Response, ApiError> {
    limits.unverified().await;
    Err(error)
}

fn signature_refused(error: VerifyError) -> ApiError {
    ApiError::bad_request(error.code(), error.to_string())
}
