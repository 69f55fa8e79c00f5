//! Who may call `/check`: a service holding the project's `service_role` key (an HS256 JWT
//! with `role: service_role`, verified without an audience, as Supabase issues it without one)
//! or the dedicated `RATE_LIMIT_CHECK_SECRET` in `x-api-key`. The same two credentials are the
//! only API keys the guard accepts as an identity: a key it cannot verify would let anyone mint
//! a fresh budget per request by inventing keys.

use shared::auth::{bearer_token, TokenVerifier, VerifierConfig};
use shared::crypto::constant_time_eq;

/// The role claim of the project's service key.
pub const SERVICE_ROLE: &str = "service_role";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceCredential {
    /// A verified `service_role` token; carries the token, whose fingerprint keys its budget.
    ServiceRoleToken(String),
    CheckSecret(String),
}

impl ServiceCredential {
    /// The credential as presented, for fingerprinting; never logged or returned.
    pub fn secret(&self) -> &str {
        match self {
            ServiceCredential::ServiceRoleToken(token) => token,
            ServiceCredential::CheckSecret(secret) => secret,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAuthError {
    /// No credential at all: 401.
    Missing,
    /// A credential that is wrong, or belongs to something other than a service: 403.
    Refused,
}

/// The request's credentials, as read from its headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    pub authorization: Option<&'a str>,
    pub api_key: Option<&'a str>,
}

/// Checks the presented credentials against the project's JWT secret and the check secret.
pub fn authenticate(
    presented: Presented<'_>,
    jwt_secret: Option<&[u8]>,
    check_secret: Option<&str>,
    leeway_seconds: u64,
    now_seconds: u64,
) -> Result<ServiceCredential, ServiceAuthError> {
    if let Some(api_key) = presented.api_key.map(str::trim).filter(|key| !key.is_empty()) {
        return match check_secret {
            Some(secret) if constant_time_eq(api_key.as_bytes(), secret.as_bytes()) => {
                Ok(ServiceCredential::CheckSecret(api_key.to_string()))
            }
            _ => Err(ServiceAuthError::Refused),
        };
    }
    let Some(authorization) = presented.authorization else { return Err(ServiceAuthError::Missing) };
    let token = bearer_token(Some(authorization)).map_err(|_| ServiceAuthError::Refused)?;
    let verifier = TokenVerifier::new(VerifierConfig { audience: None, issuer: None, leeway_seconds }, jwt_secret);
    let claims = verifier.verify(token, None, now_seconds).map_err(|_| ServiceAuthError::Refused)?;
    if claims.role.as_deref() == Some(SERVICE_ROLE) {
        Ok(ServiceCredential::ServiceRoleToken(token.to_string()))
    } else {
        Err(ServiceAuthError::Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::json;

    const JWT_SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters-long";
    const CHECK_SECRET: &str = "check-secret-0123456789abcdef0123456789";
    const NOW: u64 = 1_800_000_000;

    fn sign(claims: serde_json::Value, secret: &[u8]) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signature = shared::crypto::hmac_sha256(secret, &[header.as_bytes(), b".", payload.as_bytes()]);
        format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    fn check(presented: Presented<'_>) -> Result<ServiceCredential, ServiceAuthError> {
        authenticate(presented, Some(JWT_SECRET), Some(CHECK_SECRET), 30, NOW)
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn service_role_key_without_audience_is_a_service() {
        let token = sign(json!({"role": "service_role", "iss": "supabase-demo", "exp": NOW + 60}), JWT_SECRET);
        let header = bearer(&token);
        let credential = check(Presented { authorization: Some(&header), api_key: None }).unwrap();
        assert_eq!(credential, ServiceCredential::ServiceRoleToken(token));
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn user_and_anon_tokens_are_refused() {
        for role in ["authenticated", "anon"] {
            let token = sign(json!({"role": role, "sub": "u1", "aud": "authenticated", "exp": NOW + 60}), JWT_SECRET);
            let header = bearer(&token);
            assert_eq!(check(Presented { authorization: Some(&header), api_key: None }), Err(ServiceAuthError::Refused));
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn forged_or_expired_service_tokens_are_refused() {
        let forged = bearer(&sign(json!({"role": "service_role", "exp": NOW + 60}), b"another-secret-another-secret-another-secret"));
        let expired = bearer(&sign(json!({"role": "service_role", "exp": NOW - 3_600}), JWT_SECRET));
        for header in [forged, expired, "Bearer not.a.jwt".to_string(), "Basic abc".to_string()] {
            assert_eq!(check(Presented { authorization: Some(&header), api_key: None }), Err(ServiceAuthError::Refused));
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn check_secret_works_only_when_configured_and_equal() {
        let good = check(Presented { authorization: None, api_key: Some(CHECK_SECRET) });
        assert_eq!(good, Ok(ServiceCredential::CheckSecret(CHECK_SECRET.to_string())));
        assert_eq!(check(Presented { authorization: None, api_key: Some("guess") }), Err(ServiceAuthError::Refused));
        let unconfigured = authenticate(Presented { authorization: None, api_key: Some(CHECK_SECRET) }, Some(JWT_SECRET), None, 30, NOW);
        assert_eq!(unconfigured, Err(ServiceAuthError::Refused));
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn nothing_presented_is_missing() {
        assert_eq!(check(Presented::default()), Err(ServiceAuthError::Missing));
    }
}
