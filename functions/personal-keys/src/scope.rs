//! What a resolved key is and may do: its owner and scopes as the resolver returns them
//! (`resolve_personal_api_key`, sql/migrations/0040_personal_api_keys.sql), the claims its
//! minted token carries, and the edge's checks on the function or PostgREST path it asks for.
//!
//! - `access: read` keys may use GET and HEAD only, on functions and on `/rest/v1` (where RPCs
//!   are then called with GET, which PostgREST runs in a read-only transaction);
//! - `functions`, `tables`, `rpcs`: allow-lists (absent = every one, empty = none);
//! - keys never reach `personal-keys` itself: a key cannot make or revoke keys.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use shared::time::Timestamp;

/// The function that manages keys, which no key may call.
pub const MANAGEMENT_FUNCTION: &str = "personal-keys";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
}

/// A live key as the resolver returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResolvedKey {
    pub id: String,
    pub user_id: String,
    pub email: Option<String>,
    pub expires_at: Option<Timestamp>,
    #[serde(flatten)]
    pub scopes: Scopes,
}

/// What a key may reach; also the `scopes` claim of its owner's token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scopes {
    pub access: Access,
    pub workspace_id: Option<String>,
    pub tables: Option<Vec<String>>,
    pub rpcs: Option<Vec<String>>,
    pub functions: Option<Vec<String>>,
}

/// Why a key may not do what it asked: the message names the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfScope(pub String);

/// What `/rest/v1/...` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestTarget {
    /// `/rest/v1/`: the OpenAPI description.
    Root,
    Table(String),
    Rpc(String),
}

impl RestTarget {
    /// The target of the path segments after `/rest/v1`; `None` for a path PostgREST has no
    /// resource at.
    pub fn parse(segments: &[&str]) -> Option<RestTarget> {
        match segments {
            [] => Some(RestTarget::Root),
            ["rpc", function] => Some(RestTarget::Rpc((*function).to_string())),
            [table] if *table != "rpc" => Some(RestTarget::Table((*table).to_string())),
            _ => None,
        }
    }
}

fn is_read(method: &str) -> bool {
    matches!(method, "GET" | "HEAD")
}

fn listed(list: &Option<Vec<String>>, name: &str) -> bool {
    list.as_ref()
        .is_none_or(|names| names.iter().any(|allowed| allowed == name))
}

impl ResolvedKey {
    /// The claims of the owner's token besides `sub`, `role`, `aud` and the times: `email`,
    /// `api_key_id` and `scopes`, which RLS policies can read through `auth.jwt()`.
    pub fn claims(&self) -> Map<String, Value> {
        let mut claims = Map::new();
        if let Some(email) = &self.email {
            claims.insert("email".into(), email.clone().into());
        }
        claims.insert(API_KEY_ID_CLAIM.into(), self.id.clone().into());
        claims.insert(SCOPES_CLAIM.into(), json!(self.scopes));
        claims.insert("is_anonymous".into(), false.into());
        claims
    }

    /// Whether the key has expired at `now_millis`.
    pub fn expired(&self, now_millis: u64) -> bool {
        self.expires_at
            .is_some_and(|expires| expires.unix_millis() <= now_millis as i64)
    }
}

/// The claim naming the key a token was minted for.
pub const API_KEY_ID_CLAIM: &str = "api_key_id";
/// The claim holding the key's [`Scopes`].
pub const SCOPES_CLAIM: &str = "scopes";

impl Scopes {
    /// The scopes of a token minted for a personal key; `None` for any other token.
    pub fn of_token(other_claims: &Map<String, Value>) -> Option<Scopes> {
        other_claims.get(API_KEY_ID_CLAIM)?;
        serde_json::from_value(other_claims.get(SCOPES_CLAIM)?.clone()).ok()
    }

    /// Whether the key may call `function` with `method`. `/rest/v1` is checked by
    /// [`Self::allows_rest`] instead.
    pub fn allows_function(&self, function: &str, method: &str) -> Result<(), OutOfScope> {
        if function == MANAGEMENT_FUNCTION {
            return Err(OutOfScope(
                "a personal key cannot manage personal keys; sign in to create or revoke keys"
                    .into(),
            ));
        }
        if !listed(&self.functions, function) {
            return Err(OutOfScope(format!(
                "this personal key's scope does not include the function '{function}'"
            )));
        }
        self.allows_method(method)
    }

    /// Whether the key may send `method` to `target` under `/rest/v1`.
    pub fn allows_rest(&self, target: &RestTarget, method: &str) -> Result<(), OutOfScope> {
        match target {
            RestTarget::Root => Err(OutOfScope(
                "a personal key cannot read the API description".into(),
            )),
            RestTarget::Table(table) if !listed(&self.tables, table) => Err(OutOfScope(format!(
                "this personal key's scope does not include the table '{table}'"
            ))),
            RestTarget::Rpc(function) if !listed(&self.rpcs, function) => Err(OutOfScope(format!(
                "this personal key's scope does not include the function rpc/{function}"
            ))),
            RestTarget::Rpc(_) if !is_read(method) && self.access == Access::Read => Err(OutOfScope(
                "this personal key is read-only: call functions with GET (supabase-js: rpc(fn, args, { get: true })), which PostgREST runs read-only".into(),
            )),
            _ => self.allows_method(method),
        }
    }

    fn allows_method(&self, method: &str) -> Result<(), OutOfScope> {
        if self.access == Access::Read && !is_read(method) {
            return Err(OutOfScope(format!(
                "this personal key is read-only; {method} needs a read-write key"
            )));
        }
        Ok(())
    }
}

