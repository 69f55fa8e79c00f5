//! The one check for the endpoints only operators and services may call, and the one place
//! where each declares the credentials it takes.
//!
//! Every privileged endpoint accepts:
//! - the project's secret API key (`SUPABASE_SECRET_KEY`, `sb_secret_...`) in the `apikey`
//!   header or as the Bearer token, compared in constant time;
//! - a service-role JWT as Supabase issues it: the legacy `service_role` key (HS256 with the
//!   JWT secret, no `aud`, `iss` "supabase" or "supabase-demo") or a `service_role` token signed
//!   by a key of the project's JWKS;
//!
//! and, where [`PrivilegedEndpoint`] says so, the endpoint's own shared secret (in its header,
//! or as the Bearer token) and a role token this Worker minted for the endpoint's database role
//! (`iss: "rls-edge"`, verified with the Worker's own key). A user's or the anon token is
//! refused with 403; a missing, wrong or expired credential with 401.
//!
//! [`check`] is pure (time passed in, the JWKS fetched through a [`JwksFetcher`]), so it is
//! tested natively and on wasm32; `crate::http::RequestContext::privileged_caller` reads the
//! request and the configuration into it.

use std::cell::RefCell;

use crate::auth::{
    self, Algorithm, AuthError, Claims, DatabaseRole, JwksCache, JwksFetcher, RoleTokenSigner,
    TokenVerifier, VerifierConfig, ROLE_TOKEN_ISSUER,
};
use crate::config::SECRET_KEY_PREFIX;
use crate::crypto::constant_time_eq;

/// The role claim of Supabase's service key.
pub const SERVICE_ROLE: &str = "service_role";

/// The privileged endpoints. README's endpoint table lists the same credentials per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivilegedEndpoint {
    CleanupRun,
    RateLimitCheck,
    ApiKeysRotate,
    /// The detailed health report (the public one says only ok or degraded).
    HealthDetails,
    /// The webhook operator's endpoints: list, replay, resolve, reconcile.
    WebhooksOperator,
}

/// A secret shared between an endpoint and its callers, set as a Worker secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedSecret {
    pub variable: &'static str,
    /// The request header that carries it.
    pub header: &'static str,
    /// Whether it may come as the Bearer token too.
    pub as_bearer: bool,
}

impl PrivilegedEndpoint {
    pub const ALL: [PrivilegedEndpoint; 5] = [
        PrivilegedEndpoint::CleanupRun,
        PrivilegedEndpoint::RateLimitCheck,
        PrivilegedEndpoint::ApiKeysRotate,
        PrivilegedEndpoint::HealthDetails,
        PrivilegedEndpoint::WebhooksOperator,
    ];

    pub fn route(self) -> &'static str {
        match self {
            PrivilegedEndpoint::CleanupRun => "POST /functions/v1/cleanup/run",
            PrivilegedEndpoint::RateLimitCheck => "POST /functions/v1/rate-limit/check",
            PrivilegedEndpoint::ApiKeysRotate => "POST /functions/v1/api-keys/rotate",
            PrivilegedEndpoint::HealthDetails => "GET /functions/v1/health (details)",
            PrivilegedEndpoint::WebhooksOperator => {
                "/functions/v1/webhooks/events, /reconcile/stripe, /alerts/run"
            }
        }
    }

    pub fn shared_secret(self) -> Option<SharedSecret> {
        match self {
            PrivilegedEndpoint::CleanupRun => Some(SharedSecret {
                variable: "CLEANUP_SECRET",
                header: "x-cleanup-secret",
                as_bearer: true,
            }),
            PrivilegedEndpoint::RateLimitCheck => Some(SharedSecret {
                variable: "RATE_LIMIT_CHECK_SECRET",
                header: "x-api-key",
                as_bearer: false,
            }),
            PrivilegedEndpoint::ApiKeysRotate
            | PrivilegedEndpoint::HealthDetails
            | PrivilegedEndpoint::WebhooksOperator => None,
        }
    }

    /// The database role whose Worker-minted token the endpoint accepts.
    pub fn minted_role(self) -> Option<DatabaseRole> {
        match self {
            PrivilegedEndpoint::CleanupRun | PrivilegedEndpoint::ApiKeysRotate => {
                Some(DatabaseRole::Maintenance)
            }
            PrivilegedEndpoint::RateLimitCheck => Some(DatabaseRole::RateLimiter),
            PrivilegedEndpoint::HealthDetails | PrivilegedEndpoint::WebhooksOperator => None,
        }
    }

    /// The credentials it takes, in words, for error messages and README.
    pub fn accepted(self) -> String {
        let mut accepted = vec![
            "the secret key (SUPABASE_SECRET_KEY) as apikey or Bearer".to_string(),
            "a service_role JWT as Bearer".to_string(),
        ];
        if let Some(secret) = self.shared_secret() {
            let bearer = if secret.as_bearer {
                " or as Bearer"
            } else {
                ""
            };
            accepted.push(format!("{} in {}{bearer}", secret.variable, secret.header));
        }
        if let Some(role) = self.minted_role() {
            accepted.push(format!(
                "a {} role token minted by this Worker",
                role.as_str()
            ));
        }
        accepted.join(", ")
    }
}

