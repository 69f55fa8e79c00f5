//! Sealing and opening one stored key: AES-256-GCM under a per-record key derived with
//! HKDF-SHA256 from the master secret and a random per-record salt, a fresh random 96-bit
//! nonce for every encryption, and the record's binding as additional authenticated data.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::binding::RecordBinding;
use super::keyring::{KeyRing, KeyVersion, MasterKey};
use super::random::RandomSource;
use super::VaultError;

pub const SALT_LEN: usize = 16;
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;

/// HKDF `info`: names what the derived key is for, so the same master secret used by a
/// future scheme derives unrelated keys.
const RECORD_KEY_INFO: &[u8] = b"rls-edge/api-keys/record-key/v1";

/// Everything the database stores about an encrypted key except its owner and service, which
/// are the row's own columns and enter the ciphertext through the binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedKey {
    /// The encrypted key followed by the 16-byte GCM tag.
    pub ciphertext: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
    pub salt: [u8; SALT_LEN],
    pub key_version: KeyVersion,
}

impl SealedKey {
    /// Rebuilds a sealed key from database columns, checking their sizes.
    pub fn from_parts(
        ciphertext: Vec<u8>,
        nonce: &[u8],
        salt: &[u8],
        key_version: i64,
    ) -> Result<Self, VaultError> {
        let nonce = nonce
            .try_into()
            .map_err(|_| VaultError::MalformedRecord("the nonce is not 12 bytes"))?;
        let salt = salt
            .try_into()
            .map_err(|_| VaultError::MalformedRecord("the salt is not 16 bytes"))?;
        let key_version = u32::try_from(key_version)
            .ok()
            .and_then(KeyVersion::new)
            .ok_or(VaultError::MalformedRecord(
                "the key version is out of range",
            ))?;
        if ciphertext.len() < TAG_LEN {
            return Err(VaultError::MalformedRecord(
                "the ciphertext is shorter than its authentication tag",
            ));
        }
        Ok(Self {
            ciphertext,
            nonce,
            salt,
            key_version,
        })
    }
}

/// Encrypts `plaintext` for the row described by `binding` under the ring's current key.
pub fn seal(
    ring: &KeyRing,
    binding: &RecordBinding<'_>,
    plaintext: &str,
    random: &mut impl RandomSource,
) -> Result<SealedKey, VaultError> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    random.fill(&mut salt)?;
    random.fill(&mut nonce)?;
    seal_with(ring.current(), binding, plaintext, salt, nonce)
}

/// Decrypts a sealed key with the master key of the version it records. The result is wiped
/// from memory when dropped.
pub fn open(
    ring: &KeyRing,
    binding: &RecordBinding<'_>,
    sealed: &SealedKey,
) -> Result<Zeroizing<String>, VaultError> {
    let master = ring
        .get(sealed.key_version)
        .ok_or(VaultError::UnknownKeyVersion(sealed.key_version))?;
    if sealed.ciphertext.len() < TAG_LEN {
        return Err(VaultError::MalformedRecord(
            "the ciphertext is shorter than its authentication tag",
        ));
    }
    let cipher = record_cipher(master, &sealed.salt);
    let aad = binding.associated_data(sealed.key_version);
    // Decrypting in a buffer we own means even the unauthenticated output of a failed
    // attempt is wiped.
    let mut buffer = Zeroizing::new(sealed.ciphertext.clone());
    cipher
        .decrypt_in_place(Nonce::from_slice(&sealed.nonce), &aad, &mut *buffer)
        .map_err(|_| VaultError::DecryptionFailed)?;
    String::from_utf8(std::mem::take(&mut *buffer))
        .map(Zeroizing::new)
        .map_err(|error| {
            error.into_bytes().zeroize();
            VaultError::NotUtf8
        })
}

/// Re-encrypts a sealed key under the ring's current master key, with a fresh salt and nonce.
pub fn reencrypt(
    ring: &KeyRing,
    binding: &RecordBinding<'_>,
    sealed: &SealedKey,
    random: &mut impl RandomSource,
) -> Result<SealedKey, VaultError> {
    let plaintext = open(ring, binding, sealed)?;
    seal(ring, binding, &plaintext, random)
}

/// Whether a sealed key was written under an older master key than the ring's current one.
pub fn needs_rotation(ring: &KeyRing, sealed: &SealedKey) -> bool {
    sealed.key_version != ring.current().version()
}

/// The deterministic core of [`seal`], with salt and nonce given.
pub(crate) fn seal_with(
    master: &MasterKey,
    binding: &RecordBinding<'_>,
    plaintext: &str,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
) -> Result<SealedKey, VaultError> {
    let cipher = record_cipher(master, &salt);
    let aad = binding.associated_data(master.version());
    // Reserving room for the tag up front keeps the plaintext from being left behind in a
    // reallocated buffer.
    let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    buffer.extend_from_slice(plaintext.as_bytes());
    cipher
        .encrypt_in_place(Nonce::from_slice(&nonce), &aad, &mut *buffer)
        .map_err(|_| VaultError::EncryptionFailed)?;
    Ok(SealedKey {
        ciphertext: std::mem::take(&mut *buffer),
        nonce,
        salt,
        key_version: master.version(),
    })
}

/// The AES-256-GCM instance for one record: key = HKDF-SHA256(ikm = master secret,
/// salt = record salt, info = [`RECORD_KEY_INFO`]).
fn record_cipher(master: &MasterKey, salt: &[u8; SALT_LEN]) -> Aes256Gcm {
    let mut record_key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), master.secret())
        .expand(RECORD_KEY_INFO, &mut *record_key)
        .expect("32 bytes is far below HKDF-SHA256's 8160-byte output limit");
    Aes256Gcm::new((&*record_key).into())
}
