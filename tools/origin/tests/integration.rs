//! The origin over real HTTP: a real Postgres behind the embedded gateway for `/rest/v1`, an
//! upstream server standing in for `wrangler dev` behind `/functions/v1` (it reports what it
//! received and streams what it is asked to), and an Auth service recording what reached it. A
//! custom harness: one cluster and one set of origins serve every case, and the cluster is
//! stopped at the end whatever happened.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use origin::keys::{SigningKeys, TokenSigner};
use origin::proxy::{Body, BoxError};
use origin::{AuthService, Config};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

const JWT_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
const PUBLISHABLE: &str = "sb_publishable_TestOnlyPublishable0000_abcdefgh";
const SECRET: &str = "sb_secret_TestOnlySecretKey00000000_abcdefgh";
const ALICE: &str = "11111111-1111-1111-1111-111111111111";
const PORT_RANGE: std::ops::Range<u16> = 56300..56400;
const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

struct T {
    /// Signing mode, with the legacy secret still configured (a project migrating).
    origin: String,
    /// Legacy mode: HS256 and the legacy JWT API keys.
    legacy: String,
    /// An origin whose /functions/v1 points at a port where nothing listens.
    dead_functions: String,
    keys: SigningKeys,
    legacy_anon: String,
    legacy_service_role: String,
    upstream: Arc<Upstream>,
    auth: Arc<RecordingAuth>,
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cluster = Cluster::start();
    let code = runtime.block_on(async {
        let db = cluster.fixture_database().await;
        let work = std::env::temp_dir().join(format!("origin-it-{}", std::process::id()));
        std::fs::create_dir_all(&work).unwrap();
        let (signing_file, keys) = write_signing_keys(&work);
        let api_keys_file = work.join("api-keys.json");
        std::fs::write(&api_keys_file, json!({ "publishable_key": PUBLISHABLE, "secret_key": SECRET }).to_string()).unwrap();
        let upstream = Upstream::start().await;
        let auth = Arc::new(RecordingAuth::default());
        let legacy_anon = hs256(json!({ "iss": "supabase-demo", "role": "anon", "exp": 1983812996 }));
        let legacy_service_role = hs256(json!({ "iss": "supabase-demo", "role": "service_role", "exp": 1983812996 }));
        let base = |mode: &str, functions: &str| {
            let mut settings: HashMap<&'static str, String> = HashMap::from([
                ("ORIGIN_PORT", "0".to_string()),
                ("ORIGIN_KEY_MODE", mode.to_string()),
                ("ORIGIN_API_KEYS", api_keys_file.display().to_string()),
                ("ORIGIN_SIGNING_KEYS", signing_file.display().to_string()),
                ("ORIGIN_JWT_SECRET", JWT_SECRET.to_string()),
                ("ORIGIN_ANON_KEY", legacy_anon.clone()),
                ("ORIGIN_SERVICE_ROLE_KEY", legacy_service_role.clone()),
                ("ORIGIN_FUNCTIONS_URL", functions.to_string()),
                ("PGRST_DB_URI", db.authenticator.clone()),
                ("PGRST_DB_ANON_ROLE", "anon".to_string()),
            ]);
            settings.retain(|_, v| !v.is_empty());
            Config::from_map(&settings, &|path| std::fs::read_to_string(path).map_err(|e| e.to_string())).expect("valid settings")
        };
        let upstream_url = format!("http://{}", upstream.address);
        let dead = format!("http://127.0.0.1:{}", free_port());
        let signing = origin::start(base("signing", &upstream_url), auth.clone()).await.expect("the signing origin starts");
        let legacy = origin::start(base("legacy", &upstream_url), auth.clone()).await.expect("the legacy origin starts");
        let dead_functions = origin::start(base("signing", &dead), auth.clone()).await.expect("the third origin starts");
        let t = T {
            origin: signing.url(),
            legacy: legacy.url(),
            dead_functions: dead_functions.url(),
            keys,
            legacy_anon,
            legacy_service_role,
            upstream,
            auth,
        };
        let started = Instant::now();
        let mut passed = 0;
        let mut failed = Vec::new();
        macro_rules! cases {
            ($($name:ident),* $(,)?) => {$(
                match AssertUnwindSafe($name(&t)).catch_unwind().await {
                    Ok(()) => { println!("test {} ... ok", stringify!($name)); passed += 1; }
                    Err(_) => { println!("test {} ... FAILED", stringify!($name)); failed.push(stringify!($name)); }
                }
            )*};
        }
        cases!(
            a_missing_apikey_gets_supabases_401,
            a_wrong_apikey_gets_invalid_api_key,
            the_publishable_key_runs_as_anon,
            the_secret_key_runs_as_service_role_through_a_minted_token,
            a_users_token_wins_over_either_key,
            bearer_api_keys_count_only_when_they_equal_the_apikey,
            the_apikey_query_parameter_works_and_is_not_passed_on,
            the_openapi_root_is_for_privileged_keys_only,
            a_secret_key_is_refused_from_a_browser,
            legacy_mode_accepts_the_legacy_keys_and_hs256,
            cors_preflight_and_headers_as_supabases_gateway,
            the_jwks_lists_the_public_keys,
            functions_keep_status_and_every_header_both_ways,
            functions_stream_large_bodies_both_ways,
            functions_stream_as_bytes_arrive,
            a_dead_functions_upstream_is_a_502,
            unknown_paths_are_404,
            auth_gets_relative_paths_collected_bodies_and_role_tokens,
        );
        println!();
        println!(
            "test result: {}. {passed} passed; {} failed; 0 ignored; 0 measured; 0 filtered out; finished in {:.2}s",
            if failed.is_empty() { "ok" } else { "FAILED" },
            failed.len(),
            started.elapsed().as_secs_f64()
        );
        drop((signing, legacy, dead_functions));
        let _ = std::fs::remove_dir_all(&work);
        if failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    });
    drop(runtime);
    drop(cluster);
    code
}

