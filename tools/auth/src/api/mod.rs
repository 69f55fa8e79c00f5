//! HTTP in and out: turns a request into a [`Call`], routes it to its handler, and turns the
//! handler's result or error into Supabase Auth's response.

mod admin;
mod emails;
mod meta;
mod signup;
mod token;
mod user;
mod verify;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{
    json_response, requested_api_version, AuthError, AuthResult, API_VERSION_HEADER,
};
use crate::ratelimit::{Budget, Limit};
use crate::{Auth, ClientIp};

/// The audience of users created here, unless the request names another (GoTrue's `JWT_AUD`).
pub const DEFAULT_AUD: &str = "authenticated";

/// One request, parsed once.
pub struct Call {
    pub method: Method,
    pub path: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
    pub api_version: Option<&'static str>,
    pub ip: Option<IpAddr>,
    rate_limit_key: String,
}

impl Call {
    fn new(auth: &Auth, request: Request<Bytes>) -> Self {
        let (parts, body) = request.into_parts();
        let query = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let ip = parts.extensions.get::<ClientIp>().map(|c| c.0);
        let api_version = requested_api_version(
            parts
                .headers
                .get(API_VERSION_HEADER)
                .and_then(|v| v.to_str().ok()),
        );
        let from_header = auth
            .settings
            .rate_limit_header
            .as_deref()
            .and_then(|name| parts.headers.get(name))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let rate_limit_key = from_header
            .or_else(|| ip.map(|ip| ip.to_string()))
            .unwrap_or_else(|| "unknown".to_string());
        Call {
            method: parts.method,
            path: parts.uri.path().trim_end_matches('/').to_string(),
            query,
            headers: parts.headers,
            body,
            api_version,
            ip,
            rate_limit_key,
        }
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.header("user-agent").filter(|ua| !ua.is_empty())
    }

    /// The audience asked for (`X-JWT-AUD`), else the default.
    pub fn aud(&self) -> &str {
        self.header("x-jwt-aud")
            .filter(|a| !a.is_empty())
            .unwrap_or(DEFAULT_AUD)
    }

    pub fn body_is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// The JSON body as `T` (GoTrue's `retrieveRequestParams`).
    pub fn params<T: DeserializeOwned>(&self) -> AuthResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            AuthError::bad_request(
                "bad_json",
                format!("Could not parse request body as JSON: {e}"),
            )
        })
    }

    /// Charges one request to this client's `limit` budget; 429 when it is spent.
    pub fn rate_limit(&self, auth: &Auth, limit: Limit) -> AuthResult<()> {
        let limits = &auth.settings.rate_limits;
        let five_minutes = Duration::from_secs(300);
        let hour = Duration::from_secs(3600);
        let budget = match limit {
            Limit::SignInSignUp => Budget {
                limit: limits.sign_in_sign_ups,
                period: five_minutes,
                burst: limits.sign_in_sign_ups,
            },
            Limit::TokenRefresh => Budget {
                limit: limits.token_refresh,
                period: five_minutes,
                // GoTrue lets the token endpoint take bursts of 30.
                burst: limits.token_refresh.min(30),
            },
            Limit::Anonymous => Budget {
                limit: limits.anonymous_users,
                period: hour,
                burst: limits.anonymous_users,
            },
            Limit::Verify => Budget {
                limit: limits.token_verifications,
                period: five_minutes,
                burst: limits.token_verifications,
            },
            Limit::EmailSent => Budget {
                limit: limits.email_sent,
                period: hour,
                burst: limits.email_sent,
            },
        };
        let key = if limit == Limit::EmailSent {
            "server"
        } else {
            &self.rate_limit_key
        };
        if auth.limiter.allow(limit, key, budget, Instant::now()) {
            return Ok(());
        }
        Err(match limit {
            Limit::EmailSent => AuthError::too_many_requests(
                "over_email_send_rate_limit",
                "Email rate limit exceeded",
            ),
            _ => AuthError::too_many_requests(
                "over_request_rate_limit",
                "Request rate limit reached",
            ),
        })
    }
}

/// A user's JSON with their identities, as the transaction sees them now.
pub async fn user_document(
    tx: &tokio_postgres::Transaction<'_>,
    id: uuid::Uuid,
) -> AuthResult<Value> {
    let user = crate::store::user_by_id(tx, id, false)
        .await?
        .ok_or_else(|| AuthError::not_found("user_not_found", "User not found"))?;
    Ok(crate::model::user_json(
        &user,
        &crate::store::identities(tx, id).await?,
    ))
}

pub fn json_ok(body: &Value) -> Response<Bytes> {
    json_response(StatusCode::OK, body)
}

pub fn no_content() -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

pub fn redirect(location: &str) -> AuthResult<Response<Bytes>> {
    let value = HeaderValue::from_str(location)
        .map_err(|e| AuthError::internal("Invalid redirect URL", e))?;
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().insert(header::LOCATION, value);
    Ok(response)
}

pub async fn handle(auth: &Auth, request: Request<Bytes>) -> Response<Bytes> {
    let call = Call::new(auth, request);
    let api_version = call.api_version;
    match route(auth, &call).await {
        Ok(response) => response,
        Err(error) => error.into_response(api_version),
    }
}

async fn route(auth: &Auth, call: &Call) -> AuthResult<Response<Bytes>> {
    let path = call.path.as_str();
    if path == "/admin/users" || path.starts_with("/admin/users/") {
        return admin::route(auth, call).await;
    }
    match (&call.method, path) {
        (&Method::GET, "/health") => Ok(meta::health()),
        (&Method::GET, "/settings") => Ok(meta::settings(auth)),
        (&Method::GET, "/.well-known/jwks.json") => Ok(meta::jwks(auth)),
        (&Method::GET, "/mailbox") => meta::mailbox(auth, call).await,
        (&Method::POST, "/signup") => signup::signup(auth, call).await,
        (&Method::POST, "/token") => token::token(auth, call).await,
        (&Method::GET, "/user") => user::get(auth, call).await,
        (&Method::PUT, "/user") => user::update(auth, call).await,
        (&Method::POST, "/logout") => user::logout(auth, call).await,
        (&Method::POST, "/recover") => verify::recover(auth, call).await,
        (&Method::GET | &Method::POST, "/verify") => verify::verify(auth, call).await,
        (
            _,
            "/health"
            | "/settings"
            | "/.well-known/jwks.json"
            | "/mailbox"
            | "/signup"
            | "/token"
            | "/user"
            | "/logout"
            | "/recover"
            | "/verify",
        ) => Err(AuthError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method Not Allowed",
        )),
        _ => Err(AuthError::not_found("not_found", "Not Found")),
    }
}
