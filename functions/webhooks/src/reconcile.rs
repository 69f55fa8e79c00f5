//! The pure half of the Stripe reconcile job: its settings, the `GET /v1/events` URL of each
//! page, reading a page into the intake's batch and counting what became of it. The job itself
//! (fetching, calling the database) is [`crate::reconcile_api`].
//!
//! | name | kind | default | meaning |
//! |---|---|---|---|
//! | `STRIPE_RECONCILE_API_KEY` | secret | none: reconcile off | a restricted Stripe key (`rk_...`) with read access to Events |
//! | `STRIPE_API_BASE_URL` | var | `https://api.stripe.com` | where Stripe's API is (tests point it at a local fake) |

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::config::{ConfigError, VarSource, Vars};

pub const API_KEY: &str = "STRIPE_RECONCILE_API_KEY";
pub const API_BASE_URL: &str = "STRIPE_API_BASE_URL";
pub const DEFAULT_API_BASE_URL: &str = "https://api.stripe.com";

/// Stripe's largest page.
pub const PAGE_SIZE: u32 = 100;
/// Pages per run (2000 events). A run that stops here is recorded with an error, so the next
/// run starts from the same window again; duplicates are no-ops.
pub const MAX_PAGES: u32 = 20;

#[derive(Clone, PartialEq, Eq)]
pub struct ReconcileConfig {
    pub api_key: String,
    pub base_url: String,
}

impl std::fmt::Debug for ReconcileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconcileConfig")
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl ReconcileConfig {
    /// `None` when no API key is set: the deployment does not reconcile.
    pub fn from_source(
        source: &(impl VarSource + ?Sized),
    ) -> Result<Option<ReconcileConfig>, Vec<ConfigError>> {
        let mut vars = Vars::new(source);
        let base_url = vars
            .optional(API_BASE_URL)
            .unwrap_or_else(|| DEFAULT_API_BASE_URL.to_string());
        let base_url = base_url.trim_end_matches('/').to_string();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            vars.error(
                API_BASE_URL,
                "must be an http(s) URL such as https://api.stripe.com",
            );
        }
        let api_key = vars.optional(API_KEY).filter(|key| !key.is_empty());
        if api_key
            .as_deref()
            .is_some_and(|key| !(key.starts_with("rk_") || key.starts_with("sk_")))
        {
            vars.error(
                API_KEY,
                "must be a Stripe API key (a restricted rk_... key with read access to Events)",
            );
        }
        vars.finish(api_key.map(|api_key| ReconcileConfig { api_key, base_url }))
    }

    /// One page of the events Stripe could not deliver, created at or after `since` (Unix
    /// seconds), newest first, after the event `starting_after` when paging on.
    pub fn page_url(&self, since: i64, starting_after: Option<&str>) -> String {
        let mut url = format!(
            "{}/v1/events?delivery_success=false&created%5Bgte%5D={since}&limit={PAGE_SIZE}",
            self.base_url
        );
        if let Some(last) = starting_after {
            url.push_str("&starting_after=");
            url.push_str(&percent_encode(last));
        }
        url
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A page of Stripe's list of events.
#[derive(Debug, Deserialize)]
pub struct EventsPage {
    pub data: Vec<Value>,
    pub has_more: bool,
}

impl EventsPage {
    /// The events as the intake's batch (`receive_webhook_events`), and how many were not
    /// events at all (skipped).
    pub fn batch(&self) -> (Vec<Value>, u32) {
        let mut batch = Vec::with_capacity(self.data.len());
        let mut skipped = 0;
        for event in &self.data {
            let id = event.get("id").and_then(Value::as_str);
            let event_type = event.get("type").and_then(Value::as_str);
            match (id, event_type, event.get("object").and_then(Value::as_str)) {
                (Some(id), Some(event_type), Some("event")) => batch.push(json!({
                    "event_id": id,
                    "event_type": event_type,
                    "payload": event,
                })),
                _ => skipped += 1,
            }
        }
        (batch, skipped)
    }

    /// Where the next page starts: after the last (oldest) event of this one.
    pub fn next_cursor(&self) -> Option<&str> {
        if !self.has_more {
            return None;
        }
        self.data.last()?.get("id")?.as_str()
    }
}

/// What `receive_webhook_events` said of one event.
#[derive(Debug, Deserialize)]
pub struct BatchOutcome {
    pub status: String,
}

/// A run's counts, as recorded in `system_webhook_reconcile_runs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pages: u32,
    pub pulled: u32,
    /// New events, applied or ignored.
    pub stored: u32,
    /// Events the inbox already had (delivered, or pulled by an earlier run).
    pub duplicates: u32,
    /// New events stored as failed (retried by the cleanup job).
    pub failed: u32,
    /// Entries that were not events, or that the intake refused.
    pub refused: u32,
}

