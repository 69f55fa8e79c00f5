//! Function endpoints: `/rpc/<name>` by POST (JSON arguments or the whole body) and GET/HEAD
//! (query-string arguments).

use serde_json::{Map, Value};

use super::{query_pairs, read_reply, Context, Ran};
use crate::error::ApiError;
use crate::plan::call::{self, CallArgs, CallOptions};
use crate::request::media;
use crate::request::prefer::CountPref;
use crate::response::Reply;

const RESERVED_KEYS: &[&str] = &[
    "select",
    "order",
    "limit",
    "offset",
    "or",
    "and",
    "not.or",
    "not.and",
    "columns",
    "on_conflict",
];

pub(super) async fn rpc_request(ctx: &Context<'_>, name: &str) -> Result<Reply, ApiError> {
    let method = ctx.request.method.as_str();
    if !matches!(method, "GET" | "HEAD" | "POST") {
        return Err(ApiError::new(
            405,
            "PGRST101",
            format!("Cannot use the {method} method on RPC"),
        ));
    }
    let candidates = ctx.cache.functions(&ctx.schema, name);
    let pairs = query_pairs(ctx.request);
    let media = ctx.media()?;
    let (function, args, filter_pairs) = if method == "POST" {
        let (payload, text) =
            media::body_as_json(ctx.request.header("content-type"), &ctx.request.body, "{}")?;
        let text = text.as_str();
        let keys: Vec<String> = match &payload {
            Value::Object(o) => o.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let function = call::choose_function(candidates, &ctx.schema, name, &keys, true, true)?;
        let args = if function.takes_whole_body() {
            CallArgs::WholeBody(text.to_string())
        } else if payload.is_object() {
            CallArgs::Named {
                json: text.to_string(),
                names: keys,
            }
        } else {
            return Err(ApiError::not_implemented(
                "calling a function with a JSON array body (bulk call) is not supported",
            ));
        };
        (function, args, pairs)
    } else {
        let mut keys: Vec<String> = Vec::new();
        for (k, _) in &pairs {
            if !RESERVED_KEYS.contains(&k.as_str()) && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        let function = call::choose_function(candidates, &ctx.schema, name, &keys, false, false)?;
        let mut args = Map::new();
        let mut rest = Vec::new();
        for (k, v) in pairs {
            match function.params.iter().find(|p| p.name == k) {
                Some(param) if param.variadic => {
                    let entry = args.entry(k).or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = entry {
                        list.push(Value::String(v));
                    }
                }
                Some(_) => {
                    args.insert(k, Value::String(v));
                }
                None => rest.push((k, v)),
            }
        }
        let names: Vec<String> = args.keys().cloned().collect();
        (
            function,
            CallArgs::Named {
                json: Value::Object(args).to_string(),
                names,
            },
            rest,
        )
    };
    let query = ctx.query(&filter_pairs)?;
    let window = ctx.row_window(&query)?;
    let count = ctx.prefs.count;
    let options = CallOptions {
        query: &query,
        window,
        media,
        // As PostgREST counts calls: `estimated` counts every row too, `planned` gives no total.
        exact_count: matches!(count, Some(CountPref::Exact | CountPref::Estimated)),
    };
    let plan = call::call(&ctx.cache, function, &args, &options)?;
    let read_only = method != "POST" || !function.volatile;
    let max_affected = ctx.strict_max_affected();
    let outcome = match ctx
        .run(
            plan.explain.as_ref(),
            &plan.statement,
            read_only,
            ctx.checks(media, max_affected),
        )
        .await?
    {
        Ran::Outcome(outcome) => outcome,
        Ran::Plan(reply) => return Ok(reply),
    };
    let void = function.returns == crate::schema::ReturnShape::Void;
    let total = outcome.total;
    read_reply(ctx, media, &window, outcome, total, void)
}
