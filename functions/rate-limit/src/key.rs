//! Whose budget a request spends, and the plan a token names.
//!
//! The key is the user id from a verified JWT, else the identity of the API key the caller
//! presented, else the client IP from `CF-Connecting-IP`. Each kind carries its own prefix
//! (`user:`, `api-key:`, `ip:`, `provider:`), so a user id can never collide with an IP or a
//! key fingerprint.
//!
//! Some users cost nothing to make, so a budget per user alone would hand each new account a
//! fresh one: sign-up requests and anonymous users (Supabase's anonymous sign-ins) are charged
//! to their client IP as well ([`also_per_ip`]). Webhook deliveries come from a provider's few
//! addresses, so once verified they are charged to the provider (`provider:stripe`), not to
//! the IP they came from. Raw API keys never become part of a key: they are reduced to a SHA-256
//! fingerprint, because limiter keys end up in Durable Object names, in Postgres and in logs.
//!
//! IPv6 clients are keyed by their /64 network: one subscriber usually holds a whole /64 and
//! could otherwise rotate addresses to get a fresh budget per request. A caller with none of the
//! three (no token, no key, no or an unreadable IP header, as in some local tools) spends the
//! one shared `anonymous` budget rather than going unlimited.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;
use std::net::IpAddr;

/// How many hex digits of the SHA-256 of an API key identify it: 128 bits, ample against
/// accidental collisions and useless for recovering the key.
const FINGERPRINT_HEX_DIGITS: usize = 32;

/// The longest plan name taken from a token or from `user_plans`.
const MAX_PLAN_LENGTH: usize = 32;

/// The partition a request's budget belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimiterKey {
    User(String),
    ApiKey {
        fingerprint: String,
    },
    Ip(IpAddr),
    /// A webhook provider whose signature was verified (`stripe`, `resend`).
    Provider(&'static str),
    Anonymous,
}

impl LimiterKey {
    /// Builds an API-key identity from the key as presented; only its fingerprint is kept.
    pub fn from_api_key(presented_key: &str) -> LimiterKey {
        let digest = hex::encode(Sha256::digest(presented_key.as_bytes()));
        LimiterKey::ApiKey {
            fingerprint: digest[..FINGERPRINT_HEX_DIGITS].to_string(),
        }
    }

    /// Keys IPv4 addresses whole and IPv6 addresses by their /64 network.
    pub fn from_ip(address: IpAddr) -> LimiterKey {
        match address {
            IpAddr::V4(_) => LimiterKey::Ip(address),
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & (u128::MAX << 64);
                LimiterKey::Ip(IpAddr::V6(network.into()))
            }
        }
    }

    /// The kind of identity, for logs that must not carry the identity itself.
    pub fn kind(&self) -> &'static str {
        match self {
            LimiterKey::User(_) => "user",
            LimiterKey::ApiKey { .. } => "api-key",
            LimiterKey::Ip(_) => "ip",
            LimiterKey::Provider(_) => "provider",
            LimiterKey::Anonymous => "anonymous",
        }
    }
}

impl fmt::Display for LimiterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimiterKey::User(id) => write!(f, "user:{id}"),
            LimiterKey::ApiKey { fingerprint } => write!(f, "api-key:{fingerprint}"),
            LimiterKey::Ip(address) => write!(f, "ip:{address}"),
            LimiterKey::Provider(name) => write!(f, "provider:{name}"),
            LimiterKey::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// What the edge layer knows about a caller, already verified where it matters: `user_id` is
/// the `sub` of a token whose signature and expiry were checked, never an unverified claim.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller<'a> {
    pub user_id: Option<&'a str>,
    pub api_key: Option<&'a str>,
    /// The raw `CF-Connecting-IP` header value.
    pub client_ip: Option<&'a str>,
}

/// The caller's key: user, else API key, else IP, else the shared anonymous budget. Blank
/// values count as absent.
pub fn limiter_key(caller: Caller<'_>) -> LimiterKey {
    if let Some(user_id) = present(caller.user_id) {
        return LimiterKey::User(user_id.to_string());
    }
    if let Some(api_key) = present(caller.api_key) {
        return LimiterKey::from_api_key(api_key);
    }
    ip_key(caller.client_ip)
}

/// The client IP's key (its /64 for IPv6), or the shared anonymous budget without a readable
/// `CF-Connecting-IP`.
pub fn ip_key(client_ip: Option<&str>) -> LimiterKey {
    present(client_ip)
        .and_then(|ip| ip.parse::<IpAddr>().ok())
        .map(LimiterKey::from_ip)
        .unwrap_or(LimiterKey::Anonymous)
}

/// The endpoint whose every request is charged to the client IP too: each new account would
/// otherwise arrive with a fresh sign-up budget.
pub const SIGNUP_ENDPOINT: &str = "signup";

/// Whether a user's request is charged to their client IP as well as to them: on sign-up, and
/// for anonymous users everywhere (an anonymous sign-in costs nothing, so a budget per
/// anonymous user alone would be a fresh budget per request for anyone who wants one).
pub fn also_per_ip(endpoint: &str, user_is_anonymous: bool) -> bool {
    endpoint == SIGNUP_ENDPOINT || user_is_anonymous
}

