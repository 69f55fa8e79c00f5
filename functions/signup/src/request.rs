//! The sign-up body: what a client may send, checked field by field, and the arguments of the
//! `create_profile_on_signup` RPC built from it.
//!
//! The body is read as a JSON object and every key is examined before any value: `email` and
//! `role` are refused with a message saying why (the email comes from the verified token; a
//! role is never chosen by the client), and any other key not in [`FIELDS`] is refused naming
//! it. Each value must have its JSON type (`null` means "not sent") and pass its rule from
//! [`crate::validate`]. Every refusal is an [`InvalidField`] naming the field, answered as a
//! 400 `invalid_field` whose `details.field` names it, so a form can show the message next to it.

use crate::error::{FieldProblem, InvalidField};
use crate::validate;
use serde_json::{Map, Value};

/// The keys a sign-up body may contain, all optional.
pub const FIELDS: [&str; 5] = [
    "full_name",
    "avatar_url",
    "workspace_name",
    "timezone",
    "marketing_opt_in",
];

/// A validated sign-up request; `None` means "not sent".
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SignupRequest {
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    pub workspace_name: Option<String>,
    pub timezone: Option<String>,
    pub marketing_opt_in: Option<bool>,
}

impl SignupRequest {
    /// Checks a decoded body. `None` (no body, an empty body or `null`) asks for the defaults.
    pub fn from_body(body: Option<Map<String, Value>>) -> Result<SignupRequest, InvalidField> {
        let Some(fields) = body else {
            return Ok(SignupRequest::default());
        };
        refuse_foreign_keys(&fields)?;
        Ok(SignupRequest {
            full_name: text(&fields, "full_name", validate::name)?,
            avatar_url: text(&fields, "avatar_url", validate::avatar_url)?,
            workspace_name: text(&fields, "workspace_name", validate::name)?,
            timezone: text(&fields, "timezone", validate::timezone)?,
            marketing_opt_in: boolean(&fields, "marketing_opt_in")?,
        })
    }

    /// The RPC's named arguments. Fields not sent are left out, so the SQL function's own
    /// defaults and fallbacks apply (`user_metadata.full_name` for the name, the email's local
    /// part for the workspace name, marketing off).
    pub fn rpc_arguments(&self) -> Value {
        let texts = [
            ("full_name", &self.full_name),
            ("avatar_url", &self.avatar_url),
            ("workspace_name", &self.workspace_name),
            ("timezone", &self.timezone),
        ];
        let mut arguments: Map<String, Value> = texts
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_string(), Value::String(value.clone()?))))
            .collect();
        if let Some(opt_in) = self.marketing_opt_in {
            arguments.insert("marketing_opt_in".to_string(), Value::Bool(opt_in));
        }
        Value::Object(arguments)
    }
}

/// `email` and `role` first, with their own explanations, then anything else unknown.
fn refuse_foreign_keys(fields: &Map<String, Value>) -> Result<(), InvalidField> {
    let refused = if fields.contains_key("email") {
        Some(("email", FieldProblem::EmailFromToken))
    } else if fields.contains_key("role") {
        Some(("role", FieldProblem::RoleNotSettable))
    } else {
        fields
            .keys()
            .find(|key| !FIELDS.contains(&key.as_str()))
            .map(|unknown| (unknown.as_str(), FieldProblem::Unknown))
    };
    match refused {
        Some((field, problem)) => Err(invalid(field, problem)),
        None => Ok(()),
    }
}

fn text(
    fields: &Map<String, Value>,
    field: &'static str,
    rule: fn(&str) -> Result<String, String>,
) -> Result<Option<String>, InvalidField> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(raw)) => rule(raw)
            .map(Some)
            .map_err(|problem| invalid(field, FieldProblem::Rule(problem))),
        Some(other) => Err(wrong_type(field, "a string", other)),
    }
}

fn boolean(fields: &Map<String, Value>, field: &'static str) -> Result<Option<bool>, InvalidField> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(other) => Err(wrong_type(field, "true or false", other)),
    }
}

fn wrong_type(field: &str, expected: &'static str, got: &Value) -> InvalidField {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    invalid(field, FieldProblem::WrongType { expected, got })
}