// ---------------------------------------------------------------------------------------------
// The cases

async fn a_missing_apikey_gets_supabases_401(t: &T) {
    for path in ["/rest/v1/notes", "/auth/v1/signup", "/auth/v1/admin/users"] {
        let answer = get(&t.origin, path, &[("authorization", "Bearer whatever")]).await;
        assert_eq!(answer.status, 401, "{path}");
        assert_eq!(
            answer.json(),
            json!({"message": "No API key found in request", "hint": "No `apikey` request header or url param was found."})
        );
        assert_eq!(
            answer.header("sb-error-code"),
            Some("UNAUTHORIZED_MISSING_API_KEY")
        );
        assert_eq!(answer.header("content-type"), Some("application/json"));
    }
    assert!(t.auth.seen().is_empty(), "a refused request reached Auth");
}

async fn a_wrong_apikey_gets_invalid_api_key(t: &T) {
    for key in [
        "sb_publishable_someone-elses",
        SECRET.trim_end_matches('h'),
        &t.legacy_anon,
    ] {
        let answer = get(&t.origin, "/rest/v1/notes", &[("apikey", key)]).await;
        assert_eq!(
            (answer.status, answer.json()),
            (401, json!({"message": "Invalid API key"})),
            "{key}"
        );
        assert_eq!(
            answer.header("sb-error-code"),
            Some("UNAUTHORIZED_INVALID_API_KEY")
        );
    }
}

async fn the_publishable_key_runs_as_anon(t: &T) {
    let who = whoami(&t.origin, &[("apikey", PUBLISHABLE)]).await;
    assert_eq!(who["role"], "anon");
    assert_eq!(who["claims"]["iss"], "supabase");
    let notes = get(
        &t.origin,
        "/rest/v1/notes?select=body",
        &[("apikey", PUBLISHABLE)],
    )
    .await;
    assert_eq!(
        (notes.status, notes.json()),
        (200, json!([])),
        "anon must see no notes under RLS"
    );
}

async fn the_secret_key_runs_as_service_role_through_a_minted_token(t: &T) {
    let who = whoami(&t.origin, &[("apikey", SECRET)]).await;
    assert_eq!(who["role"], "service_role");
    assert!(
        who["claims"]["exp"].as_u64().unwrap() > now(),
        "the minted token must be current"
    );
    let notes = get(
        &t.origin,
        "/rest/v1/notes?select=body&order=body",
        &[("apikey", SECRET)],
    )
    .await;
    assert_eq!(
        notes.json(),
        json!([{"body": "alice's note"}, {"body": "bob's note"}])
    );
}

