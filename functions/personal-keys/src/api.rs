//! `/functions/v1/personal-keys`: create, list and revoke the caller's own keys, under the
//! caller's own session token (a personal key never reaches here: see [`crate::scope`]). The
//! database does the checks (sql/migrations/0040_personal_api_keys.sql); the secret exists only
//! in the creation answer, which no cache may keep.

use crate::secret;
use serde::Deserialize;
use serde_json::{json, Value};
use shared::db::{fetch_json, is_uuid};
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use worker::{Request, Response};

/// The columns a user may read: everything but the hash.
const LISTED_COLUMNS: &str =
    "id,name,key_prefix,access,tables,rpcs,functions,workspace_id,expires_at,last_used_at,revoked_at,created_at";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: String,
    #[serde(default)]
    pub access: Option<String>,
    #[serde(default)]
    pub tables: Option<Vec<String>>,
    #[serde(default)]
    pub rpcs: Option<Vec<String>>,
    #[serde(default)]
    pub functions: Option<Vec<String>>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// RFC 3339; absent for a key that does not expire.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// `POST /`: 201 with the secret (`key`), shown this once, and the key's metadata.
pub async fn create(mut req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let caller = context.caller(&req).await?;
    let body: CreateKey = http::read_json(&mut req, context).await?;
    if let Some(workspace) = &body.workspace_id {
        if !is_uuid(workspace) {
            return Err(ApiError::invalid_field("workspace_id", "must be a uuid"));
        }
    }
    let new_key = secret::generate(shared::crypto::fill_random)
        .map_err(|_| ApiError::internal("no randomness available to make a key"))?;
    let db = context.db_as_caller(&caller)?;
    let mut created: Value = fetch_json(db.rpc(
        "create_personal_api_key",
        &json!({
            "key_name": body.name,
            "key_prefix": new_key.display_prefix,
            "key_hash": new_key.hash,
            "access": body.access.as_deref().unwrap_or("read"),
            "tables": body.tables,
            "rpcs": body.rpcs,
            "functions": body.functions,
            "workspace_id": body.workspace_id,
            "expires_at": body.expires_at,
        }),
    ))
    .await?;
    created["key"] = new_key.secret.into();
    let mut response = http::json_response(201, &created)?;
    let _ = response.headers_mut().set("cache-control", "no-store");
    Ok(response)
}

/// `GET /`: the caller's keys, newest first, revoked ones included.
pub async fn list(req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let caller = context.caller(&req).await?;
    let db = context.db_as_caller(&caller)?;
    let keys: Value = fetch_json(
        db.from("security_personal_api_keys")
            .select(LISTED_COLUMNS)
            .order("created_at.desc"),
    )
    .await?;
    http::json_response(200, &json!({ "keys": keys }))
}

/// `DELETE /<id>`: revokes the key (idempotent); 404 when it is not the caller's.
pub async fn revoke(
    req: Request,
    context: &RequestContext,
    id: &str,
) -> Result<Response, ApiError> {
    let caller = context.caller(&req).await?;
    if !is_uuid(id) {
        return Err(ApiError::not_found("no such personal key"));
    }
    let db = context.db_as_caller(&caller)?;
    let revoked: Value =
        fetch_json(db.rpc("revoke_personal_api_key", &json!({ "key_id": id }))).await?;
    http::json_response(200, &revoked)
}
