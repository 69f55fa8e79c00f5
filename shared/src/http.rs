//! The HTTP edge every function shares: routing under `/functions/v1/<name>/...`, request ids,
//! CORS, reading bodies within limits, JSON responses, the one error shape and the request log.
//!
//! [`serve`] wraps a dispatcher: it answers CORS preflights, resolves the function from the
//! path, runs it, renders any [`ApiError`], stamps every response with `x-request-id` and CORS
//! headers, and writes one log line. Handlers receive a [`RequestContext`] and never build
//! error bodies themselves.

use crate::auth::{
    self, Claims, DatabaseRole, JwksCache, JwksCachePolicy, JwksCacheStatus, JwksFetcher,
    TokenVerifier, VerifierConfig,
};
use crate::config::{ConfigError, CoreConfig};
use crate::db::Db;
use crate::error::ApiError;
use crate::logging::{self, RequestLog};
use crate::privileged::{self, PrivilegedCaller, PrivilegedEndpoint, Refusal};
use crate::registry::Function;
use futures_util::future::{select, Either};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;
use worker::{AbortController, Context, Delay, Env, Fetch, Headers, Method, Request, Response};

/// Every function is served below this path, the shape Supabase Edge Functions use, so
/// `supabase.functions.invoke('<name>')` works unchanged.
pub const FUNCTIONS_PREFIX: &str = "/functions/v1/";

/// PostgREST's path on a Supabase project. The Worker serves it too (functions/personal-keys'
/// edge `/rest/v1`), as the function [`REST_FUNCTION`], so supabase-js pointed at the Worker works.
pub const REST_PREFIX: &str = "/rest/v1";
/// The function name `/rest/v1/...` is served as.
pub const REST_FUNCTION: &str = "rest";

/// Methods any function may use; browsers need them listed in the preflight answer, or they
/// refuse to send PUT and DELETE.
const CORS_ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// What Supabase clients send, plus the webhook and rate-limit headers our endpoints read.
const CORS_ALLOW_HEADERS: &str =
    "authorization, apikey, x-client-info, content-type, x-api-key, x-region, prefer, range, accept-profile, content-profile";
const CORS_EXPOSE_HEADERS: &str =
    "x-request-id, retry-after, ratelimit, ratelimit-policy, content-range, location";

/// The configuration as parsed once per isolate: the settings, or every problem found.
type ParsedConfig = Rc<Result<CoreConfig, Vec<ConfigError>>>;

thread_local! {
    /// Parsed once per isolate: the environment of a running Worker does not change.
    static CORE_CONFIG: RefCell<Option<ParsedConfig>> = const { RefCell::new(None) };
}

fn core_config(env: &Env) -> ParsedConfig {
    CORE_CONFIG.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| {
                let parsed = CoreConfig::from_source(env);
                if let Err(errors) = &parsed {
                    log_config_errors(errors);
                }
                Rc::new(parsed)
            })
            .clone()
    })
}

/// Logs configuration problems by variable name; values never reach the log.
pub fn log_config_errors(errors: &[ConfigError]) {
    let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
    logging::emit(
        &serde_json::json!({ "level": "error", "msg": "configuration", "problems": problems })
            .to_string(),
    );
}

/// How long a JWKS fetch may take, body included, before the keys count as unavailable.
pub const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Far above any real key set (Supabase's holds a few keys in a few KB).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// How often a request waiting for another request's JWKS fetch looks again
/// (`shared::auth::jwks_cache`: a waiter wakes itself up, it is never woken from another request).
pub const JWKS_WAIT_PAUSE: Duration = Duration::from_millis(10);

thread_local! {
    /// The JWKS keys, shared by every request of the isolate (leaked once: it lives as long as
    /// the isolate, and `verify_with_jwks` needs a reference that outlives an `.await`).
    static JWKS_CACHE: RefCell<Option<&'static RefCell<JwksCache>>> = const { RefCell::new(None) };
}

/// The isolate's JWKS cache, created with the configured policy on first use.
fn jwks_cache(policy: JwksCachePolicy) -> &'static RefCell<JwksCache> {
    JWKS_CACHE.with(|cell| {
        *cell
            .borrow_mut()
            .get_or_insert_with(|| Box::leak(Box::new(RefCell::new(JwksCache::new(policy)))))
    })
}