async fn a_users_token_wins_over_either_key(t: &T) {
    let user = es256(
        &t.keys,
        json!({ "sub": ALICE, "role": "authenticated", "aud": "authenticated", "exp": now() + 300 }),
    );
    for key in [PUBLISHABLE, SECRET] {
        let bearer = format!("Bearer {user}");
        let who = whoami(&t.origin, &[("apikey", key), ("authorization", &bearer)]).await;
        assert_eq!(
            (who["role"].as_str(), who["claims"]["sub"].as_str()),
            (Some("authenticated"), Some(ALICE)),
            "{key}"
        );
        let notes = get(
            &t.origin,
            "/rest/v1/notes?select=body",
            &[("apikey", key), ("authorization", &bearer)],
        )
        .await;
        assert_eq!(notes.json(), json!([{"body": "alice's note"}]));
    }
    let forged = es256_with(
        &[3u8; 32],
        "not-in-the-jwks",
        json!({ "sub": ALICE, "role": "service_role", "exp": now() + 300 }),
    );
    let answer = get(
        &t.origin,
        "/rest/v1/notes",
        &[
            ("apikey", PUBLISHABLE),
            ("authorization", &format!("Bearer {forged}")),
        ],
    )
    .await;
    assert_eq!(
        answer.status, 401,
        "a token from a key outside the JWKS must be refused by the gateway"
    );
    let legacy_user = hs256(json!({ "sub": ALICE, "role": "authenticated", "exp": now() + 300 }));
    let who = whoami(
        &t.origin,
        &[
            ("apikey", PUBLISHABLE),
            ("authorization", &format!("Bearer {legacy_user}")),
        ],
    )
    .await;
    assert_eq!(
        who["role"], "authenticated",
        "while the legacy secret is configured, HS256 user tokens still verify"
    );
}

async fn bearer_api_keys_count_only_when_they_equal_the_apikey(t: &T) {
    let same = format!("Bearer {PUBLISHABLE}");
    assert_eq!(
        whoami(
            &t.origin,
            &[("apikey", PUBLISHABLE), ("authorization", &same)]
        )
        .await["role"],
        "anon"
    );
    let escalation = format!("Bearer {SECRET}");
    let answer = get(
        &t.origin,
        "/rest/v1/rpc/whoami",
        &[("apikey", PUBLISHABLE), ("authorization", &escalation)],
    )
    .await;
    assert_eq!(
        (answer.status, answer.json()["message"].clone()),
        (401, json!("Invalid API key"))
    );
}

async fn the_apikey_query_parameter_works_and_is_not_passed_on(t: &T) {
    let answer = get(
        &t.origin,
        &format!("/rest/v1/notes?select=body&apikey={SECRET}&order=body"),
        &[],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!([{"body": "alice's note"}, {"body": "bob's note"}])
    );
}

async fn the_openapi_root_is_for_privileged_keys_only(t: &T) {
    for path in ["/rest/v1/", "/rest/v1"] {
        let answer = get(&t.origin, path, &[("apikey", PUBLISHABLE)]).await;
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.json(),
            json!({"message": "Secret API key required", "hint": "Only secret API keys can be used for this endpoint."})
        );
        assert_eq!(
            answer.header("sb-error-code"),
            Some("UNAUTHORIZED_INVALID_API_KEY_TYPE")
        );
        let answer = get(&t.legacy, path, &[("apikey", &t.legacy_anon)]).await;
        assert_eq!(
            answer.json(),
            json!({"message": "Invalid API key", "hint": "Only the `service_role` API key can be used for this endpoint."})
        );
        for (origin, key) in [
            (&t.origin, SECRET),
            (&t.legacy, t.legacy_service_role.as_str()),
        ] {
            let answer = get(origin, path, &[("apikey", key)]).await;
            assert_eq!(
                answer.header("sb-error-code"),
                None,
                "the privileged key must reach the gateway: {}",
                answer.text()
            );
            assert_eq!(answer.status, 200, "{}", answer.text());
            assert_eq!(
                answer.json()["swagger"],
                "2.0",
                "the gateway's OpenAPI description"
            );
        }
    }
    let data = get(
        &t.origin,
        "/rest/v1/notes?select=body",
        &[("apikey", PUBLISHABLE)],
    )
    .await;
    assert_eq!(
        data.status, 200,
        "tables stay readable with the publishable key"
    );
}

