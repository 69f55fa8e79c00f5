//! The privileged-caller check against every credential it takes and the ones it must refuse,
//! natively (RustCrypto) and on wasm32 (WebCrypto). The project's JWKS is the `jwks-initial`
//! fixture (ec-a, rsa-a) served by a closure that counts its calls; the Worker's own key is
//! ec-b, which that JWKS does not list (as before the project's JWKS is refetched).

use std::cell::{Cell, RefCell};

use jsonwebtoken::Algorithm as JoseAlgorithm;
use serde_json::{json, Map, Value};

use super::*;
use crate::auth::tests::fixtures::*;
use crate::auth::{JwksCachePolicy, PrivateJwk};

const SECRET_KEY: &str = "sb_secret_e2eTestOnly0123456789abcdefghij";
const CLEANUP_SECRET: &str = "cleanup-secret-0123456789abcdef0123456789";

struct Project {
    jwks: RefCell<JwksCache>,
    jwks_fetches: Cell<usize>,
    jwks_down: Cell<bool>,
    signer: RoleTokenSigner,
    legacy_signer: RoleTokenSigner,
}

impl Project {
    fn new() -> Project {
        Project {
            jwks: RefCell::new(JwksCache::new(JwksCachePolicy::default())),
            jwks_fetches: Cell::new(0),
            jwks_down: Cell::new(false),
            signer: RoleTokenSigner::from_jwk(PrivateJwk::from_json(EC_B_PRIVATE_JWK).unwrap()),
            legacy_signer: RoleTokenSigner::from_secret(SECRET),
        }
    }

