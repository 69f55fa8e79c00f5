//! Reads the schema cache from the Postgres catalogs (one round trip per kind of object).

use std::collections::HashMap;

use tokio_postgres::Client;

use super::views::{BaseForeignKey, ColumnSources};
use super::{Column, ForeignKey, Function, FunctionParam, ReturnShape, SchemaCache, Table};

const RELATIONS: &str = "
select c.oid, n.nspname::text, c.relname::text, c.relkind::text,
  coalesce(array(
    select a.attname::text from pg_constraint p
    cross join lateral unnest(p.conkey) with ordinality k(attnum, ord)
    join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
    where p.conrelid = c.oid and p.contype = 'p' order by k.ord), '{}') as pk,
  c.reltype
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = any($1) and c.relkind in ('r', 'v', 'm', 'f', 'p')";

const COLUMNS: &str = "
select a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod),
  case when a.attgenerated = '' then pg_get_expr(d.adbin, d.adrelid) end, a.attnotnull
from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
where a.attrelid = any($1) and a.attnum > 0 and not a.attisdropped
order by a.attrelid, a.attnum";

const UNIQUE_KEYS: &str = "
select c.conrelid, array(
    select a.attname::text from unnest(c.conkey) with ordinality k(attnum, ord)
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum order by k.ord),
  c.contype = 'p'
from pg_constraint c where c.contype in ('p', 'u') and c.conrelid = any($1)";

const VIEW_QUERIES: &str = "
select c.oid, r.ev_action::text
from pg_class c join pg_rewrite r on r.ev_class = c.oid and r.rulename = '_RETURN'
where c.oid = any($1) and c.relkind in ('v', 'm')";

const ATTRIBUTES: &str = "
select attrelid, attnum, attname::text from pg_attribute
where attrelid = any($1) and attnum > 0 and not attisdropped";

