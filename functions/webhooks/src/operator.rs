//! What the operator endpoints take and pass on, checked before the database sees it: the
//! event filter (from a query string or a JSON body), the reason of a hand resolution, and who
//! acted (the kind of credential and a short fingerprint of it, never the credential itself).
//! The database applies the same rules again (sql/migrations/0032_webhook_operator.sql); here
//! they give an error that names the field.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::error::ApiError;

/// The statuses an operator filters by; `given_up` is a failed event with no next attempt.
pub const STATUSES: [&str; 6] = [
    "pending",
    "processed",
    "ignored",
    "failed",
    "given_up",
    "resolved",
];

pub const MAX_LIMIT: u32 = 500;
pub const MAX_REASON_CHARS: usize = 500;

/// Which events an operator means. Every field is optional; the database's default limit is 100.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// A list request: the filter and whether payloads come along.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: EventFilter,
    pub include_payload: bool,
}

impl ListQuery {
    /// Reads `?provider=&status=&type=&since=&until=&limit=&payload=true`; anything else is
    /// refused so a typo never silently widens a list.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ListQuery, ApiError> {
        let mut query = ListQuery::default();
        for (name, value) in pairs {
            let filter = &mut query.filter;
            match name.as_str() {
                "event" => filter.event = Some(value),
                "provider" => filter.provider = Some(value),
                "status" => filter.status = Some(value),
                "type" => filter.event_type = Some(value),
                "since" => filter.since = Some(value),
                "until" => filter.until = Some(value),
                "limit" => {
                    filter.limit = Some(value.parse().map_err(|_| {
                        ApiError::invalid_field("limit", "must be a whole number from 1 to 500")
                    })?)
                }
                "payload" => {
                    query.include_payload = match value.as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(ApiError::invalid_field("payload", "must be true or false"))
                        }
                    }
                }
                other => {
                    return Err(ApiError::invalid_field(
                        other,
                        "is not a filter; known: event, provider, status, type, since, until, \
                         limit, payload",
                    ))
                }
            }
        }
        query.filter.validate()?;
        Ok(query)
    }
}

impl EventFilter {
    /// Exactly one stored event, by its inbox id.
    pub fn one(event: &str) -> Result<EventFilter, ApiError> {
        let filter = EventFilter {
            event: Some(event.to_string()),
            ..EventFilter::default()
        };
        filter.validate()?;
        Ok(filter)
    }

    pub fn validate(&self) -> Result<(), ApiError> {
        if let Some(event) = &self.event {
            if !shared::db::is_uuid(event) {
                return Err(ApiError::invalid_field(
                    "event",
                    "must be an event's id (a uuid)",
                ));
            }
        }
        if let Some(status) = &self.status {
            if !STATUSES.contains(&status.as_str()) {
                return Err(ApiError::invalid_field(
                    "status",
                    format!("must be one of {}", STATUSES.join(", ")),
                ));
            }
        }
        if let Some(limit) = self.limit {
            if !(1..=MAX_LIMIT).contains(&limit) {
                return Err(ApiError::invalid_field(
                    "limit",
                    format!("must be from 1 to {MAX_LIMIT}"),
                ));
            }
        }
        for (field, value) in [
            ("provider", &self.provider),
            ("type", &self.event_type),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if value.as_deref().is_some_and(|text| text.trim().is_empty()) {
                return Err(ApiError::invalid_field(field, "must not be blank"));
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({}))
    }
}

/// The body of a hand resolution.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    pub reason: String,
}

impl Resolution {
    pub fn validate(&self) -> Result<&str, ApiError> {
        let reason = self.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(ApiError::invalid_field(
                "reason",
                format!("must be 1 to {MAX_REASON_CHARS} characters"),
            ));
        }
        Ok(reason)
    }
}

/// Who acted, as the audit records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub credential: &'static str,
    pub fingerprint: String,
    pub request_id: String,
}

impl Actor {
    pub fn new(credential: &'static str, presented: &str, request_id: &str) -> Actor {
        Actor {
            credential,
            fingerprint: fingerprint(presented),
            request_id: request_id.to_string(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "credential": self.credential,
            "fingerprint": self.fingerprint,
            "request_id": self.request_id,
        })
    }
}

/// The first 12 hex digits of the credential's SHA-256: enough to tell two operators' keys
/// apart in the audit, far too little to learn anything about the key.
pub fn fingerprint(presented: &str) -> String {
    Sha256::digest(presented.as_bytes())
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_query_string_becomes_the_filter_the_database_takes() {
        let query = ListQuery::from_pairs(pairs(&[
            ("provider", "stripe"),
            ("status", "given_up"),
            ("type", "invoice.paid"),
            ("since", "2026-01-01T00:00:00Z"),
            ("limit", "20"),
            ("payload", "true"),
        ]))
        .unwrap();
        assert!(query.include_payload);
        assert_eq!(
            query.filter.to_json(),
            json!({"provider": "stripe", "status": "given_up", "type": "invoice.paid",
                   "since": "2026-01-01T00:00:00Z", "limit": 20})
        );
        assert_eq!(
            ListQuery::from_pairs(Vec::new()).unwrap().filter.to_json(),
            json!({})
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn bad_filters_are_refused_naming_the_field() {
        for (bad, field) in [
            (("status", "broken"), "status"),
            (("limit", "0"), "limit"),
            (("limit", "501"), "limit"),
            (("limit", "ten"), "limit"),
            (("event", "evt_1"), "event"),
            (("payload", "yes"), "payload"),
            (("provider", " "), "provider"),
            (("colour", "red"), "colour"),
        ] {
            let error = ListQuery::from_pairs(pairs(&[bad])).unwrap_err();
            assert_eq!(error.status, 400);
            let details = error.details.clone().unwrap_or_default().to_string();
            assert!(
                details.contains(field) || error.message.contains(field),
                "{bad:?}: {error:?}"
            );
        }
        let unknown = serde_json::from_value::<EventFilter>(json!({"statuss": "failed"}));
        assert!(unknown.is_err());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn one_event_needs_a_uuid() {
        let id = "7f1e8a52-7c3e-4d35-9f58-0b6a1c2d3e4f";
        assert_eq!(
            EventFilter::one(id).unwrap().to_json(),
            json!({"event": id})
        );
        assert!(EventFilter::one("msg_1").is_err());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_reason_is_required_and_bounded() {
        let reason = |text: &str| Resolution {
            reason: text.to_string(),
        };
        assert_eq!(
            reason("  fixed by hand ").validate().unwrap(),
            "fixed by hand"
        );
        assert!(reason("  ").validate().is_err());
        assert!(reason(&"x".repeat(501)).validate().is_err());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_actor_never_carries_the_credential() {
        let actor = Actor::new("secret_key", "sb_secret_abcdefghijklmnop", "req-1");
        let shown = actor.to_json().to_string();
        assert!(!shown.contains("sb_secret") && !shown.contains("abcdefghij"));
        assert_eq!(actor.fingerprint.len(), 12);
        assert_eq!(actor.fingerprint, fingerprint("sb_secret_abcdefghijklmnop"));
        assert_ne!(actor.fingerprint, fingerprint("sb_secret_other"));
    }
}
