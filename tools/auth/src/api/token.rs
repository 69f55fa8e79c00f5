//! `POST /token?grant_type=password|refresh_token` (GoTrue's `ResourceOwnerPasswordGrant` and
//! `RefreshTokenGrant`): refresh tokens rotate on every use; a rotated token used again after
//! the reuse interval revokes every live token of its session and answers
//! `refresh_token_already_used`, except when it is the parent of the session's active token,
//! which is handed out again (the client lost the previous answer).

use bytes::Bytes;
use chrono::Utc;
use http::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::{json_ok, Call};
use crate::error::{AuthError, AuthResult};
use crate::ratelimit::Limit;
use crate::{passwords, session, store, Auth};

pub const INVALID_LOGIN: &str = "Invalid login credentials";

pub async fn token(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    match call.query("grant_type").unwrap_or("") {
        "password" => {
            call.rate_limit(auth, Limit::SignInSignUp)?;
            password_grant(auth, call).await
        }
        "refresh_token" => {
            call.rate_limit(auth, Limit::TokenRefresh)?;
            refresh_grant(auth, call).await
        }
        _ => Err(AuthError::bad_request(
            "invalid_credentials",
            "unsupported_grant_type",
        )),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordParams {
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
}

async fn password_grant(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    let params: PasswordParams = call.params()?;
    let email = params.email.unwrap_or_default();
    let phone = params.phone.unwrap_or_default();
    if !email.is_empty() && !phone.is_empty() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Only an email address or phone number should be provided on login.",
        ));
    }
    if !phone.is_empty() {
        return Err(AuthError::unprocessable(
            "phone_provider_disabled",
            "Phone logins are disabled",
        ));
    }
    if email.is_empty() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "missing email or phone",
        ));
    }
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let user = store::user_by_email(&tx, &email, call.aud())
        .await?
        .filter(|u| u.has_password())
        .ok_or_else(|| AuthError::bad_request("invalid_credentials", INVALID_LOGIN))?;
    if user.is_banned(Utc::now()) {
        return Err(AuthError::bad_request("user_banned", "User is banned"));
    }
    let stored = user.encrypted_password.clone().unwrap_or_default();
    if !passwords::matches(params.password.unwrap_or_default(), stored).await {
        return Err(AuthError::bad_request("invalid_credentials", INVALID_LOGIN));
    }
    if user.email_confirmed_at.is_none() {
        return Err(AuthError::bad_request(
            "email_not_confirmed",
            "Email not confirmed",
        ));
    }
    let body = session::sign_in(auth, &tx, call, user.id, "password").await?;
    tx.commit().await?;
    Ok(json_ok(&body))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RefreshParams {
    refresh_token: Option<String>,
}

async fn refresh_grant(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    let params: RefreshParams = call.params()?;
    let presented = params.refresh_token.unwrap_or_default();
    if presented.is_empty() {
        return Err(AuthError::oauth(
            "invalid_request",
            "refresh_token required",
        ));
    }
    let not_found = || {
        AuthError::bad_request(
            "refresh_token_not_found",
            "Invalid Refresh Token: Refresh Token Not Found",
        )
    };
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    // The row lock makes concurrent refreshes with one token take turns.
    let token = store::refresh_token_for_update(&tx, &presented)
        .await?
        .ok_or_else(not_found)?;
    let user_id = token
        .user_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(not_found)?;
    let user = store::user_by_id(&tx, user_id, false)
        .await?
        .ok_or_else(not_found)?;
    if user.is_banned(Utc::now()) {
        return Err(AuthError::bad_request(
            "user_banned",
            "Invalid Refresh Token: User Banned",
        ));
    }
    let session_id = token.session_id.ok_or_else(|| {
        AuthError::bad_request(
            "session_not_found",
            "Invalid Refresh Token: No Valid Session Found",
        )
    })?;

    let mut issued = None;
    if token.revoked {
        let active = store::active_refresh_token(&tx, session_id).await?;
        match active {
            Some(active) if active.parent.as_deref() == Some(token.token.as_str()) => {
                issued = Some(active.token)
            }
            _ => {
                let reuse_until = token.updated_at.unwrap_or_else(Utc::now)
                    + chrono::Duration::seconds(
                        auth.settings.refresh_token_reuse_interval_seconds as i64,
                    );
                if Utc::now() > reuse_until {
                    store::revoke_token_family(&tx, session_id).await?;
                    tx.commit().await?;
                    return Err(AuthError::bad_request(
                        "refresh_token_already_used",
                        "Invalid Refresh Token: Already Used",
                    ));
                }
            }
        }
    }
    let refresh_token = match issued {
        Some(token) => token,
        None => store::rotate_refresh_token(&tx, user_id, &token, session_id).await?,
    };
    store::touch_session(&tx, session_id, call.user_agent(), call.ip).await?;
    let body = session::token_response(auth, &tx, user_id, session_id, &refresh_token).await?;
    tx.commit().await?;
    Ok(json_ok(&body))
}
