//! The api-keys function: a vault for users' third-party API keys (openai, anthropic, stripe,
//! twilio, sendgrid, resend...), served at `/functions/v1/api-keys`.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /api-keys` | a user | the caller's keys: service, hint (last 4), status, key version, timestamps |
//! | `PUT /api-keys/{service}` `{"key": "..."}` | a user | validate, encrypt, store; 201 created, 200 replaced |
//! | `DELETE /api-keys/{service}` | a user | 204, or 404 when absent |
//! | `POST /api-keys/{service}/check` | a user | decrypt at the edge, call the provider, record `healthy`/`unhealthy` |
//! | `POST /api-keys/rotate` `{"after"?, "limit"?}` | `maintenance` role | re-encrypt one batch under the current master key |
//!
//! The pure parts, tested natively and on wasm32: [`vault`] (AES-256-GCM with HKDF-derived
//! per-record keys, AAD binding user, service and key version; the master key ring),
//! [`catalogue`] (service names, key shapes, hints, provider health-check requests),
//! [`records`] (row shapes), [`secret_body`] (the store body, read and decoded so no copy
//! of the key is left in freed memory). [`api`] translates HTTP, [`service`] reads and writes
//! the stored keys, [`provider`] calls a provider, [`rotation`] walks the table, [`config`]
//! lists the variables.
//!
//! It is not a key manager for the project's own secrets, and it never returns, logs or puts
//! in an error a stored key: the database holds only ciphertext, nonce, salt, key version, the
//! hint and the health status, and RLS keeps each user to their own rows.

pub mod api;
pub mod catalogue;
pub mod config;
pub mod provider;
pub mod records;
pub mod rotation;
pub mod secret_body;
pub mod service;
pub mod vault;

use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::registry::{Function, RateLimit};
use worker::{Method, Request, Response};

/// The function as a Worker registers it (`shared::registry`). Limit: 30 per 60 s per key,
/// refused while the limiter's store is down: it guards the secrets vault and provider checks.
pub const FUNCTION: Function = Function {
    name: "api-keys",
    handle: |req, context| Box::pin(handle(req, context)),
    scheduled: None,
    rate_limit: RateLimit::closed(30, 60),
    config_check: |context| config::parsed(context.env()).err().unwrap_or_default(),
};

pub async fn handle(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    match (req.method(), context.segments().as_slice()) {
        (Method::Get, []) => api::list(req, &context).await,
        (_, []) => Err(http::method_not_allowed(&req, &["GET"])),
        (Method::Post, ["rotate"]) => api::rotate(req, &context).await,
        (_, ["rotate"]) => Err(http::method_not_allowed(&req, &["POST"])),
        (Method::Put, [service]) => api::store(req, &context, service).await,
        (Method::Delete, [service]) => api::remove(req, &context, service).await,
        (_, [_]) => Err(http::method_not_allowed(&req, &["PUT", "DELETE"])),
        (Method::Post, [service, "check"]) => api::check(req, &context, service).await,
        (_, [_, "check"]) => Err(http::method_not_allowed(&req, &["POST"])),
        _ => Err(http::no_route(&context)),
    }
}