/// A caller whose JWT has been verified.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The access token exactly as received, forwarded to PostgREST so RLS sees the caller.
    pub token: String,
    pub claims: Claims,
}

impl Caller {
    pub fn user_id(&self) -> Option<&str> {
        self.claims.user_id()
    }
}

/// What a handler knows about the request besides the request itself.
#[derive(Clone)]
pub struct RequestContext {
    inner: Rc<ContextInner>,
}

struct ContextInner {
    request_id: String,
    env: Env,
    background: Rc<Context>,
    config: ParsedConfig,
    functions: &'static [Function],
    function: String,
    segments: Vec<String>,
    user_id: RefCell<Option<String>>,
    caller: RefCell<Option<Result<Caller, ApiError>>>,
}

impl RequestContext {
    pub fn request_id(&self) -> &str {
        &self.inner.request_id
    }

    pub fn env(&self) -> &Env {
        &self.inner.env
    }

    /// Runs `work` after the response is sent (`ctx.waitUntil`): what the caller need not wait
    /// for, such as refilling the rate limiter's lease (functions/rate-limit/src/limiter.rs).
    pub fn wait_until(&self, work: impl Future<Output = ()> + 'static) {
        self.inner.background.wait_until(work);
    }

    /// The validated core configuration, or a 500 naming nothing but logging everything.
    pub fn config(&self) -> Result<&CoreConfig, ApiError> {
        self.inner
            .config
            .as_ref()
            .as_ref()
            .map_err(|errors| ApiError::from(errors.as_slice()))
    }

    /// The configuration problems, for the health report.
    pub fn config_problems(&self) -> Vec<ConfigError> {
        self.inner
            .config
            .as_ref()
            .as_ref()
            .err()
            .cloned()
            .unwrap_or_default()
    }

