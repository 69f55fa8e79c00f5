//! What can be wrong with a delivery's signature, and with a configured secret.
//!
//! Messages name the header and the problem so a misconfigured sender can be fixed from the
//! log line alone. They never contain a secret, an expected signature or the body.

use std::fmt;

/// Why a delivery was refused before anything in its body was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// A signature header is absent or empty.
    MissingHeader { header: &'static str },
    /// A signature header is present but does not have the provider's shape.
    MalformedHeader {
        header: &'static str,
        problem: &'static str,
    },
    /// The signed timestamp is further from now than the tolerance allows, in either
    /// direction: a replay of an old delivery, or a sender whose clock is far off.
    TimestampOutsideTolerance {
        header: &'static str,
        skew: Skew,
        tolerance_seconds: u64,
    },
    /// Well-formed headers, but no signature in them matches this exact body under any of the
    /// configured secrets.
    NoMatchingSignature { header: &'static str },
}

/// How far a signed timestamp is from the verifier's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skew {
    InThePast { seconds: u64 },
    InTheFuture { seconds: u64 },
}

impl VerifyError {
    /// A stable snake_case code for the HTTP error body and for logs.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::MissingHeader { .. } => "missing_signature_header",
            VerifyError::MalformedHeader { .. } => "malformed_signature_header",
            VerifyError::TimestampOutsideTolerance { .. } => "timestamp_outside_tolerance",
            VerifyError::NoMatchingSignature { .. } => "invalid_signature",
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::MissingHeader { header } => write!(f, "the {header} header is missing"),
            VerifyError::MalformedHeader { header, problem } => {
                write!(f, "the {header} header is malformed: {problem}")
            }
            VerifyError::TimestampOutsideTolerance {
                header,
                skew,
                tolerance_seconds,
            } => {
                let (seconds, direction) = match skew {
                    Skew::InThePast { seconds } => (seconds, "in the past"),
                    Skew::InTheFuture { seconds } => (seconds, "in the future"),
                };
                write!(
                    f,
                    "the timestamp in the {header} header is {seconds} s {direction}, outside the \
                     tolerance of {tolerance_seconds} s; replayed or delayed deliveries are refused"
                )
            }
            VerifyError::NoMatchingSignature { header } => write!(
                f,
                "no signature in the {header} header matches the body with any configured secret; \
                 check the endpoint secret and that the body reaches us unmodified"
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

/// A configured signing secret that cannot be used. Names the position of the secret in its
/// list, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    NoSecrets,
    Blank { position: usize },
    NotBase64 { position: usize },
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::NoSecrets => write!(f, "no signing secret is configured"),
            SecretError::Blank { position } => write!(f, "signing secret #{position} is blank"),
            SecretError::NotBase64 { position } => write!(
                f,
                "signing secret #{position} is not base64 after its whsec_ prefix; copy it again \
                 from the provider's dashboard"
            ),
        }
    }
}

impl std::error::Error for SecretError {}
