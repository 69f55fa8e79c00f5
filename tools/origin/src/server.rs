//! The HTTP side: accept connections and route each request.
//!
//! | path | what | apikey | CORS |
//! |---|---|---|---|
//! | `/rest/v1/*` | the gateway (embedded, or `ORIGIN_REST_URL`) | required | gateway's |
//! | `/auth/v1/.well-known/jwks.json` | the public signing keys | open | gateway's |
//! | `/auth/v1/{verify,callback,authorize}*` | the Auth service | open | gateway's |
//! | `/auth/v1/*` | the Auth service | required | gateway's |
//! | `/functions/v1/*` | wrangler dev, untouched | not checked | the Worker's own |
//! | anything else | 404 `no Route matched with those values` | | |
//!
//! The routes and what is open follow Supabase's gateway configuration (docker/volumes/api/
//! kong.yml and the Envoy variant in supabase/supabase); Edge Functions there check their own
//! tokens, so the gateway does not demand an `apikey` for them either.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION, CACHE_CONTROL};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::access::{self, ApiKeys, Credentials, Forward, Refusal};
use crate::auth::AuthService;
use crate::config::{Config, KeyMode, RestUpstream};
use crate::cors;
use crate::keys::{RoleTokens, TokenSigner};
use crate::proxy::{
    self, apikey_parameter, full, json_response, without_apikey, Body, BoxError, Outgoing, Proxy,
    Upstream,
};

const REST: &str = "/rest/v1";
const AUTH: &str = "/auth/v1";
const FUNCTIONS: &str = "/functions/v1";
const JWKS_PATH: &str = "/auth/v1/.well-known/jwks.json";
/// Auth routes Supabase's gateway leaves open (links in emails, OAuth redirects).
const OPEN_AUTH_ROUTES: &[&str] = &["/auth/v1/verify", "/auth/v1/callback", "/auth/v1/authorize"];
const REST_TIMEOUT: Duration = Duration::from_secs(120);
/// Kong's read timeout for Edge Functions in the Supabase CLI, matching the hosted limit.
const FUNCTIONS_TIMEOUT: Duration = Duration::from_secs(150);
const AUTH_MAX_BODY_BYTES: usize = 1024 * 1024;

/// A running origin; dropping it (or calling `stop`) stops accepting connections and stops the
/// embedded gateway.
pub struct Origin {
    pub address: SocketAddr,
    /// The embedded gateway, when `/rest/v1` is served in this process.
    pub gateway: Option<gateway::Gateway>,
    stop: Option<oneshot::Sender<()>>,
}

impl Origin {
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(gateway) = self.gateway.as_mut() {
            gateway.stop();
        }
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop();
    }
}

struct State {
    rest: Upstream,
    /// True when the upstream is a PostgREST at its own root, so `/rest/v1` is cut off.
    rest_strips_prefix: bool,
    functions: Upstream,
    proxy: Proxy,
    api_keys: ApiKeys,
    tokens: RoleTokens,
    jwks: Bytes,
    auth: Arc<dyn AuthService>,
}

