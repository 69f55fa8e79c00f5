//! The sign-up body (`functions/signup`), read as `POST /signup` reads it: an empty or blank
//! body asks for the defaults, anything else must be a JSON object (or `null`) of known fields.

use serde_json::{Map, Value};
use shared::error::ApiError;
use signup::request::{SignupRequest, FIELDS};
use signup::validate;

pub fn body(data: &[u8]) {
    let decoded = if data.iter().all(u8::is_ascii_whitespace) {
        Ok(None)
    } else {
        shared::http::parse_json::<Option<Map<String, Value>>>(data)
    };
    let request = decoded.and_then(|body| {
        let sent: Vec<String> = body
            .iter()
            .flat_map(|fields| fields.keys().cloned())
            .collect();
        SignupRequest::from_body(body)
            .inspect_err(|refused| {
                assert!(
                    sent.contains(&refused.field),
                    "the refusal names no field of the body: {refused:?}"
                );
            })
            .map_err(ApiError::from)
            .inspect_err(|refused| {
                assert_eq!(
                    (refused.status, refused.code),
                    (400, "invalid_field"),
                    "{refused:?}"
                );
            })
    });
    let Ok(request) = request else {
        return;
    };
    // What is stored passes its own rule unchanged: the edge never normalises a value into
    // one it would refuse, or store something else when it is sent again.
    for (value, rule) in [
        (
            &request.full_name,
            validate::name as fn(&str) -> Result<String, String>,
        ),
        (&request.workspace_name, validate::name),
        (&request.timezone, validate::timezone),
        (&request.avatar_url, validate::avatar_url),
    ] {
        if let Some(value) = value {
            assert_eq!(
                rule(value).as_ref(),
                Ok(value),
                "{value:?} does not validate as itself"
            );
        }
    }
    let arguments = request.rpc_arguments();
    let sent = arguments.as_object().expect("the RPC's named arguments");
    assert!(sent.keys().all(|key| FIELDS.contains(&key.as_str())));
}