impl Counts {
    pub fn add(&mut self, outcomes: &[BatchOutcome]) {
        for outcome in outcomes {
            match outcome.status.as_str() {
                "processed" | "ignored" => self.stored += 1,
                "duplicate" => self.duplicates += 1,
                "failed" => self.failed += 1,
                _ => self.refused += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn off_without_a_key_and_checked_with_one() {
        assert_eq!(ReconcileConfig::from_source(&HashMap::new()).unwrap(), None);
        let config = ReconcileConfig::from_source(&HashMap::from([
            (API_KEY, "rk_test_abc"),
            (API_BASE_URL, "http://127.0.0.1:24420/"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.base_url, "http://127.0.0.1:24420");
        assert!(!format!("{config:?}").contains("rk_test_abc"));
        let problems = ReconcileConfig::from_source(&HashMap::from([
            (API_KEY, "pk_live_wrong"),
            (API_BASE_URL, "ftp://stripe"),
        ]))
        .unwrap_err();
        let named: Vec<&str> = problems.iter().map(|problem| problem.variable).collect();
        assert_eq!(named, [API_BASE_URL, API_KEY]);
        assert!(!problems[1].to_string().contains("pk_live_wrong"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn pages_ask_for_undelivered_events_since_the_window() {
        let config = ReconcileConfig {
            api_key: "rk_test".into(),
            base_url: DEFAULT_API_BASE_URL.into(),
        };
        assert_eq!(
            config.page_url(1_700_000_000, None),
            "https://api.stripe.com/v1/events?delivery_success=false&created%5Bgte%5D=1700000000&limit=100"
        );
        assert!(config
            .page_url(1, Some("evt_1 &x"))
            .ends_with("&starting_after=evt_1%20%26x"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_page_becomes_the_intake_batch_and_says_where_the_next_starts() {
        let page: EventsPage = serde_json::from_value(json!({
            "object": "list",
            "has_more": true,
            "data": [
                {"id": "evt_2", "object": "event", "type": "invoice.paid", "created": 2},
                {"id": "evt_x", "object": "invoice"},
                {"id": "evt_1", "object": "event", "type": "invoice.paid", "created": 1}
            ]
        }))
        .unwrap();
        let (batch, skipped) = page.batch();
        assert_eq!(skipped, 1);
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[0]["event_id"], "evt_2");
        assert_eq!(batch[1]["payload"]["created"], 1);
        assert_eq!(page.next_cursor(), Some("evt_1"));
        let last: EventsPage =
            serde_json::from_value(json!({"data": [{"id": "evt_0"}], "has_more": false})).unwrap();
        assert_eq!(last.next_cursor(), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn outcomes_are_counted() {
        let outcome = |status: &str| BatchOutcome {
            status: status.to_string(),
        };
        let mut counts = Counts::default();
        counts.add(&[
            outcome("processed"),
            outcome("ignored"),
            outcome("duplicate"),
            outcome("failed"),
            outcome("refused"),
        ]);
        assert_eq!(
            (
                counts.stored,
                counts.duplicates,
                counts.failed,
                counts.refused
            ),
            (2, 1, 1, 1)
        );
    }
}
