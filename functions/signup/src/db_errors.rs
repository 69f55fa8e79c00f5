//! The sign-up RPC's own errors made precise. `shared::db` maps PostgREST's answers in general;
//! for this one function two of them deserve more: a rejected argument (SQLSTATE 22023, whose
//! message starts with the argument's name) becomes a 400 naming that field, like the edge's
//! own validation; a unique violation (23505) can only be another profile holding the token's
//! email, so it says so; an address auth.users has not confirmed (28000 with the message of
//! sql/migrations/0018_confirmed_emails.sql) becomes 403 `email_not_confirmed`, which tells the
//! user what to do. The messages are this module's own: the database's words (which repeat the
//! refused value) stay in the error's cause, for the log.

use crate::request::FIELDS;
use shared::db::database_message;
use shared::error::ApiError;

/// `create_profile_on_signup`'s message for an unconfirmed address (migration 0018).
const UNCONFIRMED_EMAIL: &str = "the token's email address is not confirmed";

pub fn explain(error: ApiError) -> ApiError {
    let db_code = error
        .details
        .as_ref()
        .and_then(|details| details["db_code"].as_str())
        .unwrap_or_default();
    let cause = error.cause.clone().unwrap_or_default();
    let explained = match db_code {
        "22023" => match FIELDS.iter().find(|field| database_message(&error).unwrap_or_default().starts_with(*field)) {
            Some(field) => ApiError::invalid_field(field, refused_field_message(field)),
            None => return error,
        },
        "23505" => ApiError::new(
            409,
            "email_taken",
            "another profile already uses the email address in your token; sign in to that account instead",
        ),
        "28000" if database_message(&error) == Some(UNCONFIRMED_EMAIL) => ApiError::new(
            403,
            "email_not_confirmed",
            "a profile needs a confirmed email address; follow the confirmation link sent to it, sign in again and retry",
        ),
        _ => return error,
    };
    explained.with_cause(cause)
}

/// What the database checks beyond the edge's own validation, per field, without the value.
fn refused_field_message(field: &str) -> String {
    match field {
        "timezone" => "timezone is not a known IANA time zone name; use one such as Europe/Paris or UTC".to_string(),
        other => format!("{other} was refused by the database's checks; see the sign-up documentation for its format"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::db::map_postgrest_error;

    fn postgrest(status: u16, code: &str, message: &str) -> ApiError {
        map_postgrest_error(
            status,
            &json!({ "code": code, "message": message, "details": null, "hint": null }).to_string(),
        )
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_rejected_argument_names_its_field_without_repeating_the_value() {
        let error = explain(postgrest(
            400,
            "22023",
            "timezone Mars/Olympus is not a known IANA time zone",
        ));
        assert_eq!((error.status, error.code), (400, "invalid_field"));
        assert_eq!(error.details.as_ref().unwrap()["field"], "timezone");
        assert!(
            error.message.contains("not a known IANA time zone"),
            "{}",
            error.message
        );
        assert!(
            !error.body("r").to_string().contains("Mars/Olympus"),
            "the refused value is not echoed"
        );
        assert!(
            error.cause.unwrap().contains("Mars/Olympus"),
            "the database's words go to the log"
        );
        let error = explain(postgrest(
            400,
            "22023",
            "full_name must be 1 to 120 characters without control characters",
        ));
        assert_eq!(error.details.unwrap()["field"], "full_name");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_duplicate_email_is_explained_without_the_constraint_name() {
        let error = explain(postgrest(
            409,
            "23505",
            "duplicate key value violates unique constraint \"user_profiles_email_key\"",
        ));
        assert_eq!((error.status, error.code), (409, "email_taken"));
        assert!(!error
            .body("r")
            .to_string()
            .contains("user_profiles_email_key"));
        assert!(error.cause.unwrap().contains("user_profiles_email_key"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn an_unconfirmed_address_says_what_to_do() {
        let error = explain(postgrest(403, "28000", UNCONFIRMED_EMAIL));
        assert_eq!((error.status, error.code), (403, "email_not_confirmed"));
        assert!(
            error.message.contains("confirmation link"),
            "{}",
            error.message
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn other_errors_pass_through_unchanged() {
        let refused = postgrest(403, "28000", "user 7c1f does not exist in auth.users");
        assert_eq!(explain(refused.clone()), refused);
        let unnamed = postgrest(400, "22023", "something else is wrong");
        assert_eq!(explain(unnamed.clone()), unnamed);
        let down = postgrest(503, "", "");
        assert_eq!(explain(down.clone()), down);
    }
}
