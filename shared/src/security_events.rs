//! Recording security events in `security_event_logs`: what happened to a user's secrets
//! (api-keys: stored, checked, deleted, rotated), calls to privileged endpoints and refusals of
//! them, and refused cross-tenant attempts.
//!
//! Events are written through the `record_security_events` and `record_refused_access` RPCs
//! (sql/migrations/0024_security_events.sql) as the narrow `security_recorder` role, with a
//! one-minute token minted for the request: users cannot write events, so nobody can forge one,
//! and the edge adds what only it knows, the client's IP address (`CF-Connecting-IP`) and user
//! agent. An event never carries a key, a token or a body: details are small facts (a service
//! name, a key version, an endpoint).
//!
//! Recording happens after the action it describes and never changes the answer: if the
//! database cannot take the event, one log line carries it instead (with the request id), so
//! it is not lost.

use crate::auth::DatabaseRole;
use crate::db;
use crate::error::ApiError;
use crate::http::{header, RequestContext};
use crate::logging;
use serde::Serialize;
use serde_json::{json, Value};
use std::net::IpAddr;
use worker::Request;

/// Longest user agent kept; the column's own limit too.
const MAX_USER_AGENT_CHARS: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// One event: its dotted type (`api_key.stored`), severity, the user it concerns (who can read
/// it) and its facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityEvent {
    pub event_type: &'static str,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub details: Value,
}

impl SecurityEvent {
    pub fn info(event_type: &'static str, user_id: Option<&str>, details: Value) -> SecurityEvent {
        SecurityEvent {
            event_type,
            severity: Severity::Info,
            user_id: user_id.map(str::to_string),
            details,
        }
    }

    pub fn warning(
        event_type: &'static str,
        user_id: Option<&str>,
        details: Value,
    ) -> SecurityEvent {
        SecurityEvent {
            severity: Severity::Warning,
            ..SecurityEvent::info(event_type, user_id, details)
        }
    }
}

/// What the edge knows about the client of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub ip_address: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl Client {
    /// From the raw `CF-Connecting-IP` and `User-Agent` values; an unreadable address is left
    /// out rather than stored wrong, and the user agent is cut at 512 characters.
    pub fn from_headers(ip_address: Option<&str>, user_agent: Option<&str>) -> Client {
        Client {
            ip_address: ip_address.and_then(|value| value.trim().parse().ok()),
            user_agent: user_agent
                .map(|value| value.chars().take(MAX_USER_AGENT_CHARS).collect::<String>())
                .filter(|value| !value.is_empty()),
        }
    }

    pub fn of(req: &Request) -> Client {
        Client::from_headers(
            header(req, "cf-connecting-ip").as_deref(),
            header(req, "user-agent").as_deref(),
        )
    }
}

/// The `events` argument of `record_security_events`.
pub fn events_argument(events: &[SecurityEvent], client: &Client) -> Value {
    let rows: Vec<Value> = events
        .iter()
        .map(|event| {
            let mut row = json!(event);
            if let Some(address) = client.ip_address {
                row["ip_address"] = Value::String(address.to_string());
            }
            if let Some(agent) = &client.user_agent {
                row["user_agent"] = Value::String(agent.clone());
            }
            row
        })
        .collect();
    json!({ "events": rows })
}

/// Records `events`; a failure is logged with the events, never returned.
pub async fn record(context: &RequestContext, client: &Client, events: Vec<SecurityEvent>) {
    if events.is_empty() {
        return;
    }
    let argument = events_argument(&events, client);
    let written = match recorder(context).await {
        Ok(db) => db::execute(db.rpc("record_security_events", &argument))
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    if let Err(error) = written {
        not_recorded(context, &argument, &error);
    }
}

/// What kind of thing a refused cross-tenant request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Lead,
    Workspace,
}

/// Most ids one report carries (the RPC's own limit).
const MAX_REFUSED_IDS: usize = 1_000;

