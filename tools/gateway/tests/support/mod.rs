//! Test support: a throwaway Postgres (or GATEWAY_TEST_DATABASE_URL), a fresh database with
//! the fixture, in-process gateways, and small HTTP helpers.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

pub const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
pub const ALICE: &str = "11111111-1111-1111-1111-111111111111";
pub const BOB: &str = "22222222-2222-2222-2222-222222222222";
const PORT_RANGE: std::ops::Range<u16> = 56000..56100;

/// A Postgres cluster this process started, stopped again on drop.
pub struct Cluster {
    data_dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(postgres_script())
            .arg("stop")
            .arg(&self.data_dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn postgres_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres.sh")
}

fn free_ports() -> impl Iterator<Item = u16> {
    PORT_RANGE
        .clone()
        .filter(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
}

pub fn free_port() -> u16 {
    free_ports().next().expect("a free port in 56000-56099")
}

/// The superuser URL of a cluster to test against, starting one if none was given. A port that
/// looked free can still be taken (outgoing connections use this range too), so a failed start
/// moves on to the next one.
pub fn superuser_url() -> (String, Option<Cluster>) {
    if let Ok(url) = std::env::var("GATEWAY_TEST_DATABASE_URL") {
        return (url, None);
    }
    for port in free_ports().take(5) {
        let data_dir =
            std::env::temp_dir().join(format!("gateway-it-{}-{port}", std::process::id()));
        let started = Command::new(postgres_script())
            .arg("start")
            .arg(&data_dir)
            .arg(port.to_string())
            .status()
            .expect("run tools/scripts/postgres.sh");
        let cluster = Cluster { data_dir };
        if started.success() {
            return (
                format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                Some(cluster),
            );
        }
    }
    panic!("could not start Postgres through tools/scripts/postgres.sh on any free port in 56000-56099");
}

/// Creates a fresh database with the fixture; returns (superuser URL of it, authenticator URL).
pub async fn create_fixture_database(super_url: &str) -> (String, String, String) {
    let name = format!(
        "gw_it_{}_{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let (client, connection) = tokio_postgres::connect(super_url, tokio_postgres::NoTls)
        .await
        .expect("connect as superuser");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("create database {name}"))
        .await
        .unwrap();
    let db_super = replace_database(super_url, &name);
    let (db_client, connection) = tokio_postgres::connect(&db_super, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    db_client
        .batch_execute(include_str!("../fixture.sql"))
        .await
        .expect("load fixture.sql");
    let authenticator = authenticator_url(&db_super);
    (name, db_super, authenticator)
}

pub async fn drop_database(super_url: &str, name: &str) {
    if let Ok((client, connection)) =
        tokio_postgres::connect(super_url, tokio_postgres::NoTls).await
    {
        tokio::spawn(connection);
        let _ = client
            .batch_execute(&format!("drop database if exists {name} with (force)"))
            .await;
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let slash = base.rfind('/').expect("URL with a database path");
    format!("{}/{name}{query}", &base[..slash])
}

fn authenticator_url(db_super: &str) -> String {
    let rest = db_super
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(db_super);
    let host_part = rest.split_once('@').map(|(_, h)| h).unwrap_or(rest);
    format!("postgres://gw_authenticator:gw-test@{host_part}")
}

pub fn base_settings(authenticator: &str) -> std::collections::HashMap<&'static str, String> {
    let mut m = std::collections::HashMap::new();
    m.insert("PGRST_DB_URI", authenticator.to_string());
    m.insert("PGRST_DB_SCHEMAS", "public,extra".to_string());
    // PostGIS lives in `extensions`, as on Supabase (tests/fixture.sql).
    m.insert(
        "PGRST_DB_EXTRA_SEARCH_PATH",
        "public,extensions".to_string(),
    );
    m.insert("PGRST_DB_ANON_ROLE", "gw_anon".to_string());
    m.insert("PGRST_JWT_SECRET", SECRET.to_string());
    m.insert("PGRST_JWT_AUD", "authenticated".to_string());
    m.insert("PGRST_SERVER_PORT", "0".to_string());
    m.insert("PGRST_DB_TX_END", "commit-allow-override".to_string());
    m.insert("PGRST_DB_PRE_REQUEST", "public.check_request".to_string());
    m.insert("PGRST_DB_POOL", "8".to_string());
    m.insert("GATEWAY_MAX_BODY_BYTES", "65536".to_string());
    m
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn token_with(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

pub fn user_token(sub: &str) -> String {
    token_with(
        json!({"sub": sub, "role": "gw_authenticated", "aud": "authenticated", "exp": now() + 3600}),
    )
}

/// A response read whole: status, headers and body (parsed as JSON when it is JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    async fn read(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("HTTP request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            text,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }
    pub fn ids(&self) -> Vec<i64> {
        self.json()
            .as_array()
            .expect("an array body")
            .iter()
            .map(|r| r["id"].as_i64().expect("an id"))
            .collect()
    }
}

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Api {
        Api {
            base,
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            request = request.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if let Some(b) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        Answer::read(request).await
    }

    /// Sends a body as is, with only the headers given (no JSON Content-Type added).
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .body(body.to_string());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        Answer::read(request).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None, &[], None).await
    }
}
