//! When `verify_with_jwks` fetches the JWKS: TTL, refetch on an unknown `kid`, and the limit on
//! how often that may happen. The fetcher is a script of JWKS documents that counts its calls;
//! everything from the response body on is the real code path.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{ready, Future};

use jsonwebtoken::Algorithm;

use super::fixtures::*;
use crate::auth::{AuthError, Claims, JwksCache, JwksCachePolicy, JwksFetcher};

/// Serves the scripted responses in order, repeating the last one when the script runs out.
struct ScriptedJwksEndpoint {
    responses: RefCell<VecDeque<Result<String, String>>>,
    calls: Cell<usize>,
}

impl ScriptedJwksEndpoint {
    fn new(responses: &[Result<&str, &str>]) -> ScriptedJwksEndpoint {
        let responses = responses
            .iter()
            .map(|response| response.map(str::to_string).map_err(str::to_string))
            .collect();
        ScriptedJwksEndpoint {
            responses: RefCell::new(responses),
            calls: Cell::new(0),
        }
    }

    fn serving(document: &str) -> ScriptedJwksEndpoint {
        ScriptedJwksEndpoint::new(&[Ok(document)])
    }

    fn calls(&self) -> usize {
        self.calls.get()
    }
}

impl JwksFetcher for ScriptedJwksEndpoint {
    fn fetch_jwks(&self) -> impl Future<Output = Result<String, String>> {
        self.calls.set(self.calls.get() + 1);
        let mut responses = self.responses.borrow_mut();
        let response = if responses.len() > 1 {
            responses.pop_front()
        } else {
            responses.front().cloned()
        };
        ready(response.expect("the script has at least one response"))
    }
}

fn new_cache() -> RefCell<JwksCache> {
    RefCell::new(JwksCache::new(JwksCachePolicy::default()))
}

fn verify_at(
    token: &str,
    cache: &RefCell<JwksCache>,
    endpoint: &ScriptedJwksEndpoint,
    now: u64,
) -> Result<Claims, AuthError> {
    run_ready(jwks_only_verifier().verify_with_jwks(token, cache, endpoint, now))
}

fn ec_a_token() -> String {
    sign(
        Algorithm::ES256,
        Some("ec-a"),
        &user_claims_with(serde_json::json!({"exp": NOW + 7200})),
        SigningKey::EcA,
    )
}

