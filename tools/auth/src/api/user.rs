//! `GET /user`, `PUT /user` and `POST /logout` for the signed-in caller (GoTrue's `UserGet`,
//! `UserUpdate` and `Logout`).

use bytes::Bytes;
use http::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{emails, json_ok, no_content, user_document, Call};
use crate::caller::{self, SignedIn};
use crate::error::{AuthError, AuthResult};
use crate::model::{merge_metadata, user_json};
use crate::{passwords, store, validate, Auth};

pub async fn get(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let SignedIn { claims, user, .. } = caller::signed_in(auth, call, &tx).await?;
    if claims["aud"].as_str() != Some(call.aud()) {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Token audience doesn't match request audience",
        ));
    }
    let identities = store::identities(&tx, user.id).await?;
    tx.commit().await?;
    Ok(json_ok(&user_json(&user, &identities)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UpdateParams {
    email: Option<String>,
    password: Option<String>,
    data: Option<Map<String, Value>>,
    app_metadata: Option<Map<String, Value>>,
    phone: Option<String>,
}

pub async fn update(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    let params: UpdateParams = call.params()?;
    let email = match params.email.as_deref().filter(|e| !e.is_empty()) {
        Some(email) => Some(validate::email(email)?),
        None => None,
    };
    if params.phone.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(AuthError::unprocessable(
            "phone_provider_disabled",
            "Phone changes are not supported by the local Auth server",
        ));
    }
    if let Some(password) = &params.password {
        validate::password_strength(password, auth.settings.password_min_length)?;
    }
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let SignedIn { user, session, .. } = caller::signed_in(auth, call, &tx).await?;
    if params.app_metadata.is_some() && !caller::is_admin_role(&user.role) {
        return Err(AuthError::forbidden(
            "not_admin",
            "Updating app_metadata requires admin privileges",
        ));
    }
    let changes_email = email.as_deref().is_some_and(|e| e != user.email());
    if user.is_anonymous
        && params.password.as_deref().is_some_and(|p| !p.is_empty())
        && email.is_none()
    {
        return Err(AuthError::unprocessable(
            "validation_failed",
            "Updating password of an anonymous user without an email or phone is not allowed",
        ));
    }
    if let Some(new_email) = email.as_deref().filter(|_| changes_email) {
        store::lock_email(&tx, new_email).await?;
        if store::user_by_email(&tx, new_email, call.aud())
            .await?
            .is_some_and(|other| other.id != user.id)
        {
            return Err(AuthError::unprocessable(
                "email_exists",
                "A user with this email address has already been registered",
            ));
        }
    }
    if let Some(password) = params.password.clone() {
        if !password.is_empty()
            && user.has_password()
            && passwords::matches(
                password.clone(),
                user.encrypted_password.clone().unwrap_or_default(),
            )
            .await
        {
            return Err(AuthError::unprocessable(
                "same_password",
                "New password should be different from the old password.",
            ));
        }
        let hash = if password.is_empty() {
            String::new()
        } else {
            passwords::hash(password, auth.settings.bcrypt_cost).await?
        };
        store::set_password(&tx, user.id, &hash, session.as_ref().map(|s| s.id)).await?;
    }
    if let Some(data) = &params.data {
        store::set_user_metadata(&tx, user.id, &merge_metadata(&user.user_metadata, data)).await?;
    }
    if let Some(app_metadata) = &params.app_metadata {
        store::set_app_metadata(
            &tx,
            user.id,
            &merge_metadata(&user.app_metadata, app_metadata),
        )
        .await?;
    }
    let mut mails = Vec::new();
    if let Some(new_email) = email.as_deref().filter(|_| changes_email) {
        if user.is_anonymous && !auth.settings.email_confirmation {
            // An anonymous user adding an address while sign-ups confirm at once: like signing up.
            store::set_email(&tx, user.id, new_email).await?;
            store::confirm_email(&tx, user.id).await?;
            become_email_user(&tx, &user, new_email).await?;
        } else {
            mails = emails::email_change(
                auth,
                call,
                &tx,
                user.id,
                user.email(),
                new_email,
                user.email_change_sent_at,
            )
            .await?;
        }
    }
    let body = user_document(&tx, user.id).await?;
    tx.commit().await?;
    emails::deliver_all(auth, mails).await?;
    Ok(json_ok(&body))
}

/// A user who now has an address: an email identity, `email` among the providers, no longer anonymous.
pub async fn become_email_user(
    tx: &tokio_postgres::Transaction<'_>,
    user: &crate::model::UserRow,
    email: &str,
) -> AuthResult<()> {
    let identities = store::identities(tx, user.id).await?;
    if identities.iter().any(|i| i.provider == "email") {
        store::update_identity_data(
            tx,
            user.id,
            "email",
            &json!({ "email": email, "email_verified": true }),
        )
        .await?;
    } else {
        let data = crate::api::signup::email_identity_data(user.id, email, true, &Map::new());
        store::insert_identity(tx, user.id, "email", &user.id.to_string(), &data).await?;
    }
    let mut providers: Vec<Value> = identities.iter().map(|i| json!(i.provider)).collect();
    if !providers.contains(&json!("email")) {
        providers.push(json!("email"));
    }
    let current = store::user_by_id(tx, user.id, false)
        .await?
        .map(|u| u.app_metadata)
        .unwrap_or_else(|| json!({}));
    let updates = json!({ "provider": providers[0].clone(), "providers": providers });
    store::set_app_metadata(
        tx,
        user.id,
        &merge_metadata(&current, updates.as_object().expect("an object literal")),
    )
    .await?;
    if user.is_anonymous {
        store::set_not_anonymous(tx, user.id).await?;
    }
    Ok(())
}

pub async fn logout(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    let scope = call.query("scope").unwrap_or("global");
    if !matches!(scope, "" | "global" | "local" | "others") {
        return Err(AuthError::bad_request(
            "validation_failed",
            format!("Unsupported logout scope {scope:?}"),
        ));
    }
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let SignedIn { user, session, .. } = caller::signed_in(auth, call, &tx).await?;
    match (scope, session) {
        ("local", Some(session)) => store::delete_session(&tx, session.id).await?,
        ("others", Some(session)) => store::delete_sessions(&tx, user.id, Some(session.id)).await?,
        _ => store::delete_sessions(&tx, user.id, None).await?,
    }
    tx.commit().await?;
    Ok(no_content())
}