/// Reports that `actor` asked for resources (uuids) RLS hid from them. The database records
/// an attempt only when the resource exists in a workspace the actor is not in, and for that
/// workspace's owner; the actor never learns which (the answer they got stays a 404).
pub async fn record_refused_access(
    context: &RequestContext,
    client: &Client,
    actor: &str,
    resource: Resource,
    ids: &[&str],
) {
    if ids.is_empty() {
        return;
    }
    let argument = json!({
        "actor": actor,
        "resource": match resource { Resource::Lead => "lead", Resource::Workspace => "workspace" },
        "resource_ids": &ids[..ids.len().min(MAX_REFUSED_IDS)],
        "function_name": context.function(),
        "ip_address": client.ip_address.map(|address| address.to_string()),
        "user_agent": client.user_agent,
    });
    let written = match recorder(context).await {
        Ok(db) => db::execute(db.rpc("record_refused_access", &argument))
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    if let Err(error) = written {
        not_recorded(context, &argument, &error);
    }
}

/// Records a call to a privileged endpoint (`endpoint`, e.g. `cleanup/run`) once its caller
/// check has answered: `privileged.called` when it let the caller in and `record_accepted`
/// asks for it, `privileged.refused` (a warning) when it refused a caller who presented a
/// credential. A request that presented none is not an attempt worth a row.
pub async fn record_privileged_call<T>(
    context: &RequestContext,
    req: &Request,
    endpoint: &'static str,
    checked: &Result<T, ApiError>,
    record_accepted: bool,
) {
    let client = Client::of(req);
    let event = match checked {
        Ok(_) if record_accepted => {
            SecurityEvent::info("privileged.called", None, json!({ "endpoint": endpoint }))
        }
        Ok(_) => return,
        Err(refusal) if presented_a_credential(req) => {
            // A user's own token that was refused: the refusal is theirs to see.
            let user_id = context
                .caller(req)
                .await
                .ok()
                .and_then(|caller| caller.user_id().map(str::to_string));
            SecurityEvent::warning(
                "privileged.refused",
                user_id.as_deref(),
                json!({ "endpoint": endpoint, "status": refusal.status, "code": refusal.code }),
            )
        }
        Err(_) => return,
    };
    record(context, &client, vec![event]).await;
}

fn presented_a_credential(req: &Request) -> bool {
    // An `apikey` counts only when it could be a privileged one (a secret key or a JWT): every
    // supabase-js request carries the publishable key there.
    let privileged_apikey = header(req, "apikey").is_some_and(|key| {
        key.starts_with(crate::config::SECRET_KEY_PREFIX) || key.split('.').count() == 3
    });
    privileged_apikey
        || ["authorization", "x-api-key", "x-cleanup-secret"]
            .iter()
            .any(|name| header(req, name).is_some())
}

async fn recorder(context: &RequestContext) -> Result<db::Db, ApiError> {
    context
        .db_as_role(DatabaseRole::SecurityRecorder, context.function())
        .await
}

fn not_recorded(context: &RequestContext, argument: &Value, error: &ApiError) {
    logging::emit(
        &json!({
            "level": "error",
            "msg": "security event not recorded",
            "request_id": context.request_id(),
            "event": argument,
            "problem": error.log_text(),
        })
        .to_string(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn events_carry_the_client_the_edge_saw() {
        let client = Client::from_headers(Some(" 2001:db8::7 "), Some("curl/8.5"));
        let events = [
            SecurityEvent::info(
                "api_key.stored",
                Some("u-1"),
                json!({ "service": "openai" }),
            ),
            SecurityEvent::warning(
                "privileged.refused",
                None,
                json!({ "endpoint": "cleanup/run" }),
            ),
        ];
        assert_eq!(
            events_argument(&events, &client),
            json!({ "events": [
                { "event_type": "api_key.stored", "severity": "info", "user_id": "u-1", "details": { "service": "openai" },
                  "ip_address": "2001:db8::7", "user_agent": "curl/8.5" },
                { "event_type": "privileged.refused", "severity": "warning", "details": { "endpoint": "cleanup/run" },
                  "ip_address": "2001:db8::7", "user_agent": "curl/8.5" },
            ]})
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn unreadable_addresses_and_empty_agents_are_left_out_and_long_agents_cut() {
        let client = Client::from_headers(Some("203.0.113.7, 10.0.0.1"), Some(""));
        assert_eq!(client, Client::default());
        let long = Client::from_headers(None, Some(&"é".repeat(600)));
        assert_eq!(
            long.user_agent.unwrap().chars().count(),
            MAX_USER_AGENT_CHARS
        );
        let row = &events_argument(
            &[SecurityEvent::info("a.b", None, json!({}))],
            &Client::default(),
        )["events"][0];
        assert!(
            row.get("ip_address").is_none()
                && row.get("user_agent").is_none()
                && row.get("user_id").is_none()
        );
    }
}
