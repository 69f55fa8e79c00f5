//! `POST /signup`: email + password sign-up, and anonymous sign-in when neither an email nor a
//! phone is given (GoTrue's `Signup` and `SignupAnonymously`).

use bytes::Bytes;
use http::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{emails, json_ok, user_document, Call};
use crate::error::{AuthError, AuthResult};
use crate::ratelimit::Limit;
use crate::store::{self, NewUser, TokenKind};
use crate::{passwords, session, validate, Auth};

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignupParams {
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    data: Option<Map<String, Value>>,
    code_challenge: Option<String>,
}

pub async fn signup(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    if auth.settings.disable_signup {
        return Err(AuthError::unprocessable(
            "signup_disabled",
            "Signups not allowed for this instance",
        ));
    }
    let params: SignupParams = call.params()?;
    let email = params.email.clone().unwrap_or_default();
    let phone = params.phone.clone().unwrap_or_default();
    if email.is_empty() && phone.is_empty() {
        return anonymous(auth, call, params.data).await;
    }
    call.rate_limit(auth, Limit::SignInSignUp)?;
    let password = params.password.clone().unwrap_or_default();
    if password.is_empty() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Signup requires a valid password",
        ));
    }
    validate::password_strength(&password, auth.settings.password_min_length)?;
    if !email.is_empty() && !phone.is_empty() {
        return Err(AuthError::bad_request(
            "validation_failed",
            "Only an email address or phone number should be provided on signup.",
        ));
    }
    if params
        .code_challenge
        .as_deref()
        .is_some_and(|c| !c.is_empty())
    {
        return Err(AuthError::bad_request(
            "validation_failed",
            "The PKCE flow is not supported by the local Auth server; use the implicit flow",
        ));
    }
    if !phone.is_empty() {
        return Err(AuthError::bad_request(
            "phone_provider_disabled",
            "Phone signups are disabled",
        ));
    }
    let email = validate::email(&email)?;
    let data = params.data.unwrap_or_default();
    let aud = call.aud().to_string();
    // Hash outside the transaction: it is the slow part.
    let password_hash = passwords::hash(password, auth.settings.bcrypt_cost).await?;

    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let mut mails = Vec::new();
    store::lock_email(&tx, &email).await?;
    let existing = store::user_by_email(&tx, &email, &aud).await?;
    let (user_id, confirmed) = match existing {
        Some(user) if user.email_confirmed_at.is_some() => {
            tx.commit().await?;
            return repeated_signup(auth, &email, &aud, data);
        }
        // GoTrue would confirm an unconfirmed account here and sign the caller in without checking
        // the password; this server refuses instead (see README.md).
        Some(_) if !auth.settings.email_confirmation => {
            return Err(AuthError::unprocessable(
                "user_already_exists",
                "User already registered",
            ));
        }
        Some(user) => {
            mails.push(
                emails::one_time_link(
                    auth,
                    call,
                    &tx,
                    user.id,
                    &email,
                    TokenKind::Confirmation,
                    user.confirmation_sent_at,
                )
                .await?,
            );
            (user.id, false)
        }
        None => {
            let user_id = Uuid::new_v4();
            let new_user = NewUser {
                id: user_id,
                aud: &aud,
                role: "authenticated",
                email: Some(&email),
                password_hash: Some(&password_hash),
                app_metadata: json!({ "provider": "email", "providers": ["email"] }),
                user_metadata: Value::Object(data.clone()),
                is_anonymous: false,
            };
            if !store::insert_user(&tx, &new_user).await? {
                return Err(AuthError::unprocessable(
                    "user_already_exists",
                    "User already registered",
                ));
            }
            store::insert_identity(
                &tx,
                user_id,
                "email",
                &user_id.to_string(),
                &email_identity_data(user_id, &email, false, &data),
            )
            .await?;
            if auth.settings.email_confirmation {
                mails.push(
                    emails::one_time_link(
                        auth,
                        call,
                        &tx,
                        user_id,
                        &email,
                        TokenKind::Confirmation,
                        None,
                    )
                    .await?,
                );
                (user_id, false)
            } else {
                store::confirm_email(&tx, user_id).await?;
                (user_id, true)
            }
        }
    };
    let body = if confirmed {
        session::sign_in(auth, &tx, call, user_id, "password").await?
    } else {
        user_document(&tx, user_id).await?
    };
    tx.commit().await?;
    emails::deliver_all(auth, mails).await?;
    Ok(json_ok(&body))
}

/// GoTrue's identity data for an email identity, with the sign-up data's other keys.
pub fn email_identity_data(
    user_id: Uuid,
    email: &str,
    verified: bool,
    data: &Map<String, Value>,
) -> Value {
    let mut identity = json!({ "sub": user_id.to_string(), "email": email, "email_verified": verified, "phone_verified": false });
    if let Some(object) = identity.as_object_mut() {
        for (key, value) in data {
            object.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    identity
}

/// A sign-up for an address that is already confirmed: 422 when sign-ups confirm at once, else an
/// obfuscated user so the answer does not reveal that the address is registered.
fn repeated_signup(
    auth: &Auth,
    email: &str,
    aud: &str,
    data: Map<String, Value>,
) -> AuthResult<Response<Bytes>> {
    if !auth.settings.email_confirmation {
        return Err(AuthError::unprocessable(
            "user_already_exists",
            "User already registered",
        ));
    }
    let now = crate::model::timestamp(&chrono::Utc::now());
    Ok(json_ok(&json!({
        "id": Uuid::new_v4(), "aud": aud, "role": "", "email": email, "phone": "",
        "confirmation_sent_at": now, "app_metadata": { "provider": "email", "providers": ["email"] },
        "user_metadata": data, "identities": [], "created_at": now, "updated_at": now, "is_anonymous": false,
    })))
}

/// GoTrue's `SignupAnonymously`: a user with no email, phone or identity, signed in at once.
async fn anonymous(
    auth: &Auth,
    call: &Call,
    data: Option<Map<String, Value>>,
) -> AuthResult<Response<Bytes>> {
    if !auth.settings.anonymous_sign_ins {
        return Err(AuthError::unprocessable(
            "anonymous_provider_disabled",
            "Anonymous sign-ins are disabled",
        ));
    }
    call.rate_limit(auth, Limit::Anonymous)?;
    let mut client = auth.pool.get().await?;
    let tx = client.transaction().await?;
    let user_id = Uuid::new_v4();
    let aud = call.aud().to_string();
    let new_user = NewUser {
        id: user_id,
        aud: &aud,
        role: "authenticated",
        email: None,
        password_hash: None,
        app_metadata: json!({}),
        user_metadata: Value::Object(data.unwrap_or_default()),
        is_anonymous: true,
    };
    if !store::insert_user(&tx, &new_user).await? {
        return Err(AuthError::internal(
            "Database error saving new user",
            "generated id taken",
        ));
    }
    let body = session::sign_in(auth, &tx, call, user_id, "anonymous").await?;
    tx.commit().await?;
    Ok(json_ok(&body))
}
