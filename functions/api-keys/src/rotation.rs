//! Master-key rotation: re-seal stored keys that are still on an older master key with the
//! current one, one batch per call, walking the table by id so a row that cannot be rotated
//! (its master key was dropped from the ring, or it was tampered with) is reported once and
//! passed, not retried forever.
//!
//! Runs as the `maintenance` database role, which may read and rewrite only the key columns.
//! Each row is updated only if it still holds the very ciphertext it was read with (and its
//! version), so a key stored again in the meantime is left alone (counted as skipped). The
//! version alone would not do: while a new master key rolls out, a Worker still on the old
//! ring seals a re-stored key under the old version, and a filter on the version would let
//! rotation overwrite it with the key it read before. Every seal draws a fresh salt and nonce,
//! so a re-stored key never has the ciphertext it replaced.

use serde::Serialize;
use shared::db::{self, Db};
use shared::error::ApiError;

use crate::records::{row_json, SealedColumns, SealedRow, SEALED_COLUMNS, TABLE};
use crate::vault::{self, KeyRing, RandomSource, SealedKey, VaultError};

/// What one batch did.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct RotationReport {
    pub current_version: u32,
    pub rotated: usize,
    pub skipped: usize,
    pub failed: Vec<RotationFailure>,
    /// Pass as `after` to continue; `None` when no rows remain past this batch.
    pub next_after: Option<String>,
    /// Whose keys were re-sealed, and whose could not be, for their security events; not
    /// part of the answer.
    #[serde(skip)]
    pub rotated_rows: Vec<RowOwner>,
    #[serde(skip)]
    pub failed_rows: Vec<RowOwner>,
}

/// A stored key's owner, service and the master key version it was read under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOwner {
    pub user_id: String,
    pub service: String,
    pub key_version: i64,
}

impl RowOwner {
    fn of(row: &SealedRow) -> RowOwner {
        RowOwner {
            user_id: row.user_id.clone(),
            service: row.service.clone(),
            key_version: row.key_version,
        }
    }
}

#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct RotationFailure {
    pub id: String,
    pub reason: String,
}

/// Re-seals one row under the ring's current key.
pub fn reseal_row(
    ring: &KeyRing,
    row: &SealedRow,
    random: &mut impl RandomSource,
) -> Result<SealedKey, VaultError> {
    vault::reencrypt(ring, &row.binding(), &row.sealed()?, random)
}

/// Rotates up to `limit` rows with an id greater than `after`.
pub async fn rotate_batch(
    db: &Db,
    ring: &KeyRing,
    after: Option<&str>,
    limit: usize,
    random: &mut impl RandomSource,
) -> Result<RotationReport, ApiError> {
    let current = ring.current().version().get();
    let mut query = db
        .from(TABLE)
        .select(SEALED_COLUMNS)
        .neq("key_version", current.to_string())
        .order("id.asc")
        .limit(limit);
    if let Some(after) = after {
        query = query.gt("id", after);
    }
    let rows: Vec<SealedRow> = db::fetch_json(query).await?;
    let mut report = RotationReport {
        current_version: current,
        next_after: (rows.len() == limit)
            .then(|| rows.last().map(|row| row.id.clone()))
            .flatten(),
        ..RotationReport::default()
    };
    for row in &rows {
        match reseal_row(ring, row, random) {
            Ok(resealed) => {
                let update = db
                    .from(TABLE)
                    .update(row_json(&SealedColumns::from(&resealed))?)
                    .eq("id", &row.id)
                    .eq("key_version", row.key_version.to_string())
                    .eq("key_ciphertext", &row.key_ciphertext)
                    .select("id");
                let updated: Vec<serde_json::Value> = db::fetch_json(update).await?;
                if updated.is_empty() {
                    report.skipped += 1;
                } else {
                    report.rotated += 1;
                    report.rotated_rows.push(RowOwner::of(row));
                }
            }
            Err(error) => {
                report.failed.push(RotationFailure {
                    id: row.id.clone(),
                    reason: error.to_string(),
                });
                report.failed_rows.push(RowOwner::of(row));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::SealedColumns;
    use crate::vault::{seal, KeyVersion, MasterKey, RecordBinding, SystemRandom};

    fn ring(versions: &[(u32, u8)]) -> KeyRing {
        KeyRing::from_keys(
            versions
                .iter()
                .map(|(v, fill)| MasterKey::new(KeyVersion::new(*v).unwrap(), [*fill; 32]))
                .collect(),
        )
        .unwrap()
    }

    fn row_sealed_under(ring: &KeyRing, user_id: &str) -> SealedRow {
        let binding = RecordBinding {
            user_id,
            service: "openai",
        };
        let sealed = seal(
            ring,
            &binding,
            "sk-test-rotation-0123456789",
            &mut SystemRandom,
        )
        .unwrap();
        let columns = SealedColumns::from(&sealed);
        SealedRow {
            id: "00000000-0000-4000-8000-000000000001".into(),
            user_id: user_id.into(),
            service: "openai".into(),
            key_ciphertext: columns.key_ciphertext,
            nonce: columns.nonce,
            salt: columns.salt,
            key_version: i64::from(columns.key_version),
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reseal_moves_a_row_to_the_current_key() {
        let row = row_sealed_under(&ring(&[(1, 0x11)]), "u-1");
        let rotated_ring = ring(&[(2, 0x22), (1, 0x11)]);
        let resealed = reseal_row(&rotated_ring, &row, &mut SystemRandom).unwrap();
        assert_eq!(resealed.key_version.get(), 2);
        let binding = RecordBinding {
            user_id: "u-1",
            service: "openai",
        };
        let only_new = ring(&[(2, 0x22)]);
        assert_eq!(
            vault::open(&only_new, &binding, &resealed)
                .unwrap()
                .as_str(),
            "sk-test-rotation-0123456789"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reseal_reports_rows_it_cannot_open() {
        let row = row_sealed_under(&ring(&[(1, 0x11)]), "u-1");
        let moved = SealedRow {
            user_id: "u-2".into(),
            ..row.clone()
        };
        assert_eq!(
            reseal_row(&ring(&[(2, 0x22), (1, 0x11)]), &moved, &mut SystemRandom),
            Err(VaultError::DecryptionFailed)
        );
        assert_eq!(
            reseal_row(&ring(&[(2, 0x22)]), &row, &mut SystemRandom),
            Err(VaultError::UnknownKeyVersion(KeyVersion::new(1).unwrap()))
        );
    }
}
