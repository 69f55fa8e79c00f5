//! From a parsed request and the schema cache to SQL statements. Every statement returns the
//! same row: total, page total, body, location, inserted count, response headers and status.

pub mod call;
pub mod count;
pub mod mutate;
pub mod read;
pub mod sql;

use crate::error::ApiError;
use crate::request::media::Media;
use crate::request::prefer::CountPref;
use crate::request::range::RowWindow;
use crate::request::QueryParams;
use crate::schema::{SchemaCache, Table};
use read::{ReadBuilder, RelView};
use sql::{qualified, Params};

/// One SQL statement with its text parameters.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Option<String>>,
}

impl Statement {
    pub fn finish(params: &Params, sql: &str) -> Statement {
        let (sql, params) = params.finish(sql);
        Statement { sql, params }
    }
}

/// How the aggregated body is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyShape {
    Rows,
    SingleRow,
    Scalar,
    SetOfScalar,
    Nothing,
}

/// The `body` column: the rows aggregated as the negotiated media type wants them. `columns`
/// names the rows' columns, for the header line of CSV.
pub fn body_sql(shape: BodyShape, media: Media, params: &mut Params, columns: &[String]) -> String {
    if media == Media::Csv && shape != BodyShape::Nothing {
        // As PostgREST: the header (empty when there are no rows), then each row's text form
        // without its parentheses.
        let header = params.push(columns.join(","));
        return format!(
            "(case when pg_catalog.count(_postgrest_t) = 0 then '' else {header}::text end) || E'\\n' || coalesce(string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), E'\\n'), '')"
        );
    }
    if media == Media::GeoJson && shape != BodyShape::Nothing {
        // As PostgREST: PostGIS turns each row into a Feature (its geometry column becomes the
        // geometry, the other columns the properties). The call is unqualified, so PostGIS is
        // found through the request's search_path (PGRST_DB_EXTRA_SEARCH_PATH), as in PostgREST.
        return "json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(ST_AsGeoJSON(_postgrest_t)::json), '[]'))::text".into();
    }
    let strip = |inner: &str| {
        if media.strips_nulls() {
            format!("json_strip_nulls({inner})")
        } else {
            inner.to_string()
        }
    };
    let shape = if media.is_singular() {
        match shape {
            BodyShape::Scalar | BodyShape::SetOfScalar => BodyShape::Scalar,
            BodyShape::Nothing => BodyShape::Nothing,
            _ => BodyShape::SingleRow,
        }
    } else {
        shape
    };
    match shape {
        BodyShape::Rows => format!("coalesce({}, '[]')::text", strip("json_agg(_postgrest_t)")),
        BodyShape::SingleRow => format!(
            "coalesce({}, 'null')::text",
            strip("json_agg(_postgrest_t)->0")
        ),
        BodyShape::Scalar => {
            "coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null')::text".into()
        }
        BodyShape::SetOfScalar => {
            "coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')::text".into()
        }
        BodyShape::Nothing => "''".into(),
    }
}

pub const RESPONSE_GUCS: &str =
    "nullif(current_setting('response.headers', true), '') as response_headers, nullif(current_setting('response.status', true), '') as response_status";

/// `LIMIT`/`OFFSET` for a window, as bind parameters.
pub fn window_sql(params: &mut Params, window: &RowWindow) -> String {
    let mut sql = String::new();
    if let Some(limit) = window.limit {
        sql.push_str(&format!(" limit {}", params.push(limit.to_string())));
    }
    if window.offset > 0 {
        sql.push_str(&format!(
            " offset {}",
            params.push(window.offset.to_string())
        ));
    }
    sql
}

pub struct ReadPlan {
    pub statement: Statement,
    /// `EXPLAIN` of the count query, for planned and estimated counts of table reads.
    pub explain: Option<Statement>,
}

/// GET/HEAD on a table or view.
pub fn read_table(
    cache: &SchemaCache,
    table: &Table,
    query: &QueryParams,
    window: &RowWindow,
    media: Media,
    count: Option<CountPref>,
    max_rows: Option<u64>,
) -> Result<ReadPlan, ApiError> {
    let mut builder = ReadBuilder::new(cache, query);
    let rel = RelView {
        key: Some((table.schema.clone(), table.name.clone())),
        display_name: table.name.clone(),
        columns: &table.columns,
        whole_rows: true,
    };
    let qualifier = qualified(&table.schema, &table.name);
    let level = builder.level(&rel, &qualifier, &query.select, &Vec::new())?;
    builder.check_embed_paths()?;
    let where_sql = if level.conditions.is_empty() {
        String::new()
    } else {
        format!(" where {}", level.conditions.join(" and "))
    };
    let from_where = format!("from {qualifier}{where_sql}");
    let mut source = format!(
        "select {} {from_where}{}",
        level.select_list(),
        level.group_by_sql()
    );
    if !level.order.is_empty() {
        source.push_str(&format!(" order by {}", level.order.join(", ")));
    }
    source.push_str(&window_sql(&mut builder.params, window));
    let (counting, needs_estimate) = count::table_counting(count, max_rows);
    let count_sql = counting.sql(&from_where);
    let sql = format!(
        "with pgrst_source as ({source}) select {count_sql}::int8 as total, pg_catalog.count(_postgrest_t)::int8 as page_total, {} as body, null::text[] as location, null::int8 as inserted, {RESPONSE_GUCS} from (select * from pgrst_source) _postgrest_t",
        body_sql(BodyShape::Rows, media, &mut builder.params, &level.names())
    );
    let explain = needs_estimate.then(|| {
        Statement::finish(
            &builder.params,
            &format!("explain (format json) select 1 {from_where}"),
        )
    });
    Ok(ReadPlan {
        statement: Statement::finish(&builder.params, &sql),
        explain,
    })
}

pub fn projection_or_null(projection: &[String]) -> String {
    if projection.is_empty() {
        "null".to_string()
    } else {
        projection.join(", ")
    }
}
