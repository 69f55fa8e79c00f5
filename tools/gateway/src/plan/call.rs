//! Function calls (`/rpc/name`): choosing the overload, passing arguments through
//! `json_to_record` so Postgres converts them to the declared types, and reading the result
//! like a relation (filters, order and limits apply to set-returning functions).

use super::read::{ReadBuilder, RelView};
use super::sql::{ident, qualified};
use super::{body_sql, window_sql, BodyShape, ReadPlan, Statement, RESPONSE_GUCS};
use crate::error::ApiError;
use crate::request::media::Media;
use crate::request::range::RowWindow;
use crate::request::QueryParams;
use crate::schema::{Function, ReturnShape, SchemaCache};

pub enum CallArgs {
    /// A JSON object of named arguments (from a POST body or GET query parameters).
    Named { json: String, names: Vec<String> },
    /// The whole body for a function with one unnamed json/jsonb parameter.
    WholeBody(String),
}

/// Picks the overload PostgREST would: all required parameters given and, for POST, every
/// given key a parameter. GET may carry filters too, so extra keys are allowed there.
pub fn choose_function<'f>(
    candidates: &'f [Function],
    schema: &str,
    name: &str,
    keys: &[String],
    keys_must_all_match: bool,
    body_is_json: bool,
) -> Result<&'f Function, ApiError> {
    let matching: Vec<&Function> = candidates
        .iter()
        .filter(|f| !f.takes_whole_body())
        .filter(|f| f.required_params().iter().all(|p| keys.contains(&p.name)))
        .filter(|f| {
            !keys_must_all_match || keys.iter().all(|k| f.params.iter().any(|p| &p.name == k))
        })
        .collect();
    let best = matching
        .iter()
        .map(|f| f.params.iter().filter(|p| keys.contains(&p.name)).count())
        .max();
    let mut best_matches: Vec<&Function> = matching
        .into_iter()
        .filter(|f| Some(f.params.iter().filter(|p| keys.contains(&p.name)).count()) == best)
        .collect();
    if best_matches.is_empty() && body_is_json {
        best_matches = candidates.iter().filter(|f| f.takes_whole_body()).collect();
    }
    match best_matches.len() {
        1 => Ok(best_matches[0]),
        0 => {
            let params = if keys.is_empty() {
                String::new()
            } else {
                format!("({})", keys.join(", "))
            };
            let searched = if keys.is_empty() {
                " without parameters".to_string()
            } else {
                format!(
                    " with parameter{} {}",
                    if keys.len() > 1 { "s" } else { "" },
                    keys.join(", ")
                )
            };
            let json_note = if body_is_json {
                " or with a single unnamed json/jsonb parameter"
            } else {
                ""
            };
            Err(ApiError::new(404, "PGRST202", format!(
                "Could not find the function {schema}.{name}{} in the schema cache",
                if keys.is_empty() { " without parameters".to_string() } else { params }
            ))
            .with_details(format!(
                "Searched for the function {schema}.{name}{searched}{json_note}, but no matches were found in the schema cache."
            )))
        }
        _ => {
            let listed: Vec<String> = best_matches
                .iter()
                .map(|f| {
                    let ps: Vec<String> = f
                        .params
                        .iter()
                        .map(|p| format!("{} => {}", p.name, p.type_sql))
                        .collect();
                    format!("{schema}.{name}({})", ps.join(", "))
                })
                .collect();
            Err(ApiError::new(300, "PGRST203", format!("Could not choose the best candidate function between: {}", listed.join(", ")))
                .with_hint("Try renaming the parameters or the function itself in the database so function overloading can be resolved"))
        }
    }
}

pub struct CallOptions<'a> {
    pub query: &'a QueryParams,
    pub window: RowWindow,
    pub media: Media,
    /// Count every row (`exact` and `estimated`; PostgREST has no estimate for calls).
    pub exact_count: bool,
}

