//! The api-keys function: a vault for users' third-party API keys (openai, stripe, twilio,
//! sendgrid, resend...).
//!
//! It validates a key's shape, encrypts it at the edge so the database only ever holds
//! ciphertext, and knows how to ask each provider whether a key still works. It is not a
//! key manager for the project's own secrets and it never returns or logs a stored key.

pub mod catalogue;
pub mod vault;
