//! Verifying an access token: signature (HS256 with the project's JWT secret, RS256/ES256 with
//! a JWKS key), then `exp`/`nbf`/`iat` against a clock passed in, then `aud` and `iss`.
//!
//! The algorithms accepted follow from the keys configured: HS256 only with a JWT secret,
//! RS256/ES256 only with a JWKS, and each only against a key of its own type, so a public key
//! can never be used as an HMAC secret. The claims are checked here rather than by a JWT library
//! because they need the clock passed in (`SystemTime::now()` panics on wasm32).

use std::cell::RefCell;
use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::backend::{Backend, HmacKey};
use super::jwk::Algorithm;
use super::jwks_cache::refresh;
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
    hmac_secret: Option<HmacKey>,
    /// `None`: the faster backend for each algorithm (see `super::backend`).
    backend: Option<Backend>,
}

impl TokenVerifier {
    /// `jwt_secret` is the project's HS256 secret as raw bytes (Supabase uses the string as is,
    /// not base64-decoded); `None` when the project signs with asymmetric keys only.
    pub fn new(config: VerifierConfig, jwt_secret: Option<&[u8]>) -> TokenVerifier {
        TokenVerifier {
            config,
            hmac_secret: jwt_secret.map(HmacKey::new),
            backend: None,
        }
    }

    /// Checks every signature, HS256 included, with `backend` (the benchmark compares them).
    pub fn with_backend(mut self, backend: Backend) -> TokenVerifier {
        self.backend = Some(backend);
        self
    }

    /// Verifies `token` against the JWT secret and, when given, a JWKS already at hand.
    pub async fn verify(
        &self,
        token: &str,
        jwks: Option<&Jwks>,
        now_seconds: u64,
    ) -> Result<Claims, AuthError> {
        self.verify_parsed(&token::parse(token)?, jwks, now_seconds)
            .await
    }

    /// Verifies `token`, taking RS256/ES256 keys from `cache` and fetching the JWKS through
    /// `fetcher` when the cache is empty, expired, or lacks the token's `kid` (see
    /// [`JwksCache`] for how often, and what happens while fetches fail). HS256 tokens never
    /// cause a fetch.
    pub async fn verify_with_jwks<F: JwksFetcher>(
        &self,
        token: &str,
        cache: &RefCell<JwksCache>,
        fetcher: &F,
        now_seconds: u64,
    ) -> Result<Claims, AuthError> {
        let token = token::parse(token)?;
        if self.accepted_algorithm(&token.header.alg, true)? == Algorithm::Hs256 {
            return self.verify_parsed(&token, None, now_seconds).await;
        }
        let kid = token.header.kid.as_deref();
        let keys = current_keys(cache, fetcher, kid, now_seconds).await?;
        match self.verify_parsed(&token, Some(&keys), now_seconds).await {
            Err(AuthError::UnknownKeyId) if may_refetch(cache, now_seconds) => {
                let keys = refresh(cache, fetcher, now_seconds)
                    .await
                    .ok_or(AuthError::JwksUnavailable)?;
                self.verify_parsed(&token, Some(&keys), now_seconds).await
            }
            // The key may well be new: with the endpoint failing, that cannot be told yet.
            Err(AuthError::UnknownKeyId) if cache.borrow().last_failure().is_some() => {
                Err(AuthError::JwksUnavailable)
            }
            outcome => outcome,
        }
    }

    async fn verify_parsed(
        &self,
        token: &CompactToken<'_>,
        jwks: Option<&Jwks>,
        now_seconds: u64,
    ) -> Result<Claims, AuthError> {
        let algorithm = self.accepted_algorithm(&token.header.alg, jwks.is_some())?;
        let message = token.signing_input.as_bytes();
        let genuine = match (algorithm, jwks) {
            (Algorithm::Hs256, _) => {
                let secret = self
                    .hmac_secret
                    .as_ref()
                    .ok_or(AuthError::AlgorithmNotAllowed)?;
                let signature = decode_signature(token.signature)?;
                let backend = self.backend.unwrap_or(Backend::RustCrypto);
                secret.verify(backend, message, &signature).await
            }
            (_, Some(jwks)) => {
                let key = jwks.select(algorithm, token.header.kid.as_deref())?;
                let signature = decode_signature(token.signature)?;
                let backend = self.backend.unwrap_or(Backend::ASYMMETRIC_DEFAULT);
                key.verify(backend, message, &signature).await
            }
            (_, None) => return Err(AuthError::AlgorithmNotAllowed),
        };
        if !genuine {
            return Err(AuthError::BadSignature);
        }
        let claims = token.claims()?;
        self.check_claims(&claims, now_seconds)?;
        Ok(claims)
    }

    fn accepted_algorithm(&self, alg: &str, jwks_configured: bool) -> Result<Algorithm, AuthError> {
        match Algorithm::from_name(alg) {
            Some(Algorithm::Hs256) if self.hmac_secret.is_some() => Ok(Algorithm::Hs256),
            Some(algorithm @ (Algorithm::Rs256 | Algorithm::Es256)) if jwks_configured => {
                Ok(algorithm)
            }
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

fn decode_signature(encoded: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| AuthError::MalformedToken("the signature is not base64url"))
}

/// The keys to check a token against: the fresh set; else the stale set at once when someone
/// else is already refreshing it and it names this token's key; else a refresh when one is
/// allowed, falling back to the stale set (within its bound) when the refresh fails.
async fn current_keys<F: JwksFetcher>(
    cache: &RefCell<JwksCache>,
    fetcher: &F,
    kid: Option<&str>,
    now_seconds: u64,
) -> Result<Rc<Jwks>, AuthError> {
    let (fresh, usable, fetching, may_fetch) = {
        let cache = cache.borrow();
        (
            cache.fresh_keys(now_seconds),
            cache.usable_keys(now_seconds),
            cache.is_fetching(),
            cache.may_fetch(now_seconds),
        )
    };
    if let Some(keys) = fresh {
        return Ok(keys);
    }
    let names_this_key = |keys: &Jwks| kid.is_none_or(|kid| keys.contains(kid));
    if let Some(stale) = usable
        .as_ref()
        .filter(|keys| fetching && names_this_key(keys))
    {
        return Ok(Rc::clone(stale));
    }
    if fetching || may_fetch {
        if let Some(keys) = refresh(cache, fetcher, now_seconds).await {
            return Ok(keys);
        }
    }
    cache
        .borrow()
        .usable_keys(now_seconds)
        .ok_or(AuthError::JwksUnavailable)
}

/// An unknown `kid` joins a fetch under way, or starts one when the interval allows.
fn may_refetch(cache: &RefCell<JwksCache>, now_seconds: u64) -> bool {
    let cache = cache.borrow();
    cache.is_fetching() || cache.may_refetch_for_unknown_key(now_seconds)
}
