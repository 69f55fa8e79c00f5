//! Configured Standard Webhooks sources: which names the intake accepts at
//! `POST /functions/v1/webhooks/<name>` and how each one's deliveries are verified. One Worker
//! secret, `WEBHOOK_SOURCES`, holds them all as JSON:
//!
//! ```json
//! {"clerk": {"secrets": ["whsec_..."]},
//!  "billing-core": {"secrets": ["whsec_new", "whsec_old"], "public_keys": ["whpk_..."]}}
//! ```
//!
//! `secrets` are the source's `whsec_` signing secrets (`v1`, HMAC-SHA256; several while
//! rotating), `public_keys` its `whpk_` Ed25519 public keys (`v1a`); a source needs at least
//! one of either. What a source's events do is the SQL function registered for it in
//! `system_webhook_sources` (sql/migrations/0031_webhook_sources.sql), not anything here.
//! Problems name the source and the position of the bad entry, never a value.

use crate::svix::{decode_secrets, SvixVerifier};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;
use shared::config::{ConfigError, VarSource, Vars};
use std::collections::BTreeMap;

pub const SOURCES: &str = "WEBHOOK_SOURCES";

const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// Names the webhooks function's own routes use; a source cannot take them. The database
/// refuses the same ones (system_webhook_sources_name_check).
const RESERVED: [&str; 5] = ["stripe", "resend", "events", "reconcile", "alerts"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSettings {
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    public_keys: Vec<String>,
}

/// Every configured source's verifier, by name.
#[derive(Debug, Default)]
pub struct Sources {
    verifiers: BTreeMap<String, SvixVerifier>,
}

impl Sources {
    pub fn from_source(source: &(impl VarSource + ?Sized)) -> Result<Sources, Vec<ConfigError>> {
        let mut vars = Vars::new(source);
        let parsed = match vars.optional(SOURCES) {
            None => Ok(Sources::default()),
            Some(raw) => Sources::parse(&raw),
        };
        match parsed {
            Ok(sources) => vars.finish(sources),
            Err(problem) => {
                vars.error(SOURCES, problem);
                Err(vars.finish(()).err().unwrap_or_default())
            }
        }
    }

    fn parse(raw: &str) -> Result<Sources, String> {
        let settings: BTreeMap<String, SourceSettings> =
            serde_json::from_str(raw).map_err(|error| {
                format!(
                    "is not a JSON object of sources, {{\"name\": {{\"secrets\": [...], \
                     \"public_keys\": [...]}}}} (problem at line {}, column {})",
                    error.line(),
                    error.column()
                )
            })?;
        let mut verifiers = BTreeMap::new();
        for (name, settings) in settings {
            if !is_source_name(&name) {
                return Err(format!(
                    "source '{name}' is not a usable name: lowercase letters, digits, '-' and '_', \
                     starting with a letter, at most 63, not one of {}",
                    RESERVED.join(", ")
                ));
            }
            let keys = decode_secrets(&settings.secrets)
                .map_err(|problem| format!("source '{name}': {problem}"))?;
            let public_keys = public_keys(&settings.public_keys)
                .map_err(|problem| format!("source '{name}': {problem}"))?;
            if keys.is_empty() && public_keys.is_empty() {
                return Err(format!(
                    "source '{name}' has neither a whsec_ secret nor a whpk_ public key"
                ));
            }
            verifiers.insert(name, SvixVerifier::for_source(keys, public_keys));
        }
        Ok(Sources { verifiers })
    }

    pub fn verifier(&self, name: &str) -> Option<&SvixVerifier> {
        self.verifiers.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.verifiers.keys().map(String::as_str)
    }
}

pub fn is_source_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !RESERVED.contains(&name)
}

fn public_keys(keys: &[String]) -> Result<Vec<VerifyingKey>, String> {
    keys.iter()
        .enumerate()
        .map(|(index, key)| {
            let position = index + 1;
            let encoded = key.trim();
            let encoded = encoded.strip_prefix(PUBLIC_KEY_PREFIX).unwrap_or(encoded);
            let bytes: [u8; 32] = BASE64
                .decode(encoded)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| {
                    format!("public key #{position} is not whpk_ and 32 bytes of base64")
                })?;
            VerifyingKey::from_bytes(&bytes)
                .map_err(|_| format!("public key #{position} is not an Ed25519 public key"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svix::SvixHeaders;
    use shared::crypto::hmac_sha256;
    use std::collections::HashMap;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn sources(raw: &str) -> Result<Sources, Vec<ConfigError>> {
        Sources::from_source(&HashMap::from([(SOURCES, raw)]))
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reads_each_sources_secrets_and_public_keys() {
        let public = BASE64.encode(
            ed25519_dalek::SigningKey::from_bytes(&[7; 32])
                .verifying_key()
                .to_bytes(),
        );
        let raw = format!(
            r#"{{"clerk": {{"secrets": ["{SECRET}"]}}, "core-2": {{"public_keys": ["whpk_{public}"]}}}}"#
        );
        let parsed = sources(&raw).unwrap();
        assert_eq!(parsed.names().collect::<Vec<_>>(), ["clerk", "core-2"]);
        assert!(parsed.verifier("stripe").is_none());

        let body = br#"{"type":"user.created"}"#;
        let key = BASE64.decode(&SECRET[6..]).unwrap();
        let mac = hmac_sha256(&key, &[b"msg_1.1700000000.", body]);
        let headers = SvixHeaders {
            id: Some("msg_1".into()),
            timestamp: Some("1700000000".into()),
            signature: Some(format!("v1,{}", BASE64.encode(mac))),
        };
        let clerk = parsed.verifier("clerk").unwrap();
        assert!(clerk.verify(&headers, body, 1_700_000_000).is_ok());
        assert!(parsed
            .verifier("core-2")
            .unwrap()
            .verify(&headers, body, 1_700_000_000)
            .is_err());
        assert_eq!(
            Sources::from_source(&HashMap::new())
                .unwrap()
                .names()
                .count(),
            0
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn problems_name_the_source_and_never_a_value() {
        for (raw, expected) in [
            ("[1]", "is not a JSON object"),
            (
                r#"{"Stripe": {"secrets": ["whsec_YQ=="]}}"#,
                "source 'Stripe'",
            ),
            (
                r#"{"events": {"secrets": ["whsec_YQ=="]}}"#,
                "source 'events'",
            ),
            (r#"{"acme": {}}"#, "neither"),
            (
                r#"{"acme": {"secrets": ["whsec_%%%sekrit"]}}"#,
                "secret #1 is not base64",
            ),
            (
                r#"{"acme": {"public_keys": ["whpk_c2Vrcml0"]}}"#,
                "public key #1",
            ),
            (
                r#"{"acme": {"secret": ["whsec_YQ=="]}}"#,
                "is not a JSON object",
            ),
        ] {
            let problems = sources(raw).unwrap_err();
            assert_eq!(problems.len(), 1);
            let shown = problems[0].to_string();
            assert!(shown.starts_with("WEBHOOK_SOURCES"), "{shown}");
            assert!(shown.contains(expected), "{raw}: {shown}");
            assert!(
                !shown.contains("sekrit") && !shown.contains("c2Vrcml0"),
                "{shown}"
            );
        }
    }
}
