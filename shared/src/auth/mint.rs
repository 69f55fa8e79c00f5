//! Short-lived tokens for the narrow database roles that jobs without a user (webhooks, cron,
//! the rate limiter) act as. PostgREST verifies them like any token of the project and runs the
//! request as `role`, so the job can do only what that role is granted.
//!
//! They are signed with the Worker's own key: a private JWK (ES256 or RS256, `JWT_SIGNING_KEY`)
//! the user generated with `supabase gen signing-key` and imported into the project as a
//! signing key, so the project's JWKS publishes its public half; the header carries its `kid`.
//! Only a project still on the legacy JWT secret gets HS256 tokens from that secret.
//!
//! Claims: `role`, `sub` (the job's name, for audit and logs), `iss: "rls-edge"`, `iat` a few
//! seconds in the past (a PostgREST whose clock is behind must not answer "JWT issued at
//! future"), `exp`. There is deliberately no `aud`: PostgREST checks `aud` only when one is
//! configured, and a role token lacking `authenticated` can never pass this project's own
//! user-token check.

use std::fmt;

use serde_json::{json, Map, Value};

use super::backend::{HmacKey, PrivateKey};
use super::jwk::{encode, Algorithm, PrivateJwk};
use super::Jwks;

/// The `iss` of every token this project mints, telling them apart from Supabase's.
pub const ROLE_TOKEN_ISSUER: &str = "rls-edge";

/// How far `iat` is set back from the Worker's clock.
pub const ROLE_TOKEN_BACKDATE_SECONDS: u64 = 5;

/// The roles a minted token may carry. A closed list, so no code path can mint a
/// `service_role` (RLS-bypassing) token by passing the wrong string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseRole {
    WebhookIngest,
    Maintenance,
    RateLimiter,
    /// Records security events (sql/migrations/0024_security_events.sql); nothing else.
    SecurityRecorder,
    /// Resolves a personal API key's hash to its owner (sql/migrations/0040_personal_api_keys.sql).
    PersonalKeyResolver,
}

impl DatabaseRole {
    /// The Postgres role name.
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseRole::WebhookIngest => "webhook_ingest",
            DatabaseRole::Maintenance => "maintenance",
            DatabaseRole::RateLimiter => "rate_limiter",
            DatabaseRole::SecurityRecorder => "security_recorder",
            DatabaseRole::PersonalKeyResolver => "personal_key_resolver",
        }
    }
}

/// What the Worker signs its role tokens with. Built once per isolate from the configuration;
/// the private key is imported into the signing backend on first use and kept.
pub struct RoleTokenSigner {
    key: SignerKey,
}

enum SignerKey {
    Jwk(Box<JwkSigner>),
    Hs256(HmacKey),
}

struct JwkSigner {
    private: PrivateKey,
    /// The public half, for checking tokens this Worker minted.
    public: Jwks,
}

impl RoleTokenSigner {
    pub fn from_jwk(jwk: PrivateJwk) -> RoleTokenSigner {
        let public = Jwks::of_private_key(&jwk);
        RoleTokenSigner {
            key: SignerKey::Jwk(Box::new(JwkSigner {
                private: PrivateKey::new(jwk),
                public,
            })),
        }
    }

    /// The legacy mode: HS256 with the project's JWT secret.
    pub fn from_secret(secret: &[u8]) -> RoleTokenSigner {
        RoleTokenSigner {
            key: SignerKey::Hs256(HmacKey::new(secret)),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match &self.key {
            SignerKey::Jwk(signer) => signer.private.jwk().algorithm(),
            SignerKey::Hs256(_) => Algorithm::Hs256,
        }
    }

    /// The `kid` in the header of every token, when signing with a JWK.
    pub fn kid(&self) -> Option<&str> {
        match &self.key {
            SignerKey::Jwk(signer) => Some(signer.private.jwk().kid()),
            SignerKey::Hs256(_) => None,
        }
    }

    /// The public key that verifies this signer's tokens; `None` for HS256, whose tokens the
    /// JWT secret verifies.
    pub fn public_keys(&self) -> Option<&Jwks> {
        match &self.key {
            SignerKey::Jwk(signer) => Some(&signer.public),
            SignerKey::Hs256(_) => None,
        }
    }

    /// A token for `role`, issued `ROLE_TOKEN_BACKDATE_SECONDS` before `now_seconds` and valid
    /// until `ttl_seconds` after it, with `sub` set to `job`. `extra_claims` are added but
    /// cannot override the claims above. Fails only when the signing backend refuses the key
    /// (a reason for the log).
    pub async fn mint(
        &self,
        role: DatabaseRole,
        job: &str,
        ttl_seconds: u64,
        now_seconds: u64,
        extra_claims: Map<String, Value>,
    ) -> Result<String, String> {
        let mut claims = extra_claims;
        claims.insert("role".into(), role.as_str().into());
        claims.insert("sub".into(), job.into());
        self.sign(&mut claims, ttl_seconds, now_seconds).await
    }

    /// A token for the user `user_id` (role `authenticated`, `aud` as given), for a caller who
    /// proved who they are some other way than a session: a personal API key
    /// (functions/personal-keys). PostgREST and RLS see the user, as if they had signed in.
    /// `extra_claims` (email, the key's id and scopes) cannot override `sub`, `role`, `aud` or
    /// the timestamps. Answers the token and the claims it carries.
    pub async fn mint_user_token(
        &self,
        user_id: &str,
        audience: &str,
        ttl_seconds: u64,
        now_seconds: u64,
        extra_claims: Map<String, Value>,
    ) -> Result<(String, Map<String, Value>), String> {
        let mut claims = extra_claims;
        claims.insert("role".into(), "authenticated".into());
        claims.insert("sub".into(), user_id.into());
        claims.insert("aud".into(), audience.into());
        let token = self.sign(&mut claims, ttl_seconds, now_seconds).await?;
        Ok((token, claims))
    }

    /// Adds `iss`, a backdated `iat` and `exp` to `claims` and signs them.
    async fn sign(
        &self,
        claims: &mut Map<String, Value>,
        ttl_seconds: u64,
        now_seconds: u64,
    ) -> Result<String, String> {
        claims.insert("iss".into(), ROLE_TOKEN_ISSUER.into());
        claims.insert(
            "iat".into(),
            now_seconds
                .saturating_sub(ROLE_TOKEN_BACKDATE_SECONDS)
                .into(),
        );
        claims.insert("exp".into(), now_seconds.saturating_add(ttl_seconds).into());
        let mut header = json!({ "alg": self.algorithm().name(), "typ": "JWT" });
        if let Some(kid) = self.kid() {
            header["kid"] = kid.into();
        }
        let signing_input = format!(
            "{}.{}",
            encode(header.to_string().as_bytes()),
            encode(Value::Object(claims.clone()).to_string().as_bytes())
        );
        let signature = match &self.key {
            SignerKey::Jwk(signer) => signer.private.sign(signing_input.as_bytes()).await?,
            SignerKey::Hs256(secret) => secret.sign(signing_input.as_bytes()).to_vec(),
        };
        Ok(format!("{signing_input}.{}", encode(&signature)))
    }
}

/// Names the algorithm and key, never the key material.
impl fmt::Debug for RoleTokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoleTokenSigner")
            .field("alg", &self.algorithm().name())
            .field("kid", &self.kid())
            .finish()
    }
}