    /// Every function the Worker serves (its registry), for the router, the rate limiter's
    /// defaults and the health report.
    pub fn functions(&self) -> &'static [Function] {
        self.inner.functions
    }

    /// The function name: the path segment after `/functions/v1/`.
    pub fn function(&self) -> &str {
        &self.inner.function
    }

    /// The path segments after the function name, for the function's own routing.
    pub fn segments(&self) -> Vec<&str> {
        self.inner.segments.iter().map(String::as_str).collect()
    }

    /// The verified caller: 401 when the `Authorization` header is missing or its token is
    /// forged, expired, for another audience or signed with a disallowed algorithm; 503 when the
    /// JWKS endpoint is down. Verified once per request, however often it is asked.
    pub async fn caller(&self, req: &Request) -> Result<Caller, ApiError> {
        if let Some(known) = self.inner.caller.borrow().clone() {
            return known;
        }
        let verified = self.verify_caller(req).await;
        if let Ok(caller) = &verified {
            if let Some(user_id) = caller.user_id() {
                self.set_user_id(user_id);
            }
        }
        *self.inner.caller.borrow_mut() = Some(verified.clone());
        verified
    }

    async fn verify_caller(&self, req: &Request) -> Result<Caller, ApiError> {
        let config = self.config()?;
        let authorization = header(req, "authorization");
        let token = auth::bearer_token(authorization.as_deref())?.to_string();
        let verifier = TokenVerifier::new(
            VerifierConfig {
                audience: Some(config.jwt.audience.clone()),
                issuer: None,
                leeway_seconds: config.jwt.leeway_seconds,
            },
            config.jwt.secret.as_deref(),
        );
        let now = crate::clock::now_seconds();
        let claims = match &config.jwt.jwks_url {
            Some(url) => {
                let cache = jwks_cache(config.jwt.jwks_cache);
                verifier
                    .verify_with_jwks(&token, cache, &JwksEndpoint { url }, now)
                    .await
            }
            None => verifier.verify(&token, None, now).await,
        }?;
        Ok(Caller { token, claims })
    }

    /// Admits the caller of a privileged endpoint with the credentials
    /// [`crate::privileged`] declares for it: 401 without a valid credential, 403 for a user's
    /// (or any other unprivileged) token, 503 when the JWKS needed is unavailable.
    /// `shared_secret` is the endpoint's own secret as configured, if it has one.
    pub async fn privileged_caller(
        &self,
        req: &Request,
        endpoint: PrivilegedEndpoint,
        shared_secret: Option<&str>,
    ) -> Result<PrivilegedCaller, ApiError> {
        // With the configuration broken, the secret key alone still admits: its holder may
        // learn what is wrong (the detailed health report).
        let parsed = self.inner.config.as_ref().as_ref().ok();
        let secret_key_alone = match parsed {
            Some(_) => None,
            None => crate::config::secret_key_alone(self.env()),
        };
        let jwt = parsed.map(|config| &config.jwt);
        let authorization = header(req, "authorization");
        let apikey = header(req, "apikey");
        let secret_header = endpoint
            .shared_secret()
            .and_then(|secret| header(req, secret.header));
        let presented = privileged::Presented {
            authorization: authorization.as_deref(),
            apikey: apikey.as_deref(),
            shared_secret: secret_header.as_deref(),
        };
        let keys = privileged::Keys {
            secret_key: parsed
                .and_then(|config| config.secret_key.as_deref())
                .or(secret_key_alone.as_deref()),
            shared_secret,
            jwt_secret: jwt.and_then(|jwt| jwt.secret.as_deref()),
            jwks: jwt
                .filter(|jwt| jwt.jwks_url.is_some())
                .map(|jwt| jwks_cache(jwt.jwks_cache)),
            signer: jwt.and_then(|jwt| jwt.role_token_signer.as_deref()),
            leeway_seconds: jwt.map_or(VerifierConfig::default().leeway_seconds, |jwt| {
                jwt.leeway_seconds
            }),
        };
        let url = jwt
            .and_then(|jwt| jwt.jwks_url.as_deref())
            .unwrap_or_default();
        let outcome = privileged::check(
            endpoint,
            presented,
            &keys,
            &JwksEndpoint { url },
            crate::clock::now_seconds(),
        )
        .await;
        outcome.map_err(|refusal| match refusal {
            Refusal::Missing => ApiError::unauthorized(format!(
                "{} needs {}",
                endpoint.route(),
                endpoint.accepted()
            )),
            Refusal::Invalid { reason, code } => ApiError::unauthorized(format!(
                "{reason}; {} needs {}",
                endpoint.route(),
                endpoint.accepted()
            ))
            .with_details(serde_json::json!({ "reason": code })),
            Refusal::NotPrivileged => ApiError::forbidden(format!(
                "{} is for services and operators only: it needs {}",
                endpoint.route(),
                endpoint.accepted()
            )),
            Refusal::KeysUnavailable => auth::AuthError::JwksUnavailable.into(),
        })
    }

    /// What the isolate's JWKS cache holds, for the health report; fetches nothing.
    pub fn jwks_status(&self) -> Option<JwksCacheStatus> {
        let config = self.config().ok()?;
        config.jwt.jwks_url.as_ref()?;
        Some(
            jwks_cache(config.jwt.jwks_cache)
                .borrow()
                .status(crate::clock::now_seconds()),
        )
    }

    /// A PostgREST client acting as the caller, with the caller's own JWT: RLS decides.
    pub fn db_as_caller(&self, caller: &Caller) -> Result<Db, ApiError> {
        Ok(Db::new(self.config()?, &caller.token))
    }

    /// A PostgREST client acting as a narrow database role (webhook intake, cron jobs, the
    /// rate limiter), through a token minted for this request that expires in a minute.
    pub async fn db_as_role(&self, role: DatabaseRole, job: &str) -> Result<Db, ApiError> {
        Ok(Db::for_role(self.config()?, role, job).await?)
    }

    /// Settles who the caller is before anyone asks ([`Self::caller`] then answers this): the
    /// owner of a personal API key, with a token minted for them, or the refusal of the key.
    pub fn act_as(&self, caller: Result<Caller, ApiError>) {
        if let Ok(caller) = &caller {
            if let Some(user_id) = caller.user_id() {
                self.set_user_id(user_id);
            }
        }
        *self.inner.caller.borrow_mut() = Some(caller);
    }

    /// Whether the caller is already settled (by [`Self::act_as`] or an earlier
    /// [`Self::caller`]), whatever the request's headers.
    pub fn knows_caller(&self) -> bool {
        self.inner.caller.borrow().is_some()
    }

    /// Records who the caller is, for the request log line.
    pub fn set_user_id(&self, user_id: &str) {
        *self.inner.user_id.borrow_mut() = Some(user_id.to_string());
    }
}

