//! HTTP in and out for the api-keys endpoints. Each handler reads the settings, verifies the
//! caller, translates the request into calls on the vault, the catalogue and [`service`] (the
//! stored keys, under the caller's own JWT, so RLS decides), and the result into JSON. No response carries a
//! key, its ciphertext, nonce or salt: only [`crate::records::KeySummary`] fields.

use serde::Deserialize;
use serde_json::json;
use shared::auth::DatabaseRole;
use shared::db::Db;
use shared::error::ApiError;
use shared::http::{self, Caller, RequestContext};
use shared::privileged::PrivilegedEndpoint;
use shared::security_events::{self, Client, SecurityEvent};
use shared::time::Timestamp;
use shared::{clock, logging};
use worker::{Request, Response};

use crate::catalogue::{is_valid_service_name, ServiceSpec};
use crate::config::{self, ApiKeysConfig};
use crate::provider;
use crate::records::{HealthUpdate, NewKeyRow};
use crate::rotation::{self, RotationReport};
use crate::secret_body;
use crate::service;
use crate::vault::{self, RecordBinding, SystemRandom, VaultError};
use std::rc::Rc;

/// Largest batch one rotation call accepts, whatever it asks for.
const MAX_ROTATION_LIMIT: usize = 200;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /api-keys`: the caller's keys, by service.
pub async fn list(req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let (caller, user_id) = user_caller(&req, context).await?;
    let keys = service::list(&context.db_as_caller(&caller)?, &user_id).await?;
    http::json_response(200, &json!({ "keys": keys }))
}

/// `PUT /api-keys/{service}` `{"key": "..."}`: validate, seal, upsert. 201 created, 200 replaced.
pub async fn store(
    mut req: Request,
    context: &RequestContext,
    service: &str,
) -> Result<Response, ApiError> {
    let config = settings(context)?;
    let (caller, user_id) = user_caller(&req, context).await?;
    let client = Client::of(&req);
    let spec = configured_service(&config, service)?;
    let body = secret_body::read(&mut req, context).await?;
    let key = secret_body::key_from_body(body.as_bytes())?;
    let validated = spec.shape.validate(&key).map_err(|problem| {
        ApiError::invalid_field("key", format!("not a valid {service} key: {problem}"))
    })?;
    let binding = RecordBinding {
        user_id: &user_id,
        service,
    };
    let sealed = vault::seal(
        &config.ring,
        &binding,
        validated.as_str(),
        &mut SystemRandom,
    )
    .map_err(vault_failure)?;
    let row = NewKeyRow::new(&binding, &sealed, validated.hint());
    let stored = service::upsert(&context.db_as_caller(&caller)?, &row).await?;
    let facts = json!({ "service": service, "key_version": stored.key_version, "replaced": !stored.was_created() });
    security_events::record(
        context,
        &client,
        vec![SecurityEvent::info("api_key.stored", Some(&user_id), facts)],
    )
    .await;
    http::json_response(
        if stored.was_created() { 201 } else { 200 },
        &json!({ "api_key": stored }),
    )
}

/// `DELETE /api-keys/{service}`: 204, or 404 when the caller has no key for it. Any well-formed
/// service name is accepted, so a key stays deletable after its service leaves the list.
pub async fn remove(
    req: Request,
    context: &RequestContext,
    service: &str,
) -> Result<Response, ApiError> {
    let (caller, user_id) = user_caller(&req, context).await?;
    if !is_valid_service_name(service) {
        return Err(ApiError::invalid_field("service", "not a service name"));
    }
    if !service::delete(&context.db_as_caller(&caller)?, &user_id, service).await? {
        return Err(no_key(service));
    }
    let event = SecurityEvent::info(
        "api_key.deleted",
        Some(&user_id),
        json!({ "service": service }),
    );
    security_events::record(context, &Client::of(&req), vec![event]).await;
    Ok(http::no_content())
}

/// `POST /api-keys/{service}/check`: decrypt at the edge, ask the provider, record the verdict.
/// The provider being down is a finding (200, unhealthy, with the reason); our database being
/// down is a 503.
pub async fn check(
    req: Request,
    context: &RequestContext,
    service: &str,
) -> Result<Response, ApiError> {
    let config = settings(context)?;
    let (caller, user_id) = user_caller(&req, context).await?;
    let spec = configured_service(&config, service)?;
    let probe = spec.probe.ok_or_else(|| {
        ApiError::bad_request(
            "no_health_check",
            format!("there is no health check for {service} keys"),
        )
    })?;
    let base_url = config.provider_url(service).ok_or_else(|| {
        ApiError::internal(format!("no provider URL is configured for {service}"))
    })?;
    let db = context.db_as_caller(&caller)?;
    let row = service::sealed(&db, &user_id, service)
        .await?
        .ok_or_else(|| no_key(service))?;

    let verdict = match row
        .sealed()
        .and_then(|sealed| vault::open(&config.ring, &row.binding(), &sealed))
    {
        Ok(plaintext) => {
            provider::probe(probe.request(base_url, &plaintext), config.check_timeout_ms).await
        }
        Err(VaultError::UnknownKeyVersion(version)) => {
            return Err(ApiError::internal(format!(
                "this key was sealed with master key {version}, which the server no longer has"
            )))
        }
        Err(error) => {
            log_unreadable(context, service, &error);
            let event = SecurityEvent::warning(
                "api_key.unreadable",
                Some(&user_id),
                json!({ "service": service }),
            );
            security_events::record(context, &Client::of(&req), vec![event]).await;
            return record_health(
                &db,
                &user_id,
                service,
                "unhealthy",
                Some(unreadable_reason()),
            )
            .await;
        }
    };
    let status = if verdict.is_healthy() {
        "healthy"
    } else {
        "unhealthy"
    };
    let answer = record_health(&db, &user_id, service, status, verdict.reason()).await?;
    let event = SecurityEvent::info(
        "api_key.checked",
        Some(&user_id),
        json!({ "service": service, "status": status }),
    );
    security_events::record(context, &Client::of(&req), vec![event]).await;
    Ok(answer)
}

/// `POST /api-keys/rotate` `{"after"?: id, "limit"?: n}`: one batch of master-key rotation.
/// For the callers `shared::privileged` admits to `PrivilegedEndpoint::ApiKeysRotate` (the
/// secret key, a service_role JWT, a maintenance role token this Worker minted); the database
/// work runs as the maintenance role, under a token minted here, whatever the caller presented.
pub async fn rotate(mut req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let config = settings(context)?;
    let checked = context
        .privileged_caller(&req, PrivilegedEndpoint::ApiKeysRotate, None)
        .await;
    security_events::record_privileged_call(context, &req, ROTATE_ENDPOINT, &checked, false).await;
    checked?;
    let body: RotateBody = http::read_optional_json(&mut req, context).await?;
    let limit = body.limit.unwrap_or(config.rotation_batch);
    if limit == 0 || limit > MAX_ROTATION_LIMIT {
        return Err(ApiError::invalid_field(
            "limit",
            format!("must be between 1 and {MAX_ROTATION_LIMIT}"),
        ));
    }
    let db = context
        .db_as_role(DatabaseRole::Maintenance, "api-keys-rotation")
        .await?;
    let report = rotation::rotate_batch(
        &db,
        &config.ring,
        body.after.as_deref(),
        limit,
        &mut SystemRandom,
    )
    .await?;
    security_events::record(context, &Client::of(&req), rotation_events(&report)).await;
    http::json_response(200, &report)
}

const ROTATE_ENDPOINT: &str = "api-keys/rotate";

/// The batch as a privileged call, and each re-sealed (or unreadable) key as an event its
/// owner can read.
fn rotation_events(report: &RotationReport) -> Vec<SecurityEvent> {
    let call = json!({
        "endpoint": ROTATE_ENDPOINT,
        "rotated": report.rotated,
        "skipped": report.skipped,
        "failed": report.failed.len(),
        "current_version": report.current_version,
    });
    let rotated = report.rotated_rows.iter().map(|row| {
        let facts = json!({ "service": row.service, "from_version": row.key_version, "to_version": report.current_version });
        SecurityEvent::info("api_key.rotated", Some(&row.user_id), facts)
    });
    let failed = report.failed_rows.iter().map(|row| {
        let facts = json!({ "service": row.service, "key_version": row.key_version });
        SecurityEvent::warning("api_key.rotation_failed", Some(&row.user_id), facts)
    });
    std::iter::once(SecurityEvent::info("privileged.called", None, call))
        .chain(rotated)
        .chain(failed)
        .collect()
}

fn settings(context: &RequestContext) -> Result<Rc<ApiKeysConfig>, ApiError> {
    Ok(config::parsed(context.env())?)
}

/// The verified caller, who must be a signed-in user (anonymous sign-ins included).
async fn user_caller(
    req: &Request,
    context: &RequestContext,
) -> Result<(Caller, String), ApiError> {
    let caller = context.caller(req).await?;
    let user_id = match (caller.claims.role.as_deref(), caller.user_id()) {
        (Some("authenticated"), Some(user_id)) => user_id.to_string(),
        _ => {
            return Err(ApiError::forbidden(
                "API keys belong to users; sign in as one",
            ))
        }
    };
    Ok((caller, user_id))
}

fn configured_service<'a>(
    config: &'a ApiKeysConfig,
    service: &str,
) -> Result<&'a ServiceSpec, ApiError> {
    Ok(config.catalogue.service(service)?)
}

async fn record_health(
    db: &Db,
    user_id: &str,
    service: &str,
    status: &'static str,
    status_reason: Option<String>,
) -> Result<Response, ApiError> {
    let update = HealthUpdate {
        status,
        status_reason,
        last_checked: Timestamp::from_unix_millis(clock::now_millis() as i64).to_rfc3339(),
    };
    let recorded = service::record_health(db, user_id, service, &update)
        .await?
        .ok_or_else(|| no_key(service))?;
    http::json_response(
        200,
        &json!({ "healthy": status == "healthy", "api_key": recorded }),
    )
}

fn unreadable_reason() -> String {
    "the stored key could not be decrypted (altered or copied from another row); store it again"
        .to_string()
}

/// A stored key that does not open is an integrity problem worth an operator's attention.
fn log_unreadable(context: &RequestContext, service: &str, error: &VaultError) {
    let line = json!({
        "level": "warn",
        "msg": "api key unreadable",
        "request_id": context.request_id(),
        "service": service,
        "error": error.to_string(),
    });
    logging::emit(&line.to_string());
}

fn no_key(service: &str) -> ApiError {
    ApiError::not_found(format!("you have no stored key for {service}"))
}

fn vault_failure(error: VaultError) -> ApiError {
    ApiError::internal(format!("the key could not be sealed: {error}"))
}
