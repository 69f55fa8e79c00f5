//! The few fields of an event the intake needs before handing the whole payload to the
//! database: which provider, the event id (the idempotency key), the event type and when the
//! provider created it. Read only from verified bodies: the constructors take the types that
//! only a successful signature check produces. The body is parsed once, into the payload that
//! is stored.

use crate::stripe::VerifiedStripeBody;
use crate::svix::VerifiedSvixMessage;
use serde_json::{Map, Value};
use shared::error::ApiError;
use std::fmt;

/// Longest event id or type accepted; real ones are a few dozen characters.
pub const MAX_FIELD_CHARS: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Stripe,
    Resend,
    /// A configured Standard Webhooks source (its name is [`VerifiedEvent::source`]).
    Standard,
}

impl Provider {
    /// The name stored with each event in the inbox.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Stripe => "stripe",
            Provider::Resend => "resend",
            Provider::Standard => "standard",
        }
    }
}

/// When the provider created the event, in the form the provider writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Stripe's `created`.
    UnixSeconds(i64),
    /// Resend's `created_at`, an RFC 3339 timestamp kept as sent.
    Rfc3339(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope {
    pub provider: Provider,
    pub id: String,
    pub event_type: String,
    pub created: Created,
}

/// An authentic body that is not an event we can store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    NotJson {
        line: usize,
        column: usize,
    },
    NotAnObject,
    MissingField {
        field: &'static str,
    },
    WrongField {
        field: &'static str,
        expected: &'static str,
    },
    NotSnapshotEvent,
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::NotJson { line, column } => {
                write!(
                    f,
                    "the body is not valid JSON (problem at line {line}, column {column})"
                )
            }
            EnvelopeError::NotAnObject => write!(f, "the body is JSON but not an object"),
            EnvelopeError::MissingField { field } => write!(f, "the event has no `{field}` field"),
            EnvelopeError::WrongField { field, expected } => {
                write!(f, "the event's `{field}` field must be {expected}")
            }
            EnvelopeError::NotSnapshotEvent => write!(
                f,
                "this is not a Stripe snapshot event (`object` is not \"event\"); point a snapshot \
                 event destination at this endpoint, not a thin one"
            ),
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// A verified delivery that is not an event we can read: 400 `invalid_event`.
impl From<EnvelopeError> for ApiError {
    fn from(error: EnvelopeError) -> Self {
        ApiError::bad_request("invalid_event", error.to_string())
    }
}

/// An authentic event: its envelope, and the whole payload for the database to store.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEvent {
    pub envelope: EventEnvelope,
    pub payload: Map<String, Value>,
    /// The configured source's name, for [`Provider::Standard`] only.
    pub source: Option<String>,
}

impl VerifiedEvent {
    pub fn from_stripe(verified: &VerifiedStripeBody<'_>) -> Result<VerifiedEvent, EnvelopeError> {
        let payload = json_object(verified.body())?;
        if let Some(object) = payload.get("object") {
            if object.as_str() != Some("event") {
                return Err(EnvelopeError::NotSnapshotEvent);
            }
        }
        let id = short_text(required(&payload, "id")?, "id")?;
        let event_type = short_text(required(&payload, "type")?, "type")?;
        let created = required(&payload, "created")?
            .as_i64()
            .ok_or(EnvelopeError::WrongField {
                field: "created",
                expected: "Unix seconds",
            })?;
        let envelope = EventEnvelope {
            provider: Provider::Stripe,
            id,
            event_type,
            created: Created::UnixSeconds(created),
        };
        Ok(VerifiedEvent {
            envelope,
            payload,
            source: None,
        })
    }

    /// Resend's payload has no id of its own; the Svix message id, stable across retries,
    /// identifies the event.
    pub fn from_resend(verified: &VerifiedSvixMessage<'_>) -> Result<VerifiedEvent, EnvelopeError> {
        let payload = json_object(verified.body())?;
        let id = short_text(&Value::String(verified.id().to_string()), "svix-id")?;
        let event_type = short_text(required(&payload, "type")?, "type")?;
        let created_at = match required(&payload, "created_at")? {
            Value::String(text) if !text.trim().is_empty() => text.clone(),
            _ => {
                return Err(EnvelopeError::WrongField {
                    field: "created_at",
                    expected: "a timestamp string",
                })
            }
        };
        let envelope = EventEnvelope {
            provider: Provider::Resend,
            id,
            event_type,
            created: Created::Rfc3339(created_at),
        };
        Ok(VerifiedEvent {
            envelope,
            payload,
            source: None,
        })
    }

    /// A Standard Webhooks delivery from the configured source `source`: the `webhook-id` is the
    /// event id, the body's `type` its type, and its `timestamp` (RFC 3339) when it was created,
    /// else the signed `webhook-timestamp`.
    pub fn from_source(
        source: &str,
        verified: &VerifiedSvixMessage<'_>,
    ) -> Result<VerifiedEvent, EnvelopeError> {
        let payload = json_object(verified.body())?;
        let id = short_text(&Value::String(verified.id().to_string()), "webhook-id")?;
        let event_type = short_text(required(&payload, "type")?, "type")?;
        let created = match payload.get("timestamp") {
            Some(Value::String(text)) if !text.trim().is_empty() => Created::Rfc3339(text.clone()),
            _ => Created::UnixSeconds(i64::try_from(verified.signed_at()).unwrap_or(i64::MAX)),
        };
        let envelope = EventEnvelope {
            provider: Provider::Standard,
            id,
            event_type,
            created,
        };
        Ok(VerifiedEvent {
            envelope,
            payload,
            source: Some(source.to_string()),
        })
    }
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, EnvelopeError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(EnvelopeError::NotAnObject),
        Err(error) => Err(EnvelopeError::NotJson {
            line: error.line(),
            column: error.column(),
        }),
    }
}