/// Runs `dispatch` for one request of a Worker serving `functions` and turns its outcome into
/// the final response.
pub async fn serve<F, Fut>(
    req: Request,
    env: Env,
    background: Context,
    functions: &'static [Function],
    now_millis: fn() -> u64,
    dispatch: F,
) -> Response
where
    F: FnOnce(Request, RequestContext) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    let background = Rc::new(background);
    let started = now_millis();
    let method = req.method();
    let path = req.path();
    let request_id = request_id(&req);
    let origin = req.headers().get("origin").ok().flatten();
    let config = core_config(&env);
    let cors_origin = config
        .as_ref()
        .as_ref()
        .ok()
        .and_then(|config| config.allowed_origins.allow(origin.as_deref()));

    let context = parse_function_path(&path).map(|(function, segments)| RequestContext {
        inner: Rc::new(ContextInner {
            request_id: request_id.clone(),
            env,
            background: Rc::clone(&background),
            config,
            functions,
            function,
            segments,
            user_id: RefCell::new(None),
            caller: RefCell::new(None),
        }),
    });

    let outcome = match (&method, context.clone()) {
        (Method::Options, _) => preflight(),
        (_, None) => Err(ApiError::not_found(format!(
            "no route for {path}; functions live under {FUNCTIONS_PREFIX}<name>, PostgREST under {REST_PREFIX}/"
        ))),
        (_, Some(context)) => match unrecognised_method(&req) {
            None => dispatch(req, context).await,
            Some(raw) => refuse_unrecognised_method(&req, context, &raw, dispatch).await,
        },
    };
    let (mut response, error_code, error_cause) = match outcome {
        Ok(response) => (response, None, None),
        Err(error) => (
            error_response(&error, &request_id),
            Some(error.code),
            error.cause,
        ),
    };

    let headers = response.headers_mut();
    set_header(headers, "x-request-id", &request_id);
    if let Some(allowed) = cors_origin {
        set_header(headers, "access-control-allow-origin", &allowed);
        set_header(
            headers,
            "access-control-expose-headers",
            CORS_EXPOSE_HEADERS,
        );
        if allowed != "*" {
            set_header(headers, "vary", "Origin");
        }
    }

    let user_id = context
        .as_ref()
        .and_then(|context| context.inner.user_id.borrow().clone());
    let line = RequestLog {
        method: method.as_ref(),
        path: &path,
        status: response.status_code(),
        duration_ms: now_millis().saturating_sub(started),
        request_id: &request_id,
        user_id: user_id.as_deref(),
        error_code,
        error_cause: error_cause.as_deref(),
    }
    .to_line();
    // Written once the response is on its way (the timer puts it behind the response, which the
    // runtime sends as soon as this handler returns). In `wrangler dev` a console line costs
    // 0.3-1.5 ms of latency (`npm run bench`, the breakdown's log line), mostly in wrangler's
    // own process, which pays it either way; written later, it cost a 404 ~0.2 ms less p50.
    background.wait_until(async move {
        Delay::from(Duration::ZERO).await;
        logging::emit(&line);
    });
    response
}

/// Whether `raw` is a method the routers can tell apart. `worker::Method` reads any method it
/// has no variant for (QUERY, PROPFIND, `get` in lower case: methods are case-sensitive) as GET,
/// so without this check such a request would be served as a GET.
pub fn is_recognised_method(raw: &str) -> bool {
    Method::from(raw.to_string()).as_ref() == raw
}

fn unrecognised_method(req: &Request) -> Option<String> {
    let raw = req.inner().method();
    (!is_recognised_method(&raw)).then_some(raw)
}

