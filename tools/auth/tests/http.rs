//! The local Auth over real HTTP against a real Postgres: every endpoint supabase-js calls, the
//! statuses and error codes GoTrue gives, refresh-token rotation and reuse detection, the admin
//! API's service-role check, email confirmation through the mailbox, rate limits, legacy HS256,
//! and the schema (both migration orders, no API role can read it, rows go with their user).
//! A custom harness: one cluster serves all cases and is stopped at the end whatever happened.

mod support;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth::keys::KeyRing;
use auth::server::Server;
use auth::{KeyMode, Settings};
use futures_util::FutureExt;
use serde_json::{json, Value};
use support::*;

const PASSWORD: &str = "correct-horse-battery";
const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

struct T {
    api: Api,
    confirm: Api,
    limited: Api,
    legacy: Api,
    db_url: String,
    fresh_url: String,
    keys_file: PathBuf,
    mailbox: PathBuf,
    ring: KeyRing,
    servers: Vec<Server>,
}

impl T {
    async fn db(&self) -> tokio_postgres::Client {
        connect(&self.db_url).await
    }

    /// A signed-up user: (email, token response).
    async fn new_user(&self) -> (String, Value) {
        let email = format!("{}@example.test", unique_name("user"));
        let reply = self.api.signup(&email, PASSWORD).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        (email, reply.body)
    }

    /// A token signed with key 0 of the file, as the origin mints its service-role token.
    fn service_role_token(&self) -> String {
        self.ring.sign(
            &json!({ "role": "service_role", "iss": "rls-edge", "iat": now(), "exp": now() + 60 }),
        )
    }
}

fn settings(db_url: &str, issuer: &str, keys_file: &Path, mailbox: PathBuf) -> Settings {
    let mut s = Settings::new(db_url, issuer, KeyMode::Signing);
    s.signing_keys_file = Some(keys_file.to_path_buf());
    s.mailbox_file = mailbox;
    s.refresh_token_reuse_interval_seconds = 1;
    s.rate_limits.sign_in_sign_ups = 10_000;
    s.rate_limits.token_refresh = 10_000;
    s.rate_limits.anonymous_users = 10_000;
    s.rate_limits.token_verifications = 10_000;
    s.rate_limits.email_sent = 10_000;
    s
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (super_url, cluster) = superuser_url();
    let work = std::env::temp_dir().join(unique_name("auth-it"));
    let code = runtime.block_on(async {
        // The harder path: sql/0001's minimal users table exists (with a row) before the auth migrations.
        let upgrade = unique_name("auth_upgrade");
        let db_url = database_with(&super_url, &upgrade, &[roles_migration()]).await;
        connect(&db_url)
            .await
            .batch_execute("insert into auth.users (id, email) values ('a11ce000-0000-4000-8000-000000000001', 'early@example.test')")
            .await
            .unwrap();
        let mut files = auth_migrations();
        files.extend(auth_migrations());
        for file in &files {
            connect(&db_url).await.batch_execute(&std::fs::read_to_string(file).unwrap()).await.unwrap();
        }
        // The stack's order on a new database: auth migrations, then sql/.
        let fresh = unique_name("auth_fresh");
        let mut fresh_files = auth_migrations();
        fresh_files.push(roles_migration());
        let fresh_url = database_with(&super_url, &fresh, &fresh_files).await;

        let keys_file = write_keys_file(&work);
        let issuer = "http://127.0.0.1:54321/auth/v1";
        let mailbox = work.join("mailbox.jsonl");
        let main = auth::server::serve(settings(&db_url, issuer, &keys_file, work.join("main-mail.jsonl")), "127.0.0.1", 0).await.expect("auth starts");
        let mut confirm_settings = settings(&db_url, issuer, &keys_file, mailbox.clone());
        confirm_settings.email_confirmation = true;
        confirm_settings.site_url = "http://app.test".to_string();
        let confirm = auth::server::serve(confirm_settings, "127.0.0.1", 0).await.unwrap();
        let mut limited_settings = settings(&db_url, issuer, &keys_file, work.join("limited-mail.jsonl"));
        limited_settings.rate_limits.sign_in_sign_ups = 2;
        limited_settings.rate_limits.anonymous_users = 1;
        let limited = auth::server::serve(limited_settings, "127.0.0.1", 0).await.unwrap();
        let mut legacy_settings = Settings::new(&db_url, issuer, KeyMode::Legacy);
        legacy_settings.jwt_secret = Some(SECRET.to_string());
        legacy_settings.mailbox_file = work.join("legacy-mail.jsonl");
        let legacy = auth::server::serve(legacy_settings, "127.0.0.1", 0).await.unwrap();
        let keys: Vec<_> = auth::keys::read_keys_file(&keys_file).unwrap();
        let t = Arc::new(T {
            api: Api::new(main.url()),
            confirm: Api::new(confirm.url()),
            limited: Api::new(limited.url()),
            legacy: Api::new(legacy.url()),
            db_url,
            fresh_url,
            keys_file,
            mailbox,
            ring: KeyRing::from_parts(&keys, None, KeyMode::Signing).unwrap(),
            servers: vec![main, confirm, limited, legacy],
        });
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
            health_settings_and_jwks_answer_like_gotrue,
            signup_returns_a_session_with_supabase_claims_signed_es256_with_key_0,
            signup_refuses_weak_passwords_taken_addresses_and_bad_input,
            racing_signups_for_one_address_make_one_user,
            errors_take_the_2024_shape_when_the_client_sends_the_api_version,
            password_sign_in_and_wrong_passwords,
            refresh_tokens_rotate_and_a_reused_one_revokes_the_family,
            concurrent_refreshes_with_one_token_get_the_same_new_token,
            get_and_update_the_user,
            a_password_change_signs_out_every_other_session,
            logout_scopes_end_the_right_sessions,
            anonymous_sign_in_and_becoming_an_email_user,
            missing_forged_and_expired_tokens_are_refused,
            admin_api_needs_the_service_role_and_manages_users,
            admin_list_pages_like_gotrue,
            banned_users_cannot_sign_in_or_refresh,
            email_confirmation_goes_through_the_mailbox_and_verify,
            password_recovery_through_the_mailbox,
            secure_email_change_needs_both_links,
            rate_limits_answer_429,
            legacy_mode_signs_hs256,
            schema_is_the_same_both_ways_and_closed_to_api_roles,
            deleting_a_user_removes_identities_sessions_and_tokens,
            the_server_refuses_to_start_without_the_schema,
        );
        println!("\n{} passed, {} failed in {:.1}s", passed, failed.len(), started.elapsed().as_secs_f64());
        drop(t);
        drop_database(&super_url, &upgrade).await;
        drop_database(&super_url, &fresh).await;
        if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    });
    drop(cluster);
    let _ = std::fs::remove_dir_all(&work);
    code
}