/// The plan named by `app_metadata.plan` (lower-cased), if it names one. Only short names of
/// letters, digits, `-` and `_` are taken, so a token cannot smuggle an odd string into a
/// policy lookup. Without one, the guard asks `user_plans` ([`crate::plans`]), and without
/// that [`crate::policy::DEFAULT_PLAN`] applies.
pub fn plan_in_app_metadata(app_metadata: Option<&Map<String, Value>>) -> Option<String> {
    app_metadata
        .and_then(|metadata| metadata.get("plan"))
        .and_then(Value::as_str)
        .map(|plan| plan.trim().to_ascii_lowercase())
        .filter(|plan| is_plan_name(plan))
}

fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

pub fn is_plan_name(plan: &str) -> bool {
    !plan.is_empty()
        && plan.len() <= MAX_PLAN_LENGTH
        && plan
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: &str = "4f1c2a9e-8d7b-4c3a-9e2f-1a2b3c4d5e6f";

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn verified_user_wins_over_api_key_and_ip() {
        let caller = Caller {
            user_id: Some(USER),
            api_key: Some("sk_live_x"),
            client_ip: Some("203.0.113.9"),
        };
        assert_eq!(limiter_key(caller).to_string(), format!("user:{USER}"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn api_key_is_keyed_by_fingerprint_never_by_the_key_itself() {
        let secret = "sk_live_do_not_leak_me";
        let caller = Caller {
            api_key: Some(secret),
            client_ip: Some("203.0.113.9"),
            ..Caller::default()
        };
        let key = limiter_key(caller).to_string();
        assert!(key.starts_with("api-key:"));
        assert!(!key.contains(secret));
        assert_eq!(key.len(), "api-key:".len() + FINGERPRINT_HEX_DIGITS);
        assert_eq!(
            key,
            LimiterKey::from_api_key(secret).to_string(),
            "the same key always lands in the same budget"
        );
        assert_ne!(key, LimiterKey::from_api_key("sk_live_another").to_string());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn ip_is_the_last_resort_and_ipv6_is_keyed_by_its_64_network() {
        let v4 = Caller {
            client_ip: Some(" 203.0.113.9 "),
            ..Caller::default()
        };
        assert_eq!(limiter_key(v4).to_string(), "ip:203.0.113.9");

        let one = Caller {
            client_ip: Some("2001:db8:1:2:aaaa::1"),
            ..Caller::default()
        };
        let same_network = Caller {
            client_ip: Some("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            ..Caller::default()
        };
        let other_network = Caller {
            client_ip: Some("2001:db8:1:3::1"),
            ..Caller::default()
        };
        assert_eq!(limiter_key(one).to_string(), "ip:2001:db8:1:2::");
        assert_eq!(limiter_key(one), limiter_key(same_network));
        assert_ne!(limiter_key(one), limiter_key(other_network));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn kinds_never_collide_even_with_crafted_values() {
        let as_user = limiter_key(Caller {
            user_id: Some("203.0.113.9"),
            ..Caller::default()
        });
        let as_ip = limiter_key(Caller {
            client_ip: Some("203.0.113.9"),
            ..Caller::default()
        });
        assert_ne!(as_user.to_string(), as_ip.to_string());
        assert_eq!(as_user.kind(), "user");
        assert_eq!(as_ip.kind(), "ip");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn blank_or_unreadable_identities_fall_through_to_the_anonymous_budget() {
        let caller = Caller {
            user_id: Some("  "),
            api_key: Some(""),
            client_ip: Some("not-an-ip"),
        };
        assert_eq!(limiter_key(caller), LimiterKey::Anonymous);
        assert_eq!(limiter_key(Caller::default()).to_string(), "anonymous");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn plan_comes_from_app_metadata_when_it_names_one() {
        assert_eq!(
            plan_in_app_metadata(json!({"plan": "Pro", "provider": "email"}).as_object())
                .as_deref(),
            Some("pro")
        );
        assert_eq!(
            plan_in_app_metadata(json!({"provider": "email"}).as_object()),
            None
        );
        assert_eq!(plan_in_app_metadata(None), None);
        assert_eq!(plan_in_app_metadata(json!({"plan": 3}).as_object()), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn odd_plan_names_are_not_trusted() {
        for odd in ["", "pro plan", "pro;q=1", "*", &"x".repeat(33)] {
            assert_eq!(
                plan_in_app_metadata(json!({ "plan": odd }).as_object()),
                None,
                "{odd:?}"
            );
        }
        assert_eq!(
            plan_in_app_metadata(json!({"plan": "team_2024-b"}).as_object()).as_deref(),
            Some("team_2024-b")
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn sign_up_and_anonymous_users_are_also_charged_to_their_ip() {
        assert!(also_per_ip("signup", false), "every sign-up request");
        assert!(
            also_per_ip("lead-scoring", true),
            "anonymous users everywhere"
        );
        assert!(
            !also_per_ip("lead-scoring", false),
            "signed-up users elsewhere: their own budget only"
        );
        assert_eq!(
            ip_key(Some("2001:db8:1:2::9")).to_string(),
            "ip:2001:db8:1:2::"
        );
        assert_eq!(
            ip_key(None),
            LimiterKey::Anonymous,
            "no address: the shared anonymous budget, never none"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn providers_have_their_own_kind_of_key() {
        let stripe = LimiterKey::Provider("stripe");
        assert_eq!(
            (stripe.to_string().as_str(), stripe.kind()),
            ("provider:stripe", "provider")
        );
        assert_ne!(
            stripe.to_string(),
            limiter_key(Caller {
                user_id: Some("stripe"),
                ..Caller::default()
            })
            .to_string()
        );
    }
}
