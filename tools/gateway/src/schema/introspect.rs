//! Reads the schema cache from the Postgres catalogs (one round trip per kind of object).

use std::collections::HashMap;

use tokio_postgres::Client;

use super::{Column, ForeignKey, Function, FunctionParam, ReturnShape, SchemaCache, Table};

const RELATIONS: &str = "
select c.oid, n.nspname::text, c.relname::text, c.relkind::text,
  coalesce(array(
    select a.attname::text from pg_constraint p
    cross join lateral unnest(p.conkey) with ordinality k(attnum, ord)
    join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
    where p.conrelid = c.oid and p.contype = 'p' order by k.ord), '{}') as pk
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = any($1) and c.relkind in ('r', 'v', 'm', 'f', 'p')";

const COLUMNS: &str = "
select a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod),
  case when a.attgenerated = '' then pg_get_expr(d.adbin, d.adrelid) end
from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
where a.attrelid = any($1) and a.attnum > 0 and not a.attisdropped
order by a.attrelid, a.attnum";

const UNIQUE_KEYS: &str = "
select c.conrelid, array(
    select a.attname::text from unnest(c.conkey) k(attnum)
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum)
from pg_constraint c where c.contype in ('p', 'u') and c.conrelid = any($1)";

const FOREIGN_KEYS: &str = "
select c.conname::text, c.conrelid, c.confrelid,
  array(select a.attname::text from unnest(c.conkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum order by k.ord),
  array(select a.attname::text from unnest(c.confkey) with ordinality k(attnum, ord)
        join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum order by k.ord)
from pg_constraint c
where c.contype = 'f' and c.conrelid = any($1) and c.confrelid = any($1)
order by c.conname";

const FUNCTIONS: &str = "
select n.nspname::text, p.proname::text,
  coalesce(p.proargnames, '{}')::text[],
  coalesce(p.proargmodes::text[], '{}'),
  array(select format_type(t, null) from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality u(t, ord) order by ord),
  p.pronargdefaults::int4, p.proretset, p.prorettype = 'void'::regtype, t.typtype::text,
  t.typrelid, p.prorettype = 'record'::regtype, p.provolatile::text,
  rn.nspname::text, rc.relname::text
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

pub async fn load(client: &Client, schemas: &[String]) -> Result<SchemaCache, tokio_postgres::Error> {
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
        });
    }
    for (oid, key) in &by_oid {
        if let Some(table) = cache.tables.get_mut(key) {
            table.columns = columns_by_oid.get(oid).cloned().unwrap_or_default();
        }
    }
    for row in client.query(UNIQUE_KEYS, &[&oid_array]).await? {
        let oid: u32 = row.get(0);
        if let Some(table) = by_oid.get(&oid).and_then(|k| cache.tables.get_mut(k)) {
            table.unique_keys.push(row.get(1));
        }
    }
    for row in client.query(FOREIGN_KEYS, &[&oid_array]).await? {
        let (Some(table), Some(referenced)) = (by_oid.get(&row.get::<_, u32>(1)), by_oid.get(&row.get::<_, u32>(2))) else {
            continue;
        };
        cache.foreign_keys.push(ForeignKey {
            name: row.get(0),
            table: table.clone(),
            columns: row.get(3),
            referenced_table: referenced.clone(),
            referenced_columns: row.get(4),
        });
    }
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
    Ok(cache)
}

fn function_from_row(row: &tokio_postgres::Row, columns_by_oid: &HashMap<u32, Vec<Column>>) -> Function {
    let names: Vec<String> = row.get(2);
    let modes: Vec<String> = row.get(3);
    let types: Vec<String> = row.get(4);
    let mut params = Vec::new();
    let mut out_columns = Vec::new();
    for (i, type_sql) in types.iter().enumerate() {
        let mode = modes.get(i).map(String::as_str).unwrap_or("i");
        let name = names.get(i).cloned().unwrap_or_default();
        if matches!(mode, "i" | "b" | "v") {
            params.push(FunctionParam { name: name.clone(), type_sql: type_sql.clone(), variadic: mode == "v" });
        }
        if matches!(mode, "o" | "b" | "t") {
            out_columns.push(Column { name, type_sql: type_sql.clone(), default_sql: None });
        }
    }
    let retset: bool = row.get(6);
    let returns_void: bool = row.get(7);
    let typtype: String = row.get(8);
    let typrelid: u32 = row.get(9);
    let returns_record: bool = row.get(10);
    let volatility: String = row.get(11);
    let result_relation = match (row.get::<_, Option<String>>(12), row.get::<_, Option<String>>(13)) {
        (Some(s), Some(n)) => Some((s, n)),
        _ => None,
    };
    let (returns, result_columns) = if returns_void {
        (ReturnShape::Void, Vec::new())
    } else if returns_record && !out_columns.is_empty() {
        (if retset { ReturnShape::SetOfComposite } else { ReturnShape::SingleComposite }, out_columns)
    } else if returns_record {
        (ReturnShape::UntypedRecord, Vec::new())
    } else if typtype == "c" {
        let columns = columns_by_oid.get(&typrelid).cloned().unwrap_or_default();
        (if retset { ReturnShape::SetOfComposite } else { ReturnShape::SingleComposite }, columns)
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
