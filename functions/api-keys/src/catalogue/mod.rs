//! The services a user may store keys for: which names are accepted (a configured list), what
//! each service's keys look like, and how to ask the provider whether a key works. Services
//! the catalogue does not know by name can still be configured; they get a generic shape and
//! no health check.

mod probe;
mod shape;
#[cfg(test)]
mod tests;

use serde_json::json;
use shared::error::ApiError;
use std::fmt;

pub use probe::{Probe, ProbeAuth, ProbeRequest, ProbeVerdict};
pub use shape::{KeyLayout, KeyShape, KeyShapeError, ValidatedKey};

/// One service's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    pub shape: KeyShape,
    /// The health check; `None` for services the catalogue does not know.
    pub probe: Option<Probe>,
    /// The provider's production API, used when configuration names no other.
    pub default_base_url: Option<&'static str>,
}

/// The names accepted when no list is configured.
pub const DEFAULT_SERVICES: &str = "openai,anthropic,stripe,twilio,sendgrid,resend";

const MAX_SERVICE_NAME_LEN: usize = 32;

/// The shape any configured service without its own rules gets.
pub const GENERIC_SHAPE: KeyShape = KeyShape {
    min_len: 16,
    max_len: 512,
    prefixes: &[],
    refused_prefixes: &[],
    layout: KeyLayout::Token,
};

struct KnownService {
    name: &'static str,
    shape: KeyShape,
    probe: Probe,
    base_url: &'static str,
}

const KNOWN_SERVICES: &[KnownService] = &[
    KnownService {
        name: "openai",
        shape: KeyShape {
            min_len: 20,
            max_len: 512,
            prefixes: &["sk-"],
            refused_prefixes: &[("sk-ant-", "this is an anthropic key, not an openai key")],
            layout: KeyLayout::Token,
        },
        probe: Probe {
            path: "/v1/models",
            auth: ProbeAuth::Bearer,
            fixed_headers: &[],
        },
        base_url: "https://api.openai.com",
    },
    KnownService {
        name: "anthropic",
        shape: KeyShape {
            min_len: 20,
            max_len: 512,
            prefixes: &["sk-ant-"],
            refused_prefixes: &[],
            layout: KeyLayout::Token,
        },
        probe: Probe {
            path: "/v1/models",
            auth: ProbeAuth::Header("x-api-key"),
            fixed_headers: &[("anthropic-version", "2023-06-01")],
        },
        base_url: "https://api.anthropic.com",
    },
    KnownService {
        name: "stripe",
        shape: KeyShape {
            min_len: 20,
            max_len: 255,
            prefixes: &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
            refused_prefixes: &[(
                "pk_",
                "this is a stripe publishable key; store a secret (sk_) or restricted (rk_) key",
            )],
            layout: KeyLayout::Token,
        },
        probe: Probe {
            path: "/v1/balance",
            auth: ProbeAuth::Bearer,
            fixed_headers: &[],
        },
        base_url: "https://api.stripe.com",
    },
    KnownService {
        name: "twilio",
        shape: KeyShape {
            min_len: 67,
            max_len: 67,
            prefixes: &["AC"],
            refused_prefixes: &[],
            layout: KeyLayout::TwilioAccountCredentials,
        },
        probe: Probe {
            path: "/2010-04-01/Accounts/{account_sid}.json",
            auth: ProbeAuth::TwilioBasic,
            fixed_headers: &[],
        },
        base_url: "https://api.twilio.com",
    },
    KnownService {
        name: "sendgrid",
        shape: KeyShape {
            min_len: 20,
            max_len: 128,
            prefixes: &["SG."],
            refused_prefixes: &[],
            layout: KeyLayout::Token,
        },
        probe: Probe {
            path: "/v3/scopes",
            auth: ProbeAuth::Bearer,
            fixed_headers: &[],
        },
        base_url: "https://api.sendgrid.com",
    },
    KnownService {
        name: "resend",
        shape: KeyShape {
            min_len: 20,
            max_len: 128,
            prefixes: &["re_"],
            refused_prefixes: &[],
            layout: KeyLayout::Token,
        },
        probe: Probe {
            path: "/domains",
            auth: ProbeAuth::Bearer,
            fixed_headers: &[],
        },
        base_url: "https://api.resend.com",
    },
];

/// The configured services.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalogue {
    services: Vec<ServiceSpec>,
}

impl Catalogue {
    /// Parses a comma-separated list of service names (lower-case letters, digits, `-` and
    /// `_`, starting with a letter, at most 32 characters), e.g. `openai,stripe,mailgun`.
    pub fn parse(list: &str) -> Result<Self, CatalogueError> {
        let mut services: Vec<ServiceSpec> = Vec::new();
        for name in list.split(',').map(str::trim) {
            if !is_valid_service_name(name) {
                return Err(CatalogueError::InvalidName {
                    name: name.to_string(),
                });
            }
            if services.iter().any(|service| service.name == name) {
                return Err(CatalogueError::DuplicateName {
                    name: name.to_string(),
                });
            }
            services.push(spec_for(name));
        }
        Ok(Self { services })
    }

    /// The rules for `name`, if it is configured.
    pub fn service(&self, name: &str) -> Result<&ServiceSpec, UnknownService> {
        self.services
            .iter()
            .find(|service| service.name == name)
            .ok_or_else(|| UnknownService {
                configured: self.names().map(str::to_string).collect(),
            })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.services.iter().map(|service| service.name.as_str())
    }
}

impl Default for Catalogue {
    fn default() -> Self {
        Self::parse(DEFAULT_SERVICES).expect("the default service list is valid")
    }
}

fn spec_for(name: &str) -> ServiceSpec {
    match KNOWN_SERVICES.iter().find(|known| known.name == name) {
        Some(known) => ServiceSpec {
            name: name.to_string(),
            shape: known.shape,
            probe: Some(known.probe),
            default_base_url: Some(known.base_url),
        },
        None => ServiceSpec {
            name: name.to_string(),
            shape: GENERIC_SHAPE,
            probe: None,
            default_base_url: None,
        },
    }
}

/// Whether `name` can be a service name: it ends up in URLs, AAD and a database column.
pub fn is_valid_service_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_SERVICE_NAME_LEN
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A configuration problem in the service list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogueError {
    InvalidName { name: String },
    DuplicateName { name: String },
}

impl fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidName { name } => write!(
                f,
                "service name {name:?} in the service list is invalid: use 1 to \
                 {MAX_SERVICE_NAME_LEN} lower-case letters, digits, `-` or `_`, starting with a \
                 letter"
            ),
            Self::DuplicateName { name } => {
                write!(
                    f,
                    "service {name:?} appears more than once in the service list"
                )
            }
        }
    }
}

impl std::error::Error for CatalogueError {}

/// A request named a service that is not configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownService {
    pub configured: Vec<String>,
}

impl fmt::Display for UnknownService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown service; supported services are: {}",
            self.configured.join(", ")
        )
    }
}

impl std::error::Error for UnknownService {}

/// 400 `invalid_field` on `service`, listing the services that are configured.
impl From<UnknownService> for ApiError {
    fn from(unknown: UnknownService) -> Self {
        ApiError::invalid_field("service", unknown.to_string())
            .with_details(json!({ "field": "service", "supported": unknown.configured }))
    }
}
