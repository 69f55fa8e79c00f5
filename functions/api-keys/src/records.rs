//! `security_api_keys` rows as this function reads and writes them through PostgREST
//! (sql/migrations/0005_security.sql). The byte columns (ciphertext, nonce, salt) are `text`
//! holding standard base64. Which columns a request names matters: `maintenance` may read only
//! the rotation columns, so every query selects exactly what it needs.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::vault::{RecordBinding, SealedKey, VaultError};
use shared::error::ApiError;

pub const TABLE: &str = "security_api_keys";
/// What a user may see about a stored key: never the ciphertext, nonce or salt.
pub const SUMMARY_COLUMNS: &str =
    "service,key_hint,status,status_reason,key_version,last_checked,created_at,updated_at";
/// What opening a key needs: the binding (user, service) and the sealed parts.
pub const SEALED_COLUMNS: &str = "id,user_id,service,key_ciphertext,nonce,salt,key_version";

/// A freshly sealed key, written by an upsert on (user_id, service). Replacing a key resets
/// its health: the new key has not been checked yet.
#[derive(Debug, Serialize)]
pub struct NewKeyRow<'a> {
    pub user_id: &'a str,
    pub service: &'a str,
    #[serde(flatten)]
    pub sealed: SealedColumns,
    pub key_hint: String,
    pub status: &'static str,
    pub status_reason: Option<String>,
    pub last_checked: Option<String>,
}

impl<'a> NewKeyRow<'a> {
    pub fn new(binding: &RecordBinding<'a>, sealed: &SealedKey, key_hint: String) -> Self {
        Self {
            user_id: binding.user_id,
            service: binding.service,
            sealed: SealedColumns::from(sealed),
            key_hint,
            status: "active",
            status_reason: None,
            last_checked: None,
        }
    }
}

/// The columns a seal produces, also what rotation rewrites.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct SealedColumns {
    pub key_ciphertext: String,
    pub nonce: String,
    pub salt: String,
    pub key_version: u32,
}

impl From<&SealedKey> for SealedColumns {
    fn from(sealed: &SealedKey) -> Self {
        Self {
            key_ciphertext: STANDARD.encode(&sealed.ciphertext),
            nonce: STANDARD.encode(sealed.nonce),
            salt: STANDARD.encode(sealed.salt),
            key_version: sealed.key_version.get(),
        }
    }
}

/// A stored key as read for opening (health check, rotation).
#[derive(Debug, Clone, Deserialize)]
pub struct SealedRow {
    pub id: String,
    pub user_id: String,
    pub service: String,
    pub key_ciphertext: String,
    pub nonce: String,
    pub salt: String,
    pub key_version: i64,
}

impl SealedRow {
    pub fn binding(&self) -> RecordBinding<'_> {
        RecordBinding {
            user_id: &self.user_id,
            service: &self.service,
        }
    }

    pub fn sealed(&self) -> Result<SealedKey, VaultError> {
        let decode = |column: &str, problem: &'static str| {
            STANDARD
                .decode(column)
                .map_err(|_| VaultError::MalformedRecord(problem))
        };
        SealedKey::from_parts(
            decode(&self.key_ciphertext, "the ciphertext column is not base64")?,
            &decode(&self.nonce, "the nonce column is not base64")?,
            &decode(&self.salt, "the salt column is not base64")?,
            self.key_version,
        )
    }
}

/// What the list shows for each key, and what the write endpoints answer with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct KeySummary {
    pub service: String,
    /// The last 4 characters of the key.
    #[serde(rename(deserialize = "key_hint", serialize = "hint"))]
    pub hint: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub key_version: i64,
    pub last_checked: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl KeySummary {
    /// Whether the upsert that returned this row inserted it. An insert sets both timestamps
    /// to the same transaction time; an update keeps `created_at` from an earlier transaction
    /// and the trigger moves `updated_at` forward.
    pub fn was_created(&self) -> bool {
        self.created_at == self.updated_at
    }
}

/// The outcome of a health check, written back to the row.
#[derive(Debug, Serialize)]
pub struct HealthUpdate {
    pub status: &'static str,
    pub status_reason: Option<String>,
    pub last_checked: String,
}

/// A row as the JSON body of a PostgREST write.
pub fn row_json(row: &impl Serialize) -> Result<String, ApiError> {
    serde_json::to_string(row)
        .map_err(|error| ApiError::internal(format!("could not encode a row: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::KeyVersion;
    use serde_json::json;

    fn sealed() -> SealedKey {
        SealedKey {
            ciphertext: vec![0xAB; 20],
            nonce: [1; 12],
            salt: [2; 16],
            key_version: KeyVersion::new(3).unwrap(),
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn new_rows_carry_base64_columns_and_reset_health() {
        let binding = RecordBinding {
            user_id: "u-1",
            service: "openai",
        };
        let row = serde_json::to_value(NewKeyRow::new(&binding, &sealed(), "wxyz".into())).unwrap();
        assert_eq!(
            row,
            json!({
                "user_id": "u-1", "service": "openai",
                "key_ciphertext": STANDARD.encode([0xAB; 20]),
                "nonce": "AQEBAQEBAQEBAQEB", "salt": "AgICAgICAgICAgICAgICAg==",
                "key_version": 3, "key_hint": "wxyz",
                "status": "active", "status_reason": null, "last_checked": null
            })
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn sealed_rows_decode_back_to_the_sealed_key() {
        let columns = SealedColumns::from(&sealed());
        let row = SealedRow {
            id: "r".into(),
            user_id: "u-1".into(),
            service: "openai".into(),
            key_ciphertext: columns.key_ciphertext,
            nonce: columns.nonce,
            salt: columns.salt,
            key_version: 3,
        };
        assert_eq!(row.sealed().unwrap(), sealed());
        assert_eq!(
            row.binding(),
            RecordBinding {
                user_id: "u-1",
                service: "openai"
            }
        );
        let garbled = SealedRow {
            nonce: "not base64!".into(),
            ..row
        };
        assert_eq!(
            garbled.sealed(),
            Err(VaultError::MalformedRecord(
                "the nonce column is not base64"
            ))
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn summaries_rename_the_hint_and_tell_inserts_from_updates() {
        let row = json!({
            "service": "stripe", "key_hint": "wXyZ", "status": "active", "status_reason": null,
            "key_version": 2, "last_checked": null,
            "created_at": "2026-11-22T22:00:00.1+00:00", "updated_at": "2026-11-22T22:00:00.1+00:00"
        });
        let summary: KeySummary = serde_json::from_value(row).unwrap();
        assert!(summary.was_created());
        let shown = serde_json::to_value(&summary).unwrap();
        assert_eq!(shown["hint"], "wXyZ");
        assert!(shown.get("key_hint").is_none());
        let replaced = KeySummary {
            updated_at: "2026-11-22T22:05:00+00:00".into(),
            ..summary
        };
        assert!(!replaced.was_created());
    }
}
