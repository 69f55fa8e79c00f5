//! When `verify_with_jwks` fetches the JWKS and what it uses meanwhile: TTL, refetch on an
//! unknown `kid` and the limit on how often, one fetch shared by concurrent requests, and the
//! last good set kept for a bounded time while refreshes fail. The fetcher is a script of JWKS
//! answers that counts its calls, each answer optionally held back by a [`Gate`] until the test
//! opens it; everything from the response body on is the real code path.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;

use futures_util::future::{join, join_all};
use jsonwebtoken::Algorithm;

use super::fixtures::*;
use crate::auth::{AuthError, Claims, JwksCache, JwksCachePolicy, JwksFetcher};
use crate::test_support::{poll_once, yield_now, Gate};

/// Serves the scripted answers in order, repeating the last one when the script runs out.
struct ScriptedJwksEndpoint {
    answers: RefCell<VecDeque<Answer>>,
    calls: Cell<usize>,
}

#[derive(Clone)]
struct Answer {
    held_by: Option<Gate>,
    outcome: Result<String, String>,
}

impl ScriptedJwksEndpoint {
    fn new(outcomes: &[Result<&str, &str>]) -> ScriptedJwksEndpoint {
        let answers = outcomes
            .iter()
            .map(|outcome| Answer {
                held_by: None,
                outcome: outcome.map(str::to_string).map_err(str::to_string),
            })
            .collect();
        ScriptedJwksEndpoint {
            answers: RefCell::new(answers),
            calls: Cell::new(0),
        }
    }

    fn serving(document: &str) -> ScriptedJwksEndpoint {
        ScriptedJwksEndpoint::new(&[Ok(document)])
    }

    /// Holds the `index`th answer back until `gate` opens.
    fn holding(self, index: usize, gate: &Gate) -> ScriptedJwksEndpoint {
        self.answers.borrow_mut()[index].held_by = Some(gate.clone());
        self
    }

    fn calls(&self) -> usize {
        self.calls.get()
    }
}

impl JwksFetcher for ScriptedJwksEndpoint {
    fn fetch_jwks(&self) -> impl Future<Output = Result<String, String>> {
        self.calls.set(self.calls.get() + 1);
        let answer = {
            let mut answers = self.answers.borrow_mut();
            if answers.len() > 1 {
                answers.pop_front()
            } else {
                answers.front().cloned()
            }
        }
        .expect("the script has at least one answer");
        async move {
            if let Some(gate) = &answer.held_by {
                gate.pass().await;
            }
            answer.outcome
        }
    }
}

fn new_cache() -> RefCell<JwksCache> {
    RefCell::new(JwksCache::new(JwksCachePolicy::default()))
}

async fn verify_at(
    token: &str,
    cache: &RefCell<JwksCache>,
    endpoint: &ScriptedJwksEndpoint,
    now: u64,
) -> Result<Claims, AuthError> {
    jwks_only_verifier()
        .verify_with_jwks(token, cache, endpoint, now)
        .await
}

/// Valid until well past every time these tests use.
fn ec_a_token() -> String {
    let claims = user_claims_with(serde_json::json!({"exp": NOW + 86_400}));
    sign(Algorithm::ES256, Some("ec-a"), &claims, SigningKey::EcA)
}

fn ec_b_token() -> String {
    let claims = user_claims_with(serde_json::json!({"exp": NOW + 86_400}));
    sign(Algorithm::ES256, Some("ec-b"), &claims, SigningKey::EcB)
}

fn token_with_kid(kid: &str) -> String {
    sign(Algorithm::ES256, Some(kid), &user_claims(), SigningKey::EcB)
}

async_test! {
    async fn keys_are_fetched_once_and_reused_for_the_ttl() {
        let (cache, endpoint) = (new_cache(), ScriptedJwksEndpoint::serving(JWKS_INITIAL));
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW).await.is_ok());
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW + 599).await.is_ok());
        assert_eq!(endpoint.calls(), 1);
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW + 600).await.is_ok());
        assert_eq!(endpoint.calls(), 2, "an expired set is fetched again");
    }
}

