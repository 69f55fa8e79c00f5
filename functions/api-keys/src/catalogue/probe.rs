//! Each provider's cheapest authenticated request, used to tell whether a stored key still
//! works, and how its HTTP status maps to a health verdict. The base URL is a parameter so
//! configuration (and tests, with a local fake provider) decide where the request goes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

/// How the key travels in the probe request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeAuth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key as the whole value of a named header.
    Header(&'static str),
    /// `Authorization: Basic base64(<account SID>:<auth token>)`; the SID also fills the
    /// `{account_sid}` placeholder in the path.
    TwilioBasic,
}

/// A provider's health-check endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Path appended to the base URL; may contain `{account_sid}` (Twilio).
    pub path: &'static str,
    pub auth: ProbeAuth,
    /// Non-secret headers the provider requires.
    pub fixed_headers: &'static [(&'static str, &'static str)],
}

/// A ready-to-send `GET`. Header values may contain the key and are wiped when dropped.
#[derive(Debug)]
pub struct ProbeRequest {
    pub url: String,
    pub headers: Vec<(&'static str, Zeroizing<String>)>,
}

impl Probe {
    /// Builds the request for `key` (already shape-checked for this service) against
    /// `base_url` (scheme and host, optionally a path prefix, no trailing slash needed).
    pub fn request(&self, base_url: &str, key: &str) -> ProbeRequest {
        let base_url = base_url.trim_end_matches('/');
        let mut headers: Vec<(&'static str, Zeroizing<String>)> = self
            .fixed_headers
            .iter()
            .map(|(name, value)| (*name, Zeroizing::new((*value).to_string())))
            .collect();
        let path = match self.auth {
            ProbeAuth::Bearer => {
                headers.push(("authorization", Zeroizing::new(format!("Bearer {key}"))));
                self.path.to_string()
            }
            ProbeAuth::Header(name) => {
                headers.push((name, Zeroizing::new(key.to_string())));
                self.path.to_string()
            }
            ProbeAuth::TwilioBasic => {
                let account_sid = key.split_once(':').map_or(key, |(sid, _)| sid);
                let encoded = Zeroizing::new(STANDARD.encode(key));
                headers.push((
                    "authorization",
                    Zeroizing::new(format!("Basic {}", *encoded)),
                ));
                self.path.replace("{account_sid}", account_sid)
            }
        };
        ProbeRequest {
            url: format!("{base_url}{path}"),
            headers,
        }
    }
}

/// What a probe's outcome says about the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeVerdict {
    /// The provider accepted the key.
    Healthy,
    /// The provider refused the key (401/403): revoked, expired or lacking permission.
    Rejected { status: u16 },
    /// The provider throttled the request (429): often a key without quota.
    RateLimited,
    /// The provider failed (5xx) or answered something a health check does not expect.
    ProviderError { status: u16 },
    /// No HTTP answer at all.
    Unreachable,
    /// No answer within the configured time.
    TimedOut { after_ms: u64 },
}

impl ProbeVerdict {
    pub fn from_status(status: u16) -> Self {
        match status {
            200..=299 => Self::Healthy,
            401 | 403 => Self::Rejected { status },
            429 => Self::RateLimited,
            _ => Self::ProviderError { status },
        }
    }

    pub fn is_healthy(&self) -> bool {
        matches!(self, Self::Healthy)
    }

    /// A short reason to record beside an unhealthy status; `None` when healthy.
    pub fn reason(&self) -> Option<String> {
        match self {
            Self::Healthy => None,
            Self::Rejected { status } => {
                Some(format!("the provider rejected the key (HTTP {status})"))
            }
            Self::RateLimited => Some("the provider rate-limited the check (HTTP 429)".to_string()),
            Self::ProviderError { status } => Some(format!("the provider answered HTTP {status}")),
            Self::Unreachable => Some("the provider could not be reached".to_string()),
            Self::TimedOut { after_ms } => {
                Some(format!("the provider did not answer within {after_ms} ms"))
            }
        }
    }
}
