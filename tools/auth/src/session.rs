//! Issuing sessions and access tokens: the claims Supabase Auth puts in an access token and the
//! token response (`access_token`, `token_type`, `expires_in`, `expires_at`, `refresh_token`,
//! `user`) every sign-in and refresh returns.

use chrono::Utc;
use serde_json::{json, Value};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::api::Call;
use crate::error::{AuthError, AuthResult};
use crate::model::{user_json, UserRow};
use crate::store;
use crate::Auth;

/// GoTrue's `AccessTokenClaims` for `user` in `session_id`.
pub fn access_token_claims(
    auth: &Auth,
    user: &UserRow,
    session_id: Uuid,
    aal: &str,
    amr: &[(String, i64)],
    now: i64,
) -> Value {
    let mut claims = json!({
        "iss": auth.settings.issuer,
        "sub": user.id,
        "aud": user.aud,
        "exp": now + auth.settings.jwt_expiry_seconds as i64,
        "iat": now,
        "email": user.email(),
        "phone": user.phone(),
        "app_metadata": user.app_metadata,
        "user_metadata": user.user_metadata,
        "role": user.role,
        "aal": aal,
        "session_id": session_id,
        "is_anonymous": user.is_anonymous,
    });
    if !amr.is_empty() {
        claims["amr"] = amr
            .iter()
            .map(|(method, timestamp)| json!({ "method": method, "timestamp": timestamp }))
            .collect();
    }
    claims
}

/// The token response for `user_id` in `session_id` with `refresh_token`, read fresh from the
/// database so triggers and generated columns show.
pub async fn token_response(
    auth: &Auth,
    tx: &Transaction<'_>,
    user_id: Uuid,
    session_id: Uuid,
    refresh_token: &str,
) -> AuthResult<Value> {
    let user = store::user_by_id(tx, user_id, false)
        .await?
        .ok_or_else(|| AuthError::internal("Database error loading user", "user vanished"))?;
    let identities = store::identities(tx, user_id).await?;
    let session = store::session(tx, session_id)
        .await?
        .ok_or_else(|| AuthError::internal("Database error loading session", "session vanished"))?;
    let amr = store::amr(tx, session_id).await?;
    let now = Utc::now().timestamp();
    let claims = access_token_claims(auth, &user, session_id, &session.aal, &amr, now);
    let expires_at = claims["exp"].clone();
    Ok(json!({
        "access_token": auth.keys.sign(&claims),
        "token_type": "bearer",
        "expires_in": auth.settings.jwt_expiry_seconds,
        "expires_at": expires_at,
        "refresh_token": refresh_token,
        "user": user_json(&user, &identities),
    }))
}

/// Starts a session signed in with `method` (password, anonymous, otp) and answers like GoTrue's
/// `issueRefreshToken`.
pub async fn sign_in(
    auth: &Auth,
    tx: &Transaction<'_>,
    call: &Call,
    user_id: Uuid,
    method: &str,
) -> AuthResult<Value> {
    let (session_id, refresh_token) =
        store::start_session(tx, user_id, method, call.user_agent(), call.ip).await?;
    token_response(auth, tx, user_id, session_id, &refresh_token).await
}