async_test! {
    async fn hs256_tokens_never_fetch_the_jwks() {
        let (cache, endpoint) = (new_cache(), ScriptedJwksEndpoint::serving(JWKS_INITIAL));
        let token = sign(
            Algorithm::HS256,
            None,
            &user_claims(),
            SigningKey::Secret(SECRET),
        );
        assert!(verifier().verify_with_jwks(&token, &cache, &endpoint, NOW).await.is_ok());
        let none = format!(
            "{}.{}.",
            encode_json(&serde_json::json!({"alg": "none"})),
            encode_json(&user_claims())
        );
        assert_eq!(
            verifier().verify_with_jwks(&none, &cache, &endpoint, NOW).await,
            Err(AuthError::AlgorithmNotAllowed)
        );
        assert_eq!(endpoint.calls(), 0);
    }
}

async_test! {
    async fn key_rotated_in_is_found_by_refetching_on_its_unknown_kid() {
        let cache = new_cache();
        let endpoint = ScriptedJwksEndpoint::new(&[Ok(JWKS_INITIAL), Ok(JWKS_ROTATED)]);
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW).await.is_ok());
        let claims = verify_at(&ec_b_token(), &cache, &endpoint, NOW + 40).await.unwrap();
        assert_eq!(
            claims.user_id(),
            Some("7c1f2e4a-0000-4000-8000-000000000001")
        );
        assert_eq!(endpoint.calls(), 2);
        assert!(verify_at(&ec_b_token(), &cache, &endpoint, NOW + 41).await.is_ok());
        assert_eq!(endpoint.calls(), 2, "the refetched set is cached");
    }
}

async_test! {
    async fn sprayed_unknown_kids_refetch_at_most_once_per_interval() {
        let (cache, endpoint) = (new_cache(), ScriptedJwksEndpoint::serving(JWKS_INITIAL));
        assert_eq!(
            verify_at(&token_with_kid("made-up-0"), &cache, &endpoint, NOW).await,
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
                verify_at(&token_with_kid(&kid), &cache, &endpoint, NOW + second).await,
                Err(AuthError::UnknownKeyId)
            );
        }
        assert_eq!(endpoint.calls(), 1);
        assert_eq!(
            verify_at(&token_with_kid("made-up-30"), &cache, &endpoint, NOW + 30).await,
            Err(AuthError::UnknownKeyId)
        );
        assert_eq!(
            endpoint.calls(),
            2,
            "one refetch once the interval has passed"
        );
        assert_eq!(
            verify_at(&token_with_kid("made-up-31"), &cache, &endpoint, NOW + 31).await,
            Err(AuthError::UnknownKeyId)
        );
        assert_eq!(endpoint.calls(), 2);
        assert!(
            verify_at(&ec_a_token(), &cache, &endpoint, NOW + 32).await.is_ok(),
            "known keys keep working meanwhile"
        );
    }
}

async_test! {
    async fn unreachable_jwks_is_unavailable_and_not_hammered() {
        let cache = new_cache();
        let endpoint =
            ScriptedJwksEndpoint::new(&[Err("HTTP 502 from the JWKS URL"), Ok(JWKS_INITIAL)]);
        assert_eq!(
            verify_at(&ec_a_token(), &cache, &endpoint, NOW).await,
            Err(AuthError::JwksUnavailable)
        );
        assert_eq!(
            cache.borrow().last_failure(),
            Some("HTTP 502 from the JWKS URL")
        );
        assert_eq!(
            verify_at(&ec_a_token(), &cache, &endpoint, NOW + 29).await,
            Err(AuthError::JwksUnavailable)
        );
        assert_eq!(endpoint.calls(), 1, "no retry within the interval");
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW + 30).await.is_ok());
        assert_eq!(endpoint.calls(), 2);
        assert_eq!(cache.borrow().last_failure(), None);
    }
}

