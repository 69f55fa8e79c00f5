//! CORS on `/rest/v1` and `/auth/v1`, answered as Supabase's API gateway answers it: Kong's
//! `cors` plugin with its defaults (the Supabase CLI's kong.yml lists `- name: cors` without
//! settings; the plugin's logic is kong/plugins/cors/handler.lua in Kong/kong).
//!
//! - A preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) is answered by the
//!   gateway itself, before the `apikey` check: 200, no body, `Access-Control-Allow-Origin: *`,
//!   the requested headers echoed in `Access-Control-Allow-Headers`, and every method in
//!   `Access-Control-Allow-Methods`. No `Access-Control-Max-Age` (Kong's default sets none).
//! - Any other response to a request with an `Origin` gets `Access-Control-Allow-Origin: *`,
//!   replacing whatever the upstream said; the upstream's other CORS headers (PostgREST's
//!   `Access-Control-Expose-Headers`) pass through.
//!
//! `/functions/v1` is not decorated: the Worker answers CORS itself, as it does on Cloudflare.

use http::header::{
    HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN,
};
use http::Method;

pub const ALLOWED_METHODS: &str = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT";

/// True for a CORS preflight request.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(http::header::ORIGIN)
        && headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The headers of the answer to a preflight.
pub fn preflight_headers(request: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if let Some(requested) = request.get(http::header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    headers
}

/// Marks the response to a request that carried an `Origin` as readable by any origin.
pub fn decorate(request_had_origin: bool, response: &mut HeaderMap) {
    if request_had_origin {
        response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn only_options_with_origin_and_requested_method_is_a_preflight() {
        let full = headers(&[
            ("origin", "http://localhost:3000"),
            ("access-control-request-method", "POST"),
        ]);
        assert!(is_preflight(&Method::OPTIONS, &full));
        assert!(!is_preflight(&Method::GET, &full));
        assert!(!is_preflight(
            &Method::OPTIONS,
            &headers(&[("origin", "http://localhost:3000")])
        ));
        assert!(!is_preflight(
            &Method::OPTIONS,
            &headers(&[("access-control-request-method", "POST")])
        ));
    }

    #[test]
    fn preflight_echoes_requested_headers_and_allows_every_method() {
        let request = headers(&[
            ("origin", "http://localhost:3000"),
            ("access-control-request-method", "PATCH"),
            (
                "access-control-request-headers",
                "authorization,apikey,content-type,x-client-info",
            ),
        ]);
        let answer = preflight_headers(&request);
        assert_eq!(answer["access-control-allow-origin"], "*");
        assert_eq!(
            answer["access-control-allow-headers"],
            "authorization,apikey,content-type,x-client-info"
        );
        assert_eq!(answer["access-control-allow-methods"], ALLOWED_METHODS);
        assert!(!answer.contains_key("access-control-max-age"));
        assert!(!preflight_headers(&headers(&[("origin", "x")]))
            .contains_key("access-control-allow-headers"));
    }

    #[test]
    fn responses_to_cross_origin_requests_allow_any_origin() {
        let mut response = headers(&[
            ("access-control-allow-origin", "http://localhost:3000"),
            ("access-control-expose-headers", "Content-Range"),
        ]);
        decorate(true, &mut response);
        assert_eq!(response["access-control-allow-origin"], "*");
        assert_eq!(response["access-control-expose-headers"], "Content-Range");
        let mut same_origin = HeaderMap::new();
        decorate(false, &mut same_origin);
        assert!(same_origin.is_empty());
    }
}
