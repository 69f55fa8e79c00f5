//! Hands a verified event to the database: one call to the `receive_webhook_event` RPC (or,
//! for a configured source, `receive_source_webhook_event`), as the narrow `webhook_ingest`
//! role, which stores it (unique per provider, source and event id) and applies its effects in
//! the same transaction.

use crate::envelope::{Provider, VerifiedEvent};
use serde::Deserialize;
use serde_json::{json, Value};
use shared::auth::DatabaseRole;
use shared::error::ApiError;
use shared::http::RequestContext;

/// What the RPC reports: `processed`, `ignored` (unknown type or older than what is applied),
/// `failed` (stored, kept for retry by the cleanup job) or `duplicate` (stored before).
#[derive(Debug, Clone, Deserialize)]
pub struct IntakeOutcome {
    pub status: String,
    pub event: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

pub async fn store(
    context: &RequestContext,
    event: VerifiedEvent,
) -> Result<IntakeOutcome, ApiError> {
    let provider = event.envelope.provider;
    let (job, function) = match provider {
        Provider::Stripe => ("stripe-webhook-intake", "receive_webhook_event"),
        Provider::Resend => ("resend-webhook-intake", "receive_webhook_event"),
        Provider::Standard => ("source-webhook-intake", "receive_source_webhook_event"),
    };
    let db = context.db_as_role(DatabaseRole::WebhookIngest, job).await?;
    let mut args = json!({
        "event_id": event.envelope.id,
        "event_type": event.envelope.event_type,
        "payload": Value::Object(event.payload),
    });
    match event.source {
        Some(source) => args["source"] = json!(source),
        None => args["provider"] = json!(provider.as_str()),
    }
    shared::db::fetch_json(db.rpc(function, &args))
        .await
        .map_err(provider_must_retry)
}

/// The delivery is authentic, so any failure to store it is ours and must not look final to
/// the provider: Stripe stops retrying on a 4xx. A refusal by the database here (an expired
/// role token, a missing grant or migration) becomes a 500; outages stay 503 with Retry-After.
fn provider_must_retry(error: ApiError) -> ApiError {
    if error.status >= 500 {
        return error;
    }
    let mut details = error.details.clone().unwrap_or_else(|| json!({}));
    details["db_status"] = json!(error.status);
    let cause = error.log_text();
    ApiError::internal("the event could not be stored; it will be accepted when retried")
        .with_details(details)
        .with_cause(cause)
}