async_test! {
    async fn the_last_good_set_serves_while_refreshes_fail_for_a_bounded_time() {
        let cache = new_cache();
        let endpoint = ScriptedJwksEndpoint::new(&[Ok(JWKS_INITIAL), Err("HTTP 500 from the JWKS URL")]);
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW).await.is_ok());

        // Expired: the refresh fails, the stale set answers, and the failure is not retried
        // within the interval.
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW + 600).await.is_ok());
        assert_eq!(endpoint.calls(), 2);
        assert!(cache.borrow().status(NOW + 600).stale);
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW + 629).await.is_ok());
        assert_eq!(endpoint.calls(), 2);
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW + 630).await.is_ok());
        assert_eq!(endpoint.calls(), 3, "retried once the interval has passed");

        // A kid the stale set lacks may be new: that cannot be told while the endpoint fails.
        assert_eq!(
            verify_at(&ec_b_token(), &cache, &endpoint, NOW + 631).await,
            Err(AuthError::JwksUnavailable)
        );

        // The bound: ttl (600) + max_stale (1800) after the last good fetch.
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW + 2_399).await.is_ok());
        assert_eq!(
            verify_at(&ec_a_token(), &cache, &endpoint, NOW + 2_400).await,
            Err(AuthError::JwksUnavailable),
            "a key removed from the JWKS may have leaked: the old set is not used forever"
        );
        assert!(AuthError::JwksUnavailable.is_service_unavailable());
    }
}

async_test! {
    async fn a_body_that_is_not_a_jwks_counts_as_a_failed_fetch() {
        let (cache, endpoint) = (
            new_cache(),
            ScriptedJwksEndpoint::serving("<html>maintenance</html>"),
        );
        assert_eq!(
            verify_at(&ec_a_token(), &cache, &endpoint, NOW).await,
            Err(AuthError::JwksUnavailable)
        );
        assert!(cache.borrow().last_failure().unwrap().contains("JWKS"));
    }
}

async_test! {
    async fn closures_can_serve_as_fetchers() {
        let cache = new_cache();
        let calls = Cell::new(0);
        let fetcher = || {
            calls.set(calls.get() + 1);
            std::future::ready(Ok::<String, String>(JWKS_INITIAL.to_string()))
        };
        let token = ec_a_token();
        assert!(jwks_only_verifier()
            .verify_with_jwks(&token, &cache, &fetcher, NOW)
            .await
            .is_ok());
        assert_eq!(calls.get(), 1);
    }
}

async_test! {
    async fn a_burst_of_requests_for_a_rotated_key_shares_one_fetch() {
        let cache = new_cache();
        let gate = Gate::default();
        let endpoint =
            ScriptedJwksEndpoint::new(&[Ok(JWKS_INITIAL), Ok(JWKS_ROTATED)]).holding(1, &gate);
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW).await.is_ok());

        let rotated = ec_b_token();
        let burst = join_all((0..50).map(|_| verify_at(&rotated, &cache, &endpoint, NOW + 40)));
        let release = async {
            yield_now().await;
            assert!(cache.borrow().is_fetching(), "the burst is waiting on one fetch");
            gate.open();
        };
        let (outcomes, ()) = join(burst, release).await;
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        assert_eq!(endpoint.calls(), 2, "one fetch for the whole burst");
        assert!(!cache.borrow().is_fetching());
    }
}

async_test! {
    async fn known_keys_do_not_wait_for_a_refresh_under_way() {
        let cache = new_cache();
        let gate = Gate::default();
        let endpoint =
            ScriptedJwksEndpoint::new(&[Ok(JWKS_INITIAL), Ok(JWKS_ROTATED)]).holding(1, &gate);
        assert!(verify_at(&ec_a_token(), &cache, &endpoint, NOW).await.is_ok());

        // Past the TTL: the first request refreshes, and waits.
        let token = ec_a_token();
        let mut refreshing = Box::pin(verify_at(&token, &cache, &endpoint, NOW + 600));
        assert!(!poll_once(&mut refreshing).await);
        assert!(cache.borrow().is_fetching());
        // The others use the set they have, at once.
        assert!(verify_at(&token, &cache, &endpoint, NOW + 601).await.is_ok());
        assert_eq!(endpoint.calls(), 2);
        gate.open();
        assert!(refreshing.await.is_ok());
        assert_eq!(cache.borrow().status(NOW + 601).key_ids, ["rsa-a", "ec-a", "ec-b"]);
    }
}

