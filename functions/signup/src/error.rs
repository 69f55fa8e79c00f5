//! Why sign-up refuses a request, as values: [`InvalidField`] from [`crate::request`] (a body
//! field) and [`Ineligible`] from [`crate::eligibility`] (the token). Each becomes its one HTTP
//! answer through `From`, as lead-scoring's `InvalidRules` does, so the handlers say `?`.

use crate::request::FIELDS;
use shared::error::ApiError;
use std::fmt;

/// A body field that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub field: String,
    pub problem: FieldProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    /// `email` comes from the verified token, never from the body.
    EmailFromToken,
    /// Every new profile gets the role `user`.
    RoleNotSettable,
    /// Not one of [`FIELDS`].
    Unknown,
    /// The JSON type is not the field's.
    WrongType {
        expected: &'static str,
        got: &'static str,
    },
    /// The value breaks the field's rule in [`crate::validate`]; the text completes
    /// "<field> ...".
    Rule(String),
}

impl fmt::Display for InvalidField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = &self.field;
        match &self.problem {
            FieldProblem::EmailFromToken => f.write_str(
                "email cannot be set here: it is taken from your verified access token; remove it from the body",
            ),
            FieldProblem::RoleNotSettable => f.write_str(
                "role cannot be set by a client: every new profile gets the role 'user'; remove it from the body",
            ),
            FieldProblem::Unknown => write!(
                f,
                "unknown field '{field}'; the accepted fields are {}",
                FIELDS.join(", ")
            ),
            FieldProblem::WrongType { expected, got } => {
                write!(f, "{field} must be {expected}, not {got}")
            }
            FieldProblem::Rule(problem) => write!(f, "{field} {problem}"),
        }
    }
}

impl std::error::Error for InvalidField {}

/// 400 `invalid_field` with `details.field`, so a form can put the message next to the field.
impl From<InvalidField> for ApiError {
    fn from(invalid: InvalidField) -> Self {
        ApiError::invalid_field(&invalid.field, invalid.to_string())
    }
}

/// A token that cannot own a profile (see the table in [`crate::eligibility`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ineligible {
    /// No subject, or a role other than `authenticated` (the anon key, a service token).
    NotAUser,
    /// An anonymous sign-in.
    Anonymous,
    /// No email address, or a blank one.
    NoEmail,
}

impl From<Ineligible> for ApiError {
    fn from(refusal: Ineligible) -> Self {
        match refusal {
            Ineligible::NotAUser => ApiError::new(
                403,
                "user_token_required",
                "sign-up needs a signed-in user's access token (role 'authenticated' with a subject); this token belongs to no user",
            ),
            Ineligible::Anonymous => ApiError::new(
                403,
                "anonymous_not_allowed",
                "anonymous sessions cannot create a profile; add an email to the account (supabase.auth.updateUser({ email })) and call again",
            ),
            // 422 rather than 400: the request is well formed; the account behind the token
            // cannot have a profile until it has an email address.
            Ineligible::NoEmail => ApiError::new(
                422,
                "email_required",
                "the access token carries no email address; a profile needs one, so sign in with an email or add one to the account first",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(field: &str, problem: FieldProblem) -> ApiError {
        InvalidField {
            field: field.to_string(),
            problem,
        }
        .into()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_invalid_field_is_a_400_naming_the_field() {
        let cases = [
            ("email", FieldProblem::EmailFromToken, "email cannot be set here: it is taken from your verified access token; remove it from the body"),
            ("role", FieldProblem::RoleNotSettable, "role cannot be set by a client: every new profile gets the role 'user'; remove it from the body"),
            ("is_admin", FieldProblem::Unknown, "unknown field 'is_admin'; the accepted fields are full_name, avatar_url, workspace_name, timezone, marketing_opt_in"),
            ("full_name", FieldProblem::WrongType { expected: "a string", got: "a number" }, "full_name must be a string, not a number"),
            ("timezone", FieldProblem::Rule("is not a known IANA time zone".into()), "timezone is not a known IANA time zone"),
        ];
        for (field, problem, message) in cases {
            let error = answer(field, problem);
            assert_eq!((error.status, error.code), (400, "invalid_field"));
            assert_eq!(error.message, message);
            assert_eq!(error.details, Some(json!({ "field": field })));
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn each_ineligible_token_has_its_status_and_code() {
        let answers: Vec<(u16, &str)> = [
            Ineligible::NotAUser,
            Ineligible::Anonymous,
            Ineligible::NoEmail,
        ]
        .into_iter()
        .map(|refusal| {
            let error = ApiError::from(refusal);
            (error.status, error.code)
        })
        .collect();
        assert_eq!(
            answers,
            [
                (403, "user_token_required"),
                (403, "anonymous_not_allowed"),
                (422, "email_required")
            ]
        );
    }
}