fn token_with_kid(kid: &str) -> String {
    sign(Algorithm::ES256, Some(kid), &user_claims(), SigningKey::EcB)
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn keys_are_fetched_once_and_reused_for_the_ttl() {
    let (cache, endpoint) = (new_cache(), ScriptedJwksEndpoint::serving(JWKS_INITIAL));
    assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW).is_ok());
    assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW + 599).is_ok());
    assert_eq!(endpoint.calls(), 1);
    assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW + 600).is_ok());
    assert_eq!(endpoint.calls(), 2, "an expired set is fetched again");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn hs256_tokens_never_fetch_the_jwks() {
    let (cache, endpoint) = (new_cache(), ScriptedJwksEndpoint::serving(JWKS_INITIAL));
    let token = sign(
        Algorithm::HS256,
        None,
        &user_claims(),
        SigningKey::Secret(SECRET),
    );
    assert!(run_ready(verifier().verify_with_jwks(&token, &cache, &endpoint, NOW)).is_ok());
    let none = format!(
        "{}.{}.",
        encode_json(&serde_json::json!({"alg": "none"})),
        encode_json(&user_claims())
    );
    assert_eq!(
        run_ready(verifier().verify_with_jwks(&none, &cache, &endpoint, NOW)),
        Err(AuthError::AlgorithmNotAllowed)
    );
    assert_eq!(endpoint.calls(), 0);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn key_rotated_in_is_found_by_refetching_on_its_unknown_kid() {
    let cache = new_cache();
    let endpoint = ScriptedJwksEndpoint::new(&[Ok(JWKS_INITIAL), Ok(JWKS_ROTATED)]);
    assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW).is_ok());
    let rotated = sign(
        Algorithm::ES256,
        Some("ec-b"),
        &user_claims(),
        SigningKey::EcB,
    );
    let claims = verify_at(&rotated, &cache, &endpoint, NOW + 40).unwrap();
    assert_eq!(
        claims.user_id(),
        Some("7c1f2e4a-0000-4000-8000-000000000001")
    );
    assert_eq!(endpoint.calls(), 2);
    assert!(verify_at(&rotated, &cache, &endpoint, NOW + 41).is_ok());
    assert_eq!(endpoint.calls(), 2, "the refetched set is cached");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn sprayed_unknown_kids_refetch_at_most_once_per_interval() {
    let (cache, endpoint) = (new_cache(), ScriptedJwksEndpoint::serving(JWKS_INITIAL));
    assert_eq!(
        verify_at(&token_with_kid("made-up-0"), &cache, &endpoint, NOW),
        Err(AuthError::UnknownKeyId)
    );
    assert_eq!(
        endpoint.calls(),
        1,
        "the first fetch already was fresh; no second fetch for the same request"
    );
    for second in 1..30 {
        let kid = format!("made-up-{second}");
        assert_eq!(
            verify_at(&token_with_kid(&kid), &cache, &endpoint, NOW + second),
            Err(AuthError::UnknownKeyId)
        );
    }
    assert_eq!(endpoint.calls(), 1);
    assert_eq!(
        verify_at(&token_with_kid("made-up-30"), &cache, &endpoint, NOW + 30),
        Err(AuthError::UnknownKeyId)
    );
    assert_eq!(
        endpoint.calls(),
        2,
        "one refetch once the interval has passed"
    );
    assert_eq!(
        verify_at(&token_with_kid("made-up-31"), &cache, &endpoint, NOW + 31),
        Err(AuthError::UnknownKeyId)
    );
    assert_eq!(endpoint.calls(), 2);
    assert!(
        verify_at(&ec_a_token(), &cache, &endpoint, NOW + 32).is_ok(),
        "known keys keep working meanwhile"
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn unreachable_jwks_is_unavailable_and_not_hammered() {
    let cache = new_cache();
    let endpoint =
        ScriptedJwksEndpoint::new(&[Err("HTTP 502 from the JWKS URL"), Ok(JWKS_INITIAL)]);
    assert_eq!(
        verify_at(&ec_a_token(), &cache, &endpoint, NOW),
        Err(AuthError::JwksUnavailable)
    );
    assert_eq!(
        cache.borrow().last_failure(),
        Some("HTTP 502 from the JWKS URL")
    );
    assert_eq!(
        verify_at(&ec_a_token(), &cache, &endpoint, NOW + 29),
        Err(AuthError::JwksUnavailable)
    );
    assert_eq!(endpoint.calls(), 1, "no retry within the interval");
    assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW + 30).is_ok());
    assert_eq!(endpoint.calls(), 2);
    assert_eq!(cache.borrow().last_failure(), None);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn expired_keys_are_not_used_when_the_refetch_fails() {
    let cache = new_cache();
    let endpoint = ScriptedJwksEndpoint::new(&[Ok(JWKS_INITIAL), Err("connection refused")]);
    assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW).is_ok());
    assert_eq!(
        verify_at(&ec_a_token(), &cache, &endpoint, NOW + 600),
        Err(AuthError::JwksUnavailable)
    );
    assert!(AuthError::JwksUnavailable.is_service_unavailable());
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn a_body_that_is_not_a_jwks_counts_as_a_failed_fetch() {
    let (cache, endpoint) = (
        new_cache(),
        ScriptedJwksEndpoint::serving("<html>maintenance</html>"),
    );
    assert_eq!(
        verify_at(&ec_a_token(), &cache, &endpoint, NOW),
        Err(AuthError::JwksUnavailable)
    );
    assert!(cache.borrow().last_failure().unwrap().contains("JWKS"));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn closures_can_serve_as_fetchers() {
    let cache = new_cache();
    let calls = Cell::new(0);
    let fetcher = || {
        calls.set(calls.get() + 1);
        ready(Ok::<String, String>(JWKS_INITIAL.to_string()))
    };
    let token = ec_a_token();
    assert!(
        run_ready(jwks_only_verifier().verify_with_jwks(&token, &cache, &fetcher, NOW)).is_ok()
    );
    assert_eq!(calls.get(), 1);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn cache_state_machine_follows_its_policy() {
    let mut cache = JwksCache::new(JwksCachePolicy {
        ttl_seconds: 100,
        min_refetch_interval_seconds: 10,
    });
    assert!(cache.fresh_keys(NOW).is_none());
    assert!(cache.may_fetch(NOW) && cache.may_refetch_for_unknown_key(NOW));
    cache.record_attempt(NOW);
    cache.record_success(jwks_initial(), NOW);
    assert_eq!(cache.fresh_keys(NOW + 99).map(|keys| keys.len()), Some(2));
    assert!(cache.fresh_keys(NOW + 100).is_none());
    assert!(!cache.may_refetch_for_unknown_key(NOW + 9));
    assert!(cache.may_refetch_for_unknown_key(NOW + 10));
    cache.record_attempt(NOW + 200);
    cache.record_failure("timeout".into(), NOW + 200);
    assert!(!cache.may_fetch(NOW + 209));
    assert!(cache.may_fetch(NOW + 210));
    assert_eq!(cache.last_failure(), Some("timeout"));
}
