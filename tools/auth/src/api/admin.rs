//! The admin API under `/admin/users`, for callers presenting a service-role token (GoTrue's
//! `adminUsers`, `adminUserCreate`, `adminUserGet`, `adminUserUpdate`, `adminUserDelete`):
//! list (paged as GoTrue pages: `page`/`per_page`, `X-Total-Count` and a `Link` header), create,
//! get, update and delete.

use bytes::Bytes;
use chrono::Utc;
use http::{HeaderValue, Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{json_ok, user_document, Call};
use crate::caller;
use crate::error::{AuthError, AuthResult};
use crate::model::{merge_metadata, user_json, UserRow};
use crate::store::{self, NewUser};
use crate::{passwords, secrets, validate, Auth};

pub async fn route(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    caller::require_admin(auth, call)?;
    let rest = call
        .path
        .strip_prefix("/admin/users")
        .unwrap_or("")
        .trim_start_matches('/');
    match (&call.method, rest) {
        (&Method::GET, "") => list(auth, call).await,
        (&Method::POST, "") => create(auth, call).await,
        (&Method::GET, id) if !id.contains('/') => get(auth, parse_id(id)?).await,
        (&Method::PUT, id) if !id.contains('/') => update(auth, call, parse_id(id)?).await,
        (&Method::DELETE, id) if !id.contains('/') => delete(auth, call, parse_id(id)?).await,
        (_, id) if !id.contains('/') => Err(AuthError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method Not Allowed",
        )),
        _ => Err(AuthError::not_found("not_found", "Not Found")),
    }
}

fn parse_id(text: &str) -> AuthResult<Uuid> {
    Uuid::parse_str(text)
        .map_err(|_| AuthError::not_found("validation_failed", "user_id must be an UUID"))
}

fn user_not_found() -> AuthError {
    AuthError::not_found("user_not_found", "User not found")
}

async fn list(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    let number = |name: &str, default: u64| -> AuthResult<u64> {
        match call.query(name).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(text) => text.parse::<u64>().map_err(|e| {
                AuthError::bad_request(
                    "validation_failed",
                    format!("Bad Pagination Parameters: strconv.ParseUint: parsing {text:?}: {e}"),
                )
            }),
        }
    };
    let page = number("page", 1)?.max(1);
    let per_page = number("per_page", 50)?.clamp(1, 1000);
    let aud = call.aud();
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let offset = i64::try_from((page - 1).saturating_mul(per_page)).unwrap_or(i64::MAX);
    let result = store::list_users(
        &tx,
        aud,
        call.query("filter").filter(|f| !f.is_empty()),
        offset,
        per_page as i64,
    )
    .await?;
    let mut users = Vec::with_capacity(result.users.len());
    for user in &result.users {
        users.push(user_json(user, &store::identities(&tx, user.id).await?));
    }
    tx.commit().await?;
    let mut response = json_ok(&json!({ "users": users, "aud": aud }));
    let link = pagination_link(call, page, per_page, result.total.max(0) as u64);
    let headers = response.headers_mut();
    headers.insert(
        "x-total-count",
        HeaderValue::from(result.total.max(0) as u64),
    );
    headers.insert(
        "link",
        HeaderValue::from_str(&link).map_err(|e| AuthError::internal("Invalid Link header", e))?,
    );
    Ok(response)
}

/// GoTrue's `addPaginationHeaders`: a `next` link while pages remain and always a `last` link,
/// on the request's own path with its query re-encoded in sorted key order (so `page` comes
/// before `per_page`, which supabase-js relies on).
fn pagination_link(call: &Call, page: u64, per_page: u64, total: u64) -> String {
    let total_pages = total.div_ceil(per_page);
    let with_page = |target: u64| {
        let mut pairs: Vec<(String, String)> = call
            .query_pairs()
            .into_iter()
            .filter(|(k, _)| k != "page")
            .collect();
        pairs.push(("page".to_string(), target.to_string()));
        if !pairs.iter().any(|(k, _)| k == "per_page") {
            pairs.push(("per_page".to_string(), per_page.to_string()));
        }
        pairs.sort();
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("<{}?{query}>", call.path)
    };
    let mut link = String::new();
    if total_pages > page {
        link.push_str(&format!("{}; rel=\"next\", ", with_page(page + 1)));
    }
    link.push_str(&format!("{}; rel=\"last\"", with_page(total_pages)));
    link
}

