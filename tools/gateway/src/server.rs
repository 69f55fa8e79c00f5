//! The HTTP side: accept connections, turn hyper requests into `HttpRequest`s (with the body
//! size limit), run each in its own task so a client hanging up never leaves a transaction
//! half done, and write the reply back.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_postgres::NoTls;

use crate::auth::Verifier;
use crate::config::Config;
use crate::error::ApiError;
use crate::handler::{self, AppState, HttpRequest};
use crate::response::Reply;
use crate::{db, reload, schema};

/// A running gateway; dropping it (or calling `stop`) stops accepting connections.
pub struct Gateway {
    pub address: SocketAddr,
    pub state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
}

impl Gateway {
    pub fn url(&self) -> String {
        format!("http://{}{}", self.address, self.state.config.base_path)
    }

    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connects to Postgres, loads the schema cache, binds the port and starts serving.
pub async fn start(config: Config) -> Result<Gateway, String> {
    let verifier = Verifier::new(
        config.jwt_secret.as_deref(),
        config.jwt_secret_is_base64,
        config.jwt_aud.clone(),
        config.jwt_role_claim_path.clone(),
        config.db_anon_role.clone(),
    )?;
    let pg_config: tokio_postgres::Config = config
        .db_uri
        .parse()
        .map_err(|e| format!("PGRST_DB_URI is not a valid Postgres URL: {e}"))?;
    let manager = Manager::from_config(
        pg_config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(config.db_pool)
        .wait_timeout(Some(Duration::from_secs(
            config.db_pool_acquisition_timeout_secs,
        )))
        .create_timeout(Some(Duration::from_secs(10)))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| format!("could not build the connection pool: {e}"))?;
    db::check_reachable(&pool, Duration::from_secs(10))
        .await
        .map_err(|e| format!("cannot reach the database at PGRST_DB_URI: {e}"))?;
    let cache = {
        let client = pool
            .get()
            .await
            .map_err(|e| format!("cannot reach the database: {e}"))?;
        schema::load(&client, &config.db_schemas)
            .await
            .map_err(|e| format!("could not load the schema cache: {e}"))?
    };
    let listener = TcpListener::bind((config.server_host.as_str(), config.server_port))
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}:{}: {e}",
                config.server_host, config.server_port
            )
        })?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let state = Arc::new(AppState {
        config,
        pool,
        verifier,
        cache: RwLock::new(Arc::new(cache)),
        prepared: Default::default(),
        #[cfg(feature = "test-hooks")]
        test_hooks: Default::default(),
    });
    let (stop, stopped) = oneshot::channel();
    let reloader = tokio::spawn(reload::listen_for_reloads(Arc::clone(&state)));
    tokio::spawn(accept_loop(listener, Arc::clone(&state), stopped, reloader));
    Ok(Gateway {
        address,
        state,
        stop: Some(stop),
    })
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<AppState>,
    mut stopped: oneshot::Receiver<()>,
    reloader: tokio::task::JoinHandle<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(serve(state, request).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    reloader.abort();
}

async fn serve(state: Arc<AppState>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = match read_request(&state, request).await {
        Ok(http_request) => {
            let task_state = Arc::clone(&state);
            match tokio::spawn(async move { handler::handle(&task_state, http_request).await })
                .await
            {
                Ok(reply) => reply,
                Err(e) => {
                    Reply::from_error(&ApiError::internal(format!("request task failed: {e}")))
                }
            }
        }
        Err(error) => Reply::from_error(&error),
    };
    to_response(reply)
}

async fn read_request(
    state: &AppState,
    request: Request<Incoming>,
) -> Result<HttpRequest, ApiError> {
    let limit = state.config.max_body_bytes;
    let too_large = || {
        ApiError::new(
            413,
            "PGRST102",
            format!("Request body is larger than the {limit} bytes this gateway accepts"),
        )
    };
    let (parts, body) = request.into_parts();
    let target = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    let max_target = state.config.max_url_bytes;
    if target > max_target {
        return Err(ApiError::new(414, "PGRST100", "Request-target too long")
            .with_details(format!(
                "The path and query string are {target} bytes; this gateway accepts at most {max_target} (GATEWAY_MAX_URL_BYTES)"
            ))
            .with_hint("Send long lists of values in a request body, for example as a function's argument"));
    }
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let body = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|_| too_large())?
        .to_bytes();
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(HttpRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers,
        body,
    })
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(Full::new(Bytes::from(reply.body))).unwrap_or_else(|_| {
        let mut fallback = Response::new(Full::new(Bytes::from_static(b"{\"code\":\"PGRSTX00\",\"message\":\"invalid response header\",\"details\":null,\"hint\":null}")));
        *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}
