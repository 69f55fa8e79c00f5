//! HTTP in and out for the operator's endpoints, each admitted by the one privileged-caller
//! check (`PrivilegedEndpoint::WebhooksOperator`: the secret key or a service_role JWT; a
//! user's token gets 403) and each one RPC, as the maintenance role, that acts and writes its
//! audit row in the same transaction (sql/migrations/0032_webhook_operator.sql):
//!
//! - `GET  /functions/v1/webhooks/events?provider=&status=&type=&since=&until=&limit=&payload=`
//! - `POST /functions/v1/webhooks/events/replay` with a filter as the JSON body
//! - `POST /functions/v1/webhooks/events/<id>/replay`
//! - `POST /functions/v1/webhooks/events/<id>/resolve` with `{"reason": "..."}`

use crate::operator::{Actor, EventFilter, ListQuery, Resolution};
use serde_json::{json, Value};
use shared::auth::DatabaseRole;
use shared::db::Db;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::privileged::PrivilegedEndpoint;
use shared::security_events;
use worker::{Request, Response};

const JOB: &str = "webhooks-operator";

pub async fn list(req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let actor = admit(&req, context, "webhooks/events").await?;
    let url = req
        .url()
        .map_err(|_| ApiError::bad_request("invalid_url", "the request URL cannot be read"))?;
    let query = ListQuery::from_pairs(url.query_pairs().into_owned())?;
    let args = json!({
        "filter": query.filter.to_json(),
        "include_payload": query.include_payload,
        "actor": actor.to_json(),
    });
    let listed = call(context, "operator_list_webhook_events", &args).await?;
    http::json_response(200, &listed)
}

/// Replays the event `event` names, or every event the JSON body's filter matches.
pub async fn replay(
    mut req: Request,
    context: &RequestContext,
    event: Option<&str>,
) -> Result<Response, ApiError> {
    let actor = admit(&req, context, "webhooks/events/replay").await?;
    let filter = match event {
        Some(event) => EventFilter::one(event)?,
        None => {
            let filter: EventFilter = http::read_json(&mut req, context).await?;
            filter.validate()?;
            filter
        }
    };
    let args = json!({ "filter": filter.to_json(), "actor": actor.to_json() });
    let replayed = call(context, "operator_replay_webhook_events", &args).await?;
    http::json_response(200, &replayed)
}

pub async fn resolve(
    mut req: Request,
    context: &RequestContext,
    event: &str,
) -> Result<Response, ApiError> {
    let actor = admit(&req, context, "webhooks/events/resolve").await?;
    EventFilter::one(event)?;
    let resolution: Resolution = http::read_json(&mut req, context).await?;
    let args = json!({
        "event": event,
        "reason": resolution.validate()?,
        "actor": actor.to_json(),
    });
    let resolved = call(context, "operator_resolve_webhook_event", &args).await?;
    http::json_response(200, &resolved)
}

/// The privileged-caller check, with the attempt recorded as a security event either way.
pub async fn admit(
    req: &Request,
    context: &RequestContext,
    endpoint: &'static str,
) -> Result<Actor, ApiError> {
    let admitted = context
        .privileged_caller(req, PrivilegedEndpoint::WebhooksOperator, None)
        .await;
    security_events::record_privileged_call(context, req, endpoint, &admitted, true).await;
    let caller = admitted?;
    Ok(Actor::new(
        caller.credential.kind(),
        caller.presented(),
        context.request_id(),
    ))
}

pub async fn operator_db(context: &RequestContext) -> Result<Db, ApiError> {
    context.db_as_role(DatabaseRole::Maintenance, JOB).await
}

async fn call(context: &RequestContext, function: &str, args: &Value) -> Result<Value, ApiError> {
    let db = operator_db(context).await?;
    shared::db::fetch_json(db.rpc(function, args)).await
}
