//! Relationships between relations, derived from foreign keys: many-to-one, one-to-many,
//! one-to-one (the foreign key columns are unique) and many-to-many through a junction table.

use super::{ForeignKey, SchemaCache};
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cardinality {
    ManyToOne,
    OneToMany,
    OneToOne,
    /// Through the junction relation; pairs are (junction column, origin/target column).
    ManyToMany {
        junction: (String, String),
        origin_pairs: Vec<(String, String)>,
        target_pairs: Vec<(String, String)>,
        constraints: (String, String),
    },
}

/// How `origin` reaches `target`: `pairs` are (origin column, target column) for direct links.
#[derive(Debug, Clone)]
pub struct Relationship {
    pub target: (String, String),
    pub cardinality: Cardinality,
    pub constraint: String,
    pub pairs: Vec<(String, String)>,
}

impl Relationship {
    /// Whether `?select=target!hint(...)` from `origin` names this relationship, by PostgREST's
    /// rules: the target is the related relation's name, or (from a table) a foreign key's
    /// constraint name or its single column (`author_id(*)`); the hint is a constraint name, a
    /// single column on either side, or the junction of a many-to-many. A relation referencing
    /// itself has two relationships over one key: its own name gives the one-to-many (with the
    /// referencing column as hint), the referencing column as target gives the many-to-one.
    fn answers(
        &self,
        cache: &SchemaCache,
        origin: &(String, String),
        target: &str,
        hint: Option<&str>,
    ) -> bool {
        let many_to_many = matches!(self.cardinality, Cardinality::ManyToMany { .. });
        let single = if many_to_many || self.pairs.len() != 1 {
            None
        } else {
            self.pairs.first()
        };
        let own_column = |name: &str| single.is_some_and(|(o, _)| o == name);
        let their_column = |name: &str| single.is_some_and(|(_, t)| t == name);
        let constraint = |name: &str| !many_to_many && self.constraint == name;
        let junction = |name: &str| matches!(&self.cardinality, Cardinality::ManyToMany { junction, .. } if junction.1 == name);
        let names_target = self.target.1 == target;
        let is_many_to_one = self.cardinality == Cardinality::ManyToOne;
        let is_one_to_many = self.cardinality == Cardinality::OneToMany;
        if &self.target == origin && !many_to_many {
            return match hint {
                None => (names_target && is_one_to_many) || (own_column(target) && is_many_to_one),
                Some(h) => names_target && is_one_to_many && their_column(h),
            };
        }
        let target_is_view = cache
            .tables
            .get(&self.target)
            .is_some_and(|t| !t.is_table());
        match hint {
            None => names_target || (!target_is_view && (constraint(target) || own_column(target))),
            Some(h) => {
                names_target && (constraint(h) || own_column(h) || their_column(h) || junction(h))
            }
        }
    }

