//! A local Supabase Auth (GoTrue)-compatible server for development and tests: the part of
//! Supabase Auth's HTTP API that supabase-js calls, on a real Postgres, in GoTrue's own
//! `auth.*` tables (`migrations/`), with GoTrue's status codes, error codes and messages.
//!
//! What it serves (paths relative to `/auth/v1`): `POST /signup` (email + password, and
//! anonymous sign-in), `POST /token?grant_type=password|refresh_token` (refresh-token rotation
//! with reuse detection), `GET`/`PUT /user`, `POST /logout?scope=global|local|others`,
//! `POST /recover`, `GET`/`POST /verify`, `GET /settings`, `GET /health`,
//! `GET /.well-known/jwks.json`, the admin API under `/admin/users` (service role only), and
//! `GET /mailbox`, the local mailbox (not a GoTrue endpoint). Access tokens are ES256 with the
//! `kid` of key 0 of the signing-keys file, or HS256 with the legacy secret in legacy mode.
//!
//! What it is not: a production auth server. No OAuth providers, SSO, MFA, phone sign-in,
//! PKCE, magic links, invites, hooks or captcha; email goes to a local file, not SMTP.
//!
//! Use it as a library (`Auth::new(settings)`, then `auth.handle(request)` for each request,
//! as `tools/origin` does) or run the `auth` binary (`src/main.rs`), which serves it on a port.

mod api;
mod caller;
pub mod error;
pub mod keys;
pub mod mailbox;
pub mod model;
mod passwords;
pub mod ratelimit;
pub mod secrets;
pub mod server;
mod session;
pub mod settings;
pub mod store;
pub mod validate;

use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use http::{Request, Response};
use tokio_postgres::NoTls;

pub use settings::{KeyMode, RateLimits, Settings};

use crate::keys::KeyRing;
use crate::mailbox::Mailbox;
use crate::ratelimit::RateLimiter;

/// The client's address, put in a request's extensions by whoever accepted the connection; the
/// rate limits key on it (unless `rate_limit_header` names a header to use instead).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

/// The service: settings, the connection pool, the keys, the rate limiter and the mailbox.
pub struct Auth {
    settings: Settings,
    pool: Pool,
    keys: KeyRing,
    limiter: RateLimiter,
    mailbox: Mailbox,
}

impl Auth {
    /// Loads the keys, connects to Postgres and checks that the `auth.*` schema is there; the
    /// error says what is wrong and what to run.
    pub async fn new(settings: Settings) -> Result<Self, String> {
        settings.validate()?;
        let keys = KeyRing::load(&settings)?;
        let pg_config: tokio_postgres::Config = settings
            .database_url
            .parse()
            .map_err(|e| format!("the database URL is not a Postgres URL: {e}"))?;
        let manager = Manager::from_config(
            pg_config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| format!("could not build the connection pool: {e}"))?;
        let client = pool
            .get()
            .await
            .map_err(|e| format!("cannot reach the database: {e}"))?;
        let missing = store::missing_schema(&client)
            .await
            .map_err(|e| format!("cannot read the database schema: {e}"))?;
        if !missing.is_empty() {
            return Err(format!(
                "the auth schema is missing {}: apply tools/auth/migrations/*.sql to this database first \
                 (tools/scripts/migrate.sh <DATABASE_URL> does it)",
                missing.join(", ")
            ));
        }
        drop(client);
        let mailbox = Mailbox::new(settings.mailbox_file.clone());
        Ok(Auth {
            settings,
            pool,
            keys,
            limiter: RateLimiter::default(),
            mailbox,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The JWKS document (`GET /.well-known/jwks.json`): the public part of every signing key.
    pub fn jwks(&self) -> &serde_json::Value {
        self.keys.jwks()
    }

    /// Answers one request. The path is relative to `/auth/v1` (e.g. `/signup`, with the query);
    /// the body is already collected.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        api::handle(self, request).await
    }
}