async fn a_secret_key_is_refused_from_a_browser(t: &T) {
    let answer = get(
        &t.origin,
        "/rest/v1/notes",
        &[("apikey", SECRET), ("user-agent", BROWSER)],
    )
    .await;
    assert_eq!(
        (answer.status, answer.json()),
        (
            401,
            json!({"message": "Forbidden use of secret API key in browser"})
        )
    );
    let answer = get(
        &t.origin,
        "/rest/v1/notes",
        &[("apikey", PUBLISHABLE), ("user-agent", BROWSER)],
    )
    .await;
    assert_eq!(answer.status, 200);
}

async fn legacy_mode_accepts_the_legacy_keys_and_hs256(t: &T) {
    assert_eq!(
        whoami(&t.legacy, &[("apikey", &t.legacy_anon)]).await["role"],
        "anon"
    );
    let who = whoami(&t.legacy, &[("apikey", &t.legacy_service_role)]).await;
    assert_eq!(
        (who["role"].as_str(), who["claims"]["iss"].as_str()),
        (Some("service_role"), Some("supabase-demo")),
        "the key itself is the bearer"
    );
    let who = whoami(&t.legacy, &[("apikey", SECRET)]).await;
    assert_eq!(
        who["role"], "service_role",
        "the new keys work on a legacy project, through HS256 role tokens"
    );
    let user = hs256(json!({ "sub": ALICE, "role": "authenticated", "exp": now() + 300 }));
    assert_eq!(
        whoami(
            &t.legacy,
            &[
                ("apikey", &t.legacy_anon),
                ("authorization", &format!("Bearer {user}"))
            ]
        )
        .await["claims"]["sub"],
        ALICE
    );
    let es = es256(
        &t.keys,
        json!({ "sub": ALICE, "role": "authenticated", "exp": now() + 300 }),
    );
    let answer = get(
        &t.legacy,
        "/rest/v1/notes",
        &[
            ("apikey", &t.legacy_anon),
            ("authorization", &format!("Bearer {es}")),
        ],
    )
    .await;
    assert_eq!(
        answer.status, 401,
        "a legacy project has no asymmetric keys to verify ES256 with"
    );
    assert_eq!(
        get(
            &t.origin,
            "/rest/v1/notes",
            &[("apikey", &t.legacy_service_role)]
        )
        .await
        .status,
        401,
        "signing mode refuses legacy keys"
    );
    let jwks = get(&t.legacy, "/auth/v1/.well-known/jwks.json", &[]).await;
    assert_eq!(jwks.json(), json!({"keys": []}));
}

async fn cors_preflight_and_headers_as_supabases_gateway(t: &T) {
    for path in ["/rest/v1/notes", "/auth/v1/token?grant_type=password"] {
        let answer = send(
            Method::OPTIONS,
            &format!("{}{path}", t.origin),
            &[
                ("origin", "http://localhost:3000"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "apikey,authorization,x-client-info",
                ),
            ],
            Bytes::new(),
        )
        .await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            answer.header("access-control-allow-headers"),
            Some("apikey,authorization,x-client-info")
        );
        assert_eq!(
            answer.header("access-control-allow-methods"),
            Some("GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT")
        );
        assert!(answer.body.is_empty());
    }
    let refused = get(
        &t.origin,
        "/rest/v1/notes",
        &[("origin", "http://localhost:3000")],
    )
    .await;
    assert_eq!(
        (
            refused.status,
            refused.header("access-control-allow-origin")
        ),
        (401, Some("*")),
        "browsers must be able to read the 401"
    );
    let data = get(
        &t.origin,
        "/rest/v1/notes",
        &[("origin", "http://localhost:3000"), ("apikey", PUBLISHABLE)],
    )
    .await;
    assert_eq!(data.header("access-control-allow-origin"), Some("*"));
    assert!(
        data.header("access-control-expose-headers")
            .is_some_and(|h| h.contains("Content-Range")),
        "the gateway's expose list passes through"
    );
}