/// A method no route serves gets what any other unserved method gets: the route's 405 naming the
/// methods it does serve (or the 404 of a path that does not exist, or the guard's 401/429). The
/// route is asked with a HEAD copy of the request, headers only: no route serves HEAD.
async fn refuse_unrecognised_method<F, Fut>(
    req: &Request,
    context: RequestContext,
    raw: &str,
    dispatch: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Request, RequestContext) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    let not_served = |allowed: &[&str]| ApiError::method_not_allowed(raw, allowed);
    let probe = req.url().and_then(|url| {
        let mut init = worker::RequestInit::new();
        init.with_method(Method::Head)
            .with_headers(req.headers().clone());
        Request::new_with_init(url.as_str(), &init)
    });
    let Ok(probe) = probe else {
        return Err(not_served(&[]));
    };
    match dispatch(probe, context).await {
        Err(error) if error.status == 405 => {
            let allowed = error
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("allow"))
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            let mut refused = not_served(&allowed.split(", ").collect::<Vec<_>>());
            refused.headers.extend(
                error
                    .headers
                    .into_iter()
                    .filter(|(name, _)| !name.eq_ignore_ascii_case("allow")),
            );
            Err(refused)
        }
        Err(error) => Err(error),
        // No route serves HEAD today; one that did would be answered here without its other
        // methods, which only it knows.
        Ok(_) => Err(not_served(&["HEAD"])),
    }
}

/// The project's JWKS URL as the JWKS cache reaches it.
struct JwksEndpoint<'a> {
    url: &'a str,
}

impl JwksFetcher for JwksEndpoint<'_> {
    fn fetch_jwks(&self) -> impl Future<Output = Result<String, String>> {
        fetch_jwks(self.url)
    }

    /// A timer of this request's own, so it is never taken for hung and resumes in its own
    /// context.
    fn pause(&self) -> impl Future<Output = ()> {
        Delay::from(JWKS_WAIT_PAUSE)
    }
}

/// GETs the JWKS: 2xx only, at most [`MAX_JWKS_BYTES`], the whole exchange within
/// [`JWKS_FETCH_TIMEOUT`] (then aborted), so a slow or huge answer cannot hold requests up.
async fn fetch_jwks(url: &str) -> Result<String, String> {
    let url = url
        .parse()
        .map_err(|_| "JWKS_URL is not a valid URL".to_string())?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async {
        let mut response = Fetch::Url(url)
            .send_with_signal(&signal)
            .await
            .map_err(|error| format!("JWKS request failed: {error}"))?;
        if response.status_code() / 100 != 2 {
            return Err(format!("JWKS endpoint answered {}", response.status_code()));
        }
        let too_large = || format!("JWKS body is larger than {MAX_JWKS_BYTES} bytes");
        if let Ok(Some(length)) = response.headers().get("content-length") {
            if length
                .trim()
                .parse::<u64>()
                .map_or(true, |length| length > MAX_JWKS_BYTES as u64)
            {
                return Err(too_large());
            }
        }
        let stream = response
            .stream()
            .map_err(|error| format!("JWKS body unreadable: {error}"))?;
        let body = read_capped(stream, MAX_JWKS_BYTES)
            .await
            .map_err(|error| match error {
                CappedReadError::TooLarge => too_large(),
                CappedReadError::Unreadable => "JWKS body unreadable".to_string(),
            })?;
        String::from_utf8(body).map_err(|_| "JWKS body is not UTF-8".to_string())
    };
    let outcome = match select(pin!(exchange), pin!(Delay::from(JWKS_FETCH_TIMEOUT))).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right(_) => {
            controller.abort();
            Err(format!(
                "JWKS endpoint did not answer within {} s",
                JWKS_FETCH_TIMEOUT.as_secs()
            ))
        }
    };
    outcome
}

enum CappedReadError {
    TooLarge,
    Unreadable,
}

