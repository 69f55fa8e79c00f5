//! Turns a parsed read (select, filters, order, limits, embeds) into SQL over one relation:
//! the projection, WHERE conditions and ORDER BY of a level, with embedded relations as
//! correlated subqueries so each level is filtered, ordered and limited on its own.

use std::collections::{HashMap, HashSet};

use super::sql::{array_literal, ident, qualified, Params};
use crate::error::ApiError;
use crate::request::cast::Cast;
use crate::request::{
    Aggregate, Condition, EmbedPath, Field, IsValue, JsonKey, JsonStep, Operation, OrderTerm,
    QueryParams, SelectItem,
};
use crate::schema::{find_relationship, Cardinality, Column, Relationship, SchemaCache};

/// A relation as a level of the query sees it: its columns and, when it is a real relation,
/// its key for finding relationships.
#[derive(Debug, Clone)]
pub struct RelView<'a> {
    pub key: Option<(String, String)>,
    pub display_name: String,
    pub columns: &'a [Column],
    /// True when the level reads the relation itself, so `qualifier.*` is a row of its type.
    pub whole_rows: bool,
}

/// One output column of a level.
#[derive(Debug, Clone)]
pub struct Projected {
    pub expr: String,
    pub name: String,
    /// A JSON value (an embed, or a to-many spread's array): grouped as `jsonb`, since `json`
    /// has no equality.
    json: bool,
    /// In a to-one spread's level: the aggregate (and the cast after it) that PostgREST applies
    /// in the level the spread joins, not in the spread (`...rel(amount.sum())` sums the parent's
    /// rows). `expr` is then the aggregate's input.
    hoisted: Option<(Aggregate, Option<Cast>)>,
}

impl Projected {
    fn plain(expr: String, name: String) -> Projected {
        Projected {
            expr,
            name,
            json: false,
            hoisted: None,
        }
    }
}

/// The SQL pieces of one level.
#[derive(Debug, Default)]
pub struct Level {
    pub projection: Vec<Projected>,
    pub conditions: Vec<String>,
    pub order: Vec<String>,
    /// The legacy `select=count` form: one row with the number of matching rows.
    pub counts_rows: bool,
    /// Some projection is an aggregate: the level's rows are grouped by `group_by`.
    pub aggregated: bool,
    pub group_by: Vec<String>,
}

impl Level {
    /// The output names, in order.
    pub fn names(&self) -> Vec<String> {
        self.projection.iter().map(|p| p.name.clone()).collect()
    }

    /// ` group by ...` when the level aggregates by some columns, else nothing.
    pub fn group_by_sql(&self) -> String {
        if self.group_by.is_empty() {
            String::new()
        } else {
            format!(" group by {}", self.group_by.join(", "))
        }
    }

