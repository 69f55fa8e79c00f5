//! Whose token may create a profile. Checked at the edge, before the body is read, so a refused
//! caller learns why in plain words instead of through a database error.
//!
//! | token | answer |
//! |---|---|
//! | no `sub` (e.g. the anon key) or a `role` other than `authenticated` | 403 `user_token_required` |
//! | `is_anonymous: true` | 403 `anonymous_not_allowed` |
//! | no `email`, or a blank one | 422 `email_required` |
//!
//! 422 rather than 400 for a missing email: the request itself is well formed; it is the
//! account behind the token that cannot have a profile until it has an email address.
//! Anonymous users never get a profile: a profile's address must be confirmed, and the database
//! checks that too (`create_profile_on_signup` answers 403 for an address auth.users has not
//! confirmed, sql/migrations/0018_confirmed_emails.sql), which a token alone cannot show.

use crate::error::Ineligible;
use shared::auth::Claims;

/// The role PostgREST runs signed-in users' requests as; the only one granted the RPC.
pub const USER_ROLE: &str = "authenticated";

/// Refuses tokens that cannot own a profile; see the module table.
pub fn check(claims: &Claims) -> Result<(), Ineligible> {
    if claims.user_id().is_none() || claims.role.as_deref() != Some(USER_ROLE) {
        return Err(Ineligible::NotAUser);
    }
    if claims.is_anonymous == Some(true) {
        return Err(Ineligible::Anonymous);
    }
    if claims
        .email
        .as_deref()
        .is_none_or(|email| email.trim().is_empty())
    {
        return Err(Ineligible::NoEmail);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use shared::error::ApiError;

    fn claims(overrides: Value) -> Claims {
        let mut base = json!({
            "sub": "7c1f2e4a-0000-4000-8000-000000000001",
            "role": "authenticated",
            "aud": "authenticated",
            "exp": 1_900_000_000u64,
            "email": "ada@example.com",
            "is_anonymous": false
        });
        for (key, value) in overrides.as_object().unwrap() {
            base[key] = value.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn refusal(overrides: Value) -> (u16, &'static str) {
        answer(&claims(overrides))
    }

    fn answer(claims: &Claims) -> (u16, &'static str) {
        let error = ApiError::from(check(claims).unwrap_err());
        (error.status, error.code)
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_signed_in_user_with_an_email_may_sign_up() {
        assert!(check(&claims(json!({}))).is_ok());
        // Supabase omits is_anonymous in tokens from older sessions.
        let mut older = claims(json!({}));
        older.is_anonymous = None;
        assert!(check(&older).is_ok());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn tokens_of_no_user_are_refused() {
        assert_eq!(refusal(json!({ "sub": "" })), (403, "user_token_required"));
        assert_eq!(
            refusal(json!({ "role": "anon" })),
            (403, "user_token_required")
        );
        assert_eq!(
            refusal(json!({ "role": "service_role" })),
            (403, "user_token_required")
        );
        let mut no_role = claims(json!({}));
        no_role.role = None;
        assert_eq!(answer(&no_role).1, "user_token_required");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn anonymous_users_are_refused_with_or_without_an_email() {
        assert_eq!(
            refusal(json!({ "is_anonymous": true, "email": "" })),
            (403, "anonymous_not_allowed")
        );
        assert_eq!(
            refusal(json!({ "is_anonymous": true })),
            (403, "anonymous_not_allowed")
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn tokens_without_an_email_are_refused() {
        assert_eq!(refusal(json!({ "email": "" })), (422, "email_required"));
        assert_eq!(refusal(json!({ "email": "   " })), (422, "email_required"));
        let mut phone_only = claims(json!({ "phone": "+15550100" }));
        phone_only.email = None;
        assert_eq!(answer(&phone_only).1, "email_required");
    }
}
