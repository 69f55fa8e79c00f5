//! Forwarding a request to an upstream server and its answer back, with both bodies streamed
//! (nothing is buffered, so a 1 GB upload or a server-sent event stream passes through as it
//! arrives). Status and every end-to-end header are kept; hop-by-hop headers (RFC 9110 7.6.1)
//! are dropped, `Host` names the upstream and `X-Forwarded-*` say where the request came from,
//! as Kong does by default.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE, HOST};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Body = BoxBody<Bytes, BoxError>;

/// A body held in memory.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A JSON answer the origin writes itself.
pub fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Where requests for one route go: scheme and authority of an upstream plus a path prefix.
#[derive(Clone, Debug)]
pub struct Upstream {
    scheme: String,
    authority: String,
    path: String,
}

impl Upstream {
    pub fn parse(url: &str, setting: &str) -> Result<Upstream, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{setting} is not a URL ({url}): {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("{setting} must be an http:// URL, got {url}"));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{setting} has no host: {url}"))?;
        Ok(Upstream {
            scheme: "http".into(),
            authority: authority.to_string(),
            path: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// The upstream URI for a path (starting with `/`) and query.
    fn uri(&self, path: &str, query: Option<&str>) -> Result<Uri, http::Error> {
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        Uri::builder()
            .scheme(self.scheme.as_str())
            .authority(self.authority.as_str())
            .path_and_query(format!("{}{path}{query}", self.path))
            .build()
    }
}

/// How long an upstream connection may sit idle in the pool before it is dropped instead of
/// reused. Shorter than the 5 s after which workerd (wrangler dev, the functions' upstream) closes
/// an idle keep-alive connection: a request written on a connection just as the upstream closes
/// it gets no answer, and the caller a 502 it did nothing to cause.
const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(3);

/// A pooled HTTP/1 client shared by every route.
pub struct Proxy {
    client: Client<HttpConnector, Body>,
}

impl Default for Proxy {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(UPSTREAM_IDLE_TIMEOUT)
            .set_host(false)
            .build(connector);
        Proxy { client }
    }
}

/// What the caller decided about the request before it is forwarded.
pub struct Outgoing {
    pub path: String,
    pub query: Option<String>,
    pub client: SocketAddr,
    /// How long to wait for the upstream's response head (the body may stream for longer).
    pub timeout: Duration,
}

impl Proxy {
    /// The forwarded exchange. The request is prepared before the returned future runs, and the
    /// future owns what it needs (a handle on the pooled client), so it can be spawned.
    pub fn forward(
        &self,
        upstream: &Upstream,
        request: Request<Body>,
        outgoing: Outgoing,
    ) -> impl Future<Output = Response<Body>> + Send + 'static {
        let client = self.client.clone();
        let prepared = prepare(upstream, request, &outgoing);
        let target = format!("{}{}", upstream.authority, outgoing.path);
        async move {
            let Some(request) = prepared else {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    r#"{"message":"Invalid request path"}"#,
                );
            };
            match tokio::time::timeout(outgoing.timeout, client.request(request)).await {
                Ok(Ok(response)) => {
                    let (mut parts, body) = response.into_parts();
                    strip_hop_by_hop(&mut parts.headers);
                    Response::from_parts(
                        parts,
                        body.map_err(|e| -> BoxError { Box::new(e) }).boxed(),
                    )
                }
                Ok(Err(error)) => {
                    eprintln!("origin: no answer from {target}: {error:?}");
                    json_response(
                        StatusCode::BAD_GATEWAY,
                        r#"{"message":"An invalid response was received from the upstream server"}"#,
                    )
                }
                Err(_) => {
                    eprintln!(
                        "origin: {target} did not answer within {:?}",
                        outgoing.timeout
                    );
                    json_response(
                        StatusCode::GATEWAY_TIMEOUT,
                        r#"{"message":"The upstream server is timing out"}"#,
                    )
                }
            }
        }
    }
}

/// The request as the upstream gets it, or None when the path does not form a URI.
fn prepare(
    upstream: &Upstream,
    request: Request<Body>,
    outgoing: &Outgoing,
) -> Option<Request<Body>> {
    let (mut parts, body) = request.into_parts();
    parts.uri = upstream
        .uri(&outgoing.path, outgoing.query.as_deref())
        .ok()?;
    let original_host = parts.headers.get(HOST).cloned();
    strip_hop_by_hop(&mut parts.headers);
    add_forwarded(&mut parts.headers, original_host, outgoing.client);
    if let Ok(host) = HeaderValue::from_str(&upstream.authority) {
        parts.headers.insert(HOST, host);
    }
    Some(Request::from_parts(parts, body))
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

pub fn add_forwarded(
    headers: &mut HeaderMap,
    original_host: Option<HeaderValue>,
    client: SocketAddr,
) {
    let ip = client.ip().to_string();
    let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(earlier) => format!("{earlier}, {ip}"),
        None => ip.clone(),
    };
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("x-forwarded-for", &forwarded_for);
    set("x-real-ip", &ip);
    set("x-forwarded-proto", "http");
    if let Some(host) = original_host {
        headers.insert("x-forwarded-host", host);
    }
}