    /// The SELECT list: `expr AS "name", ...`, or `null` when nothing is selected.
    pub fn select_list(&self) -> String {
        if self.projection.is_empty() {
            return "null".to_string();
        }
        self.projection
            .iter()
            .map(|p| format!("{} AS {}", p.expr, ident(&p.name)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `count` without parentheses on a relation without such a column: PostgREST's legacy count,
/// still allowed when aggregates are disabled.
fn is_legacy_count(item: &SelectItem, rel: &RelView) -> bool {
    matches!(item, SelectItem::Column { field, cast: None, .. }
        if field.name == "count" && field.json_path.is_empty() && !rel.columns.iter().any(|c| c.name == "count"))
}

pub struct ReadBuilder<'a> {
    pub cache: &'a SchemaCache,
    pub query: &'a QueryParams,
    pub params: Params,
    next_alias: usize,
    seen_embeds: HashSet<EmbedPath>,
    /// For a mutation's returned rows: the filters already chose the rows, so the top level
    /// projects only.
    pub top_level_projection_only: bool,
}

impl<'a> ReadBuilder<'a> {
    pub fn new(cache: &'a SchemaCache, query: &'a QueryParams) -> Self {
        ReadBuilder {
            cache,
            query,
            params: Params::default(),
            next_alias: 0,
            seen_embeds: HashSet::new(),
            top_level_projection_only: false,
        }
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.next_alias += 1;
        ident(&format!("pgrst_{prefix}_{}", self.next_alias))
    }

    /// Builds a level: `items` is that level's select list, `qualifier` the SQL name of its rows.
    pub fn level(
        &mut self,
        rel: &RelView<'a>,
        qualifier: &str,
        items: &[SelectItem],
        path: &EmbedPath,
    ) -> Result<Level, ApiError> {
        self.build_level(rel, qualifier, items, path, false)
    }

    /// `hoisting`: the level is a to-one spread, whose aggregates PostgREST applies in the level
    /// the spread joins (up to the nearest level that is not such a spread); they are returned
    /// unapplied, marked in `Projected::hoisted`.
    fn build_level(
        &mut self,
        rel: &RelView<'a>,
        qualifier: &str,
        items: &[SelectItem],
        path: &EmbedPath,
        hoisting: bool,
    ) -> Result<Level, ApiError> {
        let mut level = Level::default();
        let embeds: Vec<&SelectItem> = items
            .iter()
            .filter(|i| matches!(i, SelectItem::Embed { .. }))
            .collect();
        if items.iter().any(|i| is_legacy_count(i, rel)) {
            if items.len() > 1 {
                return Err(ApiError::new(
                    400,
                    "PGRST123",
                    "Use of aggregate functions is not allowed",
                ));
            }
            let name = match &items[0] {
                SelectItem::Column {
                    alias: Some(alias), ..
                } => alias.clone(),
                _ => "count".to_string(),
            };
            level
                .projection
                .push(Projected::plain("pg_catalog.count(*)".to_string(), name));
            level.counts_rows = true;
        }
        // Spread columns by (embed label, output name), for `order=embed(column)`: ordering by
        // the very expression the level selects (and groups by) keeps an aggregated level valid.
        let mut spread_exprs: HashMap<(String, String), String> = HashMap::new();
        for item in items.iter().filter(|_| !level.counts_rows) {
            match item {
                SelectItem::Star => {
                    for column in rel.columns {
                        level.projection.push(Projected::plain(
                            format!("{qualifier}.{}", ident(&column.name)),
                            column.name.clone(),
                        ));
                    }
                }
                SelectItem::Column {
                    field,
                    alias,
                    cast,
                    aggregate,
                    aggregate_cast,
                } => {
                    let whole_row = field.name == "*" && *aggregate == Some(Aggregate::Count);
                    let mut expr = match (whole_row, hoisting) {
                        (false, _) => self.field_sql(rel, qualifier, field)?,
                        (true, false) => "*".to_string(),
                        // `count()` in a spread counts the parent rows that have a related row:
                        // a value that is null exactly when the spread finds none.
                        (true, true) => "true".to_string(),
                    };
                    if let Some(cast) = cast {
                        expr = format!("({expr})::{}", cast.sql());
                    }
                    let name = match (alias, aggregate) {
                        (Some(alias), _) => alias.clone(),
                        (None, Some(aggregate)) => aggregate.name().to_string(),
                        (None, None) => field.output_name(),
                    };
                    let mut column = Projected::plain(expr, name);
                    if let Some(aggregate) = aggregate {
                        column.hoisted = Some((*aggregate, aggregate_cast.clone()));
                    }
                    level.projection.push(column);
                }
                SelectItem::Embed {
                    children,
                    inner,
                    spread,
                    ..
                } => {
                    let label = item.embed_label().unwrap_or_default().to_string();
                    let mut child_path = path.clone();
                    child_path.push(label.clone());
                    self.seen_embeds.insert(child_path.clone());
                    let embed = self.embed(rel, qualifier, item, &child_path)?;
                    if *spread {
                        for column in embed.spread_columns {
                            if column.hoisted.is_none() {
                                spread_exprs.insert(
                                    (label.clone(), column.name.clone()),
                                    column.expr.clone(),
                                );
                            }
                            level.projection.push(column);
                        }
                    } else if !children.is_empty() {
                        level.projection.push(Projected {
                            json: true,
                            ..Projected::plain(embed.value_sql, label)
                        });
                    }
                    if *inner {
                        level.conditions.push(embed.exists_sql.clone());
                    }
                }
            }
        }
        if !hoisting {
            apply_aggregates(&mut level);
        }
        if path.is_empty() && self.top_level_projection_only {
            return Ok(level);
        }
        for (cond_path, condition) in &self.query.conditions {
            if cond_path != path {
                continue;
            }
            let sql = self.condition_sql(rel, qualifier, condition, &embeds, path)?;
            level.conditions.push(sql);
        }
        if let Some(terms) = self.query.orders.get(path).filter(|_| !level.counts_rows) {
            for term in terms {
                let sql = self.order_sql(rel, qualifier, term, &embeds, &spread_exprs)?;
                level.order.push(sql);
            }
        }
        Ok(level)
    }

    /// Every filter, order and limit must address an embed that the select actually has.
    pub fn check_embed_paths(&self) -> Result<(), ApiError> {
        let paths = self
            .query
            .conditions
            .iter()
            .map(|(p, _)| p)
            .chain(self.query.orders.keys())
            .chain(self.query.limits.keys())
            .chain(self.query.offsets.keys());
        for path in paths {
            if !path.is_empty() && !self.seen_embeds.contains(path) {
                let name = path.join(".");
                return Err(ApiError::new(
                    400,
                    "PGRST108",
                    format!("'{name}' is not an embedded resource in this request"),
                )
                .with_hint(format!(
                    "Verify that '{name}' is included in the 'select' query parameter."
                )));
            }
        }
        Ok(())
    }

    pub fn field_sql(
        &mut self,
        rel: &RelView,
        qualifier: &str,
        field: &Field,
    ) -> Result<String, ApiError> {
        let (mut sql, is_json) =
            if let Some(column) = rel.columns.iter().find(|c| c.name == field.name) {
                (
                    format!("{qualifier}.{}", ident(&field.name)),
                    matches!(column.type_sql.as_str(), "json" | "jsonb"),
                )
            } else if let Some(function) = self.computed_field(rel, &field.name) {
                let call = format!(
                    "{}({qualifier}.*)",
                    qualified(&function.schema, &function.name)
                );
                (call, false)
            } else {
                return Err(ApiError::unknown_column(&rel.display_name, &field.name));
            };
        // As PostgREST: `->`/`->>` read any type but json and jsonb as JSON first (`tags->0` on
        // an array, `title->>0` on text), so a path never fails for want of a JSON operator.
        if !field.json_path.is_empty() && !is_json {
            sql = format!("to_jsonb({sql})");
        }
        for step in &field.json_path {
            let (arrow, key) = match step {
                JsonStep::Arrow(k) => ("->", k),
                JsonStep::DoubleArrow(k) => ("->>", k),
            };
            let key_sql = match key {
                // As PostgREST: the index as written, read as an int (`+0`, `-1`).
                JsonKey::Index(i) => format!("{}::int", self.params.push(i.clone())),
                JsonKey::Key(k) => format!("{}::text", self.params.push(k.clone())),
            };
            sql = format!("{sql}{arrow}{key_sql}");
        }
        Ok(sql)
    }

    /// Computed fields read the whole row, so they exist only where the row is the relation's
    /// own (not a mutation's or function's returned rows).
    fn computed_field(&self, rel: &RelView, name: &str) -> Option<&'a crate::schema::Function> {
        let (schema, table) = rel.key.as_ref()?;
        if !rel.whole_rows {
            return None;
        }
        let table = self.cache.table(schema, table)?;
        self.cache.computed_field(table, name)
    }

    pub fn condition_sql(
        &mut self,
        rel: &RelView<'a>,
        qualifier: &str,
        condition: &Condition,
        embeds: &[&SelectItem],
        path: &EmbedPath,
    ) -> Result<String, ApiError> {
        match condition {
            Condition::Logic {
                and,
                negated,
                children,
            } => {
                if children.is_empty() {
                    let empty = if *and { "true" } else { "false" };
                    return Ok(if *negated {
                        format!("not {empty}")
                    } else {
                        empty.into()
                    });
                }
                let mut parts = Vec::new();
                for child in children {
                    parts.push(self.condition_sql(rel, qualifier, child, embeds, path)?);
                }
                let joined = format!("({})", parts.join(if *and { " and " } else { " or " }));
                Ok(if *negated {
                    format!("not {joined}")
                } else {
                    joined
                })
            }
            Condition::Filter {
                field,
                negated,
                operation,
            } => {
                let is_column = rel.columns.iter().any(|c| c.name == field.name)
                    || self.computed_field(rel, &field.name).is_some();
                if field.json_path.is_empty() && !is_column {
                    if let Some(embed) = embeds
                        .iter()
                        .find(|e| e.embed_label() == Some(field.name.as_str()))
                    {
                        return self
                            .embed_null_filter(rel, qualifier, embed, *negated, operation, path);
                    }
                }
                let lhs = self.field_sql(rel, qualifier, field)?;
                let expr = self.operation_sql(&lhs, operation);
                Ok(if *negated {
                    format!("not ({expr})")
                } else {
                    expr
                })
            }
        }
    }

    fn operation_sql(&mut self, lhs: &str, operation: &Operation) -> String {
        match operation {
            Operation::Compare { op, value } => {
                format!("{lhs} {} {}", op.sql(), self.params.push(value.clone()))
            }
            Operation::Quantified {
                op,
                all,
                array_literal,
            } => format!(
                "{lhs} {} {}({})",
                op.sql(),
                if *all { "all" } else { "any" },
                self.params.push(array_literal.clone())
            ),
            Operation::In(values) => {
                format!("{lhs} = any({})", self.params.push(array_literal(values)))
            }
            Operation::Is(v) => format!(
                "{lhs} is {}",
                match v {
                    IsValue::Null => "null",
                    IsValue::NotNull => "not null",
                    IsValue::True => "true",
                    IsValue::False => "false",
                    IsValue::Unknown => "unknown",
                }
            ),
            Operation::Fts {
                kind,
                language,
                value,
            } => {
                let value = self.params.push(value.clone());
                match language {
                    Some(lang) => {
                        let lang = self.params.push(lang.clone());
                        format!("{lhs} @@ {}({lang}::regconfig, {value})", kind.function())
                    }
                    None => format!("{lhs} @@ {}({value})", kind.function()),
                }
            }
        }
    }

    /// `?embed=is.null` / `?embed=not.is.null`: keep rows without / with a related row.
    fn embed_null_filter(
        &mut self,
        rel: &RelView<'a>,
        qualifier: &str,
        embed: &SelectItem,
        negated: bool,
        operation: &Operation,
        path: &EmbedPath,
    ) -> Result<String, ApiError> {
        let label = embed.embed_label().unwrap_or_default().to_string();
        let wants_present = match operation {
            Operation::Is(IsValue::Null) => negated,
            Operation::Is(IsValue::NotNull) => !negated,
            _ => {
                return Err(ApiError::new(
                    400,
                    "PGRST120",
                    format!("Bad operator on the '{label}' embedded resource"),
                )
                .with_details(
                    "Only is null or not is null filters are allowed on embedded resources",
                ))
            }
        };
        let mut child_path = path.clone();
        child_path.push(label);
        let built = self.embed(rel, qualifier, embed, &child_path)?;
        Ok(if wants_present {
            built.exists_sql
        } else {
            format!("not {}", built.exists_sql)
        })
    }

    fn order_sql(
        &mut self,
        rel: &RelView<'a>,
        qualifier: &str,
        term: &OrderTerm,
        embeds: &[&SelectItem],
        spread_exprs: &HashMap<(String, String), String>,
    ) -> Result<String, ApiError> {
        let selected_by_spread = term.relation.as_ref().and_then(|label| {
            spread_exprs
                .get(&(label.clone(), term.field.name.clone()))
                .filter(|_| term.field.json_path.is_empty())
        });
        let expr = match (&term.relation, selected_by_spread) {
            (None, _) => self.field_sql(rel, qualifier, &term.field)?,
            (Some(_), Some(expr)) => expr.clone(),
            (Some(label), None) => {
                let Some(embed) = embeds
                    .iter()
                    .find(|e| e.embed_label() == Some(label.as_str()))
                else {
                    return Err(ApiError::new(
                        400,
                        "PGRST108",
                        format!("'{label}' is not an embedded resource in this request"),
                    )
                    .with_hint(format!(
                        "Verify that '{label}' is included in the 'select' query parameter."
                    )));
                };
                let SelectItem::Embed { name, hint, .. } = embed else {
                    unreachable!("filtered to embeds")
                };
                let relationship = self.relationship(rel, name, hint.as_deref())?;
                if !relationship.is_to_one() {
                    return Err(ApiError::new(
                        400,
                        "PGRST118",
                        format!("A related order on '{label}' is not possible"),
                    )
                    .with_details(format!(
                        "'{}' and '{label}' do not form a many-to-one or one-to-one relationship",
                        rel.display_name
                    )));
                }
                let target = self.target_view(&relationship)?;
                let alias = self.alias("order");
                let column = self.field_sql(&target, &alias, &term.field)?;
                let joins = join_conditions(&relationship, qualifier, &alias);
                format!(
                    "(select {column} from {} as {alias} where {})",
                    qualified(&relationship.target.0, &relationship.target.1),
                    joins.join(" and ")
                )
            }
        };
        let mut sql = expr;
        match term.descending {
            Some(true) => sql.push_str(" desc"),
            Some(false) => sql.push_str(" asc"),
            None => {}
        }
        match term.nulls_first {
            Some(true) => sql.push_str(" nulls first"),
            Some(false) => sql.push_str(" nulls last"),
            None => {}
        }
        Ok(sql)
    }

    fn relationship(
        &self,
        rel: &RelView,
        name: &str,
        hint: Option<&str>,
    ) -> Result<Relationship, ApiError> {
        let Some(origin) = &rel.key else {
            return Err(ApiError::new(
                400,
                "PGRST200",
                format!(
                    "Could not find a relationship between '{}' and '{name}' in the schema cache",
                    rel.display_name
                ),
            ));
        };
        find_relationship(self.cache, origin, name, hint)
    }

    fn target_view(&self, relationship: &Relationship) -> Result<RelView<'a>, ApiError> {
        let table = self
            .cache
            .table(&relationship.target.0, &relationship.target.1)
            .ok_or_else(|| {
                ApiError::internal("relationship target vanished from the schema cache")
            })?;
        Ok(RelView {
            key: Some(relationship.target.clone()),
            display_name: table.name.clone(),
            columns: &table.columns,
            whole_rows: true,
        })
    }

    fn embed(
        &mut self,
        rel: &RelView<'a>,
        qualifier: &str,
        item: &SelectItem,
        path: &EmbedPath,
    ) -> Result<BuiltEmbed, ApiError> {
        let SelectItem::Embed {
            name,
            hint,
            children,
            spread,
            ..
        } = item
        else {
            return Err(ApiError::internal("embed() called on a column"));
        };
        let relationship = self.relationship(rel, name, hint.as_deref())?;
        let target = self.target_view(&relationship)?;
        let alias = self.alias(name);
        let to_one_spread = *spread && relationship.is_to_one();
        let mut child = self.build_level(&target, &alias, children, path, to_one_spread)?;
        if *spread && child.aggregated {
            // PostgREST v14 hoists aggregates out of to-one spreads only.
            return Err(ApiError::not_implemented(
                "Aggregates are not implemented for one-to-many or many-to-many spreads.",
            ));
        }
        let mut conditions = join_conditions(&relationship, qualifier, &alias);
        if let Cardinality::ManyToMany {
            junction,
            origin_pairs,
            target_pairs,
            ..
        } = &relationship.cardinality
        {
            let junction_alias = self.alias("junction");
            let mut links: Vec<String> = origin_pairs
                .iter()
                .map(|(j, o)| format!("{junction_alias}.{} = {qualifier}.{}", ident(j), ident(o)))
                .collect();
            links.extend(
                target_pairs
                    .iter()
                    .map(|(j, t)| format!("{junction_alias}.{} = {alias}.{}", ident(j), ident(t))),
            );
            conditions.push(format!(
                "exists (select 1 from {} as {junction_alias} where {})",
                qualified(&junction.0, &junction.1),
                links.join(" and ")
            ));
        }
        conditions.append(&mut child.conditions);
        let from = format!(
            "{} as {alias}",
            qualified(&relationship.target.0, &relationship.target.1)
        );
        let where_sql = if conditions.is_empty() {
            "true".to_string()
        } else {
            conditions.join(" and ")
        };
        let exists_sql = format!("exists (select 1 from {from} where {where_sql})");
        let row_alias = self.alias("row");
        let projection = child.select_list();
        let group_by = child.group_by_sql();
        if relationship.is_to_one() {
            let value_sql = format!(
                "(select row_to_json({row_alias}) from (select {projection} from {from} where {where_sql}{group_by} limit 1) as {row_alias})"
            );
            // A to-one spread's columns join the parent row; an aggregate among them stays
            // marked, to be applied in the level that receives it.
            let spread_columns = if *spread {
                child
                    .projection
                    .into_iter()
                    .map(|column| Projected {
                        expr: format!(
                            "(select {} from {from} where {where_sql} limit 1)",
                            column.expr
                        ),
                        ..column
                    })
                    .collect()
            } else {
                Vec::new()
            };
            return Ok(BuiltEmbed {
                value_sql,
                exists_sql,
                spread_columns,
            });
        }
        let mut inner = format!("select {projection} from {from} where {where_sql}{group_by}");
        if !child.counts_rows {
            if !child.order.is_empty() {
                inner.push_str(&format!(" order by {}", child.order.join(", ")));
            }
            if let Some(limit) = self.query.limits.get(path) {
                inner.push_str(&format!(" limit {}", self.params.push(limit.to_string())));
            }
            if let Some(offset) = self.query.offsets.get(path) {
                inner.push_str(&format!(" offset {}", self.params.push(offset.to_string())));
            }
        }
        if *spread {
            // A spread to-many relationship (PostgREST v13+): each of its columns becomes an
            // array of that column's values, in the embed's order.
            let spread_columns = child
                .projection
                .iter()
                .map(|column| Projected {
                    json: true,
                    ..Projected::plain(
                        format!("(select coalesce(json_agg({row_alias}.{}), '[]') from ({inner}) as {row_alias})", ident(&column.name)),
                        column.name.clone(),
                    )
                })
                .collect();
            return Ok(BuiltEmbed {
                value_sql: String::new(),
                exists_sql,
                spread_columns,
            });
        }
        let value_sql =
            format!("(select coalesce(json_agg({row_alias}), '[]') from ({inner}) as {row_alias})");
        Ok(BuiltEmbed {
            value_sql,
            exists_sql,
            spread_columns: Vec::new(),
        })
    }
}

/// Applies the level's aggregates (its own, and those its to-one spreads hoisted up to it) and,
/// when there are any, groups by every other column, as PostgREST's automatic `GROUP BY` does:
/// plain and spread columns as they are, embedded resources by their JSON value (as `jsonb`).
fn apply_aggregates(level: &mut Level) {
    level.aggregated = level.projection.iter().any(|c| c.hoisted.is_some());
    if !level.aggregated {
        return;
    }
    for column in &mut level.projection {
        match column.hoisted.take() {
            Some((aggregate, cast)) => {
                column.expr = format!("pg_catalog.{}({})", aggregate.name(), column.expr);
                if let Some(cast) = cast {
                    column.expr = format!("({})::{}", column.expr, cast.sql());
                }
            }
            None => {
                if column.json {
                    column.expr = format!("({})::jsonb", column.expr);
                }
                if !level.group_by.contains(&column.expr) {
                    level.group_by.push(column.expr.clone());
                }
            }
        }
    }
}

struct BuiltEmbed {
    value_sql: String,
    exists_sql: String,
    /// For a spread embed: the related row's columns as scalar subqueries.
    spread_columns: Vec<Projected>,
}

fn join_conditions(relationship: &Relationship, origin: &str, target: &str) -> Vec<String> {
    relationship
        .pairs
        .iter()
        .map(|(o, t)| format!("{target}.{} = {origin}.{}", ident(t), ident(o)))
        .collect()
}
