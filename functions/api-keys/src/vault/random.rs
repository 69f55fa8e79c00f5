//! Where the vault's salts and nonces come from. Taken as a parameter so tests can supply
//! fixed bytes and check the output against independently computed vectors.

use super::VaultError;

/// A source of unpredictable bytes.
pub trait RandomSource {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), VaultError>;
}

/// The platform CSPRNG (the Web Crypto API on Workers), through `shared::crypto`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemRandom;

impl RandomSource for SystemRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), VaultError> {
        shared::crypto::fill_random(buf).map_err(|_| VaultError::RandomnessUnavailable)
    }
}
