//! A compiled rule condition and how it is tested against a lead. Compiling (see
//! [`crate::condition_json`]) has already checked every field, operator and value, so testing
//! is a branch per node with no parsing, no allocation and no error path.

use crate::contact::{is_plausible_email, is_plausible_phone};
use crate::lead::{Lead, LeadStatus, OptStatus};
use crate::text::LooseText;
use crate::vocabulary::Field;
use shared::time::Timestamp;
use std::cell::Cell;

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    All(Box<[Condition]>),
    Any(Box<[Condition]>),
    Not(Box<Condition>),
    StatusIn(StatusSet),
    OptStatusIn(OptStatusSet),
    OptStatusPresent,
    HasAnyOfTags(Box<[LooseText]>),
    HasSomeTag,
    TextIn(Field, Box<[LooseText]>),
    TextPresent(Field),
    Flag(Field, bool),
    CountIn(Box<[u32]>),
    CountBetween {
        min: u32,
        max: u32,
    },
    /// More than this many milliseconds before `now`.
    OlderThan(Field, i64),
    /// At most this many milliseconds before `now` (or in the future), so that for a present
    /// timestamp exactly one of `older_than_days N` and `newer_than_days N` holds.
    NewerThan(Field, i64),
    InstantPresent(Field),
}

/// A set of pipeline statuses, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusSet(u8);

impl StatusSet {
    pub fn everything() -> Self {
        LeadStatus::ALL
            .into_iter()
            .fold(StatusSet::default(), StatusSet::with)
    }

    pub fn with(self, status: LeadStatus) -> Self {
        StatusSet(self.0 | 1 << status as u8)
    }

    pub fn contains(self, status: LeadStatus) -> bool {
        self.0 & (1 << status as u8) != 0
    }
}

/// A set of consent states, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OptStatusSet(u8);

impl OptStatusSet {
    pub fn with(self, status: OptStatus) -> Self {
        OptStatusSet(self.0 | 1 << status as u8)
    }

    pub fn contains(self, status: OptStatus) -> bool {
        self.0 & (1 << status as u8) != 0
    }
}

/// A lead at a moment, with the derived facts worked out at most once however many rules ask.
pub struct LeadFacts<'a> {
    lead: &'a Lead,
    now: Timestamp,
    email_valid: Cell<Option<bool>>,
    phone_valid: Cell<Option<bool>>,
}

impl<'a> LeadFacts<'a> {
    pub fn new(lead: &'a Lead, now: Timestamp) -> Self {
        LeadFacts {
            lead,
            now,
            email_valid: Cell::new(None),
            phone_valid: Cell::new(None),
        }
    }

    fn text(&self, field: Field) -> Option<&'a str> {
        let lead = self.lead;
        match field {
            Field::Name => lead.name.as_deref(),
            Field::Email => lead.email.as_deref(),
            Field::Phone => lead.phone.as_deref(),
            Field::Company => lead.company.as_deref(),
            Field::Source => lead.source.as_deref(),
            _ => None,
        }
    }

    fn flag(&self, field: Field) -> bool {
        match field {
            Field::IsDeleted => self.lead.is_deleted,
            Field::EmailValid => remember(&self.email_valid, || {
                self.lead.email.as_deref().is_some_and(is_plausible_email)
            }),
            Field::PhoneValid => remember(&self.phone_valid, || {
                self.lead.phone.as_deref().is_some_and(is_plausible_phone)
            }),
            _ => false,
        }
    }

    fn instant(&self, field: Field) -> Option<Timestamp> {
        match field {
            Field::CreatedAt => self.lead.created_at,
            Field::UpdatedAt => self.lead.updated_at,
            Field::LastContactedAt => self.lead.last_contacted_at,
            _ => None,
        }
    }

    fn age_millis(&self, field: Field) -> Option<i64> {
        self.instant(field)
            .map(|instant| self.now.millis_since(instant))
    }
}

fn remember(slot: &Cell<Option<bool>>, work_out: impl FnOnce() -> bool) -> bool {
    if let Some(known) = slot.get() {
        return known;
    }
    let value = work_out();
    slot.set(Some(value));
    value
}

/// Empty or only whitespace. Checks ASCII spaces byte by byte and decodes characters only
/// when the first non-space byte is not ASCII.
fn is_blank(text: &str) -> bool {
    let rest = text.trim_ascii_start();
    match rest.as_bytes().first() {
        None => true,
        Some(byte) if byte.is_ascii() => false,
        Some(_) => rest.trim().is_empty(),
    }
}

impl Condition {
    pub fn holds(&self, facts: &LeadFacts<'_>) -> bool {
        let lead = facts.lead;
        match self {
            Condition::All(parts) => parts.iter().all(|part| part.holds(facts)),
            Condition::Any(parts) => parts.iter().any(|part| part.holds(facts)),
            Condition::Not(inner) => !inner.holds(facts),
            Condition::StatusIn(set) => set.contains(lead.status),
            Condition::OptStatusIn(set) => {
                lead.opt_status.is_some_and(|status| set.contains(status))
            }
            Condition::OptStatusPresent => lead.opt_status.is_some(),
            Condition::HasAnyOfTags(wanted) => lead
                .tags
                .iter()
                .any(|tag| wanted.iter().any(|candidate| candidate.matches(tag))),
            Condition::HasSomeTag => lead.tags.iter().any(|tag| !is_blank(tag)),
            Condition::TextIn(field, wanted) => facts
                .text(*field)
                .is_some_and(|text| wanted.iter().any(|candidate| candidate.matches(text))),
            Condition::TextPresent(field) => facts.text(*field).is_some_and(|text| !is_blank(text)),
            Condition::Flag(field, expected) => facts.flag(*field) == *expected,
            Condition::CountIn(wanted) => wanted.contains(&lead.notes_count),
            Condition::CountBetween { min, max } => (*min..=*max).contains(&lead.notes_count),
            Condition::OlderThan(field, millis) => {
                facts.age_millis(*field).is_some_and(|age| age > *millis)
            }
            Condition::NewerThan(field, millis) => {
                facts.age_millis(*field).is_some_and(|age| age <= *millis)
            }
            Condition::InstantPresent(field) => facts.instant(*field).is_some(),
        }
    }
}