fn invalid(field: &str, problem: FieldProblem) -> InvalidField {
    InvalidField {
        field: field.to_string(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::error::ApiError;

    fn parse(body: Value) -> Result<SignupRequest, ApiError> {
        match body {
            Value::Object(fields) => Ok(SignupRequest::from_body(Some(fields))?),
            other => panic!("test bodies are objects, got {other}"),
        }
    }

    fn refused_field(body: Value) -> (String, String) {
        let error = parse(body).unwrap_err();
        assert_eq!((error.status, error.code), (400, "invalid_field"));
        let field = error.details.as_ref().unwrap()["field"]
            .as_str()
            .unwrap()
            .to_string();
        (field, error.message)
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn no_body_asks_for_the_defaults_and_sends_no_arguments() {
        let request = SignupRequest::from_body(None).unwrap();
        assert_eq!(request, SignupRequest::default());
        assert_eq!(request.rpc_arguments(), json!({}));
        assert_eq!(parse(json!({})).unwrap().rpc_arguments(), json!({}));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_field_is_validated_and_passed_on() {
        let request = parse(json!({
            "full_name": "  Ada Lovelace ",
            "avatar_url": "https://cdn.example.com/ada.png",
            "workspace_name": "Analytical Engines",
            "timezone": "Europe/London",
            "marketing_opt_in": true
        }))
        .unwrap();
        assert_eq!(
            request.rpc_arguments(),
            json!({
                "full_name": "Ada Lovelace",
                "avatar_url": "https://cdn.example.com/ada.png",
                "workspace_name": "Analytical Engines",
                "timezone": "Europe/London",
                "marketing_opt_in": true
            })
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn null_means_not_sent() {
        let request =
            parse(json!({ "full_name": null, "marketing_opt_in": null, "timezone": "UTC" }))
                .unwrap();
        assert_eq!(request.rpc_arguments(), json!({ "timezone": "UTC" }));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn email_and_role_are_refused_with_their_reason() {
        let (field, message) =
            refused_field(json!({ "full_name": "Ada", "email": "boss@example.com" }));
        assert_eq!(field, "email");
        assert!(message.contains("access token"), "{message}");
        let (field, message) = refused_field(json!({ "role": "admin" }));
        assert_eq!(field, "role");
        assert!(message.contains("cannot be set by a client"), "{message}");
        // Even when another unknown key sorts first, the forbidden one is what gets explained.
        let (field, _) = refused_field(json!({ "aaa": 1, "role": "admin" }));
        assert_eq!(field, "role");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn unknown_fields_are_refused_by_name() {
        let (field, message) = refused_field(json!({ "full_name": "Ada", "is_admin": true }));
        assert_eq!(field, "is_admin");
        assert_eq!(
            message,
            "unknown field 'is_admin'; the accepted fields are full_name, avatar_url, workspace_name, timezone, marketing_opt_in"
        );
        // Field names are case-sensitive: `Full_Name` is not `full_name`.
        assert_eq!(refused_field(json!({ "Full_Name": "Ada" })).0, "Full_Name");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn wrong_types_name_the_field_and_the_expected_type() {
        assert_eq!(
            refused_field(json!({ "full_name": 42 })),
            (
                "full_name".into(),
                "full_name must be a string, not a number".into()
            )
        );
        assert_eq!(
            refused_field(json!({ "marketing_opt_in": "yes" })),
            (
                "marketing_opt_in".into(),
                "marketing_opt_in must be true or false, not a string".into()
            )
        );
        assert_eq!(refused_field(json!({ "timezone": ["UTC"] })).0, "timezone");
        assert_eq!(refused_field(json!({ "avatar_url": {} })).0, "avatar_url");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn rule_failures_name_the_field_in_details_and_message() {
        assert_eq!(
            refused_field(json!({ "full_name": "   " })),
            ("full_name".into(), "full_name must not be blank".into())
        );
        assert_eq!(
            refused_field(json!({ "workspace_name": "x".repeat(121) })).0,
            "workspace_name"
        );
        assert_eq!(
            refused_field(json!({ "workspace_name": "a\u{0}b" })).0,
            "workspace_name"
        );
        assert_eq!(
            refused_field(json!({ "avatar_url": "http://cdn.example.com/a.png" })),
            (
                "avatar_url".into(),
                "avatar_url must be an https:// URL".into()
            )
        );
        assert_eq!(
            refused_field(json!({ "timezone": "Mars/Olympus Mons" })).0,
            "timezone"
        );
    }
}