async fn health_settings_and_jwks_answer_like_gotrue(t: &T) {
    let health = t.api.get("/health", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["name"], "GoTrue");
    let settings = t.api.get("/settings", None).await;
    assert_eq!(settings.body["external"]["email"], true);
    assert_eq!(settings.body["external"]["anonymous_users"], true);
    assert_eq!(settings.body["mailer_autoconfirm"], true);
    assert_eq!(
        t.confirm.get("/settings", None).await.body["mailer_autoconfirm"],
        false
    );
    let jwks = t.api.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=600"));
    let keys = jwks.body["keys"].as_array().unwrap();
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, ["auth-key-0", "worker-key-1"]);
    for key in keys {
        assert!(key.get("d").is_none(), "private part published: {key}");
        assert_eq!(key["key_ops"], json!(["verify"]));
    }
    assert_eq!(t.api.get("/nowhere", None).await.status, 404);
}

async fn signup_returns_a_session_with_supabase_claims_signed_es256_with_key_0(t: &T) {
    let email = format!("{}@Example.test", unique_name("Mixed"));
    let reply = t
        .api
        .post(
            "/signup",
            None,
            json!({ "email": email, "password": PASSWORD, "data": { "full_name": "Ada" } }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = &reply.body;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    let refresh = body["refresh_token"].as_str().unwrap();
    assert_eq!(refresh.len(), 12);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        header(token),
        json!({ "alg": "ES256", "kid": "auth-key-0", "typ": "JWT" })
    );
    // The signature checks out against the published JWKS, independently of the server's code.
    let jwks = t.api.get("/.well-known/jwks.json", None).await.body;
    let key0 = &jwks["keys"][0];
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(
        key0["x"].as_str().unwrap(),
        key0["y"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["authenticated"]);
    validation.set_issuer(&["http://127.0.0.1:54321/auth/v1"]);
    assert!(jsonwebtoken::decode::<Value>(token, &decoding, &validation).is_ok());
    let c = claims(token);
    let user = &body["user"];
    let lower = email.to_lowercase();
    assert_eq!(c["iss"], "http://127.0.0.1:54321/auth/v1");
    assert_eq!(c["aud"], "authenticated");
    assert_eq!(c["sub"], user["id"]);
    assert_eq!(c["email"], json!(lower));
    assert_eq!(c["phone"], "");
    assert_eq!(c["role"], "authenticated");
    assert_eq!(c["aal"], "aal1");
    assert_eq!(c["is_anonymous"], false);
    assert_eq!(
        c["app_metadata"],
        json!({ "provider": "email", "providers": ["email"] })
    );
    assert_eq!(
        c["user_metadata"],
        json!({ "full_name": "Ada", "email_verified": true })
    );
    assert_eq!(c["amr"][0]["method"], "password");
    assert!(c["session_id"].is_string());
    assert_eq!(c["exp"], body["expires_at"]);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(user["email"], json!(lower));
    assert!(
        user["email_confirmed_at"].is_string()
            && user["confirmed_at"].is_string()
            && user["last_sign_in_at"].is_string()
    );
    let identity = &user["identities"][0];
    assert_eq!(identity["provider"], "email");
    assert_eq!(identity["id"], user["id"]);
    assert_eq!(identity["identity_data"]["email"], json!(lower));
    assert_eq!(identity["identity_data"]["sub"], user["id"]);
    // Stored as GoTrue stores it: bcrypt $2a$ at cost 10, the session and token in auth.*.
    let db = t.db().await;
    let id: uuid::Uuid = user["id"].as_str().unwrap().parse().unwrap();
    let row = db
        .query_one(
            "select encrypted_password, email from auth.users where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert!(row.get::<_, String>(0).starts_with("$2a$10$"));
    assert_eq!(row.get::<_, String>(1), lower);
    let tokens: i64 = db.query_one("select count(*) from auth.refresh_tokens where token = $1 and user_id = $2 and not revoked", &[&refresh, &id.to_string()]).await.unwrap().get(0);
    assert_eq!(tokens, 1);
}

async fn signup_refuses_weak_passwords_taken_addresses_and_bad_input(t: &T) {
    let weak = t.api.signup("weak@example.test", "12345").await;
    assert_eq!(
        weak.expect_error(422, "weak_password"),
        "Password should be at least 6 characters."
    );
    assert_eq!(weak.body["weak_password"]["reasons"], json!(["length"]));
    let (email, _) = t.new_user().await;
    let again = t
        .api
        .signup(&email.to_uppercase(), "another-password")
        .await;
    assert_eq!(
        again.expect_error(422, "user_already_exists"),
        "User already registered"
    );
    assert_eq!(
        t.api
            .signup("not-an-email", PASSWORD)
            .await
            .expect_error(400, "validation_failed"),
        "Unable to validate email address: invalid format"
    );
    let no_password = t
        .api
        .post("/signup", None, json!({ "email": "nopass@example.test" }))
        .await;
    assert_eq!(
        no_password.expect_error(400, "validation_failed"),
        "Signup requires a valid password"
    );
    let bad_json = t
        .api
        .send(
            "POST",
            "/signup",
            None,
            None,
            &[("content-type", "application/json")],
        )
        .await;
    bad_json.expect_error(400, "bad_json");
    let phone = t
        .api
        .post(
            "/signup",
            None,
            json!({ "phone": "+15555550100", "password": PASSWORD }),
        )
        .await;
    phone.expect_error(400, "phone_provider_disabled");
}

async fn racing_signups_for_one_address_make_one_user(t: &T) {
    let email = format!("{}@example.test", unique_name("race"));
    // Another writer claims the address while holding the address's lock, as a concurrent
    // sign-up would: the request waits for it, then finds the address taken.
    let mut db = t.db().await;
    let tx = db.transaction().await.unwrap();
    tx.execute(
        "select pg_advisory_xact_lock(hashtextextended(lower($1), 0))",
        &[&email],
    )
    .await
    .unwrap();
    let api = t.api.clone();
    let racing_email = email.clone();
    let signup = tokio::spawn(async move { api.signup(&racing_email, PASSWORD).await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!signup.is_finished(), "the sign-up waits for the address");
    tx.execute("insert into auth.users (id, email, email_confirmed_at) values (gen_random_uuid(), $1, now())", &[&email]).await.unwrap();
    tx.commit().await.unwrap();
    signup
        .await
        .unwrap()
        .expect_error(422, "user_already_exists");
    let replies =
        futures_util::future::join_all((0..4).map(|_| t.api.signup(&email, PASSWORD))).await;
    assert!(replies.iter().all(|r| r.status == 422));
    let users: i64 = t
        .db()
        .await
        .query_one(
            "select count(*) from auth.users where email = $1",
            &[&email],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 1);
}

async fn errors_take_the_2024_shape_when_the_client_sends_the_api_version(t: &T) {
    let reply = t
        .api
        .send(
            "POST",
            "/token?grant_type=password",
            None,
            Some(json!({ "email": "nobody@example.test", "password": "x" })),
            &[("x-supabase-api-version", "2024-01-01")],
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("x-supabase-api-version"), Some("2024-01-01"));
    assert_eq!(
        reply.body,
        json!({ "code": "invalid_credentials", "message": "Invalid login credentials" })
    );
    let weak = t
        .api
        .send(
            "POST",
            "/signup",
            None,
            Some(json!({ "email": "w@example.test", "password": "1" })),
            &[("x-supabase-api-version", "2024-01-01")],
        )
        .await;
    assert_eq!(weak.body["code"], "weak_password");
    assert_eq!(weak.body["weak_password"]["reasons"], json!(["length"]));
}

async fn password_sign_in_and_wrong_passwords(t: &T) {
    let (email, _) = t.new_user().await;
    let ok = t.api.sign_in(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        claims(ok.body["access_token"].as_str().unwrap())["amr"][0]["method"],
        "password"
    );
    assert_eq!(
        t.api
            .sign_in(&email, "wrong-password")
            .await
            .expect_error(400, "invalid_credentials"),
        "Invalid login credentials"
    );
    assert_eq!(
        t.api
            .sign_in("nobody@example.test", PASSWORD)
            .await
            .expect_error(400, "invalid_credentials"),
        "Invalid login credentials"
    );
    let missing = t
        .api
        .post(
            "/token?grant_type=password",
            None,
            json!({ "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        missing.expect_error(400, "validation_failed"),
        "missing email or phone"
    );
    let grant = t.api.post("/token?grant_type=magic", None, json!({})).await;
    grant.expect_error(400, "invalid_credentials");
    // Each sign-in is a session of its own.
    let second = t.api.sign_in(&email, PASSWORD).await;
    assert_ne!(
        claims(ok.body["access_token"].as_str().unwrap())["session_id"],
        claims(second.body["access_token"].as_str().unwrap())["session_id"]
    );
}

async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family(t: &T) {
    let (_, session) = t.new_user().await;
    let rt1 = session["refresh_token"].as_str().unwrap().to_string();
    let session_id = claims(session["access_token"].as_str().unwrap())["session_id"].clone();
    let second = t.api.refresh(&rt1).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let rt2 = second.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt2, rt1);
    assert_eq!(
        claims(second.body["access_token"].as_str().unwrap())["session_id"],
        session_id
    );
    assert_eq!(second.body["user"]["id"], session["user"]["id"]);
    // rt1 again: it is the parent of the active token, so the client lost the answer; it gets rt2 back.
    let retry = t.api.refresh(&rt1).await;
    assert_eq!(retry.body["refresh_token"], json!(rt2));
    let third = t.api.refresh(&rt2).await;
    let rt3 = third.body["refresh_token"].as_str().unwrap().to_string();
    // rt1 now is two generations old; past the reuse interval (1 s here) it is a replay.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let replay = t.api.refresh(&rt1).await;
    assert_eq!(
        replay.expect_error(400, "refresh_token_already_used"),
        "Invalid Refresh Token: Already Used"
    );
    let db = t.db().await;
    let live: i64 = db
        .query_one("select count(*) from auth.refresh_tokens where session_id = $1::text::uuid and not revoked", &[&session_id.as_str().unwrap()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 0, "the whole family is revoked");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    t.api
        .refresh(&rt3)
        .await
        .expect_error(400, "refresh_token_already_used");
    let unknown = t.api.refresh("nosuchtoken1").await;
    assert_eq!(
        unknown.expect_error(400, "refresh_token_not_found"),
        "Invalid Refresh Token: Refresh Token Not Found"
    );
    let empty = t
        .api
        .post("/token?grant_type=refresh_token", None, json!({}))
        .await;
    assert_eq!(
        empty.body,
        json!({ "error": "invalid_request", "error_description": "refresh_token required" })
    );
}

async fn concurrent_refreshes_with_one_token_get_the_same_new_token(t: &T) {
    let (_, session) = t.new_user().await;
    let rt = session["refresh_token"].as_str().unwrap();
    let replies = futures_util::future::join_all((0..4).map(|_| t.api.refresh(rt))).await;
    let issued: Vec<&Value> = replies.iter().map(|r| &r.body["refresh_token"]).collect();
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert!(issued.iter().all(|token| *token == issued[0]), "{issued:?}");
}

async fn get_and_update_the_user(t: &T) {
    let (email, session) = t.new_user().await;
    let token = session["access_token"].as_str().unwrap();
    let me = t.api.get("/user", Some(token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], json!(email));
    assert_eq!(me.body["identities"].as_array().unwrap().len(), 1);
    let updated = t
        .api
        .put(
            "/user",
            Some(token),
            json!({ "data": { "plan": "pro", "email_verified": null } }),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["user_metadata"], json!({ "plan": "pro" }));
    let refused = t
        .api
        .put(
            "/user",
            Some(token),
            json!({ "app_metadata": { "role": "admin" } }),
        )
        .await;
    assert_eq!(
        refused.expect_error(403, "not_admin"),
        "Updating app_metadata requires admin privileges"
    );
    let same = t
        .api
        .put("/user", Some(token), json!({ "password": PASSWORD }))
        .await;
    assert_eq!(
        same.expect_error(422, "same_password"),
        "New password should be different from the old password."
    );
    t.api
        .put("/user", Some(token), json!({ "password": "123" }))
        .await
        .expect_error(422, "weak_password");
    let (other, _) = t.new_user().await;
    let taken = t
        .api
        .put("/user", Some(token), json!({ "email": other }))
        .await;
    taken.expect_error(422, "email_exists");
    // The next refresh carries the new metadata in the access token.
    let refreshed = t
        .api
        .refresh(session["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        claims(refreshed.body["access_token"].as_str().unwrap())["user_metadata"],
        json!({ "plan": "pro" })
    );
}

async fn a_password_change_signs_out_every_other_session(t: &T) {
    let (email, first) = t.new_user().await;
    let second = t.api.sign_in(&email, PASSWORD).await.body;
    let changed = t
        .api
        .put(
            "/user",
            Some(first["access_token"].as_str().unwrap()),
            json!({ "password": "a-new-password" }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    t.api
        .sign_in(&email, PASSWORD)
        .await
        .expect_error(400, "invalid_credentials");
    assert_eq!(t.api.sign_in(&email, "a-new-password").await.status, 200);
    t.api
        .refresh(second["refresh_token"].as_str().unwrap())
        .await
        .expect_error(400, "refresh_token_not_found");
    assert_eq!(
        t.api
            .refresh(first["refresh_token"].as_str().unwrap())
            .await
            .status,
        200,
        "the session that changed it stays"
    );
}

async fn logout_scopes_end_the_right_sessions(t: &T) {
    let (email, a) = t.new_user().await;
    let b = t.api.sign_in(&email, PASSWORD).await.body;
    let c = t.api.sign_in(&email, PASSWORD).await.body;
    let token = |s: &Value| s["access_token"].as_str().unwrap().to_string();
    let refresh = |s: &Value| s["refresh_token"].as_str().unwrap().to_string();
    let bad_scope = t
        .api
        .send(
            "POST",
            "/logout?scope=everyone",
            Some(&token(&a)),
            None,
            &[],
        )
        .await;
    bad_scope.expect_error(400, "validation_failed");
    let others = t
        .api
        .send("POST", "/logout?scope=others", Some(&token(&a)), None, &[])
        .await;
    assert_eq!(others.status, 204);
    t.api
        .refresh(&refresh(&b))
        .await
        .expect_error(400, "refresh_token_not_found");
    t.api
        .refresh(&refresh(&c))
        .await
        .expect_error(400, "refresh_token_not_found");
    let a2 = t.api.refresh(&refresh(&a)).await.body;
    let d = t.api.sign_in(&email, PASSWORD).await.body;
    assert_eq!(
        t.api
            .send("POST", "/logout?scope=local", Some(&token(&a2)), None, &[])
            .await
            .status,
        204
    );
    let gone = t.api.get("/user", Some(&token(&a2))).await;
    assert_eq!(
        gone.expect_error(403, "session_not_found"),
        "Session from session_id claim in JWT does not exist"
    );
    assert_eq!(
        t.api.get("/user", Some(&token(&d))).await.status,
        200,
        "another device stays signed in"
    );
    assert_eq!(
        t.api
            .send("POST", "/logout", Some(&token(&d)), None, &[])
            .await
            .status,
        204
    );
    t.api
        .refresh(&refresh(&d))
        .await
        .expect_error(400, "refresh_token_not_found");
}

async fn anonymous_sign_in_and_becoming_an_email_user(t: &T) {
    let reply = t
        .api
        .post(
            "/signup",
            None,
            json!({ "data": { "cart": 3 }, "gotrue_meta_security": {} }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["is_anonymous"], true);
    assert_eq!(c["role"], "authenticated");
    assert_eq!(c["email"], "");
    assert_eq!(c["amr"][0]["method"], "anonymous");
    assert_eq!(reply.body["user"]["app_metadata"], json!({}));
    assert_eq!(reply.body["user"]["identities"], json!([]));
    let no_email = t
        .api
        .put("/user", Some(token), json!({ "password": PASSWORD }))
        .await;
    no_email.expect_error(422, "validation_failed");
    let email = format!("{}@example.test", unique_name("anon"));
    let upgraded = t
        .api
        .put("/user", Some(token), json!({ "email": email }))
        .await;
    assert_eq!(upgraded.status, 200, "{}", upgraded.body);
    assert_eq!(upgraded.body["is_anonymous"], false);
    assert_eq!(upgraded.body["email"], json!(email));
    assert_eq!(upgraded.body["app_metadata"]["providers"], json!(["email"]));
    assert_eq!(upgraded.body["identities"][0]["provider"], "email");
}

async fn missing_forged_and_expired_tokens_are_refused(t: &T) {
    assert_eq!(
        t.api
            .get("/user", None)
            .await
            .expect_error(401, "no_authorization"),
        "This endpoint requires a Bearer token"
    );
    let (_, session) = t.new_user().await;
    let mut c = claims(session["access_token"].as_str().unwrap());
    c["exp"] = json!(now() - 10);
    c["iat"] = json!(now() - 3610);
    let expired = t.api.get("/user", Some(&t.ring.sign(&c))).await;
    assert_eq!(
        expired.expect_error(403, "bad_jwt"),
        "invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired"
    );
    let stranger = KeyRing::from_parts(
        &[jwk("auth-key-0", 42).as_object().unwrap().clone()],
        None,
        KeyMode::Signing,
    )
    .unwrap();
    c["exp"] = json!(now() + 60);
    t.api
        .get("/user", Some(&stranger.sign(&c)))
        .await
        .expect_error(403, "bad_jwt");
    let hs256 = KeyRing::from_parts(&[], Some(SECRET), KeyMode::Legacy).unwrap();
    t.api
        .get("/user", Some(&hs256.sign(&c)))
        .await
        .expect_error(403, "bad_jwt");
    c["sub"] = json!(uuid::Uuid::new_v4());
    let ghost = t.api.get("/user", Some(&t.ring.sign(&c))).await;
    assert_eq!(
        ghost.expect_error(403, "user_not_found"),
        "User from sub claim in JWT does not exist"
    );
}

async fn admin_api_needs_the_service_role_and_manages_users(t: &T) {
    t.api
        .get("/admin/users", None)
        .await
        .expect_error(401, "no_authorization");
    let (_, session) = t.new_user().await;
    let user_token = session["access_token"].as_str().unwrap();
    assert_eq!(
        t.api
            .get("/admin/users", Some(user_token))
            .await
            .expect_error(403, "not_admin"),
        "User not allowed"
    );
    // A service-role token signed by a key outside the file is not an admin.
    let stranger = KeyRing::from_parts(
        &[jwk("auth-key-0", 42).as_object().unwrap().clone()],
        None,
        KeyMode::Signing,
    )
    .unwrap();
    let forged = stranger.sign(&json!({ "role": "service_role", "exp": now() + 60 }));
    t.api
        .get("/admin/users", Some(&forged))
        .await
        .expect_error(403, "bad_jwt");
    let admin = t.service_role_token();
    let email = format!("{}@example.test", unique_name("admin"));
    let created = t.api.post("/admin/users", Some(&admin), json!({
        "email": email, "password": PASSWORD, "email_confirm": true, "user_metadata": { "full_name": "Made" }, "app_metadata": { "plan": "pro" }
    })).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.body["app_metadata"],
        json!({ "provider": "email", "providers": ["email"], "plan": "pro" })
    );
    assert!(created.body["email_confirmed_at"].is_string());
    let signed_in = t.api.sign_in(&email, PASSWORD).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(
        claims(signed_in.body["access_token"].as_str().unwrap())["app_metadata"]["plan"],
        "pro"
    );
    let duplicate = t
        .api
        .post("/admin/users", Some(&admin), json!({ "email": email }))
        .await;
    assert_eq!(
        duplicate.expect_error(422, "email_exists"),
        "A user with this email address has already been registered"
    );
    t.api
        .post(
            "/admin/users",
            Some(&admin),
            json!({ "password": PASSWORD }),
        )
        .await
        .expect_error(400, "validation_failed");
    let fetched = t.api.get(&format!("/admin/users/{id}"), Some(&admin)).await;
    assert_eq!(fetched.body["email"], json!(email));
    let updated = t
        .api
        .put(
            &format!("/admin/users/{id}"),
            Some(&admin),
            json!({ "user_metadata": { "full_name": "Renamed" } }),
        )
        .await;
    assert_eq!(updated.body["user_metadata"]["full_name"], "Renamed");
    // Unconfirmed without email_confirm: cannot sign in until confirmed.
    let pending = format!("{}@example.test", unique_name("pending"));
    let p = t
        .api
        .post(
            "/admin/users",
            Some(&admin),
            json!({ "email": pending, "password": PASSWORD }),
        )
        .await;
    assert!(p.body.get("email_confirmed_at").is_none());
    t.api
        .sign_in(&pending, PASSWORD)
        .await
        .expect_error(400, "email_not_confirmed");
    let deleted = t
        .api
        .send(
            "DELETE",
            &format!("/admin/users/{id}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!((deleted.status, deleted.body.clone()), (200, json!({})));
    assert_eq!(
        t.api
            .get(&format!("/admin/users/{id}"), Some(&admin))
            .await
            .expect_error(404, "user_not_found"),
        "User not found"
    );
    t.api
        .refresh(signed_in.body["refresh_token"].as_str().unwrap())
        .await
        .expect_error(400, "refresh_token_not_found");
    t.api
        .get("/admin/users/not-a-uuid", Some(&admin))
        .await
        .expect_error(404, "validation_failed");
}

async fn admin_list_pages_like_gotrue(t: &T) {
    let admin = t.service_role_token();
    for _ in 0..3 {
        t.new_user().await;
    }
    let all = t.api.get("/admin/users?per_page=1000", Some(&admin)).await;
    let total: usize = all.header("x-total-count").unwrap().parse().unwrap();
    assert_eq!(all.body["users"].as_array().unwrap().len(), total);
    assert_eq!(all.body["aud"], "authenticated");
    let times: Vec<&str> = all.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let page = t
        .api
        .get("/admin/users?page=2&per_page=2", Some(&admin))
        .await;
    assert_eq!(page.body["users"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["users"][0]["id"], all.body["users"][2]["id"]);
    let last = total.div_ceil(2);
    assert_eq!(
        page.header("link").unwrap(),
        format!("</admin/users?page=3&per_page=2>; rel=\"next\", </admin/users?page={last}&per_page=2>; rel=\"last\"")
    );
    let bad = t.api.get("/admin/users?page=first", Some(&admin)).await;
    bad.expect_error(400, "validation_failed");
}

async fn banned_users_cannot_sign_in_or_refresh(t: &T) {
    let (email, session) = t.new_user().await;
    let admin = t.service_role_token();
    let id = session["user"]["id"].as_str().unwrap();
    let banned = t
        .api
        .put(
            &format!("/admin/users/{id}"),
            Some(&admin),
            json!({ "ban_duration": "24h" }),
        )
        .await;
    assert!(banned.body["banned_until"].is_string(), "{}", banned.body);
    assert_eq!(
        t.api
            .sign_in(&email, PASSWORD)
            .await
            .expect_error(400, "user_banned"),
        "User is banned"
    );
    t.api
        .refresh(session["refresh_token"].as_str().unwrap())
        .await
        .expect_error(400, "user_banned");
    t.api
        .put(
            &format!("/admin/users/{id}"),
            Some(&admin),
            json!({ "ban_duration": "none" }),
        )
        .await;
    assert_eq!(t.api.sign_in(&email, PASSWORD).await.status, 200);
}

async fn mails_to(t: &T, email: &str) -> Vec<Value> {
    let reply = t
        .confirm
        .get(&format!("/mailbox?email={email}"), None)
        .await;
    reply.body["messages"].as_array().unwrap().clone()
}

fn fragment_of(location: &str) -> std::collections::HashMap<String, String> {
    let fragment = location.split_once('#').map(|(_, f)| f).unwrap_or("");
    form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect()
}

async fn email_confirmation_goes_through_the_mailbox_and_verify(t: &T) {
    let email = format!("{}@example.test", unique_name("confirm"));
    let reply = t.confirm.signup(&email, PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.get("access_token").is_none(),
        "no session before confirming"
    );
    assert!(reply.body["confirmation_sent_at"].is_string());
    assert!(reply.body.get("email_confirmed_at").is_none());
    t.confirm
        .sign_in(&email, PASSWORD)
        .await
        .expect_error(400, "email_not_confirmed");
    // A repeated sign-up for an unconfirmed address sends again, after the frequency limit.
    t.confirm
        .signup(&email, PASSWORD)
        .await
        .expect_error(429, "over_email_send_rate_limit");
    let mails = mails_to(t, &email).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["type"], "signup");
    let file: Vec<String> = std::fs::read_to_string(&t.mailbox)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert!(
        file.iter().any(|line| line.contains(&email)),
        "the mailbox file has the message"
    );
    let link = mails[0]["link"].as_str().unwrap();
    assert!(
        link.starts_with("http://127.0.0.1:54321/auth/v1/verify?token="),
        "{link}"
    );
    let path = link.trim_start_matches("http://127.0.0.1:54321/auth/v1");
    // A tampered link lands on the site with GoTrue's error fragment.
    let bad = t
        .confirm
        .get(&path.replace("token=", "token=0"), None)
        .await;
    assert_eq!(bad.status, 303);
    let error = fragment_of(bad.header("location").unwrap());
    assert_eq!(
        (error["error"].as_str(), error["error_code"].as_str()),
        ("access_denied", "otp_expired")
    );
    assert_eq!(
        error["error_description"],
        "Email link is invalid or has expired"
    );
    let good = t.confirm.get(path, None).await;
    assert_eq!(good.status, 303);
    let location = good.header("location").unwrap();
    assert!(location.starts_with("http://app.test#"), "{location}");
    let session = fragment_of(location);
    assert_eq!(session["type"], "signup");
    assert_eq!(session["token_type"], "bearer");
    assert_eq!(claims(&session["access_token"])["amr"][0]["method"], "otp");
    assert_eq!(
        claims(&session["access_token"])["user_metadata"]["email_verified"],
        true
    );
    assert_eq!(t.confirm.sign_in(&email, PASSWORD).await.status, 200);
    // The link is spent.
    assert_eq!(
        fragment_of(t.confirm.get(path, None).await.header("location").unwrap())["error_code"],
        "otp_expired"
    );
}

async fn password_recovery_through_the_mailbox(t: &T) {
    let (email, _) = t.new_user().await;
    let unknown = t
        .confirm
        .post(
            "/recover",
            None,
            json!({ "email": "nobody-here@example.test" }),
        )
        .await;
    assert_eq!((unknown.status, unknown.body.clone()), (200, json!({})));
    let sent = t
        .confirm
        .post("/recover", None, json!({ "email": email }))
        .await;
    assert_eq!((sent.status, sent.body.clone()), (200, json!({})));
    t.confirm
        .post("/recover", None, json!({ "email": email }))
        .await
        .expect_error(429, "over_email_send_rate_limit");
    let mail = mails_to(t, &email).await.pop().unwrap();
    assert_eq!(mail["type"], "recovery");
    let wrong = t
        .confirm
        .post(
            "/verify",
            None,
            json!({ "type": "recovery", "email": email, "token": "000000" }),
        )
        .await;
    assert_eq!(
        wrong.expect_error(403, "otp_expired"),
        "Token has expired or is invalid"
    );
    let verified = t
        .confirm
        .post(
            "/verify",
            None,
            json!({ "type": "recovery", "email": email, "token": mail["otp"] }),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    let token = verified.body["access_token"].as_str().unwrap();
    assert_eq!(
        t.confirm
            .put(
                "/user",
                Some(token),
                json!({ "password": "recovered-password" })
            )
            .await
            .status,
        200
    );
    assert_eq!(
        t.api.sign_in(&email, "recovered-password").await.status,
        200
    );
}

async fn secure_email_change_needs_both_links(t: &T) {
    let email = format!("{}@example.test", unique_name("change"));
    let admin = t.service_role_token();
    t.confirm
        .post(
            "/admin/users",
            Some(&admin),
            json!({ "email": email, "password": PASSWORD, "email_confirm": true }),
        )
        .await;
    let session = t.confirm.sign_in(&email, PASSWORD).await.body;
    let token = session["access_token"].as_str().unwrap();
    let new_email = format!("{}@example.test", unique_name("new"));
    let pending = t
        .confirm
        .put("/user", Some(token), json!({ "email": new_email }))
        .await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    assert_eq!(pending.body["email"], json!(email));
    assert_eq!(pending.body["new_email"], json!(new_email));
    let to_new = mails_to(t, &new_email).await.pop().unwrap();
    let to_current = mails_to(t, &email).await.pop().unwrap();
    let first = t
        .confirm
        .post(
            "/verify",
            None,
            json!({ "type": "email_change", "token_hash": to_current["token_hash"] }),
        )
        .await;
    assert_eq!(
        first.body["msg"],
        "Confirmation link accepted. Please proceed to confirm link sent to the other email"
    );
    let second = t
        .confirm
        .post(
            "/verify",
            None,
            json!({ "type": "email_change", "token_hash": to_new["token_hash"] }),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["user"]["email"], json!(new_email));
    assert_eq!(
        second.body["user"]["identities"][0]["identity_data"]["email"],
        json!(new_email)
    );
    assert_eq!(t.api.sign_in(&new_email, PASSWORD).await.status, 200);
}

async fn rate_limits_answer_429(t: &T) {
    let (email, _) = t.new_user().await;
    assert_eq!(t.limited.sign_in(&email, PASSWORD).await.status, 200);
    assert_eq!(t.limited.sign_in(&email, "wrong").await.status, 400);
    let limited = t.limited.sign_in(&email, PASSWORD).await;
    assert_eq!(
        limited.expect_error(429, "over_request_rate_limit"),
        "Request rate limit reached"
    );
    assert_eq!(t.limited.post("/signup", None, json!({})).await.status, 200);
    t.limited
        .post("/signup", None, json!({}))
        .await
        .expect_error(429, "over_request_rate_limit");
}

async fn legacy_mode_signs_hs256(t: &T) {
    let (email, _) = t.new_user().await;
    let reply = t.legacy.sign_in(&email, PASSWORD).await;
    assert_eq!(reply.status, 200);
    let token = reply.body["access_token"].as_str().unwrap();
    assert_eq!(header(token), json!({ "alg": "HS256", "typ": "JWT" }));
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["authenticated"]);
    assert!(jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
        &validation
    )
    .is_ok());
    assert_eq!(t.legacy.get("/user", Some(token)).await.status, 200);
    assert_eq!(
        t.legacy.get("/.well-known/jwks.json", None).await.body,
        json!({ "keys": [] })
    );
}

async fn schema_is_the_same_both_ways_and_closed_to_api_roles(t: &T) {
    let columns = |url: String| async move {
        let rows = connect(&url)
            .await
            .query(
                "select table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(column_default, '') || ' ' || is_nullable \
                 from information_schema.columns where table_schema = 'auth' order by 1",
                &[],
            )
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
    };
    let upgraded = columns(t.db_url.clone()).await;
    assert_eq!(upgraded, columns(t.fresh_url.clone()).await);
    assert!(upgraded
        .iter()
        .any(|c| c.starts_with("users.encrypted_password character varying")));
    let db = t.db().await;
    let early: String = db
        .query_one(
            "select email from auth.users where id = 'a11ce000-0000-4000-8000-000000000001'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        early, "early@example.test",
        "a row from before the migration survives"
    );
    for role in ["anon", "authenticated", "service_role"] {
        for table in [
            "users",
            "identities",
            "sessions",
            "refresh_tokens",
            "mfa_amr_claims",
        ] {
            let sql = format!("begin; set local role {role}; select * from auth.{table} limit 1;");
            let result = db.batch_execute(&sql).await;
            db.batch_execute("rollback").await.unwrap();
            let err = result.expect_err(&format!("{role} must not read auth.{table}"));
            assert_eq!(
                err.code(),
                Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
                "{role} on {table}: {err}"
            );
        }
    }
    let rls: i64 = db
        .query_one("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'auth' and c.relkind = 'r' and not c.relrowsecurity", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rls, 0, "every auth table has row level security on");
}

async fn deleting_a_user_removes_identities_sessions_and_tokens(t: &T) {
    let (_, session) = t.new_user().await;
    let id: uuid::Uuid = session["user"]["id"].as_str().unwrap().parse().unwrap();
    let db = t.db().await;
    // As sql/'s erasure job does it: one delete of the users row.
    db.execute("delete from auth.users where id = $1", &[&id])
        .await
        .unwrap();
    let left: i64 = db
        .query_one(
            "select (select count(*) from auth.identities where user_id = $1) + (select count(*) from auth.sessions where user_id = $1) \
             + (select count(*) from auth.refresh_tokens where user_id = $1::text)",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

async fn the_server_refuses_to_start_without_the_schema(t: &T) {
    let url = t
        .db_url
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/postgres"))
        .unwrap();
    let settings = settings(
        &url,
        "http://x/auth/v1",
        &t.keys_file,
        std::env::temp_dir().join("unused-mail.jsonl"),
    );
    let err = auth::Auth::new(settings)
        .await
        .err()
        .expect("no schema, no start");
    assert!(err.contains("apply tools/auth/migrations"), "{err}");
    assert!(!t.servers.is_empty());
}