async fn the_jwks_lists_the_public_keys(t: &T) {
    let answer = get(&t.origin, "/auth/v1/.well-known/jwks.json", &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), Some("public, max-age=600"));
    assert_eq!(answer.json(), t.keys.jwks());
    let published = answer.json();
    assert_eq!(published["keys"].as_array().unwrap().len(), 2);
    assert!(published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k.get("d").is_none() && k["key_ops"] == json!(["verify"])));
    let head = send(
        Method::HEAD,
        &format!("{}/auth/v1/.well-known/jwks.json", t.origin),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    let post = send(
        Method::POST,
        &format!("{}/auth/v1/.well-known/jwks.json", t.origin),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(
        (post.status, post.header("allow")),
        (405, Some("GET, HEAD"))
    );
}

async fn functions_keep_status_and_every_header_both_ways(t: &T) {
    let answer = send(
        Method::PATCH,
        &format!("{}/functions/v1/echo/deeper?x=1&y=%20two", t.origin),
        &[
            ("authorization", "Bearer a-user-token"),
            ("x-custom", "kept"),
            ("cookie", "a=1; b=2"),
            ("content-type", "text/plain"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "dropped"),
            ("x-forwarded-for", "203.0.113.9"),
        ],
        Bytes::from_static(b"hello"),
    )
    .await;
    assert_eq!(answer.status, 207, "the upstream's status comes back");
    assert_eq!(answer.header("x-upstream"), Some("yes"));
    let cookies: Vec<&str> = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        cookies,
        ["one=1; Path=/", "two=2; Path=/"],
        "repeated headers come back repeated"
    );
    let seen = answer.json();
    assert_eq!(seen["method"], "PATCH");
    assert_eq!(
        seen["path"], "/functions/v1/echo/deeper?x=1&y=%20two",
        "path and query unchanged"
    );
    assert_eq!(seen["body"], "hello");
    let headers = &seen["headers"];
    for (name, value) in [
        ("authorization", "Bearer a-user-token"),
        ("x-custom", "kept"),
        ("cookie", "a=1; b=2"),
        ("content-type", "text/plain"),
    ] {
        assert_eq!(headers[name], value, "{name} must reach the Worker as sent");
    }
    assert!(
        headers.get("x-hop").is_none()
            && headers
                .get("connection")
                .is_none_or(|c| c != "keep-alive, x-hop"),
        "hop-by-hop headers stop at the origin"
    );
    assert_eq!(headers["host"], t.upstream.address.to_string());
    assert_eq!(headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    assert!(headers["x-forwarded-host"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(
        headers.get("apikey").is_none(),
        "no apikey is needed for functions, and none is invented"
    );
}

async fn functions_stream_large_bodies_both_ways(t: &T) {
    const SIZE: usize = 48 * 1024 * 1024;
    let answer = get(
        &t.origin,
        &format!("/functions/v1/download?bytes={SIZE}"),
        &[],
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.len(), SIZE);
    assert_eq!(
        hex(&Sha256::digest(&answer.body)),
        hex(&Sha256::digest(pattern(SIZE)))
    );

    let chunks: Vec<Result<Frame<Bytes>, BoxError>> = pattern(SIZE)
        .chunks(256 * 1024)
        .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    let body = StreamBody::new(futures_util::stream::iter(chunks)).boxed();
    let answer = send_body(
        Method::POST,
        &format!("{}/functions/v1/upload", t.origin),
        &[],
        body,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({ "bytes": SIZE, "sha256": hex(&Sha256::digest(pattern(SIZE))) })
    );
}

async fn functions_stream_as_bytes_arrive(t: &T) {
    // Response: the upstream sends its head and a first chunk, then waits for the test's go; the
    // client must see that chunk first, which a proxy that buffers would never deliver.
    let (go, gone) = oneshot::channel();
    *t.upstream.release.lock().unwrap() = Some(gone);
    let request = Request::get(format!("{}/functions/v1/slow-download", t.origin))
        .body(empty())
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client().request(request))
        .await
        .expect("head arrives before the body ends")
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("the first chunk arrives while the upstream waits")
        .unwrap()
        .unwrap();
    assert_eq!(
        first.into_data().unwrap(),
        Bytes::from_static(b"first chunk;")
    );
    go.send(()).unwrap();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, Bytes::from_static(b"second chunk"));

    // Request: the client sends a first chunk and holds the rest until the upstream says it got
    // that chunk, which it could not if the origin waited for the whole body.
    let (sender, receiver) = mpsc::channel::<Bytes>(1);
    let (seen_first, first_seen) = oneshot::channel();
    *t.upstream.first_chunk.lock().unwrap() = Some(seen_first);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|chunk| (Ok::<_, BoxError>(Frame::data(chunk)), receiver))
    });
    let request = Request::post(format!("{}/functions/v1/slow-upload", t.origin))
        .body(StreamBody::new(stream).boxed())
        .unwrap();
    let pending = tokio::spawn(client().request(request));
    sender.send(Bytes::from_static(b"part one;")).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), first_seen)
        .await
        .expect("the upstream saw the first chunk while the client held the rest")
        .unwrap();
    sender.send(Bytes::from_static(b"part two")).await.unwrap();
    drop(sender);
    let response = pending.await.unwrap().unwrap();
    let whole = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(whole, Bytes::from_static(b"part one;part two"));
}

