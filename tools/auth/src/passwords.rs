//! bcrypt, as GoTrue uses it: `$2a$` hashes at the configured cost (GoTrue: 10), computed off the
//! async threads because each one takes tens of milliseconds.

use crate::error::{AuthError, AuthResult};

pub async fn hash(password: String, cost: u32) -> AuthResult<String> {
    tokio::task::spawn_blocking(move || {
        bcrypt::hash_with_result(password, cost)
            .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
    })
    .await
    .map_err(|e| AuthError::internal("Error hashing password", e))?
    .map_err(|e| AuthError::internal("Error hashing password", e))
}

/// True when `password` matches the stored bcrypt `hash`; false for anything unreadable.
pub async fn matches(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// A stored hash the admin API may import (`password_hash`): bcrypt only.
pub fn is_bcrypt_hash(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|prefix| hash.starts_with(prefix))
        && hash.len() == 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_2a_at_the_cost_and_verify() {
        let stored = hash("correct horse".into(), 4).await.unwrap();
        assert!(stored.starts_with("$2a$04$"), "{stored}");
        assert!(is_bcrypt_hash(&stored));
        assert!(matches("correct horse".into(), stored.clone()).await);
        assert!(!matches("wrong horse".into(), stored).await);
        assert!(!matches("x".into(), "not a hash".into()).await);
    }
}