/// The query without its `apikey` parameters (Supabase's gateway does not pass the key on to
/// PostgREST, which would read it as a filter on a column named apikey).
pub fn without_apikey(query: &str) -> Option<String> {
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("apikey"))
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

/// The first `apikey` query parameter, percent-decoded.
pub fn apikey_parameter(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "apikey")
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// An upstream that answers 204 to everything and counts the connections it accepted.
    async fn counting_upstream() -> (Upstream, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let service = hyper::service::service_fn(|_request| async {
                    let mut response = Response::new(full(""));
                    *response.status_mut() = StatusCode::NO_CONTENT;
                    Ok::<_, Infallible>(response)
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                );
            }
        });
        let upstream = Upstream::parse(&format!("http://{address}"), "UPSTREAM").unwrap();
        (upstream, accepted)
    }

    async fn forward_one(proxy: &Proxy, upstream: &Upstream) -> StatusCode {
        let request = Request::new(full(""));
        let outgoing = Outgoing {
            path: "/".into(),
            query: None,
            client: "127.0.0.1:40000".parse().unwrap(),
            timeout: Duration::from_secs(5),
        };
        proxy.forward(upstream, request, outgoing).await.status()
    }

    #[tokio::test]
    async fn upstream_connections_are_reused_only_while_fresh() {
        assert!(UPSTREAM_IDLE_TIMEOUT < Duration::from_secs(5));
        let (upstream, accepted) = counting_upstream().await;
        let proxy = Proxy::default();
        assert_eq!(forward_one(&proxy, &upstream).await, StatusCode::NO_CONTENT);
        assert_eq!(forward_one(&proxy, &upstream).await, StatusCode::NO_CONTENT);
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "a fresh connection is reused"
        );
        tokio::time::sleep(UPSTREAM_IDLE_TIMEOUT + Duration::from_millis(300)).await;
        assert_eq!(forward_one(&proxy, &upstream).await, StatusCode::NO_CONTENT);
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "a connection idle past UPSTREAM_IDLE_TIMEOUT is not reused"
        );
    }

    #[test]
    fn hop_by_hop_headers_and_those_named_in_connection_are_dropped() {
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, x-private"),
            ("keep-alive", "timeout=5"),
            ("x-private", "1"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("content-type", "application/json"),
            ("x-custom", "kept"),
        ] {
            headers.append(k, HeaderValue::from_static(v));
        }
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        left.sort();
        assert_eq!(left, ["content-type", "x-custom"]);
    }

    #[test]
    fn forwarded_headers_extend_an_existing_chain() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
        add_forwarded(
            &mut headers,
            Some(HeaderValue::from_static("127.0.0.1:54321")),
            "127.0.0.1:40000".parse().unwrap(),
        );
        assert_eq!(headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
        assert_eq!(headers["x-real-ip"], "127.0.0.1");
        assert_eq!(headers["x-forwarded-host"], "127.0.0.1:54321");
        assert_eq!(headers["x-forwarded-proto"], "http");
    }

    #[test]
    fn upstream_paths_join_the_prefix() {
        let upstream = Upstream::parse("http://127.0.0.1:3000/", "X").unwrap();
        assert_eq!(
            upstream
                .uri("/todos", Some("select=id"))
                .unwrap()
                .to_string(),
            "http://127.0.0.1:3000/todos?select=id"
        );
        let upstream = Upstream::parse("http://127.0.0.1:8787/functions/v1", "X").unwrap();
        assert_eq!(
            upstream.uri("/health", None).unwrap().to_string(),
            "http://127.0.0.1:8787/functions/v1/health"
        );
        assert!(Upstream::parse("https://example.com", "ORIGIN_REST_URL")
            .unwrap_err()
            .contains("http://"));
        assert!(Upstream::parse("not a url", "ORIGIN_REST_URL")
            .unwrap_err()
            .contains("ORIGIN_REST_URL"));
    }

    #[test]
    fn the_apikey_parameter_is_read_and_removed() {
        assert_eq!(
            apikey_parameter("select=id&apikey=sb_publishable_a%2Db"),
            Some("sb_publishable_a-b".into())
        );
        assert_eq!(apikey_parameter("select=id"), None);
        assert_eq!(
            without_apikey("select=id&apikey=k&order=id.desc"),
            Some("select=id&order=id.desc".into())
        );
        assert_eq!(without_apikey("apikey=k"), None);
        assert_eq!(
            without_apikey("name=eq.apikey%3Dx"),
            Some("name=eq.apikey%3Dx".into())
        );
    }
}
