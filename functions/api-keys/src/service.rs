//! Where stored keys live: `security_api_keys` through PostgREST, under whichever JWT the
//! [`Db`] carries (the caller's own for every user endpoint, so RLS decides; rotation has its
//! own queries in [`crate::rotation`]). The only module of the user endpoints that builds a
//! query; no response shape and no HTTP here.

use crate::records::{
    row_json, HealthUpdate, KeySummary, NewKeyRow, SealedRow, SEALED_COLUMNS, SUMMARY_COLUMNS,
    TABLE,
};
use serde_json::Value;
use shared::db::{self, Db};
use shared::error::ApiError;

/// The user's keys (summaries only), by service.
pub async fn list(db: &Db, user_id: &str) -> Result<Vec<KeySummary>, ApiError> {
    let query = db
        .from(TABLE)
        .select(SUMMARY_COLUMNS)
        .eq("user_id", user_id)
        .order("service.asc");
    db::fetch_json(query).await
}

/// Inserts the sealed key, or replaces the user's key for that service; returns the stored
/// summary (whose `was_created` tells which). 409 when the user has no profile yet.
pub async fn upsert(db: &Db, row: &NewKeyRow<'_>) -> Result<KeySummary, ApiError> {
    let upsert = db
        .from(TABLE)
        .upsert(row_json(row)?)
        .on_conflict("user_id,service")
        .select(SUMMARY_COLUMNS);
    let rows: Vec<KeySummary> = db::fetch_json(upsert)
        .await
        .map_err(explain_missing_profile)?;
    rows.into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("PostgREST returned no row for a successful write"))
}

/// Deletes the user's key for `service`; false when there was none (or none RLS lets them see).
pub async fn delete(db: &Db, user_id: &str, service: &str) -> Result<bool, ApiError> {
    let delete = db
        .from(TABLE)
        .delete()
        .eq("user_id", user_id)
        .eq("service", service)
        .select("service");
    let deleted: Vec<Value> = db::fetch_json(delete).await?;
    Ok(!deleted.is_empty())
}

/// The user's sealed key for `service`, if stored.
pub async fn sealed(db: &Db, user_id: &str, service: &str) -> Result<Option<SealedRow>, ApiError> {
    let query = db
        .from(TABLE)
        .select(SEALED_COLUMNS)
        .eq("user_id", user_id)
        .eq("service", service);
    Ok(db::fetch_json::<Vec<SealedRow>>(query)
        .await?
        .into_iter()
        .next())
}

/// Records a health check's verdict on the user's key; the updated summary, or `None` when the
/// key is gone.
pub async fn record_health(
    db: &Db,
    user_id: &str,
    service: &str,
    update: &HealthUpdate,
) -> Result<Option<KeySummary>, ApiError> {
    let query = db
        .from(TABLE)
        .update(row_json(update)?)
        .eq("user_id", user_id)
        .eq("service", service)
        .select(SUMMARY_COLUMNS);
    Ok(db::fetch_json::<Vec<KeySummary>>(query)
        .await?
        .into_iter()
        .next())
}

/// The row's `user_id` references `user_profiles`: a caller who never signed up has none.
fn explain_missing_profile(error: ApiError) -> ApiError {
    let is_foreign_key = error
        .details
        .as_ref()
        .is_some_and(|details| details["db_code"] == "23503");
    if is_foreign_key {
        ApiError::conflict("create your profile first (POST /functions/v1/signup), then store keys")
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_missing_profile_becomes_a_conflict_that_says_what_to_do() {
        let foreign_key = db::map_postgrest_error(
            409,
            r#"{"code": "23503", "message": "insert or update on table \"security_api_keys\" violates foreign key constraint"}"#,
        );
        let explained = explain_missing_profile(foreign_key);
        assert_eq!((explained.status, explained.code), (409, "conflict"));
        assert!(explained.message.contains("POST /functions/v1/signup"));

        let other = ApiError::forbidden("no");
        assert_eq!(explain_missing_profile(other.clone()), other);
    }
}