async fn a_dead_functions_upstream_is_a_502(t: &T) {
    let answer = get(&t.dead_functions, "/functions/v1/health", &[]).await;
    assert_eq!(
        (answer.status, answer.json()),
        (
            502,
            json!({"message": "An invalid response was received from the upstream server"})
        )
    );
}

async fn unknown_paths_are_404(t: &T) {
    for path in ["/", "/storage/v1/object", "/rest/v10/notes", "/functionsx"] {
        let answer = get(&t.origin, path, &[("apikey", SECRET)]).await;
        assert_eq!(
            (answer.status, answer.json()),
            (
                404,
                json!({"message": "no Route matched with those values"})
            ),
            "{path}"
        );
    }
}

async fn auth_gets_relative_paths_collected_bodies_and_role_tokens(t: &T) {
    t.auth.clear();
    let answer = send(
        Method::POST,
        &format!("{}/auth/v1/token?grant_type=password", t.origin),
        &[
            ("apikey", PUBLISHABLE),
            ("content-type", "application/json"),
        ],
        Bytes::from_static(br#"{"email":"a@example.com","password":"x"}"#),
    )
    .await;
    assert_eq!(
        (answer.status, answer.text().as_str()),
        (200, r#"{"recorded":true}"#)
    );
    send(
        Method::GET,
        &format!("{}/auth/v1/admin/users", t.origin),
        &[("apikey", SECRET)],
        Bytes::new(),
    )
    .await;
    let user = es256(
        &t.keys,
        json!({ "sub": ALICE, "role": "authenticated", "exp": now() + 300 }),
    );
    send(
        Method::GET,
        &format!("{}/auth/v1/user", t.origin),
        &[
            ("apikey", PUBLISHABLE),
            ("authorization", &format!("Bearer {user}")),
        ],
        Bytes::new(),
    )
    .await;
    send(
        Method::GET,
        &format!("{}/auth/v1/verify?token=abc&type=signup", t.origin),
        &[],
        Bytes::new(),
    )
    .await;
    let seen = t.auth.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(
        (
            seen[0].method.as_str(),
            seen[0].uri.as_str(),
            seen[0].body.as_str()
        ),
        (
            "POST",
            "/token?grant_type=password",
            r#"{"email":"a@example.com","password":"x"}"#
        )
    );
    assert_eq!(claim_of(&seen[0].authorization, "role"), "anon");
    assert_eq!(seen[1].uri, "/admin/users");
    assert_eq!(
        claim_of(&seen[1].authorization, "role"),
        "service_role",
        "the admin API sees a service_role token for the secret key"
    );
    assert_eq!(
        seen[2].authorization.as_deref(),
        Some(format!("Bearer {user}").as_str()),
        "a user's token reaches Auth untouched"
    );
    assert_eq!(
        (seen[3].uri.as_str(), seen[3].authorization.as_deref()),
        ("/verify?token=abc&type=signup", None),
        "/verify is open and untouched"
    );
    let too_big = send(
        Method::POST,
        &format!("{}/auth/v1/signup", t.origin),
        &[("apikey", PUBLISHABLE)],
        Bytes::from(vec![b'x'; 2 * 1024 * 1024]),
    )
    .await;
    assert_eq!(too_big.status, 413);
}

// ---------------------------------------------------------------------------------------------
// Tokens

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn hs256(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// A user token signed with key 0 of the stack's signing-keys file, as the local Auth signs.
fn es256(keys: &SigningKeys, claims: Value) -> String {
    TokenSigner::Es256(keys.signing().clone()).sign(&claims)
}

fn es256_with(secret: &[u8; 32], kid: &str, claims: Value) -> String {
    let (_, keys) = signing_keys_from(&[(secret, kid)]);
    es256(&keys, claims)
}

fn claim_of(authorization: &Option<String>, claim: &str) -> String {
    let token = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .expect("a bearer token");
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    payload[claim].as_str().unwrap_or_default().to_string()
}

fn signing_keys_from(entries: &[(&[u8; 32], &str)]) -> (String, SigningKeys) {
    let file: Vec<Value> = entries
        .iter()
        .map(|(d, kid)| {
            let secret = p256::ecdsa::SigningKey::from_slice(&d[..]).unwrap();
            let point = secret.verifying_key().to_encoded_point(false);
            json!({ "kty": "EC", "kid": kid, "use": "sig", "key_ops": ["sign", "verify"], "alg": "ES256", "ext": true, "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()), "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()), "d": URL_SAFE_NO_PAD.encode(d) })
        })
        .collect();
    let text = Value::Array(file).to_string();
    let keys = SigningKeys::parse(&text, "test keys").unwrap();
    (text, keys)
}

fn write_signing_keys(dir: &std::path::Path) -> (PathBuf, SigningKeys) {
    let (text, keys) =
        signing_keys_from(&[(&[1u8; 32], "auth-key-0"), (&[2u8; 32], "worker-key-1")]);
    let path = dir.join("signing-keys.json");
    std::fs::write(&path, text).unwrap();
    (path, keys)
}

// ---------------------------------------------------------------------------------------------
// HTTP

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.text()))
    }
}