fn required<'a>(
    payload: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a Value, EnvelopeError> {
    match payload.get(field) {
        None | Some(Value::Null) => Err(EnvelopeError::MissingField { field }),
        Some(value) => Ok(value),
    }
}

/// Ids and types are stored in bounded text columns and must not be blank.
fn short_text(value: &Value, field: &'static str) -> Result<String, EnvelopeError> {
    match value {
        Value::String(text)
            if !text.trim().is_empty() && text.chars().count() <= MAX_FIELD_CHARS =>
        {
            Ok(text.clone())
        }
        _ => Err(EnvelopeError::WrongField {
            field,
            expected: "a non-blank string of at most 255 characters",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn an_unreadable_event_is_a_400_invalid_event_saying_why() {
        let error = ApiError::from(EnvelopeError::NotAnObject);
        assert_eq!((error.status, error.code), (400, "invalid_event"));
        assert_eq!(error.message, "the body is JSON but not an object");
        assert_eq!(error.details, None);
    }

    fn stripe(body: &str) -> Result<EventEnvelope, EnvelopeError> {
        let event = VerifiedEvent::from_stripe(&VerifiedStripeBody {
            body: body.as_bytes(),
            signed_at: 0,
        })?;
        assert_eq!(
            Value::Object(event.payload),
            serde_json::from_str::<Value>(body).unwrap()
        );
        Ok(event.envelope)
    }

    fn resend(id: &str, body: &str) -> Result<EventEnvelope, EnvelopeError> {
        let message = VerifiedSvixMessage {
            id: id.into(),
            signed_at: 0,
            body: body.as_bytes(),
        };
        Ok(VerifiedEvent::from_resend(&message)?.envelope)
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reads_a_stripe_event_and_skips_the_rest() {
        let body = r#"{"id":"evt_1","object":"event","api_version":"2024-06-20","created":1700000000,
            "data":{"object":{"id":"sub_1","items":[1,2,3]}},"type":"customer.subscription.updated"}"#;
        assert_eq!(
            stripe(body).unwrap(),
            EventEnvelope {
                provider: Provider::Stripe,
                id: "evt_1".into(),
                event_type: "customer.subscription.updated".into(),
                created: Created::UnixSeconds(1_700_000_000),
            }
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn names_the_stripe_field_that_is_wrong() {
        assert_eq!(
            stripe(r#"["evt_1","event","x",1]"#).unwrap_err(),
            EnvelopeError::NotAnObject
        );
        assert_eq!(
            stripe("{\"id\":").unwrap_err(),
            EnvelopeError::NotJson { line: 1, column: 6 }
        );
        assert_eq!(
            stripe("").unwrap_err(),
            EnvelopeError::NotJson { line: 1, column: 0 }
        );
        assert_eq!(
            stripe(r#"{"type":"x","created":1}"#).unwrap_err(),
            EnvelopeError::MissingField { field: "id" }
        );
        assert_eq!(
            stripe(r#"{"id":"evt_1","type":"x"}"#).unwrap_err(),
            EnvelopeError::MissingField { field: "created" }
        );
        assert_eq!(
            stripe(r#"{"id":"evt_1","type":"x","created":"2024-01-01T00:00:00Z"}"#).unwrap_err(),
            EnvelopeError::WrongField {
                field: "created",
                expected: "Unix seconds"
            }
        );
        assert_eq!(
            stripe(r#"{"id":"  ","type":"x","created":1}"#).unwrap_err(),
            EnvelopeError::WrongField {
                field: "id",
                expected: "a non-blank string of at most 255 characters"
            }
        );
        let long_type = format!(
            r#"{{"id":"evt_1","type":"{}","created":1}}"#,
            "x".repeat(256)
        );
        assert!(matches!(
            stripe(&long_type),
            Err(EnvelopeError::WrongField { field: "type", .. })
        ));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn refuses_stripe_thin_events() {
        let thin = r#"{"id":"evt_1","object":"v2.core.event","type":"x","created":"2024-01-01T00:00:00Z"}"#;
        assert_eq!(stripe(thin).unwrap_err(), EnvelopeError::NotSnapshotEvent);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reads_a_resend_event_with_the_svix_id() {
        let body = r#"{"type":"email.bounced","created_at":"2024-11-22T23:41:12.126Z","data":{"email_id":"e1"}}"#;
        assert_eq!(
            resend("msg_1", body).unwrap(),
            EventEnvelope {
                provider: Provider::Resend,
                id: "msg_1".into(),
                event_type: "email.bounced".into(),
                created: Created::Rfc3339("2024-11-22T23:41:12.126Z".into()),
            }
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn names_the_resend_field_that_is_wrong() {
        assert_eq!(
            resend("msg_1", r#"{"created_at":"2024-11-22T23:41:12Z"}"#).unwrap_err(),
            EnvelopeError::MissingField { field: "type" }
        );
        assert_eq!(
            resend("msg_1", r#"{"type":"email.sent","created_at":5}"#).unwrap_err(),
            EnvelopeError::WrongField {
                field: "created_at",
                expected: "a timestamp string"
            }
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn messages_name_the_problem() {
        assert_eq!(
            EnvelopeError::MissingField { field: "id" }.to_string(),
            "the event has no `id` field"
        );
    }
}
