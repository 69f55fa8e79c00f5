//! `GET /health`, `GET /settings` and `GET /.well-known/jwks.json` as GoTrue answers them, and
//! `GET /mailbox`, the local mailbox (this server's own; GoTrue sends real email).

use bytes::Bytes;
use http::{header, HeaderValue, Response};
use serde_json::json;

use super::{json_ok, Call};
use crate::error::{AuthError, AuthResult};
use crate::Auth;

pub fn health() -> Response<Bytes> {
    json_ok(&json!({
        "version": concat!("rls-edge-local-", env!("CARGO_PKG_VERSION")),
        "name": "GoTrue",
        "description": "GoTrue is a user registration and authentication API",
    }))
}

pub fn settings(auth: &Auth) -> Response<Bytes> {
    let s = &auth.settings;
    let mut external = serde_json::Map::new();
    for provider in [
        "apple",
        "azure",
        "bitbucket",
        "discord",
        "facebook",
        "figma",
        "fly",
        "github",
        "gitlab",
        "google",
        "keycloak",
        "kakao",
        "linkedin",
        "linkedin_oidc",
        "notion",
        "spotify",
        "slack",
        "slack_oidc",
        "workos",
        "twitch",
        "twitter",
        "zoom",
        "phone",
    ] {
        external.insert(provider.to_string(), json!(false));
    }
    external.insert("anonymous_users".to_string(), json!(s.anonymous_sign_ins));
    external.insert("email".to_string(), json!(true));
    json_ok(&json!({
        "external": external,
        "disable_signup": s.disable_signup,
        "mailer_autoconfirm": !s.email_confirmation,
        "phone_autoconfirm": false,
        "sms_provider": "",
        "saml_enabled": false,
    }))
}

pub fn jwks(auth: &Auth) -> Response<Bytes> {
    let mut response = json_ok(auth.jwks());
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=600"),
    );
    response
}

/// `GET /mailbox[?email=...]`: the messages in the local mailbox, oldest first.
pub async fn mailbox(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    let messages = auth
        .mailbox
        .messages(call.query("email"))
        .await
        .map_err(|e| AuthError::internal("Error reading the mailbox", e))?;
    Ok(json_ok(
        &json!({ "file": auth.mailbox.file(), "messages": messages }),
    ))
}
