//! The master keys the vault encrypts with: the current one, plus any previous ones still
//! needed to read records written before a rotation, parsed from one configuration string.
//!
//! Format: comma-separated `v<version>:<base64 of exactly 32 bytes>` entries, **current
//! first**, for example `v2:<base64>,v1:<base64>`. A version is an integer from 1 to
//! 2147483647 (it is stored in a Postgres `integer` column) and appears once. The key is
//! standard base64 with padding, which is what `openssl rand -base64 32` prints. Spaces around
//! entries are ignored. Parse errors name the entry and the problem, never the key text.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

/// Length in bytes of a master secret (AES-256 strength).
pub const MASTER_KEY_LEN: usize = 32;

/// The version of the master key a record was sealed with, stored beside the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyVersion(u32);

impl KeyVersion {
    /// The largest version a Postgres `integer` column can hold.
    pub const MAX: u32 = i32::MAX as u32;

    /// A version in `1..=KeyVersion::MAX`, or `None` outside that range.
    pub fn new(version: u32) -> Option<Self> {
        (1..=Self::MAX).contains(&version).then_some(Self(version))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// One master secret and its version. The secret is wiped from memory when dropped and never
/// shown by `Debug`.
pub struct MasterKey {
    version: KeyVersion,
    secret: Zeroizing<[u8; MASTER_KEY_LEN]>,
}

impl MasterKey {
    pub fn new(version: KeyVersion, secret: [u8; MASTER_KEY_LEN]) -> Self {
        Self {
            version,
            secret: Zeroizing::new(secret),
        }
    }

    pub fn version(&self) -> KeyVersion {
        self.version
    }

    pub(crate) fn secret(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.secret
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("version", &self.version)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The configured master keys: never empty, versions unique, the first one current.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<MasterKey>,
}

impl KeyRing {
    /// Parses the configuration string described in the module documentation.
    pub fn parse(config: &str) -> Result<Self, KeyRingError> {
        if config.trim().is_empty() {
            return Err(KeyRingError::Empty);
        }
        let keys = config
            .split(',')
            .enumerate()
            .map(|(index, entry)| parse_entry(index + 1, entry.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_keys(keys)
    }

    /// Builds a ring from keys already in memory, current first.
    pub fn from_keys(keys: Vec<MasterKey>) -> Result<Self, KeyRingError> {
        if keys.is_empty() {
            return Err(KeyRingError::Empty);
        }
        for (index, key) in keys.iter().enumerate() {
            if keys[..index]
                .iter()
                .any(|earlier| earlier.version == key.version)
            {
                return Err(KeyRingError::DuplicateVersion {
                    version: key.version,
                });
            }
        }
        Ok(Self { keys })
    }

    /// The key new records are sealed with.
    pub fn current(&self) -> &MasterKey {
        &self.keys[0]
    }

    /// The key with this version, if it is configured.
    pub fn get(&self, version: KeyVersion) -> Option<&MasterKey> {
        self.keys.iter().find(|key| key.version == version)
    }

    /// All configured versions, current first.
    pub fn versions(&self) -> impl Iterator<Item = KeyVersion> + '_ {
        self.keys.iter().map(|key| key.version)
    }
}

fn parse_entry(position: usize, entry: &str) -> Result<MasterKey, KeyRingError> {
    let (label, encoded) = entry
        .split_once(':')
        .ok_or(KeyRingError::MalformedEntry { position })?;
    let version = parse_version(label.trim()).ok_or(KeyRingError::InvalidVersion { position })?;
    let decoded = Zeroizing::new(
        STANDARD
            .decode(encoded.trim())
            .map_err(|_| KeyRingError::InvalidBase64 { version })?,
    );
    let secret: [u8; MASTER_KEY_LEN] =
        decoded
            .as_slice()
            .try_into()
            .map_err(|_| KeyRingError::WrongKeyLength {
                version,
                decoded_len: decoded.len(),
            })?;
    Ok(MasterKey::new(version, secret))
}

fn parse_version(label: &str) -> Option<KeyVersion> {
    let digits = label.strip_prefix('v')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    KeyVersion::new(digits.parse().ok()?)
}

/// Why a key ring configuration was refused. Messages name the entry (by position or version)
/// and the problem; none of them contains key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRingError {
    Empty,
    MalformedEntry {
        position: usize,
    },
    InvalidVersion {
        position: usize,
    },
    DuplicateVersion {
        version: KeyVersion,
    },
    InvalidBase64 {
        version: KeyVersion,
    },
    WrongKeyLength {
        version: KeyVersion,
        decoded_len: usize,
    },
}

impl fmt::Display for KeyRingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(
                f,
                "the master key ring is empty: set it to `v1:<base64 of 32 random bytes>` \
                 (for example from `openssl rand -base64 32`)"
            ),
            Self::MalformedEntry { position } => write!(
                f,
                "master key ring entry {position} is not of the form `v<version>:<base64 key>`"
            ),
            Self::InvalidVersion { position } => write!(
                f,
                "master key ring entry {position} has an invalid version: use `v` followed by \
                 a number from 1 to {}",
                KeyVersion::MAX
            ),
            Self::DuplicateVersion { version } => {
                write!(
                    f,
                    "master key {version} appears more than once in the key ring"
                )
            }
            Self::InvalidBase64 { version } => {
                write!(f, "master key {version} is not valid standard base64")
            }
            Self::WrongKeyLength {
                version,
                decoded_len,
            } => write!(
                f,
                "master key {version} decodes to {decoded_len} bytes; it must be exactly \
                 {MASTER_KEY_LEN}"
            ),
        }
    }
}

impl std::error::Error for KeyRingError {}
