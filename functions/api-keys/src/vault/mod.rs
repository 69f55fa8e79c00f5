//! The vault: how a user's third-party API key is encrypted before it reaches the database
//! and decrypted again at the edge. Pure: no I/O, no clock, randomness passed in.
//!
//! Scheme: per record, a random 16-byte salt and HKDF-SHA256 turn the current 32-byte master
//! secret into a record key; AES-256-GCM encrypts the key with a random 96-bit nonce and
//! authenticates (user id, service, master key version) as additional data. The row stores
//! ciphertext+tag, nonce, salt and the master key version. Several master keys can be
//! configured ([`KeyRing`]): records are opened with the version they name and re-sealed with
//! the current one by [`reencrypt`].
//!
//! Buffers this module owns that held a plaintext or a derived key are zeroized. What the
//! RustCrypto crates keep internally (HKDF's keyed HMAC state) is outside its reach. Errors
//! carry no key material and no plaintext.

mod binding;
mod keyring;
mod random;
mod sealed;
#[cfg(test)]
mod tests;

use std::fmt;

pub use binding::RecordBinding;
pub use keyring::{KeyRing, KeyRingError, KeyVersion, MasterKey, MASTER_KEY_LEN};
pub use random::{RandomSource, SystemRandom};
pub use sealed::{needs_rotation, open, reencrypt, seal, SealedKey, NONCE_LEN, SALT_LEN, TAG_LEN};

/// Why sealing or opening a key failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VaultError {
    /// The record names a master key version the ring does not hold.
    UnknownKeyVersion(KeyVersion),
    /// A stored column has the wrong size or range.
    MalformedRecord(&'static str),
    /// Authentication failed: the record was altered, moved to another user or service, or
    /// the master key is not the one it was sealed with. GCM cannot tell these apart.
    DecryptionFailed,
    EncryptionFailed,
    /// The decrypted bytes are not UTF-8, which a key sealed by [`seal`] always is.
    NotUtf8,
    RandomnessUnavailable,
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownKeyVersion(version) => write!(
                f,
                "the stored key was sealed with master key {version}, which is not in the \
                 configured key ring; add it back to read this key"
            ),
            Self::MalformedRecord(problem) => write!(f, "the stored key is malformed: {problem}"),
            Self::DecryptionFailed => write!(
                f,
                "the stored key did not decrypt: it was altered, copied from another user or \
                 service, or the master key is not the one it was sealed with"
            ),
            Self::EncryptionFailed => write!(f, "the key could not be encrypted"),
            Self::NotUtf8 => write!(f, "the stored key decrypted to bytes that are not UTF-8"),
            Self::RandomnessUnavailable => {
                write!(f, "the platform random number generator is unavailable")
            }
        }
    }
}

impl std::error::Error for VaultError {}
