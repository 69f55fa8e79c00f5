//! `GET /functions/v1/openapi.json`: the OpenAPI 3.1 contract of every endpoint this bundle
//! serves (src/openapi.json), embedded at build time so the Worker always serves the document
//! of the code it runs. `tests/e2e/openapi.test.mjs` holds the two to each other.

use shared::error::ApiError;
use shared::http::{self, RequestContext};
use worker::{Method, Request, Response};

/// The name under `/functions/v1/` the document is served at (not a function: the registry does
/// not list it, the limiter's shared default applies to it).
pub const PATH: &str = "openapi.json";

const DOCUMENT: &str = include_str!("openapi.json");

pub fn handle(req: &Request, context: &RequestContext) -> Result<Response, ApiError> {
    if !context.segments().is_empty() {
        return Err(http::no_route(context));
    }
    if req.method() != Method::Get {
        return Err(http::method_not_allowed(req, &["GET"]));
    }
    let mut response = Response::builder()
        .with_status(200)
        .fixed(DOCUMENT.as_bytes().to_vec());
    // The header name and value are constants: setting them cannot fail.
    let _ = response
        .headers_mut()
        .set("content-type", "application/json");
    Ok(response)
}
