//! `POST /recover` (send a password recovery email) and `GET`/`POST /verify` (spend an emailed
//! link or code: signup confirmation, recovery, email change), as GoTrue's `Recover` and `Verify`.
//! `GET` answers with a 303 to the redirect target carrying the session (or the error) in the
//! URL fragment; `POST` answers with the token response.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{Method, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{emails, json_ok, redirect, Call};
use crate::error::{AuthError, AuthResult};
use crate::model::UserRow;
use crate::ratelimit::Limit;
use crate::store::{self, TokenKind};
use crate::{secrets, session, validate, Auth};

const LINK_INVALID: &str = "Email link is invalid or has expired";
const SINGLE_CONFIRMATION_ACCEPTED: &str =
    "Confirmation link accepted. Please proceed to confirm link sent to the other email";

#[derive(Deserialize, Default)]
#[serde(default)]
struct RecoverParams {
    email: Option<String>,
}

pub async fn recover(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    let params: RecoverParams = call.params()?;
    let email = validate::email(params.email.as_deref().unwrap_or(""))?;
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    // An unknown address gets the same answer, so the endpoint does not tell who is registered.
    let Some(user) = store::user_by_email(&tx, &email, call.aud()).await? else {
        return Ok(json_ok(&json!({})));
    };
    let mail = emails::one_time_link(
        auth,
        call,
        &tx,
        user.id,
        &email,
        TokenKind::Recovery,
        user.recovery_sent_at,
    )
    .await?;
    tx.commit().await?;
    mail.deliver(auth).await?;
    Ok(json_ok(&json!({})))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VerifyParams {
    #[serde(rename = "type")]
    kind: String,
    token: String,
    token_hash: String,
    email: String,
    phone: String,
    redirect_to: String,
}

/// What a verification did: signed the user in, or accepted the first of two email-change links.
enum Verified {
    SignedIn(Value),
    FirstOfTwo,
}

pub async fn verify(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    call.rate_limit(auth, Limit::Verify)?;
    if call.method == Method::GET {
        let params = VerifyParams {
            kind: call.query("type").unwrap_or("").to_string(),
            token: call.query("token").unwrap_or("").to_string(),
            ..VerifyParams::default()
        };
        if params.kind.is_empty() {
            return Err(AuthError::bad_request(
                "validation_failed",
                "Verify requires a verification type",
            ));
        }
        if params.token.is_empty() {
            return Err(AuthError::bad_request(
                "validation_failed",
                "Verify requires a token or a token hash",
            ));
        }
        let target = emails::redirect_target(auth, call);
        return match run(auth, call, &params.kind, &params.token, None).await {
            Ok(Verified::SignedIn(token)) => redirect(&with_fragment(
                &target,
                &session_fragment(&token, &params.kind),
            )),
            Ok(Verified::FirstOfTwo) => redirect(&with_fragment(
                &target,
                &encode(&[("message", SINGLE_CONFIRMATION_ACCEPTED)]),
            )),
            Err(error @ AuthError::Http { .. }) => {
                redirect(&with_fragment(&target, &error_fragment(&error)))
            }
            Err(other) => Err(other),
        };
    }
    let params: VerifyParams = call.params()?;
    if params.kind.is_empty() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Verify requires a verification type",
        ));
    }
    if params.token.is_empty() == params.token_hash.is_empty() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Verify requires either a token or a token hash",
        ));
    }
    let outcome = if !params.token.is_empty() {
        if params.email.is_empty() || !params.phone.is_empty() {
            return Err(AuthError::bad_request(
                "validation_failed",
                "Only an email address or phone number should be provided on verify",
            ));
        }
        let email = validate::email(&params.email)
            .map_err(|_| AuthError::unprocessable("validation_failed", "Invalid email format"))?;
        run(
            auth,
            call,
            &params.kind,
            &secrets::token_hash(&email, &params.token),
            Some(&email),
        )
        .await?
    } else {
        if !params.email.is_empty() || !params.phone.is_empty() || !params.redirect_to.is_empty() {
            return Err(AuthError::bad_request(
                "validation_failed",
                "Only the token_hash and type should be provided",
            ));
        }
        run(auth, call, &params.kind, &params.token_hash, None).await?
    };
    Ok(match outcome {
        Verified::SignedIn(token) => json_ok(&token),
        Verified::FirstOfTwo => {
            json_ok(&json!({ "msg": SINGLE_CONFIRMATION_ACCEPTED, "code": "200" }))
        }
    })
}

fn kind_tokens(kind: &str) -> AuthResult<&'static [TokenKind]> {
    Ok(match kind {
        "signup" | "invite" => &[TokenKind::Confirmation],
        "recovery" | "magiclink" => &[TokenKind::Recovery],
        "email" => &[TokenKind::Confirmation, TokenKind::Recovery],
        "email_change" => &[TokenKind::EmailChange],
        _ => {
            return Err(AuthError::bad_request(
                "validation_failed",
                "Invalid email verification type",
            ))
        }
    })
}