async_test! {
    async fn a_fetch_whose_request_went_away_is_taken_over_by_a_waiter() {
        let cache = new_cache();
        let gate = Gate::default();
        let endpoint = ScriptedJwksEndpoint::new(&[Ok(JWKS_INITIAL), Ok(JWKS_INITIAL)]).holding(0, &gate);
        let token = ec_a_token();
        let mut abandoned = Box::pin(verify_at(&token, &cache, &endpoint, NOW));
        assert!(!poll_once(&mut abandoned).await);
        let mut waiting = pin!(verify_at(&token, &cache, &endpoint, NOW));
        assert!(!poll_once(&mut waiting).await);
        assert_eq!(endpoint.calls(), 1, "the second request waits for the first one's fetch");
        drop(abandoned);
        assert!(waiting.await.is_ok());
        assert_eq!(endpoint.calls(), 2, "the waiter fetched itself once the first went away");
    }
}

async_test! {
    async fn a_fetch_that_never_ends_is_not_waited_for_forever() {
        let cache = new_cache();
        let gate = Gate::default();
        let endpoint = ScriptedJwksEndpoint::new(&[Ok(JWKS_INITIAL), Ok(JWKS_ROTATED)]).holding(0, &gate);
        let token = ec_a_token();
        // Its request's code stopped running mid-fetch, without being dropped.
        let mut stuck = Box::pin(verify_at(&token, &cache, &endpoint, NOW));
        assert!(!poll_once(&mut stuck).await);
        assert!(verify_at(&token, &cache, &endpoint, NOW).await.is_ok());
        assert_eq!(endpoint.calls(), 2, "after MAX_PAUSES_FOR_A_FETCH pauses the waiter fetched itself");
        assert!(!cache.borrow().is_fetching());
        gate.open();
        assert!(stuck.await.is_ok(), "the late fetch still lands");
        assert!(!cache.borrow().is_fetching());
        assert!(
            cache.borrow().status(NOW).key_ids.contains(&"ec-b".to_string()),
            "the set the later fetch brought is kept, not the late one's older set"
        );
    }
}

async_test! {
    async fn cache_state_machine_follows_its_policy() {
        let mut cache = JwksCache::new(JwksCachePolicy {
            ttl_seconds: 100,
            min_refetch_interval_seconds: 10,
            max_stale_seconds: 50,
        });
        assert!(cache.fresh_keys(NOW).is_none());
        assert!(cache.may_fetch(NOW) && cache.may_refetch_for_unknown_key(NOW));
        cache.record_attempt(NOW);
        cache.record_success(jwks_initial(), NOW);
        assert_eq!(cache.fresh_keys(NOW + 99).map(|keys| keys.len()), Some(2));
        assert!(cache.fresh_keys(NOW + 100).is_none());
        assert!(cache.usable_keys(NOW + 149).is_some());
        assert!(cache.usable_keys(NOW + 150).is_none());
        assert!(!cache.may_refetch_for_unknown_key(NOW + 9));
        assert!(cache.may_refetch_for_unknown_key(NOW + 10));
        cache.record_attempt(NOW + 200);
        cache.record_failure("timeout".into(), NOW + 200);
        assert!(!cache.may_fetch(NOW + 209));
        assert!(cache.may_fetch(NOW + 210));
        assert_eq!(cache.last_failure(), Some("timeout"));
        let status = cache.status(NOW + 120);
        assert_eq!((status.fetches, status.stale, status.age_seconds), (2, true, Some(120)));
    }
}
