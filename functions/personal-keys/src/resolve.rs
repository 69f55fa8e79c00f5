//! Before any function runs (and before the rate limiter charges anyone): a request presenting
//! a personal key becomes its owner's request. The key's hash is looked up through the narrow
//! `personal_key_resolver` role, a 60-second ES256 token is minted for the owner with the
//! Worker's own signing key (`JWT_SIGNING_KEY`, published in the project's JWKS, so PostgREST
//! accepts it), and the request context acts as that caller: every function then forwards
//! that token, and RLS sees the owner. Both are cached per isolate ([`crate::cache`]).

use crate::cache::KeyCache;
use crate::config;
use crate::scope::{presented_key, ResolvedKey};
use crate::secret;
use serde_json::{json, Value};
use shared::auth::{Claims, DatabaseRole};
use shared::error::ApiError;
use shared::http::{header, Caller, RequestContext, REST_FUNCTION};
use std::cell::RefCell;
use worker::Request;

/// Lifetime of the owner's token. Longer than any cache entry ([`crate::config`]), so a token
/// taken from the cache has at least half a minute left.
pub const USER_TOKEN_TTL_SECONDS: u64 = 60;

/// What a key resolved to: the key and its owner acting through a minted token.
#[derive(Clone)]
pub struct Resolution {
    pub key: ResolvedKey,
    pub caller: Caller,
}

thread_local! {
    static RESOLVED: RefCell<KeyCache<Resolution>> = RefCell::new(KeyCache::default());
}

/// The one hook: when the request presents a personal key, settles the context's caller as the
/// key's owner (or as the key's refusal, a 401 the function answers when it asks who calls, so
/// the limiter still charges the client's IP for a bad key). A live key outside its scope for
/// this function is refused here with 403.
pub async fn resolve_presented_key(
    req: &Request,
    context: &RequestContext,
) -> Result<(), ApiError> {
    let authorization = header(req, "authorization");
    let x_api_key = header(req, "x-api-key");
    let apikey = header(req, "apikey");
    let Some(presented) = presented_key(
        authorization.as_deref(),
        x_api_key.as_deref(),
        apikey.as_deref(),
    ) else {
        return Ok(());
    };
    match resolve(context, presented).await {
        Err(refusal) => context.act_as(Err(refusal)),
        Ok(resolution) => {
            if context.function() != REST_FUNCTION {
                resolution
                    .key
                    .scopes
                    .allows_function(context.function(), req.method().as_ref())
                    .map_err(|refusal| out_of_scope(refusal.0))?;
            }
            context.act_as(Ok(resolution.caller));
        }
    }
    Ok(())
}

/// The 403 for a key asking for more than its scopes.
pub fn out_of_scope(message: String) -> ApiError {
    ApiError::forbidden(message).with_details(json!({ "reason": "personal_key_out_of_scope" }))
}

fn refused() -> ApiError {
    ApiError::unauthorized("the personal key is unknown, revoked or expired")
        .with_details(json!({ "reason": "personal_key_invalid" }))
}

/// The key's owner acting through a fresh token, from the cache or the database.
pub async fn resolve(context: &RequestContext, presented: &str) -> Result<Resolution, ApiError> {
    if !secret::is_well_formed(presented) {
        return Err(refused());
    }
    let settings = config::parsed(context.env())?;
    let hash = secret::hash(presented);
    let now_millis = shared::clock::now_millis();
    if let Some(cached) = RESOLVED.with(|cache| cache.borrow().get(&hash, now_millis)) {
        return Ok(cached);
    }
    let db = context
        .db_as_role(DatabaseRole::PersonalKeyResolver, "personal-keys")
        .await?;
    let found: Option<ResolvedKey> =
        shared::db::fetch_json(db.rpc("resolve_personal_api_key", &json!({ "key_hash": hash })))
            .await?;
    let key = found
        .filter(|key| !key.expired(now_millis))
        .ok_or_else(refused)?;
    let caller = owner_caller(context, &key, now_millis / 1000).await?;
    let resolution = Resolution { key, caller };
    if settings.cache_seconds > 0 {
        let mut until = now_millis + settings.cache_seconds * 1000;
        if let Some(expires) = resolution.key.expires_at {
            until = until.min(u64::try_from(expires.unix_millis()).unwrap_or(0));
        }
        RESOLVED.with(|cache| {
            cache
                .borrow_mut()
                .insert(hash, resolution.clone(), until, now_millis)
        });
    }
    Ok(resolution)
}

/// The owner as a verified caller: a token minted now, and the claims in it.
async fn owner_caller(
    context: &RequestContext,
    key: &ResolvedKey,
    now_seconds: u64,
) -> Result<Caller, ApiError> {
    let config = context.config()?;
    let signer = config.jwt.role_token_signer.as_deref().ok_or_else(|| {
        ApiError::from(shared::config::ConfigError {
            variable: "JWT_SIGNING_KEY",
            problem: "is required to act for a personal key's owner".into(),
        })
    })?;
    let (token, claims) = signer
        .mint_user_token(
            &key.user_id,
            &config.jwt.audience,
            USER_TOKEN_TTL_SECONDS,
            now_seconds,
            key.claims(),
        )
        .await
        .map_err(|problem| {
            ApiError::internal("could not sign the key owner's token")
                .with_cause(format!("minting a user token: {problem}"))
        })?;
    let claims: Claims = serde_json::from_value(Value::Object(claims)).map_err(|error| {
        ApiError::internal("could not describe the key owner").with_cause(error.to_string())
    })?;
    Ok(Caller { token, claims })
}