/// Which credential admitted a privileged caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    SecretKey,
    ServiceRoleToken,
    SharedSecret,
    RoleToken(DatabaseRole),
}

impl Credential {
    /// For logs and security events; never the credential itself.
    pub fn kind(self) -> &'static str {
        match self {
            Credential::SecretKey => "secret_key",
            Credential::ServiceRoleToken => "service_role_token",
            Credential::SharedSecret => "shared_secret",
            Credential::RoleToken(_) => "role_token",
        }
    }
}

/// A caller admitted to a privileged endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegedCaller {
    pub credential: Credential,
    presented: String,
}

impl PrivilegedCaller {
    /// The credential as presented, for fingerprinting (the rate limiter keys service callers
    /// by it); never logged or returned.
    pub fn presented(&self) -> &str {
        &self.presented
    }
}

/// Why a caller was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No credential at all: 401.
    Missing,
    /// A credential that is wrong, forged or expired: 401. `reason` says which in words, `code`
    /// in a stable snake_case word (an `AuthError` code for tokens); neither quotes it.
    Invalid { reason: String, code: &'static str },
    /// A genuine token of a user, the anon role or another role: 403.
    NotPrivileged,
    /// The JWKS needed to check a token cannot be fetched: 503.
    KeysUnavailable,
}

impl Refusal {
    fn invalid(reason: impl Into<String>, code: &'static str) -> Refusal {
        Refusal::Invalid {
            reason: reason.into(),
            code,
        }
    }

    fn from_auth_error(error: AuthError) -> Refusal {
        match error {
            AuthError::JwksUnavailable => Refusal::KeysUnavailable,
            other => Refusal::invalid(other.to_string(), other.code()),
        }
    }
}

fn not_a_credential() -> Refusal {
    Refusal::invalid(
        "the Bearer credential is neither a key nor a token this endpoint knows",
        "invalid_credential",
    )
}

/// What the request carried, as read from its headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    pub authorization: Option<&'a str>,
    pub apikey: Option<&'a str>,
    /// The endpoint's shared-secret header, when it has one.
    pub shared_secret: Option<&'a str>,
}

/// What the credentials are checked against.
pub struct Keys<'a> {
    pub secret_key: Option<&'a str>,
    /// The endpoint's shared secret as configured.
    pub shared_secret: Option<&'a str>,
    /// The project's legacy JWT secret.
    pub jwt_secret: Option<&'a [u8]>,
    /// The project's JWKS, when it publishes one.
    pub jwks: Option<&'a RefCell<JwksCache>>,
    pub signer: Option<&'a RoleTokenSigner>,
    pub leeway_seconds: u64,
}

