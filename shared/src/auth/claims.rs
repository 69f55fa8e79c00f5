//! The claims of a Supabase access token, typed where Supabase defines them. Claims this module
//! does not know are kept in `other`, so they can be passed on unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `aud` is a single string in Supabase tokens, but RFC 7519 also allows an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(only) => only == audience,
            Audience::Many(all) => all.iter().any(|each| each == audience),
        }
    }
}

/// Timestamps are whole seconds since the Unix epoch. `exp` is required: a token that never
/// expires is refused as malformed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_anonymous: Option<bool>,
    /// Authenticator assurance level: `aal1` (one factor) or `aal2` (MFA passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aal: Option<String>,
    /// Every other claim (`amr`, `ref`, custom claims from an access-token hook...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Claims {
    /// The user's id (`sub`), when the token belongs to a user rather than a bare role.
    pub fn user_id(&self) -> Option<&str> {
        self.sub.as_deref().filter(|sub| !sub.is_empty())
    }

    /// A string field of `user_metadata`, e.g. `name` or `full_name` set at sign-up.
    pub fn user_metadata_str(&self, key: &str) -> Option<&str> {
        self.user_metadata.as_ref()?.get(key)?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn supabase_access_token_claims_are_typed_and_unknown_ones_kept() {
        let claims: Claims = serde_json::from_value(json!({
            "iss": "https://abc.supabase.co/auth/v1",
            "sub": "7c1f2e4a-0000-4000-8000-000000000001",
            "aud": "authenticated",
            "exp": 1_900_000_000u64,
            "iat": 1_899_996_400u64,
            "email": "ada@example.com",
            "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {"full_name": "Ada Lovelace"},
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{"method": "password", "timestamp": 1_899_996_400u64}],
            "session_id": "5b1d0000-0000-4000-8000-000000000002",
            "is_anonymous": false
        }))
        .unwrap();
        assert_eq!(
            claims.user_id(),
            Some("7c1f2e4a-0000-4000-8000-000000000001")
        );
        assert_eq!(claims.role.as_deref(), Some("authenticated"));
        assert_eq!(claims.aud, Some(Audience::One("authenticated".into())));
        assert_eq!(claims.user_metadata_str("full_name"), Some("Ada Lovelace"));
        assert_eq!(claims.app_metadata.as_ref().unwrap()["provider"], "email");
        assert_eq!(claims.is_anonymous, Some(false));
        assert_eq!(claims.aal.as_deref(), Some("aal1"));
        assert_eq!(claims.other["amr"][0]["method"], "password");
        let passed_on = serde_json::to_value(&claims).unwrap();
        assert_eq!(passed_on["amr"][0]["method"], "password");
        assert_eq!(
            passed_on["session_id"],
            "5b1d0000-0000-4000-8000-000000000002"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn audience_may_be_a_list() {
        let claims: Claims =
            serde_json::from_value(json!({"exp": 1u64, "aud": ["account", "authenticated"]}))
                .unwrap();
        let aud = claims.aud.unwrap();
        assert!(aud.contains("authenticated"));
        assert!(!aud.contains("service"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn empty_sub_is_not_a_user() {
        let claims: Claims = serde_json::from_value(json!({"exp": 1u64, "sub": ""})).unwrap();
        assert_eq!(claims.user_id(), None);
    }
}