async fn get(auth: &Auth, id: Uuid) -> AuthResult<Response<Bytes>> {
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let body = user_document(&tx, id).await?;
    tx.commit().await?;
    Ok(json_ok(&body))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AdminUserParams {
    id: Option<String>,
    aud: Option<String>,
    role: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    password_hash: Option<String>,
    email_confirm: bool,
    user_metadata: Option<Map<String, Value>>,
    app_metadata: Option<Map<String, Value>>,
    ban_duration: Option<String>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// `ban_duration` as GoTrue reads it: "none" lifts a ban, otherwise a Go duration ("24h", "90m").
fn ban_until(duration: Option<&str>) -> AuthResult<Option<Option<chrono::DateTime<Utc>>>> {
    let Some(text) = duration.filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    if text == "none" {
        return Ok(Some(None));
    }
    let seconds = go_duration_seconds(text).ok_or_else(|| {
        AuthError::bad_request(
            "validation_failed",
            format!("invalid format for ban duration: time: invalid duration {text:?}"),
        )
    })?;
    Ok(Some(Some(
        Utc::now() + chrono::Duration::milliseconds((seconds * 1000.0) as i64),
    )))
}

/// Go's `time.ParseDuration` for the units a ban uses: h, m, s, ms (e.g. "1h30m", "876000h").
fn go_duration_seconds(text: &str) -> Option<f64> {
    let mut rest = text;
    let mut total = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, scale) = [("ms", 0.001), ("h", 3600.0), ("m", 60.0), ("s", 1.0)]
            .into_iter()
            .find(|(u, _)| rest.starts_with(u))?;
        total += value * scale;
        rest = &rest[unit.len()..];
    }
    (!text.is_empty()).then_some(total)
}

async fn create(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    let params: AdminUserParams = call.params()?;
    let aud = non_empty(&params.aud).unwrap_or(call.aud()).to_string();
    if non_empty(&params.email).is_none() && non_empty(&params.phone).is_none() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Cannot create a user without either an email or phone",
        ));
    }
    if non_empty(&params.phone).is_some() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Phone users are not supported by the local Auth server",
        ));
    }
    let email = validate::email(non_empty(&params.email).unwrap_or(""))?;
    if params.password.is_some() && non_empty(&params.password_hash).is_some() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Only a password or a password hash should be provided",
        ));
    }
    let password_hash = match (
        non_empty(&params.password),
        non_empty(&params.password_hash),
    ) {
        (_, Some(hash)) if passwords::is_bcrypt_hash(hash) => hash.to_string(),
        (_, Some(_)) => {
            return Err(AuthError::bad_request(
                "validation_failed",
                "password_hash must be a bcrypt hash",
            ))
        }
        (Some(password), None) if password.len() > validate::MAX_PASSWORD_LENGTH => {
            return Err(AuthError::bad_request(
                "validation_failed",
                "bcrypt: password length exceeds 72 bytes",
            ))
        }
        (Some(password), None) => {
            passwords::hash(password.to_string(), auth.settings.bcrypt_cost).await?
        }
        (None, None) => {
            passwords::hash(secrets::unguessable_password(), auth.settings.bcrypt_cost).await?
        }
    };
    let id = match non_empty(&params.id) {
        None => Uuid::new_v4(),
        Some(text) => {
            let id = Uuid::parse_str(text).map_err(|_| {
                AuthError::bad_request("validation_failed", "ID must conform to the uuid v4 format")
            })?;
            if id.is_nil() {
                return Err(AuthError::bad_request(
                    "validation_failed",
                    "ID cannot be a nil uuid",
                ));
            }
            id
        }
    };
    let ban = ban_until(params.ban_duration.as_deref())?;
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    store::lock_email(&tx, &email).await?;
    if store::user_by_email(&tx, &email, &aud).await?.is_some() {
        return Err(AuthError::unprocessable(
            "email_exists",
            "A user with this email address has already been registered",
        ));
    }
    let base_app_metadata = json!({ "provider": "email", "providers": ["email"] });
    let app_metadata = match &params.app_metadata {
        Some(extra) => merge_metadata(&base_app_metadata, extra),
        None => base_app_metadata,
    };
    let user_metadata = Value::Object(params.user_metadata.clone().unwrap_or_default());
    let role = non_empty(&params.role).unwrap_or("authenticated");
    let new_user = NewUser {
        id,
        aud: &aud,
        role,
        email: Some(&email),
        password_hash: Some(&password_hash),
        app_metadata,
        user_metadata,
        is_anonymous: false,
    };
    if !store::insert_user(&tx, &new_user).await? {
        return Err(AuthError::unprocessable(
            "email_exists",
            "A user with this email address or id has already been registered",
        ));
    }
    let identity = crate::api::signup::email_identity_data(id, &email, false, &Map::new());
    store::insert_identity(&tx, id, "email", &id.to_string(), &identity).await?;
    if params.email_confirm {
        store::confirm_email(&tx, id).await?;
    }
    if let Some(until) = ban {
        store::set_banned_until(&tx, id, until).await?;
    }
    let body = user_document(&tx, id).await?;
    tx.commit().await?;
    Ok(json_ok(&body))
}

