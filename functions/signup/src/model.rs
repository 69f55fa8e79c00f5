//! What sign-up returns: the caller's profile and personal workspace, as the database stores
//! them. Read from the `create_profile_on_signup` result and from `user_profiles` /
//! `workspaces`; columns not listed here are not part of this endpoint's answer.

use serde::{Deserialize, Serialize};

/// A `user_profiles` row. Timestamps are passed on as Postgres renders them (ISO 8601).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: String,
    pub email: String,
    pub full_name: Option<String>,
    pub role: String,
    pub avatar_url: Option<String>,
    pub timezone: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A `workspaces` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub is_personal: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// The columns selected when reading each table, matching the structs above.
pub const PROFILE_COLUMNS: &str =
    "id,email,full_name,role,avatar_url,timezone,created_at,updated_at";
pub const WORKSPACE_COLUMNS: &str = "id,name,owner_id,is_personal,created_at,updated_at";

/// The RPC's result, also the POST answer: `created` is true only for the call that inserted
/// the profile (201); a repeat gets the stored rows with `created: false` (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupOutcome {
    pub created: bool,
    pub profile: Profile,
    pub workspace: Workspace,
}

impl SignupOutcome {
    pub fn status(&self) -> u16 {
        if self.created {
            201
        } else {
            200
        }
    }
}

/// The GET answer. `workspace` is null only if the personal workspace has been removed by
/// other means since sign-up; the sign-up RPC always creates one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub profile: Profile,
    pub workspace: Option<Workspace>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reads_the_rpc_result_and_answers_201_only_when_created() {
        let result = json!({
            "created": true,
            "profile": {
                "id": "7c1f2e4a-0000-4000-8000-000000000001", "email": "ada@example.com",
                "full_name": "Ada", "role": "user", "avatar_url": null, "timezone": null,
                "created_at": "2026-11-22T22:00:00.123+00:00", "updated_at": "2026-11-22T22:00:00.123+00:00"
            },
            "workspace": {
                "id": "9d2e0000-0000-4000-8000-000000000002", "name": "Ada's workspace",
                "owner_id": "7c1f2e4a-0000-4000-8000-000000000001", "is_personal": true,
                "created_at": "2026-11-22T22:00:00.123+00:00", "updated_at": "2026-11-22T22:00:00.123+00:00"
            }
        });
        let mut outcome: SignupOutcome = serde_json::from_value(result.clone()).unwrap();
        assert_eq!(outcome.status(), 201);
        assert_eq!(outcome.workspace.owner_id, outcome.profile.id);
        assert_eq!(serde_json::to_value(&outcome).unwrap(), result);
        outcome.created = false;
        assert_eq!(outcome.status(), 200);
    }
}
