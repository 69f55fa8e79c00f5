//! What a sealed key is bound to. The binding is fed to AES-GCM as additional authenticated
//! data, so a ciphertext copied to another user's row, another service's row or relabelled
//! with another key version fails to decrypt.

use super::keyring::KeyVersion;

/// Separates this use of AES-GCM from any other the project might add with the same keys.
const DOMAIN: &[u8] = b"rls-edge/api-keys/aad/v1";

/// The row a sealed key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordBinding<'a> {
    /// The owner's user id (the JWT `sub`, a uuid). Compared case-insensitively, because a
    /// uuid is, and Postgres prints it in lower case while a token might not.
    pub user_id: &'a str,
    /// The service name as validated by the catalogue.
    pub service: &'a str,
}

impl RecordBinding<'_> {
    /// The additional authenticated data: each field as a 4-byte big-endian length followed
    /// by its bytes, so no two different bindings encode to the same bytes.
    pub(crate) fn associated_data(&self, version: KeyVersion) -> Vec<u8> {
        let user_id = self.user_id.to_ascii_lowercase();
        let version = version.get().to_be_bytes();
        let fields: [&[u8]; 4] = [
            DOMAIN,
            user_id.as_bytes(),
            self.service.as_bytes(),
            &version,
        ];
        let mut encoded = Vec::with_capacity(fields.iter().map(|field| 4 + field.len()).sum());
        for field in fields {
            let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
            encoded.extend_from_slice(&len.to_be_bytes());
            encoded.extend_from_slice(field);
        }
        encoded
    }
}
