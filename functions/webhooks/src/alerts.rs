//! The pure half of webhook alerts: the settings and the Slack-compatible message of each alert
//! (`{"text": ...}`, which Slack incoming webhooks, Mattermost, Discord's `/slack` endpoints
//! and most chat tools accept). What is due, once per event and rate-limited, is decided in
//! the database (sql/migrations/0034_webhook_alerts.sql); posting is [`crate::alerts_api`].
//!
//! | name | kind | default | meaning |
//! |---|---|---|---|
//! | `WEBHOOK_ALERT_URL` | secret | none: alerts off | where to post (a Slack incoming-webhook URL) |
//! | `WEBHOOK_ALERT_BACKLOG` | var | 100 | alert when more events than this are failed (at most hourly) |
//! | `WEBHOOK_ALERT_MAX_PER_HOUR` | var | 10 | at most this many alerts in any hour; the rest wait |

use serde::Deserialize;
use serde_json::{json, Value};
use shared::config::{positive_at_most, ConfigError, VarSource, Vars};

pub const ALERT_URL: &str = "WEBHOOK_ALERT_URL";
pub const BACKLOG: &str = "WEBHOOK_ALERT_BACKLOG";
pub const MAX_PER_HOUR: &str = "WEBHOOK_ALERT_MAX_PER_HOUR";

#[derive(Clone, PartialEq, Eq)]
pub struct AlertConfig {
    pub url: String,
    pub backlog_threshold: u64,
    pub max_per_hour: u64,
}

impl std::fmt::Debug for AlertConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL of an incoming webhook is itself the credential.
        f.debug_struct("AlertConfig")
            .field("url", &"<redacted>")
            .field("backlog_threshold", &self.backlog_threshold)
            .field("max_per_hour", &self.max_per_hour)
            .finish()
    }
}

impl AlertConfig {
    /// `None` when no alert URL is set: alerts are off.
    pub fn from_source(
        source: &(impl VarSource + ?Sized),
    ) -> Result<Option<AlertConfig>, Vec<ConfigError>> {
        let mut vars = Vars::new(source);
        let backlog_threshold = vars.parsed(BACKLOG, 100, positive_at_most(1_000_000));
        let max_per_hour = vars.parsed(MAX_PER_HOUR, 10, positive_at_most(1_000));
        let url = vars.optional(ALERT_URL).filter(|url| !url.is_empty());
        if url
            .as_deref()
            .is_some_and(|url| !(url.starts_with("https://") || url.starts_with("http://")))
        {
            vars.error(
                ALERT_URL,
                "must be an http(s) URL (a Slack incoming webhook)",
            );
        }
        vars.finish(url.map(|url| AlertConfig {
            url,
            backlog_threshold,
            max_per_hour,
        }))
    }
}

/// An alert as `claim_webhook_alerts` hands it out.
#[derive(Debug, Clone, Deserialize)]
pub struct Alert {
    pub id: String,
    pub kind: String,
    pub details: Value,
}

impl Alert {
    /// The message to post.
    pub fn message(&self) -> Value {
        let detail = |name: &str| match &self.details[name] {
            Value::String(text) => text.clone(),
            Value::Null => "-".to_string(),
            other => other.to_string(),
        };
        let text = match self.kind.as_str() {
            "given_up" => format!(
                ":rotating_light: A {} webhook event was given up after {} attempts: {} `{}` \
                 (inbox id {}). Last error: {}. See it with GET /functions/v1/webhooks/events?status=given_up, \
                 then replay or resolve it.",
                detail("provider"),
                detail("attempts"),
                detail("type"),
                detail("event_id"),
                detail("event"),
                detail("last_error"),
            ),
            _ => format!(
                ":warning: {} webhook events are failed (alert threshold {}). See them with \
                 GET /functions/v1/webhooks/events?status=failed.",
                detail("failed"),
                detail("threshold"),
            ),
        };
        json!({ "text": text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn off_without_a_url_and_checked_with_one() {
        assert_eq!(AlertConfig::from_source(&HashMap::new()).unwrap(), None);
        let config = AlertConfig::from_source(&HashMap::from([
            (ALERT_URL, "https://hooks.slack.com/services/T/B/secret"),
            (MAX_PER_HOUR, "3"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((config.backlog_threshold, config.max_per_hour), (100, 3));
        assert!(!format!("{config:?}").contains("secret"));
        let problems = AlertConfig::from_source(&HashMap::from([
            (ALERT_URL, "hooks.slack.com/x"),
            (BACKLOG, "0"),
        ]))
        .unwrap_err();
        let named: Vec<&str> = problems.iter().map(|problem| problem.variable).collect();
        assert_eq!(named, [BACKLOG, ALERT_URL]);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn messages_say_what_failed_and_where_to_look() {
        let given_up = Alert {
            id: "a1".into(),
            kind: "given_up".into(),
            details: json!({"provider": "stripe", "event": "7f1e", "event_id": "evt_1",
                            "type": "invoice.paid", "attempts": 8, "last_error": "P0001: boom"}),
        };
        let text = given_up.message()["text"].as_str().unwrap().to_string();
        for expected in [
            "stripe",
            "8 attempts",
            "invoice.paid",
            "`evt_1`",
            "7f1e",
            "P0001: boom",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        let backlog = Alert {
            id: "a2".into(),
            kind: "backlog".into(),
            details: json!({"failed": 120, "threshold": 100}),
        };
        let text = backlog.message()["text"].as_str().unwrap().to_string();
        assert!(
            text.starts_with(":warning: 120 webhook events are failed"),
            "{text}"
        );
    }
}