/// Starts the embedded gateway (unless `ORIGIN_REST_URL` names another), binds the port and
/// starts serving.
pub async fn start(config: Config, auth: Arc<dyn AuthService>) -> Result<Origin, String> {
    let (gateway, rest, rest_strips_prefix) = match config.rest {
        RestUpstream::Embedded(settings) => {
            let gateway = gateway::start(gateway::Config::from_map(&settings)?).await?;
            let upstream = Upstream::parse(
                &format!("http://{}", gateway.address),
                "the embedded gateway",
            )?;
            (Some(gateway), upstream, false)
        }
        RestUpstream::Url(url) => (None, Upstream::parse(&url, "ORIGIN_REST_URL")?, true),
    };
    let functions = Upstream::parse(&config.functions_url, "ORIGIN_FUNCTIONS_URL")?;
    let (signer, jwks) = match (config.key_mode, config.signing_keys, config.jwt_secret) {
        (KeyMode::Signing, Some(keys), _) => {
            (TokenSigner::Es256(keys.signing().clone()), keys.jwks())
        }
        // A project on the legacy secret publishes no asymmetric keys: GoTrue never lists the
        // HS256 secret in its JWKS.
        (KeyMode::Legacy, _, Some(secret)) => (
            TokenSigner::Hs256(secret.into_bytes()),
            serde_json::json!({ "keys": [] }),
        ),
        _ => return Err("the key mode's keys are missing (Config::from_map checks this)".into()),
    };
    let listener = TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let state = Arc::new(State {
        rest,
        rest_strips_prefix,
        functions,
        proxy: Proxy::default(),
        api_keys: config.api_keys,
        tokens: RoleTokens::new(signer),
        jwks: Bytes::from(jwks.to_string()),
        auth,
    });
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(accept_loop(listener, state, stopped));
    Ok(Origin {
        address,
        gateway,
        stop: Some(stop),
    })
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, mut stopped: oneshot::Receiver<()>) {
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, client)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(serve(state, client, request).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn serve(
    state: Arc<State>,
    client: SocketAddr,
    request: Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().clone();
    // The path only: a query can carry an API key.
    let path = request.uri().path().to_string();
    let request = request.map(|body| body.map_err(|e| -> BoxError { Box::new(e) }).boxed());
    let response = route(&state, client, request).await;
    println!(
        "origin: {method} {path} {} {:.1} ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}

fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

async fn route(state: &State, client: SocketAddr, request: Request<Body>) -> Response<Body> {
    let path = request.uri().path().to_string();
    let path = path.as_str();
    if under(path, FUNCTIONS) {
        let outgoing = Outgoing {
            path: path.to_string(),
            query: request.uri().query().map(str::to_string),
            client,
            timeout: FUNCTIONS_TIMEOUT,
        };
        return state
            .proxy
            .forward(&state.functions, request, outgoing)
            .await;
    }
    let from_browser = request.headers().contains_key(http::header::ORIGIN);
    let mut response = if cors::is_preflight(request.method(), request.headers())
        && (under(path, REST) || under(path, AUTH))
    {
        let mut response = Response::new(Empty::new().map_err(|never| match never {}).boxed());
        *response.headers_mut() = cors::preflight_headers(request.headers());
        response
    } else if under(path, REST) {
        rest(state, client, request).await
    } else if path == JWKS_PATH {
        jwks(state, request.method())
    } else if under(path, AUTH) {
        auth(state, client, request).await
    } else {
        return json_response(
            StatusCode::NOT_FOUND,
            r#"{"message":"no Route matched with those values"}"#,
        );
    };
    cors::decorate(from_browser, response.headers_mut());
    response
}

/// Applies the `apikey` check and puts the right `Authorization` on the request.
fn admit(state: &State, request: &mut Request<Body>, schema_root: bool) -> Result<(), Refusal> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let apikey = header("apikey")
        .map(str::to_string)
        .or_else(|| request.uri().query().and_then(apikey_parameter));
    let credentials = Credentials {
        apikey: apikey.as_deref(),
        authorization: header("authorization"),
        user_agent: header("user-agent"),
    };
    let bearer = match access::admit(&state.api_keys, &credentials, schema_root) {
        Err(refusal) => return Err(refusal),
        Ok((_, Forward::CallerToken)) => return Ok(()),
        Ok((_, Forward::RoleToken(role))) => {
            format!("Bearer {}", state.tokens.for_role(role.claim()))
        }
        Ok((_, Forward::KeyAsBearer)) => format!("Bearer {}", apikey.unwrap_or_default()),
    };
    match HeaderValue::from_str(&bearer) {
        Ok(value) => {
            request.headers_mut().insert(AUTHORIZATION, value);
            Ok(())
        }
        // A key with bytes a header cannot carry never matched a configured key.
        Err(_) => Err(access::invalid_key()),
    }
}

fn refusal_response(refusal: &Refusal) -> Response<Body> {
    let mut response = json_response(
        StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::UNAUTHORIZED),
        refusal.body(),
    );
    if let Some(code) = refusal.error_code {
        response
            .headers_mut()
            .insert("sb-error-code", HeaderValue::from_static(code));
    }
    response
}

async fn rest(state: &State, client: SocketAddr, mut request: Request<Body>) -> Response<Body> {
    let path = request.uri().path().to_string();
    let schema_root = matches!(*request.method(), Method::GET | Method::HEAD)
        && (path == REST || path == "/rest/v1/");
    if let Err(refusal) = admit(state, &mut request, schema_root) {
        return refusal_response(&refusal);
    }
    let path = match state.rest_strips_prefix {
        true => match &path[REST.len()..] {
            "" => "/".to_string(),
            rest => rest.to_string(),
        },
        false => path,
    };
    let query = request.uri().query().and_then(without_apikey);
    state
        .proxy
        .forward(
            &state.rest,
            request,
            Outgoing {
                path,
                query,
                client,
                timeout: REST_TIMEOUT,
            },
        )
        .await
}

fn jwks(state: &State, method: &Method) -> Response<Body> {
    if !matches!(*method, Method::GET | Method::HEAD) {
        let mut response = Response::new(full(Bytes::new()));
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = json_response(StatusCode::OK, state.jwks.clone());
    // What Supabase Auth sends with its JWKS (internal/api/jwks.go in supabase/auth).
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=600"),
    );
    response
}

async fn auth(state: &State, client: SocketAddr, mut request: Request<Body>) -> Response<Body> {
    let path = request.uri().path().to_string();
    if !OPEN_AUTH_ROUTES.iter().any(|open| under(&path, open)) {
        if let Err(refusal) = admit(state, &mut request, false) {
            return refusal_response(&refusal);
        }
    }
    let (mut parts, body) = request.into_parts();
    let Some(body) = collect_at_most(body, AUTH_MAX_BODY_BYTES).await else {
        return json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            r#"{"message":"Request body is too large"}"#,
        );
    };
    let relative = match &path[AUTH.len()..] {
        "" => "/".to_string(),
        rest => rest.to_string(),
    };
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let Ok(uri) = format!("{relative}{query}").parse() else {
        return json_response(
            StatusCode::BAD_REQUEST,
            r#"{"message":"Invalid request path"}"#,
        );
    };
    parts.uri = uri;
    let host = parts.headers.get(http::header::HOST).cloned();
    proxy::add_forwarded(&mut parts.headers, host, client);
    let response = state.auth.call(Request::from_parts(parts, body)).await;
    response.map(full)
}

/// The whole body, or None when it is larger than `limit` or breaks off.
async fn collect_at_most(mut body: Body, limit: usize) -> Option<Bytes> {
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.ok()?.into_data() {
            if collected.len() + data.len() > limit {
                return None;
            }
            collected.extend_from_slice(&data);
        }
    }
    Some(collected.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_whole_path_segments() {
        assert!(under("/rest/v1", REST));
        assert!(under("/rest/v1/", REST));
        assert!(under("/rest/v1/todos", REST));
        assert!(!under("/rest/v10/todos", REST));
        assert!(!under("/restx", REST));
        assert!(
            under("/auth/v1/verify?token=x", "/auth/v1/verify")
                || under("/auth/v1/verify", "/auth/v1/verify")
        );
        assert!(!under("/auth/v1/verifyx", "/auth/v1/verify"));
    }
}