async fn update(auth: &Auth, call: &Call, id: Uuid) -> AuthResult<Response<Bytes>> {
    let params: AdminUserParams = call.params()?;
    let email = match non_empty(&params.email) {
        Some(email) => Some(validate::email(email)?),
        None => None,
    };
    if non_empty(&params.phone).is_some() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Phone users are not supported by the local Auth server",
        ));
    }
    let ban = ban_until(params.ban_duration.as_deref())?;
    let password_hash = match &params.password {
        Some(password) => {
            validate::password_strength(password, auth.settings.password_min_length)?;
            Some(passwords::hash(password.clone(), auth.settings.bcrypt_cost).await?)
        }
        None => None,
    };
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let user: UserRow = store::user_by_id(&tx, id, true)
        .await?
        .ok_or_else(user_not_found)?;
    if let Some(role) = non_empty(&params.role) {
        store::set_role(&tx, id, role).await?;
    }
    if params.email_confirm {
        store::confirm_email(&tx, id).await?;
    }
    if let Some(hash) = &password_hash {
        store::set_password(&tx, id, hash, None).await?;
    }
    if let Some(email) = email.as_deref() {
        store::lock_email(&tx, email).await?;
        if store::user_by_email(&tx, email, &user.aud)
            .await?
            .is_some_and(|other| other.id != id)
        {
            return Err(AuthError::unprocessable(
                "email_exists",
                "A user with this email address has already been registered",
            ));
        }
        let identities = store::identities(&tx, id).await?;
        if identities.iter().any(|i| i.provider == "email") {
            store::update_identity_data(
                &tx,
                id,
                "email",
                &json!({ "email": email, "email_verified": params.email_confirm }),
            )
            .await?;
        } else {
            let data = crate::api::signup::email_identity_data(
                id,
                email,
                params.email_confirm,
                &Map::new(),
            );
            store::insert_identity(&tx, id, "email", &id.to_string(), &data).await?;
        }
        if user.is_anonymous && params.email_confirm {
            store::set_not_anonymous(&tx, id).await?;
        }
        store::set_email(&tx, id, email).await?;
    }
    // Metadata merges onto what the steps above left (confirming sets email_verified).
    let current = store::user_by_id(&tx, id, false)
        .await?
        .ok_or_else(user_not_found)?;
    if let Some(app_metadata) = &params.app_metadata {
        store::set_app_metadata(
            &tx,
            id,
            &merge_metadata(&current.app_metadata, app_metadata),
        )
        .await?;
    }
    if let Some(user_metadata) = &params.user_metadata {
        store::set_user_metadata(
            &tx,
            id,
            &merge_metadata(&current.user_metadata, user_metadata),
        )
        .await?;
    }
    if let Some(until) = ban {
        store::set_banned_until(&tx, id, until).await?;
    }
    let body = user_document(&tx, id).await?;
    tx.commit().await?;
    Ok(json_ok(&body))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteParams {
    should_soft_delete: bool,
}

async fn delete(auth: &Auth, call: &Call, id: Uuid) -> AuthResult<Response<Bytes>> {
    let params: DeleteParams = if call.body_is_empty() {
        DeleteParams::default()
    } else {
        call.params()?
    };
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let user = store::user_by_id(&tx, id, true)
        .await?
        .ok_or_else(user_not_found)?;
    if params.should_soft_delete {
        if user.deleted_at.is_none() {
            store::soft_delete_user(&tx, id).await?;
        }
    } else {
        store::delete_user(&tx, id).await?;
    }
    tx.commit().await?;
    Ok(json_ok(&json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_like_time_parse_duration() {
        assert_eq!(go_duration_seconds("24h"), Some(86400.0));
        assert_eq!(go_duration_seconds("1h30m"), Some(5400.0));
        assert_eq!(go_duration_seconds("1.5s"), Some(1.5));
        assert_eq!(go_duration_seconds("250ms"), Some(0.25));
        assert_eq!(go_duration_seconds("forever"), None);
        assert_eq!(go_duration_seconds("10"), None);
    }
}
