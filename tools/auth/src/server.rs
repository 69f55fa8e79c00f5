//! Serving the service on a port (the binary and the tests): hyper accepts connections, each
//! request's body is collected (up to 1 MiB), `/auth/v1` is stripped from the path, the peer
//! address goes in as [`ClientIp`], and [`Auth::handle`] answers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::error::AuthError;
use crate::{Auth, ClientIp, Settings};

const MAX_BODY_BYTES: usize = 1 << 20;
const BASE_PATH: &str = "/auth/v1";

/// A running server; dropping it stops accepting connections.
pub struct Server {
    pub address: SocketAddr,
    pub auth: Arc<Auth>,
    _stop: oneshot::Sender<()>,
}

impl Server {
    /// The service's base URL, e.g. `http://127.0.0.1:9999/auth/v1`.
    pub fn url(&self) -> String {
        format!("http://{}{BASE_PATH}", self.address)
    }
}

pub async fn serve(settings: Settings, host: &str, port: u16) -> Result<Server, String> {
    let auth = Arc::new(Auth::new(settings).await?);
    let listener = TcpListener::bind((host, port))
        .await
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, mut stopped) = oneshot::channel::<()>();
    let service = auth.clone();
    tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(_) => continue,
                },
            };
            let auth = service.clone();
            tokio::spawn(async move {
                let handler = service_fn(move |request| {
                    let auth = auth.clone();
                    async move { Ok::<_, Infallible>(answer(&auth, request, peer).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), handler)
                    .await;
            });
        }
    });
    Ok(Server {
        address,
        auth,
        _stop: stop,
    })
}

async fn answer(
    auth: &Auth,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let error = AuthError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                "Request body too large",
            );
            return error.into_response(None).map(Full::new);
        }
    };
    if let Some(rest) = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .and_then(|pq| pq.strip_prefix(BASE_PATH))
    {
        let relative = if rest.is_empty() || rest.starts_with('?') {
            format!("/{rest}")
        } else {
            rest.to_string()
        };
        if let Ok(uri) = relative.parse() {
            parts.uri = uri;
        }
    }
    parts.extensions.insert(ClientIp(peer.ip()));
    auth.handle(Request::from_parts(parts, body))
        .await
        .map(Full::new)
}
