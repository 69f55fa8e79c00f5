//! Who is calling: the Bearer token checked as GoTrue's `requireAuthentication` does (401
//! without a token, 403 `bad_jwt` when it does not verify, 403 when its user or session is gone)
//! and the admin check of `requireAdminCredentials` (a verified token whose role is an admin role).

use serde_json::Value;
use uuid::Uuid;

use crate::api::Call;
use crate::error::{AuthError, AuthResult};
use crate::model::UserRow;
use crate::store::{self, Session};
use crate::Auth;

/// The roles GoTrue's `JWT_ADMIN_ROLES` lists on Supabase.
const ADMIN_ROLES: [&str; 2] = ["service_role", "supabase_admin"];

pub fn bearer_token(call: &Call) -> AuthResult<&str> {
    let header = call.header("authorization").unwrap_or("");
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .unwrap_or("");
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AuthError::new(
            http::StatusCode::UNAUTHORIZED,
            "no_authorization",
            "This endpoint requires a Bearer token",
        ));
    }
    Ok(token)
}

pub fn verified_claims(auth: &Auth, token: &str) -> AuthResult<Value> {
    auth.keys.verify(token).map_err(|reason| {
        AuthError::forbidden(
            "bad_jwt",
            format!("invalid JWT: unable to parse or verify signature, {reason}"),
        )
    })
}

/// A signed-in user with the session their token names.
pub struct SignedIn {
    pub claims: Value,
    pub user: UserRow,
    pub session: Option<Session>,
}

pub async fn signed_in(
    auth: &Auth,
    call: &Call,
    tx: &tokio_postgres::Transaction<'_>,
) -> AuthResult<SignedIn> {
    let claims = verified_claims(auth, bearer_token(call)?)?;
    let sub = claims["sub"].as_str().unwrap_or("");
    if sub.is_empty() {
        return Err(AuthError::forbidden(
            "bad_jwt",
            "invalid claim: missing sub claim",
        ));
    }
    let user_id = Uuid::parse_str(sub).map_err(|_| {
        AuthError::bad_request("bad_jwt", "invalid claim: sub claim must be a UUID")
    })?;
    let user = store::user_by_id(tx, user_id, true).await?.ok_or_else(|| {
        AuthError::forbidden(
            "user_not_found",
            "User from sub claim in JWT does not exist",
        )
    })?;
    let session = match claims["session_id"]
        .as_str()
        .filter(|s| !s.is_empty() && *s != Uuid::nil().to_string())
    {
        None => None,
        Some(text) => {
            let id = Uuid::parse_str(text).map_err(|_| {
                AuthError::forbidden("bad_jwt", "invalid claim: session_id claim must be a UUID")
            })?;
            Some(store::session(tx, id).await?.ok_or_else(|| {
                AuthError::forbidden(
                    "session_not_found",
                    "Session from session_id claim in JWT does not exist",
                )
            })?)
        }
    };
    Ok(SignedIn {
        claims,
        user,
        session,
    })
}

/// The admin API's check: a verified token carrying an admin role (the service role).
pub fn require_admin(auth: &Auth, call: &Call) -> AuthResult<()> {
    let claims = verified_claims(auth, bearer_token(call)?)?;
    match claims["role"].as_str() {
        Some(role) if ADMIN_ROLES.contains(&role) => Ok(()),
        _ => Err(AuthError::forbidden("not_admin", "User not allowed")),
    }
}

pub fn is_admin_role(role: &str) -> bool {
    ADMIN_ROLES.contains(&role)
}
