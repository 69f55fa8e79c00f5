//! The root: PostgREST's OpenAPI document of the schema, served (as Supabase now does) only to
//! the roles in `GATEWAY_OPENAPI_ROLES`, and listing only what the role has privileges on.

use serde_json::Value;

use super::Context;
use crate::config::OpenApiMode;
use crate::db;
use crate::error::ApiError;
use crate::openapi::{self, Privileges};
use crate::plan::sql::{array_literal, qualified, Params};
use crate::plan::{Statement, RESPONSE_GUCS};
use crate::response::Reply;

pub(super) async fn openapi_request(ctx: &Context<'_>) -> Result<Reply, ApiError> {
    let config = &ctx.state.config;
    let method = ctx.request.method.as_str();
    if config.openapi_mode == OpenApiMode::Disabled {
        return Err(ApiError::new(
            404,
            "PGRST126",
            "Root endpoint metadata is disabled",
        ));
    }
    if !matches!(method, "GET" | "HEAD") {
        return Err(ApiError::new(
            405,
            "PGRST117",
            format!("Unsupported HTTP method: {method}"),
        ));
    }
    if !config.openapi_roles.contains(&ctx.identity.role) {
        // Supabase's answer to the anon key since 2026 (changelog 42949); a signed-in user is
        // refused the same way, with PostgREST's 401/403 split for 42501.
        let status = if ctx.identity.authenticated { 403 } else { 401 };
        return Err(
            ApiError::new(status, "42501", "Access to schema is forbidden").with_hint(
                "Accessing the schema via the Data API is only allowed using a secret API key.",
            ),
        );
    }
    let accepted = ctx.request.header("accept").is_none_or(|accept| {
        accept.split(',').any(|entry| {
            let kind = entry
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            matches!(
                kind.as_str(),
                "application/openapi+json" | "application/json" | "application/*" | "*/*"
            )
        })
    });
    if !accepted {
        return Err(ApiError::new(
            406,
            "PGRST107",
            format!(
                "None of these media types are available: {}",
                ctx.request.header("accept").unwrap_or_default()
            ),
        ));
    }
    let privileges = match config.openapi_mode {
        OpenApiMode::IgnorePrivileges => everything(ctx),
        _ => privileges_of_role(ctx).await?,
    };
    let document = openapi::document(
        &ctx.cache,
        &ctx.schema,
        &privileges,
        ctx.request.header("host"),
        &config.base_path,
    );
    let mut reply =
        Reply::new(200).header("Content-Type", "application/openapi+json; charset=utf-8");
    if method != "HEAD" {
        reply.body = document.to_string();
    }
    Ok(reply)
}

fn everything(ctx: &Context) -> Privileges {
    Privileges {
        relations: ctx
            .cache
            .tables
            .values()
            .filter(|t| t.schema == ctx.schema)
            .map(|t| (t.name.clone(), true, true, true, true))
            .collect(),
        functions: function_signatures(ctx),
    }
}

/// The signatures of every function in the request's schema.
fn function_signatures(ctx: &Context) -> Vec<String> {
    ctx.cache
        .functions
        .values()
        .flatten()
        .filter(|f| f.schema == ctx.schema)
        .map(openapi::signature)
        .collect()
}

/// Asks Postgres, as the request's role, what it may do with each relation and function.
async fn privileges_of_role(ctx: &Context<'_>) -> Result<Privileges, ApiError> {
    let relations: Vec<(String, String)> = ctx
        .cache
        .tables
        .values()
        .filter(|t| t.schema == ctx.schema)
        .map(|t| (t.name.clone(), qualified(&t.schema, &t.name)))
        .collect();
    let signatures = function_signatures(ctx);
    let mut params = Params::default();
    let names = params.push(array_literal(
        &relations.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
    ));
    let qualified_names = params.push(array_literal(
        &relations.iter().map(|(_, q)| q.clone()).collect::<Vec<_>>(),
    ));
    let functions = params.push(array_literal(&signatures));
    let sql = format!(
        "select null::int8 as total, 0::int8 as page_total, json_build_object(\
           'relations', coalesce((select json_agg(json_build_array(r.name, \
              has_any_column_privilege(r.relation, 'SELECT'), has_any_column_privilege(r.relation, 'INSERT'), \
              has_any_column_privilege(r.relation, 'UPDATE'), has_table_privilege(r.relation, 'DELETE'))) \
            from unnest({names}::text[], {qualified_names}::text[]) as r(name, relation)), '[]'), \
           'functions', coalesce((select json_agg(f.signature) from unnest({functions}::text[]) as f(signature) \
            where has_function_privilege(f.signature, 'EXECUTE')), '[]'))::text as body, \
         null::text[] as location, null::int8 as inserted, {RESPONSE_GUCS}"
    );
    let statement = Statement::finish(&params, &sql);
    let checks = db::Checks {
        singular: false,
        max_affected: None,
        commit: !ctx.rollback,
    };
    let outcome = db::run(
        &ctx.state.pool,
        &ctx.state.prepared,
        &ctx.tx_settings(true),
        None,
        &statement,
        checks,
    )
    .await?;
    let parsed: Value = serde_json::from_str(&outcome.body)
        .map_err(|e| ApiError::internal(format!("privileges: {e}")))?;
    let flag = |row: &Value, i: usize| row[i].as_bool().unwrap_or(false);
    Ok(Privileges {
        relations: parsed["relations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                (
                    row[0].as_str().unwrap_or_default().to_string(),
                    flag(row, 1),
                    flag(row, 2),
                    flag(row, 3),
                    flag(row, 4),
                )
            })
            .collect(),
        functions: parsed["functions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect(),
    })
}
