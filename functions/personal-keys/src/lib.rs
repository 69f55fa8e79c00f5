//! Personal API keys: keys a user makes for scripts and integrations that act as that user,
//! under the same row-level security, without handing out long-lived JWTs; and PostgREST at the
//! edge (`/rest/v1`), where those keys (and sessions) are rate-limited and scoped.
//!
//! | request | answer |
//! |---|---|
//! | `POST /functions/v1/personal-keys` `{ name, access?: "read"\|"write", tables?, rpcs?, functions?, workspace_id?, expires_at? }` | 201: the key's metadata and `key`, the secret, shown this once |
//! | `GET /functions/v1/personal-keys` | 200 `{ keys: [...] }`: the caller's keys, never a secret or hash |
//! | `DELETE /functions/v1/personal-keys/<id>` | 200: the revoked key; 404 when it is not the caller's |
//! | any function, with `Authorization: Bearer rlse_pk_...`, `x-api-key` or `apikey` | runs as the key's owner ([`resolve`]) |
//! | `/rest/v1/<table>`, `/rest/v1/rpc/<fn>` | PostgREST under the caller's or the owner's token ([`rest`]) |
//!
//! Managing keys needs a session: a key never reaches `personal-keys`, and the SQL refuses a
//! key's token too. Modules: [`secret`] (the key's shape, checksum and hash), [`scope`] (what a
//! key may reach, and its token's claims), [`cache`] (per-isolate, bounds revocation delay) and
//! [`config`] are pure and tested natively and on wasm32; [`resolve`], [`api`] and [`rest`]
//! talk HTTP. The SQL is sql/migrations/0040_personal_api_keys.sql.

pub mod api;
pub mod cache;
pub mod config;
pub mod resolve;
pub mod rest;
pub mod scope;
pub mod secret;

pub use resolve::resolve_presented_key;

use shared::error::ApiError;
use shared::http::{self, RequestContext, REST_FUNCTION};
use shared::registry::{Function, RateLimit};
use std::future::Future;
use worker::{Method, Request, Response};

/// The key endpoints as the registry lists them (`shared::registry`). Creating and revoking keys
/// is limited like the vault's endpoints; requests made *with* a key spend the limiter's own
/// `personal-key` budget besides their owner's.
pub const FUNCTION: Function = Function {
    name: "personal-keys",
    handle: |req, context| Box::pin(handle(req, context)),
    scheduled: None,
    rate_limit: RateLimit::closed(30, 60),
    config_check: |context| config::parsed(context.env()).err().unwrap_or_default(),
};

pub async fn handle(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    let segments = context.segments();
    match (req.method(), segments.as_slice()) {
        (Method::Post, []) => api::create(req, &context).await,
        (Method::Get, []) => api::list(req, &context).await,
        (_, []) => Err(http::method_not_allowed(&req, &["GET", "POST"])),
        (Method::Delete, [id]) => {
            let id = id.to_string();
            api::revoke(req, &context, &id).await
        }
        (_, [_]) => Err(http::method_not_allowed(&req, &["DELETE"])),
        _ => Err(http::no_route(&context)),
    }
}

/// The router's hook: a request presenting a personal key runs as its owner (resolved before
/// `next`, which is the rate-limit guard and the function, so the limiter sees the owner and
/// the key), and `/rest/v1` refusals come out in PostgREST's error shape.
pub async fn acting_as_key_owner<F, Fut>(
    req: Request,
    context: RequestContext,
    next: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Request, RequestContext) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    let for_postgrest = context.function() == REST_FUNCTION;
    let outcome = match resolve_presented_key(&req, &context).await {
        Ok(()) => next(req, context).await,
        Err(refusal) => Err(refusal),
    };
    match for_postgrest {
        true => rest::in_postgrest_shape(outcome),
        false => outcome,
    }
}