    /// The keys of a project on signing keys that kept its legacy secret for HS256 tokens.
    fn keys(&self, shared_secret: Option<&'static str>) -> Keys<'_> {
        Keys {
            secret_key: Some(SECRET_KEY),
            shared_secret,
            jwt_secret: Some(SECRET),
            jwks: Some(&self.jwks),
            signer: Some(&self.signer),
            leeway_seconds: 30,
        }
    }

    async fn check(
        &self,
        endpoint: PrivilegedEndpoint,
        presented: Presented<'_>,
        keys: &Keys<'_>,
    ) -> Result<PrivilegedCaller, Refusal> {
        let fetcher = || {
            self.jwks_fetches.set(self.jwks_fetches.get() + 1);
            let answer = if self.jwks_down.get() {
                Err("HTTP 503 from the JWKS URL".to_string())
            } else {
                Ok(JWKS_INITIAL.to_string())
            };
            std::future::ready(answer)
        };
        check(endpoint, presented, keys, &fetcher, NOW).await
    }

    /// Checks `presented` on `endpoint` with this project's keys and the CLEANUP_SECRET.
    async fn admit(
        &self,
        endpoint: PrivilegedEndpoint,
        presented: Presented<'_>,
    ) -> Result<Credential, Refusal> {
        let shared = endpoint.shared_secret().map(|_| CLEANUP_SECRET);
        self.check(endpoint, presented, &self.keys(shared))
            .await
            .map(|caller| caller.credential)
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn authorization(header: &str) -> Presented<'_> {
    Presented {
        authorization: Some(header),
        ..Presented::default()
    }
}

fn apikey(key: &str) -> Presented<'_> {
    Presented {
        apikey: Some(key),
        ..Presented::default()
    }
}

/// The local Supabase CLI's service_role key: HS256, no `aud`, `iss` "supabase-demo".
fn legacy_service_role_key() -> String {
    let claims = json!({"iss": "supabase-demo", "role": "service_role", "exp": NOW + 3600});
    sign(
        JoseAlgorithm::HS256,
        None,
        &claims,
        SigningKey::Secret(SECRET),
    )
}

/// A service_role token signed by a key of the project's JWKS.
fn signing_key_service_role_token() -> String {
    let claims = json!({"iss": "https://abc.supabase.co/auth/v1", "role": "service_role", "exp": NOW + 3600});
    sign(JoseAlgorithm::ES256, Some("ec-a"), &claims, SigningKey::EcA)
}

fn user_token(algorithm: JoseAlgorithm) -> String {
    match algorithm {
        JoseAlgorithm::HS256 => sign(algorithm, None, &user_claims(), SigningKey::Secret(SECRET)),
        _ => sign(algorithm, Some("ec-a"), &user_claims(), SigningKey::EcA),
    }
}

async fn minted(signer: &RoleTokenSigner, role: DatabaseRole) -> String {
    signer.mint(role, "e2e", 60, NOW, Map::new()).await.unwrap()
}

async_test! {
    async fn the_secret_key_opens_every_privileged_endpoint_as_apikey_or_bearer() {
        let project = Project::new();
        let header = bearer(SECRET_KEY);
        for endpoint in PrivilegedEndpoint::ALL {
            assert_eq!(project.admit(endpoint, apikey(SECRET_KEY)).await, Ok(Credential::SecretKey));
            assert_eq!(project.admit(endpoint, authorization(&header)).await, Ok(Credential::SecretKey));
        }
        let wrong = "sb_secret_someoneElsesProject0123456789abcd";
        assert!(matches!(project.admit(PrivilegedEndpoint::CleanupRun, apikey(wrong)).await, Err(Refusal::Invalid { .. })));
        let unconfigured = Keys { secret_key: None, ..project.keys(None) };
        let refused = project.check(PrivilegedEndpoint::ApiKeysRotate, apikey(SECRET_KEY), &unconfigured).await;
        assert!(matches!(refused, Err(Refusal::Invalid { .. })), "{refused:?}");
    }
}

async_test! {
    async fn supabase_service_role_keys_are_accepted_without_an_audience() {
        let project = Project::new();
        let legacy = legacy_service_role_key();
        let modern = signing_key_service_role_token();
        let (legacy_header, modern_header) = (bearer(&legacy), bearer(&modern));
        for endpoint in PrivilegedEndpoint::ALL {
            assert_eq!(project.admit(endpoint, authorization(&legacy_header)).await, Ok(Credential::ServiceRoleToken));
            assert_eq!(project.admit(endpoint, authorization(&modern_header)).await, Ok(Credential::ServiceRoleToken));
            assert_eq!(
                project.admit(endpoint, apikey(&legacy)).await,
                Ok(Credential::ServiceRoleToken),
                "a legacy service_role key may come as apikey alone"
            );
        }
        assert_eq!(project.jwks_fetches.get(), 1, "the JWKS is fetched once and cached");
    }
}

async_test! {
    async fn user_and_anon_tokens_get_403() {
        let project = Project::new();
        let anon = sign(
            JoseAlgorithm::HS256,
            None,
            &json!({"iss": "supabase-demo", "role": "anon", "exp": NOW + 3600}),
            SigningKey::Secret(SECRET),
        );
        for token in [user_token(JoseAlgorithm::HS256), user_token(JoseAlgorithm::ES256), anon] {
            let header = bearer(&token);
            let with_publishable_key = Presented { apikey: Some("sb_publishable_abc"), ..authorization(&header) };
            for endpoint in PrivilegedEndpoint::ALL {
                assert_eq!(project.admit(endpoint, with_publishable_key).await, Err(Refusal::NotPrivileged));
            }
        }
    }
}

async_test! {
    async fn forged_expired_or_malformed_credentials_get_401_and_nothing_gets_401_too() {
        let project = Project::new();
        let forged = sign(
            JoseAlgorithm::HS256,
            None,
            &json!({"role": "service_role", "exp": NOW + 60}),
            SigningKey::Secret(b"another-secret-another-secret-another-secret"),
        );
        let expired = sign(
            JoseAlgorithm::HS256,
            None,
            &json!({"role": "service_role", "exp": NOW - 3600}),
            SigningKey::Secret(SECRET),
        );
        let unknown_key = sign(
            JoseAlgorithm::ES256,
            Some("somebody-elses"),
            &json!({"role": "service_role", "exp": NOW + 60}),
            SigningKey::EcA,
        );
        let cases = [
            (bearer(&forged), "bad_signature"),
            (bearer(&expired), "token_expired"),
            (bearer(&unknown_key), "unknown_key_id"),
            (bearer("not-a-credential"), "invalid_credential"),
            ("Basic abc".to_string(), "malformed_token"),
        ];
        for (header, expected) in cases {
            match project.admit(PrivilegedEndpoint::ApiKeysRotate, authorization(&header)).await {
                Err(Refusal::Invalid { code, .. }) => assert_eq!(code, expected, "{header}"),
                other => panic!("{header}: {other:?}"),
            }
        }
        assert_eq!(project.admit(PrivilegedEndpoint::ApiKeysRotate, Presented::default()).await, Err(Refusal::Missing));
        assert_eq!(
            project.admit(PrivilegedEndpoint::ApiKeysRotate, apikey("sb_publishable_abc")).await,
            Err(Refusal::Missing),
            "the publishable key alone is no credential"
        );
    }
}

async_test! {
    async fn each_endpoint_takes_its_own_shared_secret_where_it_declares_it() {
        let project = Project::new();
        let in_header = |secret| Presented { shared_secret: Some(secret), ..Presented::default() };
        assert_eq!(project.admit(PrivilegedEndpoint::CleanupRun, in_header(CLEANUP_SECRET)).await, Ok(Credential::SharedSecret));
        let as_bearer = bearer(CLEANUP_SECRET);
        assert_eq!(project.admit(PrivilegedEndpoint::CleanupRun, authorization(&as_bearer)).await, Ok(Credential::SharedSecret));
        assert_eq!(project.admit(PrivilegedEndpoint::RateLimitCheck, in_header(CLEANUP_SECRET)).await, Ok(Credential::SharedSecret));
        assert!(
            matches!(project.admit(PrivilegedEndpoint::RateLimitCheck, authorization(&as_bearer)).await, Err(Refusal::Invalid { .. })),
            "the check secret goes in x-api-key only"
        );
        let wrong = project.admit(PrivilegedEndpoint::CleanupRun, in_header("guessed")).await;
        assert_eq!(
            wrong,
            Err(Refusal::Invalid {
                reason: "the CLEANUP_SECRET in x-cleanup-secret is not valid".into(),
                code: "invalid_shared_secret"
            })
        );
        let unset = project.check(PrivilegedEndpoint::CleanupRun, in_header(CLEANUP_SECRET), &project.keys(None)).await;
        assert!(matches!(unset, Err(Refusal::Invalid { .. })), "no secret configured, none accepted");
        // Endpoints without a shared secret never look at one.
        let header = bearer(SECRET_KEY);
        let presented = Presented { shared_secret: Some("anything"), ..authorization(&header) };
        assert_eq!(project.admit(PrivilegedEndpoint::ApiKeysRotate, presented).await, Ok(Credential::SecretKey));
    }
}

async_test! {
    async fn role_tokens_this_worker_minted_open_only_the_endpoints_of_their_role() {
        let project = Project::new();
        let maintenance = bearer(&minted(&project.signer, DatabaseRole::Maintenance).await);
        let rate_limiter = bearer(&minted(&project.signer, DatabaseRole::RateLimiter).await);
        let webhook = bearer(&minted(&project.signer, DatabaseRole::WebhookIngest).await);
        let expect = [
            (PrivilegedEndpoint::CleanupRun, &maintenance, Ok(Credential::RoleToken(DatabaseRole::Maintenance))),
            (PrivilegedEndpoint::ApiKeysRotate, &maintenance, Ok(Credential::RoleToken(DatabaseRole::Maintenance))),
            (PrivilegedEndpoint::RateLimitCheck, &maintenance, Err(Refusal::NotPrivileged)),
            (PrivilegedEndpoint::RateLimitCheck, &rate_limiter, Ok(Credential::RoleToken(DatabaseRole::RateLimiter))),
            (PrivilegedEndpoint::CleanupRun, &rate_limiter, Err(Refusal::NotPrivileged)),
            (PrivilegedEndpoint::HealthDetails, &maintenance, Err(Refusal::NotPrivileged)),
            (PrivilegedEndpoint::CleanupRun, &webhook, Err(Refusal::NotPrivileged)),
        ];
        for (endpoint, header, outcome) in expect {
            assert_eq!(project.admit(endpoint, authorization(header)).await, outcome, "{endpoint:?}");
        }
        assert_eq!(project.jwks_fetches.get(), 0, "the Worker's own tokens need no JWKS");
    }
}

async_test! {
    async fn a_role_shaped_token_the_worker_did_not_sign_is_not_a_minted_one() {
        let project = Project::new();
        // Signed by a key of the project's JWKS, not the Worker's: a Supabase token whose role
        // is maintenance, not service_role.
        let claims = json!({"iss": "rls-edge", "role": "maintenance", "exp": NOW + 60});
        let by_project_key = bearer(&sign(JoseAlgorithm::ES256, Some("ec-a"), &claims, SigningKey::EcA));
        assert_eq!(project.admit(PrivilegedEndpoint::CleanupRun, authorization(&by_project_key)).await, Err(Refusal::NotPrivileged));
        // HS256 with the JWT secret is the Worker's only while it signs with the secret.
        let by_secret = bearer(&sign(JoseAlgorithm::HS256, None, &claims, SigningKey::Secret(SECRET)));
        assert_eq!(project.admit(PrivilegedEndpoint::CleanupRun, authorization(&by_secret)).await, Err(Refusal::NotPrivileged));
        let legacy_keys = Keys { signer: Some(&project.legacy_signer), ..project.keys(None) };
        let admitted = project.check(PrivilegedEndpoint::CleanupRun, authorization(&by_secret), &legacy_keys).await;
        assert_eq!(admitted.map(|caller| caller.credential), Ok(Credential::RoleToken(DatabaseRole::Maintenance)));
        let legacy_minted = bearer(&minted(&project.legacy_signer, DatabaseRole::Maintenance).await);
        let admitted = project.check(PrivilegedEndpoint::ApiKeysRotate, authorization(&legacy_minted), &legacy_keys).await;
        assert_eq!(admitted.map(|caller| caller.credential), Ok(Credential::RoleToken(DatabaseRole::Maintenance)));
    }
}

async_test! {
    async fn a_jwks_that_cannot_be_fetched_is_a_503_not_a_refusal() {
        let project = Project::new();
        project.jwks_down.set(true);
        let header = bearer(&signing_key_service_role_token());
        assert_eq!(project.admit(PrivilegedEndpoint::CleanupRun, authorization(&header)).await, Err(Refusal::KeysUnavailable));
        let secret = bearer(SECRET_KEY);
        assert_eq!(
            project.admit(PrivilegedEndpoint::CleanupRun, authorization(&secret)).await,
            Ok(Credential::SecretKey),
            "credentials that need no JWKS keep working"
        );
    }
}

async_test! {
    async fn the_admitted_credential_is_kept_for_fingerprinting_but_never_printed() {
        let project = Project::new();
        let caller = project
            .check(PrivilegedEndpoint::RateLimitCheck, apikey(SECRET_KEY), &project.keys(None))
            .await
            .unwrap();
        assert_eq!(caller.presented(), SECRET_KEY);
        assert_eq!(caller.credential.kind(), "secret_key");
        let wrong = format!("{SECRET_KEY}x");
        let refusal = project.admit(PrivilegedEndpoint::CleanupRun, apikey(&wrong)).await.unwrap_err();
        assert!(matches!(refusal, Refusal::Invalid { code: "invalid_secret_key", .. }));
        assert!(!format!("{refusal:?}").contains("sb_secret_e2e"));
    }
}

#[test]
fn each_endpoint_declares_its_credentials_once() {
    let routes: std::collections::HashSet<&str> = PrivilegedEndpoint::ALL
        .iter()
        .map(|endpoint| endpoint.route())
        .collect();
    assert_eq!(routes.len(), PrivilegedEndpoint::ALL.len());
    let accepted: Map<String, Value> = PrivilegedEndpoint::ALL
        .iter()
        .map(|endpoint| {
            (
                endpoint.route().to_string(),
                Value::from(endpoint.accepted()),
            )
        })
        .collect();
    assert!(accepted["POST /functions/v1/cleanup/run"]
        .as_str()
        .unwrap()
        .contains("CLEANUP_SECRET in x-cleanup-secret or as Bearer"));
    assert!(accepted["POST /functions/v1/rate-limit/check"]
        .as_str()
        .unwrap()
        .contains("RATE_LIMIT_CHECK_SECRET in x-api-key"));
    assert!(accepted["POST /functions/v1/api-keys/rotate"]
        .as_str()
        .unwrap()
        .contains("maintenance role token"));
    assert!(!accepted["GET /functions/v1/health (details)"]
        .as_str()
        .unwrap()
        .contains("role token"));
}