const FOREIGN_KEYS: &str = "
select c.conname::text, c.conrelid, c.confrelid,
  array(select a.attname::text from unnest(c.conkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum order by k.ord),
  array(select a.attname::text from unnest(c.confkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum order by k.ord)
from pg_constraint c
where c.contype = 'f' and c.conrelid = any($1) and c.confrelid = any($1)
order by c.conname";

const LEAF_RELATION_KINDS: [char; 2] = ['r', 'p'];

const FUNCTIONS: &str = "
select n.nspname::text, p.proname::text,
  coalesce(p.proargnames, '{}')::text[],
  coalesce(p.proargmodes::text[], '{}'),
  array(select format_type(t, null) from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality u(t, ord) order by ord),
  p.pronargdefaults::int4, p.proretset, p.prorettype = 'void'::regtype, t.typtype::text,
  t.typrelid, p.prorettype = 'record'::regtype, p.provolatile::text,
  rn.nspname::text, rc.relname::text,
  coalesce(p.proallargtypes, p.proargtypes::oid[])
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
join pg_type t on t.oid = p.prorettype
left join pg_class rc on rc.oid = t.typrelid
left join pg_namespace rn on rn.oid = rc.relnamespace
where n.nspname = any($1) and p.prokind = 'f'";

const ROLE_SETTINGS: &str = "
select r.rolname::text, split_part(cfg, '=', 1), substr(cfg, strpos(cfg, '=') + 1)
from pg_db_role_setting s
join pg_roles r on r.oid = s.setrole
cross join lateral unnest(s.setconfig) cfg
join pg_settings ps on ps.name = split_part(cfg, '=', 1) and ps.context = 'user'
where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
order by s.setdatabase";

const TIMEZONES: &str = "select name from pg_timezone_names";

pub async fn load(
    client: &Client,
    schemas: &[String],
) -> Result<SchemaCache, tokio_postgres::Error> {
    let mut cache = SchemaCache::default();
    let mut by_oid: HashMap<u32, (String, String)> = HashMap::new();
    for row in client.query(RELATIONS, &[&schemas]).await? {
        let oid: u32 = row.get(0);
        let key = (row.get::<_, String>(1), row.get::<_, String>(2));
        let kind: String = row.get(3);
        by_oid.insert(oid, key.clone());
        cache.tables.insert(
            key.clone(),
            Table {
                schema: key.0,
                name: key.1,
                kind: kind.chars().next().unwrap_or('r'),
                columns: Vec::new(),
                primary_key: row.get(4),
                row_type: row.get(5),
                unique_keys: Vec::new(),
            },
        );
    }
    let mut oids: Vec<u32> = by_oid.keys().copied().collect();
    let function_rows = client.query(FUNCTIONS, &[&schemas]).await?;
    // Composite return types that are not exposed relations still need their columns.
    for row in &function_rows {
        let typrelid: u32 = row.get(9);
        if typrelid != 0 && !oids.contains(&typrelid) {
            oids.push(typrelid);
        }
    }
    let oid_array: Vec<postgres_types::Oid> = oids.clone();
    let mut columns_by_oid: HashMap<u32, Vec<Column>> = HashMap::new();
    for row in client.query(COLUMNS, &[&oid_array]).await? {
        columns_by_oid.entry(row.get(0)).or_default().push(Column {
            name: row.get(1),
            type_sql: row.get(2),
            default_sql: row.get(3),
            not_null: row.get(4),
        });
    }
    for (oid, key) in &by_oid {
        if let Some(table) = cache.tables.get_mut(key) {
            table.columns = columns_by_oid.get(oid).cloned().unwrap_or_default();
        }
    }
    let sources = view_sources(client, &cache, &by_oid).await?;
    let mut key_oids = oid_array.clone();
    for oid in sources.source_oids() {
        if !key_oids.contains(&oid) {
            key_oids.push(oid);
        }
    }
    let mut unique_keys: Vec<(u32, Vec<String>, bool)> = Vec::new();
    for row in client.query(UNIQUE_KEYS, &[&key_oids]).await? {
        unique_keys.push((row.get(0), row.get(1), row.get(2)));
    }
    let mut base_foreign_keys = Vec::new();
    for row in client.query(FOREIGN_KEYS, &[&key_oids]).await? {
        base_foreign_keys.push(BaseForeignKey {
            name: row.get(0),
            child: row.get(1),
            child_columns: row.get(3),
            parent: row.get(2),
            parent_columns: row.get(4),
        });
    }
    derive_keys(
        &mut cache,
        &by_oid,
        &sources,
        &unique_keys,
        &base_foreign_keys,
    );
    for row in &function_rows {
        let function = function_from_row(row, &columns_by_oid);
        cache
            .functions
            .entry((function.schema.clone(), function.name.clone()))
            .or_default()
            .push(function);
    }
    for row in client.query(ROLE_SETTINGS, &[]).await? {
        // Database-specific settings come last and so win over cluster-wide ones.
        let settings = cache.role_settings.entry(row.get(0)).or_default();
        let name: String = row.get(1);
        settings.retain(|(n, _)| *n != name);
        settings.push((name, row.get(2)));
    }
    for row in client.query(TIMEZONES, &[]).await? {
        cache.timezones.insert(row.get(0));
    }
    Ok(cache)
}

/// Reads the stored query of every exposed view to learn where its columns come from.
async fn view_sources(
    client: &Client,
    cache: &SchemaCache,
    by_oid: &HashMap<u32, (String, String)>,
) -> Result<ColumnSources, tokio_postgres::Error> {
    let view_oids: Vec<u32> = by_oid
        .iter()
        .filter(|(_, key)| {
            cache
                .tables
                .get(*key)
                .is_some_and(|t| !LEAF_RELATION_KINDS.contains(&t.kind))
        })
        .map(|(oid, _)| *oid)
        .collect();
    let mut sources = ColumnSources::default();
    let queries = client.query(VIEW_QUERIES, &[&view_oids]).await?;
    let mut pending: Vec<u32> = queries.iter().map(|row| row.get(0)).collect();
    // Views may read views outside the exposed schemas; follow them a few levels deep.
    let mut texts: HashMap<u32, String> =
        queries.iter().map(|row| (row.get(0), row.get(1))).collect();
    let mut attributes: HashMap<(u32, i16), String> = HashMap::new();
    let mut columns_of: HashMap<u32, Vec<String>> = HashMap::new();
    for _ in 0..4 {
        if pending.is_empty() {
            break;
        }
        let mut wanted: Vec<u32> = pending.clone();
        for text in pending.iter().filter_map(|oid| texts.get(oid)) {
            for oid in referenced_oids(text) {
                if !wanted.contains(&oid) {
                    wanted.push(oid);
                }
            }
        }
        for row in client.query(ATTRIBUTES, &[&wanted]).await? {
            let (oid, attnum, name): (u32, i16, String) = (row.get(0), row.get(1), row.get(2));
            attributes.insert((oid, attnum), name.clone());
            let list = columns_of.entry(oid).or_default();
            if !list.contains(&name) {
                list.push(name);
            }
        }
        let nested: Vec<u32> = wanted
            .iter()
            .copied()
            .filter(|oid| !texts.contains_key(oid))
            .collect();
        let mut next = Vec::new();
        for row in client.query(VIEW_QUERIES, &[&nested]).await? {
            let oid: u32 = row.get(0);
            texts.insert(oid, row.get(1));
            next.push(oid);
        }
        pending = next;
    }
    let attname = |oid: u32, attnum: i16| attributes.get(&(oid, attnum)).cloned();
    for (oid, text) in &texts {
        let columns = columns_of.get(oid).cloned().unwrap_or_default();
        sources.add_view(*oid, &columns, text, &attname);
    }
    Ok(sources)
}

/// Relation oids a stored view query reads (`:resorigtbl N`).
fn referenced_oids(text: &str) -> Vec<u32> {
    text.match_indices(":resorigtbl ")
        .filter_map(|(i, m)| {
            text[i + m.len()..]
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u32>().ok())
        })
        .filter(|oid| *oid != 0)
        .collect()
}

/// Gives every exposed relation the keys and foreign keys it exposes: its own for tables,
/// its base tables' (under its column names) for views.
fn derive_keys(
    cache: &mut SchemaCache,
    by_oid: &HashMap<u32, (String, String)>,
    sources: &ColumnSources,
    unique_keys: &[(u32, Vec<String>, bool)],
    foreign_keys: &[BaseForeignKey],
) {
    let columns_of: HashMap<u32, Vec<String>> = by_oid
        .iter()
        .filter_map(|(oid, key)| {
            cache
                .tables
                .get(key)
                .map(|t| (*oid, t.columns.iter().map(|c| c.name.clone()).collect()))
        })
        .collect();
    let covers = |relation: u32, base: u32, columns: &[String]| -> Option<Vec<String>> {
        let relation_columns = columns_of.get(&relation)?;
        if relation == base {
            return columns
                .iter()
                .all(|c| relation_columns.contains(c))
                .then(|| columns.to_vec());
        }
        sources.covers(relation, relation_columns, base, columns)
    };
    for (oid, key) in by_oid {
        let mut primary = None;
        let mut uniques = Vec::new();
        for (base, columns, is_primary) in unique_keys {
            if let Some(mapped) = covers(*oid, *base, columns) {
                if *is_primary && (*base == *oid || primary.is_none()) {
                    primary = Some(mapped.clone());
                }
                uniques.push(mapped);
            }
        }
        if let Some(table) = cache.tables.get_mut(key) {
            if let Some(pk) = primary {
                table.primary_key = pk;
            }
            table.unique_keys = uniques;
        }
    }
    for fk in foreign_keys {
        for (child_oid, child_key) in by_oid {
            let Some(child_columns) = covers(*child_oid, fk.child, &fk.child_columns) else {
                continue;
            };
            for (parent_oid, parent_key) in by_oid {
                let Some(parent_columns) = covers(*parent_oid, fk.parent, &fk.parent_columns)
                else {
                    continue;
                };
                cache.foreign_keys.push(ForeignKey {
                    name: fk.name.clone(),
                    table: child_key.clone(),
                    columns: child_columns.clone(),
                    referenced_table: parent_key.clone(),
                    referenced_columns: parent_columns,
                });
            }
        }
    }
}

fn function_from_row(
    row: &tokio_postgres::Row,
    columns_by_oid: &HashMap<u32, Vec<Column>>,
) -> Function {
    let names: Vec<String> = row.get(2);
    let modes: Vec<String> = row.get(3);
    let types: Vec<String> = row.get(4);
    let type_oids: Vec<u32> = row.get(14);
    let mut params = Vec::new();
    let mut out_columns = Vec::new();
    for (i, type_sql) in types.iter().enumerate() {
        let mode = modes.get(i).map(String::as_str).unwrap_or("i");
        let name = names.get(i).cloned().unwrap_or_default();
        if matches!(mode, "i" | "b" | "v") {
            params.push(FunctionParam {
                name: name.clone(),
                type_sql: type_sql.clone(),
                type_oid: type_oids.get(i).copied().unwrap_or(0),
                variadic: mode == "v",
            });
        }
        if matches!(mode, "o" | "b" | "t") {
            out_columns.push(Column {
                name,
                type_sql: type_sql.clone(),
                default_sql: None,
                not_null: false,
            });
        }
    }
    let retset: bool = row.get(6);
    let returns_void: bool = row.get(7);
    let typtype: String = row.get(8);
    let typrelid: u32 = row.get(9);
    let returns_record: bool = row.get(10);
    let volatility: String = row.get(11);
    let result_relation = match (
        row.get::<_, Option<String>>(12),
        row.get::<_, Option<String>>(13),
    ) {
        (Some(s), Some(n)) => Some((s, n)),
        _ => None,
    };
    let (returns, result_columns) = if returns_void {
        (ReturnShape::Void, Vec::new())
    } else if returns_record && !out_columns.is_empty() {
        (
            if retset {
                ReturnShape::SetOfComposite
            } else {
                ReturnShape::SingleComposite
            },
            out_columns,
        )
    } else if returns_record {
        (ReturnShape::UntypedRecord, Vec::new())
    } else if typtype == "c" {
        let columns = columns_by_oid.get(&typrelid).cloned().unwrap_or_default();
        (
            if retset {
                ReturnShape::SetOfComposite
            } else {
                ReturnShape::SingleComposite
            },
            columns,
        )
    } else if retset {
        (ReturnShape::SetOfScalar, Vec::new())
    } else {
        (ReturnShape::Scalar, Vec::new())
    };
    Function {
        schema: row.get(0),
        name: row.get(1),
        params,
        defaulted: row.get::<_, i32>(5).max(0) as usize,
        returns,
        result_columns,
        result_relation,
        volatile: volatility == "v",
    }
}