fn client() -> Client<hyper_util::client::legacy::connect::HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build_http()
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

async fn send_body(method: Method, url: &str, headers: &[(&str, &str)], body: Body) -> Answer {
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client()
        .request(request.body(body).unwrap())
        .await
        .expect("the origin answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

async fn send(method: Method, url: &str, headers: &[(&str, &str)], body: Bytes) -> Answer {
    send_body(
        method,
        url,
        headers,
        Full::new(body).map_err(|never| match never {}).boxed(),
    )
    .await
}

async fn get(origin: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    send(
        Method::GET,
        &format!("{origin}{path}"),
        headers,
        Bytes::new(),
    )
    .await
}

async fn whoami(origin: &str, headers: &[(&str, &str)]) -> Value {
    let answer = get(origin, "/rest/v1/rpc/whoami", headers).await;
    assert_eq!(answer.status, 200, "whoami: {}", answer.text());
    answer.json()
}

fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// The stand-in for wrangler dev behind /functions/v1

struct Upstream {
    address: SocketAddr,
    /// Lets /slow-download finish.
    release: Mutex<Option<oneshot::Receiver<()>>>,
    /// Told when /slow-upload got its first chunk.
    first_chunk: Mutex<Option<oneshot::Sender<()>>>,
}

impl Upstream {
    async fn start() -> Arc<Upstream> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = Arc::new(Upstream {
            address: listener.local_addr().unwrap(),
            release: Mutex::new(None),
            first_chunk: Mutex::new(None),
        });
        let serving = Arc::clone(&upstream);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = Arc::clone(&serving);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let upstream = Arc::clone(&upstream);
                        async move { Ok::<_, Infallible>(upstream.answer(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        upstream
    }

    async fn answer(&self, request: Request<Incoming>) -> Response<Body> {
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or_default().to_string();
        match path.as_str() {
            "/functions/v1/download" => {
                let size: usize = query
                    .strip_prefix("bytes=")
                    .and_then(|n| n.parse().ok())
                    .unwrap();
                let chunks: Vec<Result<Frame<Bytes>, BoxError>> = pattern(size)
                    .chunks(64 * 1024)
                    .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                    .collect();
                Response::new(StreamBody::new(futures_util::stream::iter(chunks)).boxed())
            }
            "/functions/v1/upload" => {
                let mut body = request.into_body();
                let (mut hasher, mut bytes) = (Sha256::new(), 0usize);
                while let Some(frame) = body.frame().await {
                    if let Ok(data) = frame.unwrap().into_data() {
                        bytes += data.len();
                        hasher.update(&data);
                    }
                }
                full(json!({ "bytes": bytes, "sha256": hex(&hasher.finalize()) }).to_string())
            }
            "/functions/v1/slow-download" => slow_download(
                self.release
                    .lock()
                    .unwrap()
                    .take()
                    .expect("the test arms /slow-download"),
            ),
            "/functions/v1/slow-upload" => {
                let mut body = request.into_body();
                let mut received = Vec::new();
                while let Some(frame) = body.frame().await {
                    if let Ok(data) = frame.unwrap().into_data() {
                        received.extend_from_slice(&data);
                        if let Some(tell) = self.first_chunk.lock().unwrap().take() {
                            let _ = tell.send(());
                        }
                    }
                }
                full(received)
            }
            _ => {
                let headers: serde_json::Map<String, Value> = request
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            Value::from(v.to_str().unwrap_or_default()),
                        )
                    })
                    .collect();
                let method = request.method().to_string();
                let path_and_query = request
                    .uri()
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                let body = request.into_body().collect().await.unwrap().to_bytes();
                let mut response = full(json!({ "method": method, "path": path_and_query, "headers": headers, "body": String::from_utf8_lossy(&body) }).to_string());
                *response.status_mut() = StatusCode::MULTI_STATUS;
                response
                    .headers_mut()
                    .insert("x-upstream", "yes".parse().unwrap());
                response
                    .headers_mut()
                    .append("set-cookie", "one=1; Path=/".parse().unwrap());
                response
                    .headers_mut()
                    .append("set-cookie", "two=2; Path=/".parse().unwrap());
                response
            }
        }
    }
}

/// A body that sends "first chunk;", then waits for `release` before sending "second chunk".
fn slow_download(release: oneshot::Receiver<()>) -> Response<Body> {
    let stream = futures_util::stream::unfold((0u8, Some(release)), |(step, release)| async move {
        match step {
            0 => Some((
                Ok::<_, BoxError>(Frame::data(Bytes::from_static(b"first chunk;"))),
                (1, release),
            )),
            1 => {
                release?.await.ok()?;
                Some((
                    Ok(Frame::data(Bytes::from_static(b"second chunk"))),
                    (2, None),
                ))
            }
            _ => None,
        }
    });
    Response::new(StreamBody::new(stream).boxed())
}

fn full(body: impl Into<Bytes>) -> Response<Body> {
    Response::new(
        Full::new(body.into())
            .map_err(|never| match never {})
            .boxed(),
    )
}

// ---------------------------------------------------------------------------------------------
// The Auth service stand-in: records what reached it

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    authorization: Option<String>,
    body: String,
}