/// Reads a body stream to the end, refusing more than `limit` bytes without buffering them.
async fn read_capped<S, E>(stream: S, limit: usize) -> Result<Vec<u8>, CappedReadError>
where
    S: Stream<Item = Result<Vec<u8>, E>>,
{
    let mut stream = pin!(stream);
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| CappedReadError::Unreadable)?;
        if body.len() + chunk.len() > limit {
            return Err(CappedReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn preflight() -> Result<Response, ApiError> {
    let mut response = empty_response(204);
    let headers = response.headers_mut();
    set_header(headers, "access-control-allow-methods", CORS_ALLOW_METHODS);
    set_header(headers, "access-control-allow-headers", CORS_ALLOW_HEADERS);
    set_header(headers, "access-control-max-age", "86400");
    Ok(response)
}

/// `/functions/v1/<name>/<rest...>` -> (name, rest), and `/rest/v1/<rest...>` ->
/// ([`REST_FUNCTION`], rest). Empty segments (double or trailing slashes) are dropped.
pub fn parse_function_path(path: &str) -> Option<(String, Vec<String>)> {
    if let Some(rest) = path
        .strip_prefix(REST_PREFIX)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    {
        let segments = rest
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(String::from);
        return Some((REST_FUNCTION.to_string(), segments.collect()));
    }
    let rest = path
        .strip_prefix(FUNCTIONS_PREFIX)
        .or_else(|| (path == "/functions/v1").then_some(""))?;
    let mut segments = rest
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(String::from);
    let function = segments.next()?;
    Some((function, segments.collect()))
}

/// `cf-ray` when Cloudflare assigned one (so our logs join theirs), else a random id.
fn request_id(req: &Request) -> String {
    if let Ok(Some(ray)) = req.headers().get("cf-ray") {
        if !ray.is_empty() && ray.len() <= 64 {
            return ray;
        }
    }
    let mut bytes = [0u8; 12];
    match crate::crypto::fill_random(&mut bytes) {
        Ok(()) => bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
        Err(_) => "unknown".to_string(),
    }
}

fn set_header(headers: &mut Headers, name: &str, value: &str) {
    // Header names here are constants and values are ours, so `set` cannot fail on them.
    let _ = headers.set(name, value);
}

fn empty_response(status: u16) -> Response {
    Response::builder().with_status(status).empty()
}

/// Renders an error in the one JSON shape, with its extra headers.
pub fn error_response(error: &ApiError, request_id: &str) -> Response {
    let mut response = Response::builder()
        .with_status(error.status)
        .fixed(error.body(request_id).to_string().into_bytes());
    let headers = response.headers_mut();
    set_header(headers, "content-type", "application/json");
    for (name, value) in &error.headers {
        set_header(headers, name, value);
    }
    response
}

/// A JSON response with the given status.
pub fn json_response<T: Serialize>(status: u16, body: &T) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|error| ApiError::internal(format!("could not encode response: {error}")))?;
    let mut response = Response::builder().with_status(status).fixed(bytes);
    set_header(response.headers_mut(), "content-type", "application/json");
    Ok(response)
}

/// A 204 with no body.
pub fn no_content() -> Response {
    empty_response(204)
}

/// The 405 for `req`, listing the methods the route does accept.
pub fn method_not_allowed(req: &Request, allowed: &[&str]) -> ApiError {
    ApiError::method_not_allowed(req.method().as_ref(), allowed)
}

/// The 404 for a path below a function that has no such route.
pub fn no_route(context: &RequestContext) -> ApiError {
    ApiError::not_found(format!(
        "{} has no route /{}",
        context.function(),
        context.segments().join("/")
    ))
}

/// Reads the raw body, refusing more than `limit` bytes (413) before buffering it all: the
/// declared `Content-Length` is checked first, then the bytes actually received.
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    if let Ok(Some(length)) = req.headers().get("content-length") {
        if length
            .trim()
            .parse::<u64>()
            .map_or(true, |length| length > limit as u64)
        {
            return Err(ApiError::payload_too_large(limit));
        }
    }
    let stream = match req.stream() {
        Ok(stream) => stream,
        Err(_) => return Ok(Vec::new()),
    };
    read_capped(stream, limit)
        .await
        .map_err(|error| match error {
            CappedReadError::TooLarge => ApiError::payload_too_large(limit),
            CappedReadError::Unreadable => {
                ApiError::bad_request("invalid_body", "the request body could not be read")
            }
        })
}