/// Finds the user the hash belongs to, checks it has not expired, and does what the type says.
/// `email` is set when the caller typed a code for an address (expiry then reads "Token has
/// expired or is invalid", as GoTrue's `verifyUserAndToken` says it).
async fn run(
    auth: &Auth,
    call: &Call,
    kind: &str,
    hash: &str,
    email: Option<&str>,
) -> AuthResult<Verified> {
    let kinds = kind_tokens(kind)?;
    let invalid = || match email {
        Some(_) => AuthError::forbidden("otp_expired", "Token has expired or is invalid"),
        None => AuthError::forbidden("otp_expired", LINK_INVALID),
    };
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let mut found = None;
    for token_kind in kinds {
        if let Some(user) = store::user_by_token(&tx, *token_kind, hash).await? {
            found = Some((user, *token_kind));
            break;
        }
    }
    let (user, token_kind) = found.ok_or_else(invalid)?;
    if email.is_some_and(|e| e != user.email() && user.email_change.as_deref() != Some(e)) {
        return Err(invalid());
    }
    if user.is_banned(Utc::now()) {
        return Err(AuthError::forbidden("user_banned", "User is banned"));
    }
    let sent_at = match token_kind {
        TokenKind::Confirmation => user.confirmation_sent_at,
        TokenKind::Recovery => user.recovery_sent_at,
        TokenKind::EmailChange => user.email_change_sent_at,
    };
    if expired(sent_at, auth.settings.email_otp_expiry_seconds) {
        return Err(invalid());
    }
    match token_kind {
        TokenKind::Confirmation => {
            store::confirm_email(&tx, user.id).await?;
            store::update_identity_data(&tx, user.id, "email", &json!({ "email_verified": true }))
                .await?;
        }
        TokenKind::Recovery => {
            store::spend_recovery_token(&tx, user.id).await?;
            if user.email_confirmed_at.is_none() {
                store::confirm_email(&tx, user.id).await?;
            }
        }
        TokenKind::EmailChange => {
            if first_of_two(auth, &user) {
                store::accept_one_email_change_token(&tx, user.id, hash).await?;
                tx.commit().await?;
                return Ok(Verified::FirstOfTwo);
            }
            let new_email = user.email_change.clone().unwrap_or_default();
            // Someone may have taken the address since the change was asked for.
            store::lock_email(&tx, &new_email).await?;
            if store::user_by_email(&tx, &new_email, &user.aud)
                .await?
                .is_some_and(|other| other.id != user.id)
            {
                return Err(AuthError::unprocessable(
                    "email_exists",
                    "A user with this email address has already been registered",
                ));
            }
            store::apply_email_change(&tx, user.id).await?;
            super::user::become_email_user(&tx, &user, &new_email).await?;
        }
    }
    let token = session::sign_in(auth, &tx, call, user.id, "otp").await?;
    tx.commit().await?;
    Ok(Verified::SignedIn(token))
}

/// Secure email change while addresses must be confirmed: both links must be followed.
fn first_of_two(auth: &Auth, user: &UserRow) -> bool {
    auth.settings.email_confirmation
        && user.email_change_confirm_status == 0
        && !user.email().is_empty()
}

fn expired(sent_at: Option<DateTime<Utc>>, lifetime_seconds: u64) -> bool {
    sent_at
        .is_none_or(|sent| Utc::now() > sent + chrono::Duration::seconds(lifetime_seconds as i64))
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// GoTrue's `AsRedirectURL` with `type`: keys in Go's sorted order.
fn session_fragment(token: &Value, kind: &str) -> String {
    let text = |name: &str| match &token[name] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    encode(&[
        ("access_token", &text("access_token")),
        ("expires_at", &text("expires_at")),
        ("expires_in", &text("expires_in")),
        ("refresh_token", &text("refresh_token")),
        ("token_type", &text("token_type")),
        ("type", kind),
    ])
}

/// GoTrue's `prepErrorRedirectURL`: `error`, `error_code` and `error_description` in the fragment.
fn error_fragment(error: &AuthError) -> String {
    let oauth_error = match error.status().as_u16() {
        400 => "invalid_request",
        401 => "unauthorized_client",
        403 => "access_denied",
        503 => "temporarily_unavailable",
        _ => "server_error",
    };
    encode(&[
        ("error", oauth_error),
        ("error_code", error.code()),
        ("error_description", error.message()),
    ])
}

fn with_fragment(target: &str, fragment: &str) -> String {
    let base = target.split_once('#').map_or(target, |(base, _)| base);
    format!("{base}#{fragment}")
}
