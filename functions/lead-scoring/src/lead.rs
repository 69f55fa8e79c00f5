//! The lead as the engine sees it: the scoring-relevant columns of a `crm_leads` row, read
//! straight from PostgREST JSON (unknown columns are ignored, SQL `NULL` becomes "absent").

use serde::{Deserialize, Deserializer};
use shared::time::Timestamp;

/// Pipeline stage, the `lead_status` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    #[default]
    New,
    Active,
    Qualified,
    Unqualified,
    Closed,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 5] = [
        LeadStatus::New,
        LeadStatus::Active,
        LeadStatus::Qualified,
        LeadStatus::Unqualified,
        LeadStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Active => "active",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Unqualified => "unqualified",
            LeadStatus::Closed => "closed",
        }
    }
}

/// Messaging consent, the `opt_status` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptStatus {
    OptedIn,
    OptedOut,
    Pending,
}

impl OptStatus {
    pub const ALL: [OptStatus; 3] = [OptStatus::OptedIn, OptStatus::OptedOut, OptStatus::Pending];

    pub fn as_str(self) -> &'static str {
        match self {
            OptStatus::OptedIn => "opted_in",
            OptStatus::OptedOut => "opted_out",
            OptStatus::Pending => "pending",
        }
    }
}

/// One lead. Every field may be missing from the JSON: a rule-editor preview sends only what it
/// wants to try, and a `NULL` column means the same as a missing one.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Lead {
    /// The row's identity and last stored score: carried for the endpoints (which workspace's
    /// rules apply, how far the score moved); the engine itself never reads them.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    #[serde(default)]
    pub score: Option<i32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: LeadStatus,
    #[serde(default)]
    pub opt_status: Option<OptStatus>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_deleted: bool,
    /// How many notes the lead has (`crm_lead_notes`): a number, or the embedded rows PostgREST
    /// returns for `select=...,notes_count:crm_lead_notes(id)`, counted. (PostgREST's `count()`
    /// aggregate is off by default, so the rows are what a stock server can give.)
    #[serde(default, deserialize_with = "notes_count")]
    pub notes_count: u32,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub last_contacted_at: Option<Timestamp>,
}

impl Lead {
    /// A lead a client sends (the preview body's `lead`): a JSON object of columns. serde would
    /// also read the struct from an array of its fields in order (`[null, null]`), which no
    /// client means.
    pub fn from_client_json(value: serde_json::Value) -> Result<Lead, String> {
        if !value.is_object() {
            return Err("must be a JSON object of lead columns".to_string());
        }
        serde_json::from_value(value).map_err(|error| error.to_string())
    }

    /// The last time someone on the team touched this lead: the last contact, or, for a lead
    /// nobody has contacted yet, its arrival. `updated_at` is deliberately not used: writing
    /// the score back updates it, and a score must not decay more slowly because it was scored.
    pub fn last_touch(&self) -> Option<Timestamp> {
        self.last_contacted_at.or(self.created_at)
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

fn notes_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NotesCount {
        Plain(Option<u32>),
        EmbeddedRows(Vec<serde::de::IgnoredAny>),
    }

    match NotesCount::deserialize(deserializer)? {
        NotesCount::Plain(count) => Ok(count.unwrap_or(0)),
        NotesCount::EmbeddedRows(rows) => Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_client_lead_is_an_object_never_an_array_of_fields() {
        let lead =
            Lead::from_client_json(json!({ "status": "active", "tags": ["probate"] })).unwrap();
        assert_eq!((lead.status, lead.tags.len()), (LeadStatus::Active, 1));
        for refused in [
            json!([null, null]),
            json!([]),
            json!("lead"),
            json!(null),
            json!(7),
        ] {
            assert!(
                Lead::from_client_json(refused.clone()).is_err(),
                "{refused}"
            );
        }
        assert!(Lead::from_client_json(json!({ "status": "gone" })).is_err());
    }
}
