//! Keys and foreign keys of views, the way PostgREST finds them: each view column that is a
//! plain reference to a base column (`resorigtbl`/`resorigcol` in the view's stored query) is
//! traced back, through views of views, to a table column; a view then carries the primary key,
//! unique keys and foreign keys whose columns it exposes.

use std::collections::HashMap;

/// A key or foreign key of a base relation, by relation oid and column names.
#[derive(Debug, Clone)]
pub struct BaseForeignKey {
    pub name: String,
    pub child: u32,
    pub child_columns: Vec<String>,
    pub parent: u32,
    pub parent_columns: Vec<String>,
}

/// Where view columns come from: view oid -> view column -> (relation oid, column name).
#[derive(Debug, Default)]
pub struct ColumnSources {
    direct: HashMap<u32, HashMap<String, (u32, String)>>,
}

impl ColumnSources {
    /// Records a view's stored query (`pg_rewrite.ev_action::text`); `columns` are the view's
    /// columns in attnum order; `attname` resolves (relation oid, attnum) to a column name.
    pub fn add_view(
        &mut self,
        view: u32,
        columns: &[String],
        ev_action: &str,
        attname: &dyn Fn(u32, i16) -> Option<String>,
    ) {
        let mut sources = HashMap::new();
        for entry in target_entries(ev_action) {
            let Some(column) = usize::try_from(entry.resno)
                .ok()
                .and_then(|n| columns.get(n.wrapping_sub(1)))
            else {
                continue;
            };
            if *column != entry.resname || entry.origin_table == 0 {
                continue;
            }
            if let Some(origin_column) = attname(entry.origin_table, entry.origin_column) {
                // The top-level target list comes last in the node text, so later entries win.
                sources.insert(column.clone(), (entry.origin_table, origin_column));
            }
        }
        self.direct.insert(view, sources);
    }

    pub fn source_oids(&self) -> Vec<u32> {
        self.direct
            .values()
            .flat_map(|m| m.values().map(|(oid, _)| *oid))
            .collect()
    }

    /// The table column a relation's column finally reads, following views of views.
    fn origin(&self, relation: u32, column: &str) -> (u32, String) {
        let mut current = (relation, column.to_string());
        for _ in 0..16 {
            match self.direct.get(&current.0).and_then(|m| m.get(&current.1)) {
                Some(next) => current = next.clone(),
                None => break,
            }
        }
        current
    }

    /// The names under which `relation` exposes all of `base`'s `columns`, if it does.
    pub fn covers(
        &self,
        relation: u32,
        relation_columns: &[String],
        base: u32,
        columns: &[String],
    ) -> Option<Vec<String>> {
        columns
            .iter()
            .map(|wanted| {
                relation_columns
                    .iter()
                    .find(|c| self.origin(relation, c) == (base, wanted.clone()))
                    .cloned()
            })
            .collect()
    }
}

struct TargetEntry {
    resno: i64,
    resname: String,
    origin_table: u32,
    origin_column: i16,
}

/// Scans `:resno N :resname NAME :ressortgroupref N :resorigtbl OID :resorigcol N` sequences.
fn target_entries(text: &str) -> Vec<TargetEntry> {
    let mut entries = Vec::new();
    for (start, _) in text.match_indices(":resno ") {
        let tokens = node_tokens(&text[start..], 10);
        if tokens.len() < 10
            || tokens[2] != ":resname"
            || tokens[6] != ":resorigtbl"
            || tokens[8] != ":resorigcol"
        {
            continue;
        }
        let (Ok(resno), Ok(origin_table), Ok(origin_column)) =
            (tokens[1].parse(), tokens[7].parse(), tokens[9].parse())
        else {
            continue;
        };
        entries.push(TargetEntry {
            resno,
            resname: tokens[3].clone(),
            origin_table,
            origin_column,
        });
    }
    entries
}

/// Whitespace-separated tokens of the node text, with backslash escapes undone.
fn node_tokens(text: &str, count: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            c if c.is_whitespace() => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                    if tokens.len() == count {
                        break;
                    }
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() && tokens.len() < count {
        tokens.push(current);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    const EV_ACTION: &str = "({QUERY :targetList ({TARGETENTRY :expr {VAR :varno 3} :resno 1 :resname vid :ressortgroupref 0 :resorigtbl 16389 :resorigcol 1 :resjunk false} {TARGETENTRY :expr {VAR :varno 3} :resno 2 :resname t_id :ressortgroupref 0 :resorigtbl 16389 :resorigcol 2 :resjunk false} {TARGETENTRY :expr {CONST} :resno 3 :resname one :ressortgroupref 0 :resorigtbl 0 :resorigcol 0 :resjunk false})})";

    #[test]
    fn traces_view_columns_to_table_columns() {
        let mut sources = ColumnSources::default();
        let names = |oid: u32, attnum: i16| match (oid, attnum) {
            (16389, 1) => Some("id".to_string()),
            (16389, 2) => Some("t_id".to_string()),
            _ => None,
        };
        let columns: Vec<String> = ["vid", "t_id", "one"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        sources.add_view(50000, &columns, EV_ACTION, &names);
        assert_eq!(
            sources.covers(50000, &columns, 16389, &["id".to_string()]),
            Some(vec!["vid".to_string()])
        );
        assert_eq!(
            sources.covers(
                50000,
                &columns,
                16389,
                &["id".to_string(), "t_id".to_string()]
            ),
            Some(vec!["vid".to_string(), "t_id".to_string()])
        );
        assert_eq!(
            sources.covers(50000, &columns, 16389, &["other".to_string()]),
            None
        );
    }
}
