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
    pub fn is_to_one(&self) -> bool {
        matches!(
            self.cardinality,
            Cardinality::ManyToOne | Cardinality::OneToOne
        )
    }

    fn matches_hint(&self, hint: &str) -> bool {
        match &self.cardinality {
            Cardinality::ManyToMany {
                junction,
                constraints,
                ..
            } => junction.1 == hint || constraints.0 == hint || constraints.1 == hint,
            _ => {
                self.constraint == hint
                    || self
                        .pairs
                        .iter()
                        .any(|(origin, target)| origin == hint || target == hint)
            }
        }
    }
}

fn direct_relationships(
    cache: &SchemaCache,
    origin: &(String, String),
    target: &(String, String),
) -> Vec<Relationship> {
    let mut found = Vec::new();
    for fk in &cache.foreign_keys {
        let unique_on_child = cache
            .tables
            .get(&fk.table)
            .is_some_and(|t| t.has_unique(&fk.columns));
        if &fk.table == origin && &fk.referenced_table == target {
            found.push(Relationship {
                target: target.clone(),
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
        if &fk.referenced_table == origin && &fk.table == target {
            found.push(Relationship {
                target: target.clone(),
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

fn junction_relationships(
    cache: &SchemaCache,
    origin: &(String, String),
    target: &(String, String),
) -> Vec<Relationship> {
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
        if &key == origin || &key == target {
            continue;
        }
        let fks = by_table(&key);
        for to_origin in fks.iter().filter(|fk| &fk.referenced_table == origin) {
            for to_target in fks
                .iter()
                .filter(|fk| &fk.referenced_table == target && fk.name != to_origin.name)
            {
                let covered =
                    |fk: &ForeignKey| fk.columns.iter().all(|c| junction.primary_key.contains(c));
                if !(covered(to_origin) && covered(to_target)) {
                    continue;
                }
                found.push(Relationship {
                    target: target.clone(),
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
    let target = (origin.0.clone(), target_name.to_string());
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
    if !cache.tables.contains_key(&target) {
        return Err(not_found());
    }
    let mut candidates = direct_relationships(cache, origin, &target);
    candidates.extend(junction_relationships(cache, origin, &target));
    if let Some(h) = hint {
        candidates.retain(|r| r.matches_hint(h));
    }
    match candidates.len() {
        0 => Err(not_found()),
        1 => Ok(candidates.remove(0)),
        _ => {
            let names: Vec<String> = candidates
                .iter()
                .map(|r| format!("'{}!{}'", target_name, r.constraint))
                .collect();
            let details: Vec<serde_json::Value> = candidates
                .iter()
                .map(|r| {
                    let cardinality = match r.cardinality {
                        Cardinality::ManyToOne => "many-to-one",
                        Cardinality::OneToMany => "one-to-many",
                        Cardinality::OneToOne => "one-to-one",
                        Cardinality::ManyToMany { .. } => "many-to-many",
                    };
                    serde_json::json!({
                        "cardinality": cardinality,
                        "embedding": format!("{} with {}", origin.1, target_name),
                        "relationship": r.constraint,
                    })
                })
                .collect();
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
