//! Tokens signed by `jose` (JavaScript, independent of the Rust code under test) from the same
//! test keys, so a bug shared by our signing helper and our verifier cannot hide.
//! Regenerate with `node shared/tests/fixtures/auth/make_jose_vectors.mjs`.

use serde::Deserialize;

use super::fixtures::*;
use crate::auth::AuthError;

#[derive(Deserialize)]
struct JoseVectors {
    now: u64,
    vectors: Vec<JoseVector>,
}

#[derive(Deserialize)]
struct JoseVector {
    name: String,
    token: String,
}

fn jose_vectors() -> JoseVectors {
    serde_json::from_str(JOSE_VECTORS).unwrap()
}

async_test! {
    async fn tokens_signed_by_jose_verify() {
        let vectors = jose_vectors();
        assert_eq!(vectors.vectors.len(), 5);
        for vector in &vectors.vectors {
            let claims = verifier()
                .verify(&vector.token, Some(&jwks_initial()), vectors.now).await
                .unwrap_or_else(|error| panic!("{}: {error}", vector.name));
            assert_eq!(
                claims.user_id(),
                Some("7c1f2e4a-0000-4000-8000-000000000001"),
                "{}",
                vector.name
            );
            assert_eq!(
                claims.session_id.as_deref(),
                Some("5b1d0000-0000-4000-8000-000000000002")
            );
            assert!(
                claims.aud.unwrap().contains("authenticated"),
                "{}",
                vector.name
            );
        }
    }
}

async_test! {
    async fn tokens_signed_by_jose_still_expire() {
        let vectors = jose_vectors();
        for vector in &vectors.vectors {
            let later = vectors.now + 3600 + 30;
            assert_eq!(
                verifier().verify(&vector.token, Some(&jwks_initial()), later).await,
                Err(AuthError::Expired),
                "{}",
                vector.name
            );
        }
    }
}
