//! Where the data lives: one RPC to create, two reads to look up, always under the caller's own
//! JWT so Postgres row-level security decides what is visible.

use crate::db_errors;
use crate::model::{
    Account, Profile, SignupOutcome, Workspace, PROFILE_COLUMNS, WORKSPACE_COLUMNS,
};
use crate::request::SignupRequest;
use futures_util::future::try_join;
use shared::db::{fetch_json, Db};
use shared::error::ApiError;

/// The SQL function that creates the profile, workspace, membership, email preferences and
/// onboarding rows in one transaction (sql/migrations/0012_signup_rpc.sql).
pub const SIGNUP_RPC: &str = "create_profile_on_signup";

/// Makes sure the caller has a profile and personal workspace, creating them if needed.
pub async fn sign_up(db: &Db, request: &SignupRequest) -> Result<SignupOutcome, ApiError> {
    fetch_json(db.rpc(SIGNUP_RPC, &request.rpc_arguments()))
        .await
        .map_err(db_errors::explain)
}

/// The caller's profile and personal workspace, or `None` before sign-up.
pub async fn find(db: &Db, user_id: &str) -> Result<Option<Account>, ApiError> {
    let profiles = db
        .from("user_profiles")
        .select(PROFILE_COLUMNS)
        .eq("id", user_id);
    let workspaces = db
        .from("workspaces")
        .select(WORKSPACE_COLUMNS)
        .eq("owner_id", user_id)
        .eq("is_personal", "true")
        .limit(1);
    let (profiles, workspaces): (Vec<Profile>, Vec<Workspace>) =
        try_join(fetch_json(profiles), fetch_json(workspaces)).await?;
    Ok(profiles.into_iter().next().map(|profile| Account {
        profile,
        workspace: workspaces.into_iter().next(),
    }))
}