/// The personal key a request presents, if any: `Authorization: Bearer <key>`, else
/// `x-api-key`, else `apikey` (what supabase-js sends when the key is its client key). A bearer
/// token that is not a personal key (a user's session) wins: the request is the user's.
pub fn presented_key<'a>(
    authorization: Option<&'a str>,
    x_api_key: Option<&'a str>,
    apikey: Option<&'a str>,
) -> Option<&'a str> {
    if let Some(value) = authorization {
        let token = value
            .trim()
            .strip_prefix("Bearer ")
            .or_else(|| value.trim().strip_prefix("bearer "))
            .map(str::trim);
        return token.filter(|token| crate::secret::is_personal_key(token));
    }
    [x_api_key, apikey]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|value| crate::secret::is_personal_key(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(access: Access) -> ResolvedKey {
        ResolvedKey {
            id: "k1".into(),
            user_id: "u1".into(),
            email: Some("a@example.com".into()),
            expires_at: None,
            scopes: key(access),
        }
    }

    fn key(access: Access) -> Scopes {
        Scopes {
            workspace_id: None,
            access,
            tables: Some(vec!["crm_leads".into()]),
            rpcs: Some(vec!["score_lead".into()]),
            functions: None,
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_read_only_key_reads_but_never_writes() {
        let read = key(Access::Read);
        let leads = RestTarget::Table("crm_leads".into());
        assert!(read.allows_rest(&leads, "GET").is_ok());
        assert!(read.allows_rest(&leads, "HEAD").is_ok());
        for method in ["POST", "PATCH", "PUT", "DELETE"] {
            assert!(read.allows_rest(&leads, method).is_err(), "{method}");
            assert!(
                read.allows_function("lead-scoring", method).is_err(),
                "{method}"
            );
        }
        let rpc = RestTarget::Rpc("score_lead".into());
        assert!(read.allows_rest(&rpc, "GET").is_ok());
        assert!(read
            .allows_rest(&rpc, "POST")
            .unwrap_err()
            .0
            .contains("get: true"));
        let write = key(Access::Write);
        assert!(write.allows_rest(&leads, "DELETE").is_ok());
        assert!(write.allows_rest(&rpc, "POST").is_ok());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn allow_lists_name_what_a_key_reaches() {
        let mut write = key(Access::Write);
        assert!(write
            .allows_rest(&RestTarget::Table("user_profiles".into()), "GET")
            .unwrap_err()
            .0
            .contains("user_profiles"));
        assert!(write
            .allows_rest(&RestTarget::Rpc("other".into()), "POST")
            .is_err());
        assert!(write.allows_rest(&RestTarget::Root, "GET").is_err());
        assert!(write.allows_function("lead-scoring", "POST").is_ok());
        write.functions = Some(vec![]);
        assert!(write.allows_function("lead-scoring", "GET").is_err());
        write.tables = None;
        assert!(write
            .allows_rest(&RestTarget::Table("anything".into()), "GET")
            .is_ok());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn no_key_manages_keys() {
        assert!(key(Access::Write)
            .allows_function(MANAGEMENT_FUNCTION, "GET")
            .is_err());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn rest_paths_name_tables_and_rpcs() {
        assert_eq!(RestTarget::parse(&[]), Some(RestTarget::Root));
        assert_eq!(
            RestTarget::parse(&["crm_leads"]),
            Some(RestTarget::Table("crm_leads".into()))
        );
        assert_eq!(
            RestTarget::parse(&["rpc", "f"]),
            Some(RestTarget::Rpc("f".into()))
        );
        assert_eq!(RestTarget::parse(&["rpc"]), None);
        assert_eq!(RestTarget::parse(&["a", "b"]), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_token_carries_the_key_and_its_scopes() {
        let claims = resolved(Access::Read).claims();
        assert_eq!(Scopes::of_token(&claims), Some(key(Access::Read)));
        assert_eq!(Scopes::of_token(&Map::new()), None);
        assert_eq!(claims["api_key_id"], "k1");
        assert_eq!(claims["scopes"]["access"], "read");
        assert_eq!(claims["scopes"]["tables"], json!(["crm_leads"]));
        assert_eq!(claims["scopes"]["functions"], Value::Null);
        assert_eq!(claims["email"], "a@example.com");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_key_is_found_where_clients_put_it() {
        let key = "rlse_pk_abc";
        assert_eq!(
            presented_key(Some("Bearer rlse_pk_abc"), None, None),
            Some(key)
        );
        assert_eq!(presented_key(None, Some("rlse_pk_abc"), None), Some(key));
        assert_eq!(presented_key(None, None, Some("rlse_pk_abc")), Some(key));
        assert_eq!(
            presented_key(None, None, Some("sb_publishable_x")),
            None,
            "a publishable key is not a personal key"
        );
        assert_eq!(
            presented_key(Some("Bearer eyJ.a.b"), None, Some("rlse_pk_abc")),
            None,
            "a user's session wins over a key in apikey"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn expiry_is_checked_against_the_clock() {
        let mut expiring = resolved(Access::Read);
        expiring.expires_at = Some(Timestamp::from_unix_millis(10_000));
        assert!(!expiring.expired(9_999));
        assert!(expiring.expired(10_000));
        assert!(!resolved(Access::Read).expired(u64::MAX / 2));
        let from_resolver: ResolvedKey = serde_json::from_value(json!({
            "id": "k", "user_id": "u", "email": null, "workspace_id": null, "access": "write",
            "tables": null, "rpcs": [], "functions": ["signup"], "expires_at": "2026-12-06T05:00:00+00:00"
        }))
        .unwrap();
        assert_eq!(from_resolver.scopes.rpcs, Some(vec![]));
        assert!(from_resolver.expires_at.is_some());
    }
}