    /// The relationship as PostgREST lists it among the candidates of an ambiguous embed.
    fn describe(&self, origin: &(String, String)) -> serde_json::Value {
        let columns = |names: Vec<&String>| {
            format!(
                "({})",
                names
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let (cardinality, relationship) = match &self.cardinality {
            Cardinality::ManyToMany {
                junction,
                origin_pairs,
                target_pairs,
                constraints,
            } => (
                "many-to-many",
                format!(
                    "{} using {}{} and {}{}",
                    junction.1,
                    constraints.0,
                    columns(origin_pairs.iter().map(|(j, _)| j).collect()),
                    constraints.1,
                    columns(target_pairs.iter().map(|(j, _)| j).collect()),
                ),
            ),
            direct => (
                match direct {
                    Cardinality::ManyToOne => "many-to-one",
                    Cardinality::OneToMany => "one-to-many",
                    _ => "one-to-one",
                },
                format!(
                    "{} using {}{} and {}{}",
                    self.constraint,
                    origin.1,
                    columns(self.pairs.iter().map(|(o, _)| o).collect()),
                    self.target.1,
                    columns(self.pairs.iter().map(|(_, t)| t).collect()),
                ),
            ),
        };
        serde_json::json!({
            "cardinality": cardinality,
            "embedding": format!("{} with {}", origin.1, self.target.1),
            "relationship": relationship,
        })
    }

    pub fn is_to_one(&self) -> bool {
        matches!(
            self.cardinality,
            Cardinality::ManyToOne | Cardinality::OneToOne
        )
    }
}

/// Relationships through one foreign key, from `origin` to relations of its schema.
fn direct_relationships(cache: &SchemaCache, origin: &(String, String)) -> Vec<Relationship> {
    let mut found = Vec::new();
    for fk in &cache.foreign_keys {
        let unique_on_child = cache
            .tables
            .get(&fk.table)
            .is_some_and(|t| t.has_unique(&fk.columns));
        if &fk.table == origin && fk.referenced_table.0 == origin.0 {
            found.push(Relationship {
                target: fk.referenced_table.clone(),
                cardinality: if unique_on_child {
                    Cardinality::OneToOne
                } else {
                    Cardinality::ManyToOne
                },
                constraint: fk.name.clone(),
                pairs: fk
                    .columns
                    .iter()
                    .cloned()
                    .zip(fk.referenced_columns.iter().cloned())
                    .collect(),
            });
        }
        if &fk.referenced_table == origin && fk.table.0 == origin.0 {
            found.push(Relationship {
                target: fk.table.clone(),
                cardinality: if unique_on_child {
                    Cardinality::OneToOne
                } else {
                    Cardinality::OneToMany
                },
                constraint: fk.name.clone(),
                pairs: fk
                    .referenced_columns
                    .iter()
                    .cloned()
                    .zip(fk.columns.iter().cloned())
                    .collect(),
            });
        }
    }
    found
}

/// Many-to-many relationships from `origin` through a junction whose primary key holds both
/// foreign keys.
fn junction_relationships(cache: &SchemaCache, origin: &(String, String)) -> Vec<Relationship> {
    let mut found = Vec::new();
    let by_table = |t: &(String, String)| -> Vec<&ForeignKey> {
        cache
            .foreign_keys
            .iter()
            .filter(|fk| &fk.table == t)
            .collect()
    };
    for junction in cache.tables.values() {
        let key = (junction.schema.clone(), junction.name.clone());
        if &key == origin {
            continue;
        }
        let fks = by_table(&key);
        for to_origin in fks.iter().filter(|fk| &fk.referenced_table == origin) {
            for to_target in fks.iter().filter(|fk| {
                fk.name != to_origin.name
                    && fk.referenced_table.0 == origin.0
                    && fk.referenced_table != key
            }) {
                let covered =
                    |fk: &ForeignKey| fk.columns.iter().all(|c| junction.primary_key.contains(c));
                if !(covered(to_origin) && covered(to_target)) {
                    continue;
                }
                found.push(Relationship {
                    target: to_target.referenced_table.clone(),
                    cardinality: Cardinality::ManyToMany {
                        junction: key.clone(),
                        origin_pairs: to_origin
                            .columns
                            .iter()
                            .cloned()
                            .zip(to_origin.referenced_columns.iter().cloned())
                            .collect(),
                        target_pairs: to_target
                            .columns
                            .iter()
                            .cloned()
                            .zip(to_target.referenced_columns.iter().cloned())
                            .collect(),
                        constraints: (to_origin.name.clone(), to_target.name.clone()),
                    },
                    constraint: junction.name.clone(),
                    pairs: Vec::new(),
                });
            }
        }
    }
    found
}

/// Resolves `?select=target!hint(...)` from `origin`, with PostgREST's PGRST200/201 errors.
pub fn find_relationship(
    cache: &SchemaCache,
    origin: &(String, String),
    target_name: &str,
    hint: Option<&str>,
) -> Result<Relationship, ApiError> {
    let not_found = || {
        let hint_text = hint
            .map(|h| format!("' using the hint '{h}"))
            .unwrap_or_default();
        ApiError::new(
            400,
            "PGRST200",
            format!("Could not find a relationship between '{}' and '{}' in the schema cache", origin.1, target_name),
        )
        .with_details(format!(
            "Searched for a foreign key relationship between '{}' and '{}{}' in the schema '{}', but no matches were found.",
            origin.1, target_name, hint_text, origin.0
        ))
    };
    let mut candidates = direct_relationships(cache, origin);
    candidates.extend(junction_relationships(cache, origin));
    candidates.retain(|r| r.answers(cache, origin, target_name, hint));
    match candidates.len() {
        0 => Err(not_found()),
        1 => Ok(candidates.remove(0)),
        _ => {
            let names: Vec<String> = candidates
                .iter()
                .map(|r| format!("'{}!{}'", r.target.1, r.constraint))
                .collect();
            let details: Vec<serde_json::Value> =
                candidates.iter().map(|r| r.describe(origin)).collect();
            let mut error = ApiError::new(
                300,
                "PGRST201",
                format!("Could not embed because more than one relationship was found for '{}' and '{}'", origin.1, target_name),
            )
            .with_hint(format!(
                "Try changing '{}' to one of the following: {}. Find the desired relationship in the 'details' key.",
                target_name,
                names.join(", ")
            ));
            error.details = Some(serde_json::Value::Array(details));
            Err(error)
        }
    }
}
