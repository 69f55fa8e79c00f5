//! HTTP in and out. `POST` checks who is calling, then the body, then makes one RPC; `GET`
//! reads under the caller's JWT. Every refusal happens before anything is written.

use crate::eligibility;
use crate::request::SignupRequest;
use crate::service;
use serde_json::{Map, Value};
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use worker::{Request, Response};

/// `POST /functions/v1/signup`: 201 with the new profile and workspace, 200 with the existing
/// ones on a repeat.
pub async fn sign_up(mut req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let caller = context.caller(&req).await?;
    eligibility::check(&caller.claims)?;
    let body = http::read_optional_json::<Option<Map<String, Value>>>(&mut req, context).await?;
    let request = SignupRequest::from_body(body)?;
    let outcome = service::sign_up(&context.db_as_caller(&caller)?, &request).await?;
    http::json_response(outcome.status(), &outcome)
}

/// `GET /functions/v1/signup`: the caller's profile and personal workspace, 404 before sign-up.
pub async fn show(req: Request, context: &RequestContext) -> Result<Response, ApiError> {
    let caller = context.caller(&req).await?;
    let user_id = caller.user_id().ok_or_else(no_profile)?;
    let account = service::find(&context.db_as_caller(&caller)?, user_id)
        .await?
        .ok_or_else(no_profile)?;
    http::json_response(200, &account)
}

fn no_profile() -> ApiError {
    ApiError::new(
        404,
        "profile_not_found",
        "you have no profile yet; POST /functions/v1/signup creates it",
    )
}
