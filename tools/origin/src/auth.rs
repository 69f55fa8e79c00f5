//! Where `/auth/v1/*` goes: one service that receives every request under `/auth/v1/` except
//! the JWKS (which the origin serves from the signing-keys file) and the CORS preflights.
//!
//! By the time the service sees a request the origin has checked the `apikey` (except on the
//! routes Supabase leaves open: `/verify`, `/callback`, `/authorize`) and, for an API key
//! without a user token, put the key's role token in `Authorization` (`service_role` for the
//! secret key, so the admin API sees what GoTrue sees behind Supabase's gateway). The path is
//! relative to `/auth/v1` (`/signup`, `/token?grant_type=password`) and the body is collected.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};

pub type AuthFuture = Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>;

/// A Supabase Auth (GoTrue)-compatible server mounted at `/auth/v1`.
pub trait AuthService: Send + Sync + 'static {
    fn call(&self, request: Request<Bytes>) -> AuthFuture;
}

/// The local Auth (tools/auth), in this process.
pub struct LocalAuth(Arc<::auth::Auth>);

impl LocalAuth {
    /// Connects to the database and checks that the `auth.*` schema is there.
    pub async fn start(settings: ::auth::Settings) -> Result<LocalAuth, String> {
        Ok(LocalAuth(Arc::new(::auth::Auth::new(settings).await?)))
    }
}

impl AuthService for LocalAuth {
    fn call(&self, mut request: Request<Bytes>) -> AuthFuture {
        // The origin sets X-Real-IP to the connection's peer (a client cannot choose it); the
        // Auth's rate limits count per client address.
        let client = request
            .headers()
            .get("x-real-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<IpAddr>().ok());
        if let Some(ip) = client {
            request.extensions_mut().insert(::auth::ClientIp(ip));
        }
        let auth = Arc::clone(&self.0);
        Box::pin(async move { auth.handle(request).await })
    }
}

/// What answers when no Auth server is mounted: 501 in GoTrue's error shape, naming why.
pub struct NoAuthServer;

impl AuthService for NoAuthServer {
    fn call(&self, _request: Request<Bytes>) -> AuthFuture {
        Box::pin(async {
            let body = r#"{"code":501,"error_code":"not_implemented","msg":"No Auth server is mounted in this origin; only /auth/v1/.well-known/jwks.json is served"}"#;
            let mut response = Response::new(Bytes::from_static(body.as_bytes()));
            *response.status_mut() = StatusCode::NOT_IMPLEMENTED;
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response
        })
    }
}