/// Admits the caller of `endpoint`, or says why not.
pub async fn check<F: JwksFetcher>(
    endpoint: PrivilegedEndpoint,
    presented: Presented<'_>,
    keys: &Keys<'_>,
    fetcher: &F,
    now_seconds: u64,
) -> Result<PrivilegedCaller, Refusal> {
    let admit = |credential: Credential, presented: &str| PrivilegedCaller {
        credential,
        presented: presented.to_string(),
    };
    let declared = endpoint.shared_secret();
    let shared_secret_matches = |candidate: &str| {
        keys.shared_secret
            .is_some_and(|secret| constant_time_eq(candidate.as_bytes(), secret.as_bytes()))
    };
    if let (Some(declared), Some(candidate)) = (declared, present(presented.shared_secret)) {
        return if shared_secret_matches(candidate) {
            Ok(admit(Credential::SharedSecret, candidate))
        } else {
            Err(Refusal::invalid(
                format!(
                    "the {} in {} is not valid",
                    declared.variable, declared.header
                ),
                "invalid_shared_secret",
            ))
        };
    }
    let bearer = match present(presented.authorization) {
        Some(authorization) => {
            Some(auth::bearer_token(Some(authorization)).map_err(Refusal::from_auth_error)?)
        }
        None => None,
    };
    let apikey = present(presented.apikey);
    let is_secret_key = |candidate: &str| {
        keys.secret_key
            .is_some_and(|secret| constant_time_eq(candidate.as_bytes(), secret.as_bytes()))
    };
    for candidate in [apikey, bearer].into_iter().flatten() {
        if is_secret_key(candidate) {
            return Ok(admit(Credential::SecretKey, candidate));
        }
    }
    if let Some(candidate) = bearer.filter(|_| declared.is_some_and(|secret| secret.as_bearer)) {
        if shared_secret_matches(candidate) {
            return Ok(admit(Credential::SharedSecret, candidate));
        }
    }
    if [apikey, bearer]
        .into_iter()
        .flatten()
        .any(|candidate| candidate.starts_with(SECRET_KEY_PREFIX))
    {
        return Err(Refusal::invalid(
            "the secret key is not this project's",
            "invalid_secret_key",
        ));
    }
    // supabase-js sends the key as Bearer too; a legacy service_role key may come as apikey only.
    let token = bearer.or(apikey.filter(|key| looks_like_jwt(key)));
    let Some(token) = token else {
        return match bearer {
            Some(_) => Err(not_a_credential()),
            None => Err(Refusal::Missing),
        };
    };
    if !looks_like_jwt(token) {
        return Err(not_a_credential());
    }
    let verified = verify_token(token, keys, fetcher, now_seconds)
        .await
        .map_err(Refusal::from_auth_error)?;
    match verified {
        Verified::Minted(claims) => match endpoint.minted_role() {
            Some(role) if claims.role.as_deref() == Some(role.as_str()) => {
                Ok(admit(Credential::RoleToken(role), token))
            }
            _ => Err(Refusal::NotPrivileged),
        },
        Verified::Supabase(claims) if claims.role.as_deref() == Some(SERVICE_ROLE) => {
            Ok(admit(Credential::ServiceRoleToken, token))
        }
        Verified::Supabase(_) => Err(Refusal::NotPrivileged),
    }
}

enum Verified {
    /// Signed the way this Worker signs its role tokens, `iss: "rls-edge"`.
    Minted(Claims),
    /// Any other token the project's keys verify.
    Supabase(Claims),
}

/// Verifies a token without an audience check (Supabase's service key has no `aud`): with the
/// Worker's own key when its header names that key, else with the project's keys. It is a
/// token this Worker minted when it is signed the way the Worker signs (its own key, or the JWT
/// secret in legacy mode) and says `iss: "rls-edge"`.
async fn verify_token<F: JwksFetcher>(
    token: &str,
    keys: &Keys<'_>,
    fetcher: &F,
    now_seconds: u64,
) -> Result<Verified, AuthError> {
    let header = auth::header_of(token)?;
    let own_key = keys
        .signer
        .and_then(RoleTokenSigner::public_keys)
        .filter(|own| header.kid.as_deref().is_some_and(|kid| own.contains(kid)));
    let config = VerifierConfig {
        audience: None,
        issuer: None,
        leeway_seconds: keys.leeway_seconds,
    };
    let verifier = TokenVerifier::new(config, keys.jwt_secret);
    let claims = match (own_key, keys.jwks) {
        (Some(own), _) => verifier.verify(token, Some(own), now_seconds).await?,
        (None, Some(cache)) => {
            verifier
                .verify_with_jwks(token, cache, fetcher, now_seconds)
                .await?
        }
        (None, None) => verifier.verify(token, None, now_seconds).await?,
    };
    let signed_like_the_worker = keys.signer.is_some_and(|signer| {
        Algorithm::from_name(&header.alg) == Some(signer.algorithm())
            && (signer.algorithm() == Algorithm::Hs256 || own_key.is_some())
    });
    Ok(
        if signed_like_the_worker && claims.iss.as_deref() == Some(ROLE_TOKEN_ISSUER) {
            Verified::Minted(claims)
        } else {
            Verified::Supabase(claims)
        },
    )
}

fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

fn looks_like_jwt(value: &str) -> bool {
    value.split('.').count() == 3
}

#[cfg(test)]
mod tests;
