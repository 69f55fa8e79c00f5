//! Test support: a throwaway Postgres through tools/scripts/postgres.sh (ports 56100-56199, clear
//! of the gateway's 56000-56099) or AUTH_TEST_DATABASE_URL, databases with the migrations applied,
//! a signing-keys file, in-process servers, and a small HTTP client.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

const PORT_RANGE: std::ops::Range<u16> = 56100..56200;

pub struct Cluster {
    data_dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(repo_path("tools/scripts/postgres.sh"))
            .arg("stop")
            .arg(&self.data_dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

/// The superuser URL of a cluster, starting one unless AUTH_TEST_DATABASE_URL names one.
pub fn superuser_url() -> (String, Option<Cluster>) {
    if let Ok(url) = std::env::var("AUTH_TEST_DATABASE_URL") {
        return (url, None);
    }
    let free = PORT_RANGE
        .clone()
        .filter(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok());
    for port in free.take(5) {
        let data_dir = std::env::temp_dir().join(format!("auth-it-{}-{port}", std::process::id()));
        let started = Command::new(repo_path("tools/scripts/postgres.sh"))
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
    panic!(
        "could not start Postgres through tools/scripts/postgres.sh on a free port in 56100-56199"
    );
}

pub fn unique_name(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to Postgres");
    tokio::spawn(connection);
    client
}

/// Creates a database and runs the given SQL files in order; returns its URL.
pub async fn database_with(super_url: &str, name: &str, files: &[PathBuf]) -> String {
    connect(super_url)
        .await
        .batch_execute(&format!("create database {name}"))
        .await
        .unwrap();
    let slash = super_url.rfind('/').unwrap();
    let url = format!("{}/{name}", &super_url[..slash]);
    let client = connect(&url).await;
    client
        .batch_execute("set client_min_messages = warning")
        .await
        .unwrap();
    for file in files {
        let sql = std::fs::read_to_string(file).unwrap();
        client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
    }
    url
}

pub async fn drop_database(super_url: &str, name: &str) {
    let _ = connect(super_url)
        .await
        .batch_execute(&format!("drop database if exists {name} with (force)"))
        .await;
}

pub fn auth_migrations() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_path("tools/auth/migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

pub fn roles_migration() -> PathBuf {
    repo_path("sql/migrations/0001_roles_and_auth.sql")
}

/// A private JWK in the Supabase CLI's shape from a fixed scalar.
pub fn jwk(kid: &str, seed: u8) -> Value {
    let mut scalar = [seed; 32];
    scalar[0] = 1;
    let key = p256::ecdsa::SigningKey::from_slice(&scalar).unwrap();
    let point = key.verifying_key().to_encoded_point(false);
    json!({
        "kty": "EC", "kid": kid, "use": "sig", "key_ops": ["sign", "verify"], "alg": "ES256", "ext": true, "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()), "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        "d": URL_SAFE_NO_PAD.encode(scalar),
    })
}

pub fn write_keys_file(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("signing-keys.json");
    std::fs::write(
        &path,
        json!([jwk("auth-key-0", 7), jwk("worker-key-1", 9)]).to_string(),
    )
    .unwrap();
    path
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The claims of a JWT, read without verifying.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn header(token: &str) -> Value {
    let part = token.split('.').next().expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts a GoTrue error in the initial shape.
    pub fn expect_error(&self, status: u16, code: &str) -> &str {
        assert_eq!(
            self.status, status,
            "expected {status} {code}, got {} {}",
            self.status, self.body
        );
        assert_eq!(self.body["code"], json!(status), "{}", self.body);
        assert_eq!(self.body["error_code"], json!(code), "{}", self.body);
        self.body["msg"].as_str().expect("msg")
    }
}

#[derive(Clone)]
pub struct Api {
    pub base: String,
    client: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Api { base, client }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.send("GET", path, bearer, None, &[]).await
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> Reply {
        self.send("POST", path, bearer, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, bearer: Option<&str>, body: Value) -> Reply {
        self.send("PUT", path, bearer, Some(body), &[]).await
    }

    pub async fn signup(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/signup",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/token?grant_type=password",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post(
            "/token?grant_type=refresh_token",
            None,
            json!({ "refresh_token": refresh_token }),
        )
        .await
    }
}
