//! Reading the access token out of an `Authorization` header value.

use super::AuthError;

/// Returns the token from `Bearer <token>` (scheme case-insensitive, RFC 6750). An absent or
/// blank header is a missing token; any other scheme, or a token with inner spaces, is malformed.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(AuthError::MissingToken);
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MalformedToken(
            "the Authorization header must use the Bearer scheme",
        ));
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    if token.contains(char::is_whitespace) {
        return Err(AuthError::MalformedToken(
            "the bearer token must not contain spaces",
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn takes_the_token_whatever_the_scheme_case() {
        assert_eq!(bearer_token(Some("Bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(bearer_token(Some("bearer a.b.c")), Ok("a.b.c"));
        assert_eq!(bearer_token(Some("BEARER   a.b.c  ")), Ok("a.b.c"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn absent_or_blank_is_missing() {
        assert_eq!(bearer_token(None), Err(AuthError::MissingToken));
        assert_eq!(bearer_token(Some("  ")), Err(AuthError::MissingToken));
        assert_eq!(bearer_token(Some("Bearer")), Err(AuthError::MissingToken));
        assert_eq!(
            bearer_token(Some("Bearer   ")),
            Err(AuthError::MissingToken)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn other_schemes_and_spaced_tokens_are_malformed() {
        assert!(matches!(
            bearer_token(Some("Basic dXNlcjpwdw==")),
            Err(AuthError::MalformedToken(_))
        ));
        assert!(matches!(
            bearer_token(Some("Bearera.b.c")),
            Err(AuthError::MalformedToken(_))
        ));
        assert!(matches!(
            bearer_token(Some("Bearer a.b c")),
            Err(AuthError::MalformedToken(_))
        ));
    }
}
