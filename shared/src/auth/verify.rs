//! Verifying an access token: signature (HS256 with the project's JWT secret, RS256/ES256 with
//! a JWKS key), then `exp`/`nbf`/`iat` against a clock passed in, then `aud` and `iss`.
//!
//! `jsonwebtoken` is used for the signature only. Its own claim validation reads
//! `SystemTime::now()`, which panics on wasm32, so the claims are checked here.
//!
//! The algorithms accepted follow from the keys configured: HS256 only with a JWT secret,
//! RS256/ES256 only with a JWKS, and each only against a key of its own type, so a public key
//! can never be used as an HMAC secret.

use std::cell::RefCell;
use std::rc::Rc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey};

use super::token::{self, CompactToken};
use super::{AuthError, Claims, Jwks, JwksCache, JwksFetcher};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// Required `aud` (Supabase: `authenticated`); `None` skips the check.
    pub audience: Option<String>,
    /// Required `iss` (Supabase: `https://<ref>.supabase.co/auth/v1`); `None` skips the check.
    pub issuer: Option<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway_seconds: u64,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        VerifierConfig {
            audience: Some("authenticated".to_string()),
            issuer: None,
            leeway_seconds: 30,
        }
    }
}

pub struct TokenVerifier {
    config: VerifierConfig,
    hmac_secret: Option<DecodingKey>,
}

impl TokenVerifier {
    /// `jwt_secret` is the project's HS256 secret as raw bytes (Supabase uses the string as is,
    /// not base64-decoded); `None` when the project signs with asymmetric keys only.
    pub fn new(config: VerifierConfig, jwt_secret: Option<&[u8]>) -> TokenVerifier {
        TokenVerifier {
            config,
            hmac_secret: jwt_secret.map(DecodingKey::from_secret),
        }
    }

    /// Verifies `token` against the JWT secret and, when given, a JWKS already at hand.
    pub fn verify(
        &self,
        token: &str,
        jwks: Option<&Jwks>,
        now_seconds: u64,
    ) -> Result<Claims, AuthError> {
        let token = token::parse(token)?;
        let algorithm = self.accepted_algorithm(&token.header.alg, jwks.is_some())?;
        let key = match (algorithm, jwks) {
            (Algorithm::HS256, _) => self
                .hmac_secret
                .as_ref()
                .ok_or(AuthError::AlgorithmNotAllowed)?,
            (_, Some(jwks)) => jwks.select(algorithm, token.header.kid.as_deref())?,
            (_, None) => return Err(AuthError::AlgorithmNotAllowed),
        };
        check_signature(&token, key, algorithm)?;
        let claims = token.claims()?;
        self.check_claims(&claims, now_seconds)?;
        Ok(claims)
    }

    /// Verifies `token`, taking RS256/ES256 keys from `cache` and fetching the JWKS through
    /// `fetcher` when the cache is empty, expired, or lacks the token's `kid` (see
    /// [`JwksCache`] for how often). HS256 tokens never cause a fetch.
    pub async fn verify_with_jwks<F: JwksFetcher>(
        &self,
        token: &str,
        cache: &RefCell<JwksCache>,
        fetcher: &F,
        now_seconds: u64,
    ) -> Result<Claims, AuthError> {
        let algorithm = self.accepted_algorithm(&token::parse(token)?.header.alg, true)?;
        if algorithm == Algorithm::HS256 {
            return self.verify(token, None, now_seconds);
        }
        let cached = cache.borrow().fresh_keys(now_seconds);
        let (keys, just_fetched) = match cached {
            Some(keys) => (keys, false),
            None if cache.borrow().may_fetch(now_seconds) => {
                (fetch(cache, fetcher, now_seconds).await?, true)
            }
            None => return Err(AuthError::JwksUnavailable),
        };
        match self.verify(token, Some(&keys), now_seconds) {
            Err(AuthError::UnknownKeyId)
                if !just_fetched && cache.borrow().may_refetch_for_unknown_key(now_seconds) =>
            {
                let keys = fetch(cache, fetcher, now_seconds).await?;
                self.verify(token, Some(&keys), now_seconds)
            }
            outcome => outcome,
        }
    }

    fn accepted_algorithm(&self, alg: &str, jwks_configured: bool) -> Result<Algorithm, AuthError> {
        match alg {
            "HS256" if self.hmac_secret.is_some() => Ok(Algorithm::HS256),
            "RS256" if jwks_configured => Ok(Algorithm::RS256),
            "ES256" if jwks_configured => Ok(Algorithm::ES256),
            _ => Err(AuthError::AlgorithmNotAllowed),
        }
    }

    fn check_claims(&self, claims: &Claims, now_seconds: u64) -> Result<(), AuthError> {
        let leeway = self.config.leeway_seconds;
        if now_seconds >= claims.exp.saturating_add(leeway) {
            return Err(AuthError::Expired);
        }
        let starts_at = claims.nbf.into_iter().chain(claims.iat).max();
        if starts_at.is_some_and(|starts_at| now_seconds.saturating_add(leeway) < starts_at) {
            return Err(AuthError::NotYetValid);
        }
        if let Some(required) = &self.config.audience {
            if !claims
                .aud
                .as_ref()
                .is_some_and(|aud| aud.contains(required))
            {
                return Err(AuthError::WrongAudience);
            }
        }
        if let Some(required) = &self.config.issuer {
            if claims.iss.as_deref() != Some(required.as_str()) {
                return Err(AuthError::WrongIssuer);
            }
        }
        Ok(())
    }
}

fn check_signature(
    token: &CompactToken<'_>,
    key: &DecodingKey,
    algorithm: Algorithm,
) -> Result<(), AuthError> {
    match jsonwebtoken::crypto::verify(
        token.signature,
        token.signing_input.as_bytes(),
        key,
        algorithm,
    ) {
        Ok(true) => Ok(()),
        Ok(false) => Err(AuthError::BadSignature),
        Err(error) if matches!(error.kind(), ErrorKind::Base64(_)) => {
            Err(AuthError::MalformedToken("the signature is not base64url"))
        }
        Err(_) => Err(AuthError::BadSignature),
    }
}

async fn fetch<F: JwksFetcher>(
    cache: &RefCell<JwksCache>,
    fetcher: &F,
    now_seconds: u64,
) -> Result<Rc<Jwks>, AuthError> {
    cache.borrow_mut().record_attempt(now_seconds);
    let outcome = fetcher
        .fetch_jwks()
        .await
        .and_then(|document| Jwks::from_json(&document));
    let mut cache = cache.borrow_mut();
    match outcome {
        Ok(jwks) => Ok(cache.record_success(jwks, now_seconds)),
        Err(reason) => {
            cache.record_failure(reason, now_seconds);
            Err(AuthError::JwksUnavailable)
        }
    }
}
