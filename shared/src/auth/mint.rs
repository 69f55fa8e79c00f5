//! Short-lived HS256 tokens for the narrow database roles that jobs without a user (webhooks,
//! cron, the rate limiter) act as. PostgREST verifies them with the same JWT secret and runs the
//! request as `role`, so the job can do only what that role is granted.
//!
//! Claims: `role`, `sub` (the job's name, for audit and logs), `iss: "rls-edge"`, `iat`, `exp`.
//! There is deliberately no `aud`: PostgREST checks `aud` only when one is configured, and a
//! role token lacking `authenticated` can never pass this project's own user-token check.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::crypto::hmac_sha256;

/// The `iss` of every token this project mints, telling them apart from Supabase's.
pub const ROLE_TOKEN_ISSUER: &str = "rls-edge";

/// The roles a minted token may carry. A closed list, so no code path can mint a
/// `service_role` (RLS-bypassing) token by passing the wrong string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseRole {
    WebhookIngest,
    Maintenance,
    RateLimiter,
    /// Records security events (sql/migrations/0024_security_events.sql); nothing else.
    SecurityRecorder,
}

impl DatabaseRole {
    /// The Postgres role name.
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseRole::WebhookIngest => "webhook_ingest",
            DatabaseRole::Maintenance => "maintenance",
            DatabaseRole::RateLimiter => "rate_limiter",
            DatabaseRole::SecurityRecorder => "security_recorder",
        }
    }
}

/// Mints an HS256 token for `role`, valid from `now_seconds` for `ttl_seconds`, with `sub` set
/// to `job`. `extra_claims` are added but cannot override the claims above.
pub fn mint_role_token(
    secret: &[u8],
    role: DatabaseRole,
    job: &str,
    ttl_seconds: u64,
    now_seconds: u64,
    extra_claims: Map<String, Value>,
) -> String {
    let mut claims = extra_claims;
    claims.insert("role".into(), role.as_str().into());
    claims.insert("sub".into(), job.into());
    claims.insert("iss".into(), ROLE_TOKEN_ISSUER.into());
    claims.insert("iat".into(), now_seconds.into());
    claims.insert("exp".into(), now_seconds.saturating_add(ttl_seconds).into());
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(secret, &[signing_input.as_bytes()]));
    format!("{signing_input}.{signature}")
}