/// Whether a `Content-Type` value is JSON (`application/json`, with or without parameters).
pub fn is_json_content_type(value: Option<&str>) -> bool {
    value
        .and_then(|value| value.split(';').next())
        .map(|media| media.trim().eq_ignore_ascii_case("application/json"))
        .unwrap_or(false)
}

/// Decodes a JSON body. Syntax errors say where (line and column); shape errors name the field.
/// `T` may borrow from `body`.
pub fn parse_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Data => ApiError::bad_request("invalid_body", error.to_string()),
            Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
                "invalid_json",
                format!(
                    "malformed JSON at line {}, column {}",
                    error.line(),
                    error.column()
                ),
            ),
        }
    })
}

/// Reads a required JSON body: 415 unless `Content-Type: application/json`, 413 past the
/// configured limit, 400 when empty or malformed.
pub async fn read_json<T: DeserializeOwned>(
    req: &mut Request,
    context: &RequestContext,
) -> Result<T, ApiError> {
    let body = read_json_bytes(req, context).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the request body is empty; send a JSON object",
        ));
    }
    parse_json(&body)
}

/// Like [`read_json`], but an absent or empty body yields `T::default()`.
pub async fn read_optional_json<T: DeserializeOwned + Default>(
    req: &mut Request,
    context: &RequestContext,
) -> Result<T, ApiError> {
    let declared_empty =
        matches!(req.headers().get("content-length"), Ok(Some(length)) if length.trim() == "0");
    let has_content_type = matches!(req.headers().get("content-type"), Ok(Some(_)));
    if declared_empty || (!has_content_type && req.inner().body().is_none()) {
        return Ok(T::default());
    }
    let body = read_json_bytes(req, context).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(&body)
}

async fn read_json_bytes(req: &mut Request, context: &RequestContext) -> Result<Vec<u8>, ApiError> {
    let limit = context.config()?.max_body_bytes;
    let content_type = req.headers().get("content-type").ok().flatten();
    if !is_json_content_type(content_type.as_deref()) {
        return Err(ApiError::unsupported_media_type("application/json"));
    }
    read_body(req, limit).await
}

/// A request header's value, if present and valid.
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn function_path_splits_name_and_rest() {
        assert_eq!(
            parse_function_path("/functions/v1/signup"),
            Some(("signup".into(), vec![]))
        );
        assert_eq!(
            parse_function_path("/functions/v1/api-keys/openai/check/"),
            Some(("api-keys".into(), vec!["openai".into(), "check".into()]))
        );
        assert_eq!(parse_function_path("/functions/v1/"), None);
        assert_eq!(parse_function_path("/functions/v2/signup"), None);
        assert_eq!(parse_function_path("/other"), None);
        assert_eq!(
            parse_function_path("/rest/v1/rpc/score"),
            Some(("rest".into(), vec!["rpc".into(), "score".into()]))
        );
        assert_eq!(
            parse_function_path("/rest/v1"),
            Some(("rest".into(), vec![]))
        );
        assert_eq!(parse_function_path("/rest/v10/x"), None);
    }

    #[test]
    fn methods_worker_would_read_as_get_are_unrecognised() {
        for known in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            assert!(is_recognised_method(known), "{known}");
        }
        for unknown in ["QUERY", "PROPFIND", "get", "Post", "FOO", ""] {
            assert!(!is_recognised_method(unknown), "{unknown:?}");
        }
    }

    #[test]
    fn json_content_type_accepts_parameters_and_case() {
        assert!(is_json_content_type(Some("application/json")));
        assert!(is_json_content_type(Some(
            "Application/JSON; charset=utf-8"
        )));
        assert!(!is_json_content_type(Some("text/plain")));
        assert!(!is_json_content_type(None));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
    }

    #[test]
    fn malformed_json_says_where() {
        let error = parse_json::<Body>(b"{\n  \"name\": }").unwrap_err();
        assert_eq!(error.code, "invalid_json");
        assert_eq!(error.message, "malformed JSON at line 2, column 11");
    }

    #[test]
    fn wrong_shape_names_the_field() {
        let error = parse_json::<Body>(br#"{"name":"a","role":"admin"}"#).unwrap_err();
        assert_eq!(error.code, "invalid_body");
        assert!(error.message.contains("role"), "{}", error.message);
    }
}