pub fn call(
    cache: &SchemaCache,
    function: &Function,
    args: &CallArgs,
    options: &CallOptions,
) -> Result<ReadPlan, ApiError> {
    if function.returns == ReturnShape::UntypedRecord {
        return Err(ApiError::not_implemented(format!(
            "{}.{} returns an untyped record; declare OUT parameters or RETURNS TABLE to call it through this gateway",
            function.schema, function.name
        )));
    }
    let mut builder = ReadBuilder::new(cache, options.query);
    let target = qualified(&function.schema, &function.name);
    let (from, call_args) = match args {
        CallArgs::WholeBody(body) => {
            let p = builder.params.push(body.clone());
            (
                String::new(),
                format!("{p}::{}", function.params[0].type_sql),
            )
        }
        CallArgs::Named { json, names } => {
            let given: Vec<_> = function
                .params
                .iter()
                .filter(|p| names.contains(&p.name))
                .collect();
            if given.is_empty() {
                (String::new(), String::new())
            } else {
                let p = builder.params.push(json.clone());
                let definitions: Vec<String> = given
                    .iter()
                    .map(|a| format!("{} {}", ident(&a.name), a.type_sql))
                    .collect();
                let passed: Vec<String> = given
                    .iter()
                    .map(|a| {
                        format!(
                            "{}{} := pgrst_args.{}",
                            if a.variadic { "variadic " } else { "" },
                            ident(&a.name),
                            ident(&a.name)
                        )
                    })
                    .collect();
                (
                    format!(
                        "json_to_record({p}::json) as pgrst_args({}) cross join lateral ",
                        definitions.join(", ")
                    ),
                    passed.join(", "),
                )
            }
        }
    };
    let scalar = matches!(
        function.returns,
        ReturnShape::Scalar | ReturnShape::SetOfScalar | ReturnShape::Void
    );
    let call_alias = if scalar {
        "pgrst_call(pgrst_scalar)"
    } else {
        "pgrst_call"
    };
    let source = format!("select pgrst_call.* from {from}{target}({call_args}) as {call_alias}");

    let no_columns = Vec::new();
    let rel = RelView {
        key: function.result_relation.clone().filter(|_| !scalar),
        display_name: function.name.clone(),
        columns: if scalar {
            &no_columns
        } else {
            &function.result_columns
        },
        whole_rows: false,
    };
    let level = builder.level(
        &rel,
        "pgrst_source",
        if scalar { &[] } else { &options.query.select },
        &Vec::new(),
    )?;
    builder.check_embed_paths()?;
    let projection = if scalar {
        "pgrst_source.pgrst_scalar".to_string()
    } else {
        level.select_list()
    };
    let columns = if scalar {
        vec![function.name.clone()]
    } else {
        level.names()
    };
    let where_sql = if level.conditions.is_empty() {
        String::new()
    } else {
        format!(" where {}", level.conditions.join(" and "))
    };
    let mut select = format!(
        "select {projection} from pgrst_source{where_sql}{}",
        level.group_by_sql()
    );
    if !level.order.is_empty() {
        select.push_str(&format!(" order by {}", level.order.join(", ")));
    }
    select.push_str(&window_sql(&mut builder.params, &options.window));
    let shape = match function.returns {
        ReturnShape::Void => BodyShape::Nothing,
        ReturnShape::Scalar => BodyShape::Scalar,
        ReturnShape::SetOfScalar => BodyShape::SetOfScalar,
        ReturnShape::SingleComposite => BodyShape::SingleRow,
        ReturnShape::SetOfComposite | ReturnShape::UntypedRecord => BodyShape::Rows,
    };
    let count_sql = if options.exact_count {
        format!("(select pg_catalog.count(*) from pgrst_source{where_sql})")
    } else {
        "null".to_string()
    };
    let sql = format!(
        "with pgrst_source as ({source}) select {count_sql}::int8 as total, pg_catalog.count(_postgrest_t)::int8 as page_total, {} as body, null::text[] as location, null::int8 as inserted, {RESPONSE_GUCS} from ({select}) _postgrest_t",
        body_sql(shape, options.media, &mut builder.params, &columns)
    );
    Ok(ReadPlan {
        statement: Statement::finish(&builder.params, &sql),
        explain: None,
    })
}