#[derive(Default)]
struct RecordingAuth {
    seen: Mutex<Vec<Seen>>,
}

impl RecordingAuth {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

impl AuthService for RecordingAuth {
    fn call(&self, request: Request<Bytes>) -> origin::auth::AuthFuture {
        self.seen.lock().unwrap().push(Seen {
            method: request.method().to_string(),
            uri: request.uri().to_string(),
            authorization: request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: String::from_utf8_lossy(request.body()).into_owned(),
        });
        Box::pin(async { Response::new(Bytes::from_static(br#"{"recorded":true}"#)) })
    }
}

// ---------------------------------------------------------------------------------------------
// Postgres

fn free_port() -> u16 {
    PORT_RANGE
        .clone()
        .find(|p| StdListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port in 56300-56399")
}

/// A throwaway cluster started through tools/scripts/postgres.sh, stopped on drop.
struct Cluster {
    data_dir: PathBuf,
    port: u16,
}

struct Database {
    authenticator: String,
}

impl Cluster {
    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres.sh")
    }

    fn start() -> Cluster {
        for port in PORT_RANGE
            .clone()
            .filter(|p| StdListener::bind(("127.0.0.1", *p)).is_ok())
            .take(5)
        {
            let data_dir =
                std::env::temp_dir().join(format!("origin-it-pg-{}-{port}", std::process::id()));
            let started = Command::new(Self::script())
                .arg("start")
                .arg(&data_dir)
                .arg(port.to_string())
                .status()
                .expect("run tools/scripts/postgres.sh");
            if started.success() {
                return Cluster { data_dir, port };
            }
            let _ = std::fs::remove_dir_all(&data_dir);
        }
        panic!("could not start Postgres through tools/scripts/postgres.sh on a free port in 56300-56399");
    }

    async fn fixture_database(&self) -> Database {
        let (client, connection) = tokio_postgres::connect(
            &format!("postgres://postgres@127.0.0.1:{}/postgres", self.port),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute("create database origin_it")
            .await
            .unwrap();
        let (db, connection) = tokio_postgres::connect(
            &format!("postgres://postgres@127.0.0.1:{}/origin_it", self.port),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        db.batch_execute(include_str!("fixture.sql"))
            .await
            .expect("load fixture.sql");
        Database {
            authenticator: format!("postgres://authenticator@127.0.0.1:{}/origin_it", self.port),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(Self::script())
            .arg("stop")
            .arg(&self.data_dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
