//! The one error type of `shared::auth`. Each variant says what is wrong with the credentials in
//! words the client can act on; none carries any part of the token, so messages are safe to
//! return and to log.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header, or one with an empty bearer token.
    MissingToken,
    /// The header or the token is not shaped like a JWT; the text names the rule broken and is
    /// always written by this module, never copied from the request.
    MalformedToken(&'static str),
    Expired,
    NotYetValid,
    WrongAudience,
    WrongIssuer,
    BadSignature,
    /// `none`, an algorithm this project has no key for, or one that does not match the key.
    AlgorithmNotAllowed,
    /// The token names a signing key (`kid`) the project's JWKS does not hold.
    UnknownKeyId,
    /// The JWKS could not be fetched and no usable copy is cached; the caller's token may be
    /// fine, so this is the service's fault, not the client's.
    JwksUnavailable,
}

impl AuthError {
    /// Stable snake_case code for the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::MalformedToken(_) => "malformed_token",
            AuthError::Expired => "token_expired",
            AuthError::NotYetValid => "token_not_yet_valid",
            AuthError::WrongAudience => "wrong_audience",
            AuthError::WrongIssuer => "wrong_issuer",
            AuthError::BadSignature => "bad_signature",
            AuthError::AlgorithmNotAllowed => "algorithm_not_allowed",
            AuthError::UnknownKeyId => "unknown_key_id",
            AuthError::JwksUnavailable => "jwks_unavailable",
        }
    }

    /// True only for failures on the service's side (answer 503), not the caller's (401).
    pub fn is_service_unavailable(&self) -> bool {
        matches!(self, AuthError::JwksUnavailable)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::MissingToken => f.write_str(
                "no access token: send the header `Authorization: Bearer <access token>`",
            ),
            AuthError::MalformedToken(rule) => write!(f, "the access token is malformed: {rule}"),
            AuthError::Expired => {
                f.write_str("the access token has expired; refresh the session and retry")
            }
            AuthError::NotYetValid => f.write_str(
                "the access token is not valid yet; check the clock of the machine that issued it",
            ),
            AuthError::WrongAudience => {
                f.write_str("the access token was issued for a different audience")
            }
            AuthError::WrongIssuer => {
                f.write_str("the access token was issued by a different issuer")
            }
            AuthError::BadSignature => {
                f.write_str("the access token's signature does not verify; sign in again")
            }
            AuthError::AlgorithmNotAllowed => f.write_str(
                "the access token is signed with an algorithm this project does not accept",
            ),
            AuthError::UnknownKeyId => f.write_str(
                "the access token was signed by a key this project does not know; sign in again",
            ),
            AuthError::JwksUnavailable => f.write_str(
                "the signing keys needed to check the access token are unavailable; retry shortly",
            ),
        }
    }
}

impl std::error::Error for AuthError {}
