//! The words a rule condition may use: the lead fields it can look at and the operators it can
//! apply, and which operators make sense for which kind of field. Error messages list these,
//! so a rule author sees what they could have written.

/// A lead field a condition can test. `email_valid` and `phone_valid` are derived (see
/// [`crate::contact`]); the rest are `crm_leads` columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Status,
    OptStatus,
    Tags,
    Name,
    Email,
    Phone,
    Company,
    Source,
    EmailValid,
    PhoneValid,
    IsDeleted,
    NotesCount,
    CreatedAt,
    UpdatedAt,
    LastContactedAt,
}

/// What a field holds, which decides the operators it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Status,
    OptStatus,
    Tags,
    Text,
    Flag,
    Count,
    Instant,
}

impl Field {
    pub const ALL: [Field; 15] = [
        Field::Status,
        Field::OptStatus,
        Field::Tags,
        Field::Name,
        Field::Email,
        Field::Phone,
        Field::Company,
        Field::Source,
        Field::EmailValid,
        Field::PhoneValid,
        Field::IsDeleted,
        Field::NotesCount,
        Field::CreatedAt,
        Field::UpdatedAt,
        Field::LastContactedAt,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Status => "status",
            Field::OptStatus => "opt_status",
            Field::Tags => "tags",
            Field::Name => "name",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Company => "company",
            Field::Source => "source",
            Field::EmailValid => "email_valid",
            Field::PhoneValid => "phone_valid",
            Field::IsDeleted => "is_deleted",
            Field::NotesCount => "notes_count",
            Field::CreatedAt => "created_at",
            Field::UpdatedAt => "updated_at",
            Field::LastContactedAt => "last_contacted_at",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.name() == name)
    }

    pub fn kind(self) -> FieldKind {
        match self {
            Field::Status => FieldKind::Status,
            Field::OptStatus => FieldKind::OptStatus,
            Field::Tags => FieldKind::Tags,
            Field::Name | Field::Email | Field::Phone | Field::Company | Field::Source => {
                FieldKind::Text
            }
            Field::EmailValid | Field::PhoneValid | Field::IsDeleted => FieldKind::Flag,
            Field::NotesCount => FieldKind::Count,
            Field::CreatedAt | Field::UpdatedAt | Field::LastContactedAt => FieldKind::Instant,
        }
    }
}

/// A comparison a leaf condition applies to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals,
    In,
    ContainsTag,
    Exists,
    Between,
    OlderThanDays,
    NewerThanDays,
}

impl Operator {
    pub const ALL: [Operator; 7] = [
        Operator::Equals,
        Operator::In,
        Operator::ContainsTag,
        Operator::Exists,
        Operator::Between,
        Operator::OlderThanDays,
        Operator::NewerThanDays,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::In => "in",
            Operator::ContainsTag => "contains_tag",
            Operator::Exists => "exists",
            Operator::Between => "between",
            Operator::OlderThanDays => "older_than_days",
            Operator::NewerThanDays => "newer_than_days",
        }
    }

    pub fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL
            .into_iter()
            .find(|operator| operator.name() == name)
    }
}

impl FieldKind {
    pub fn operators(self) -> &'static [Operator] {
        use Operator::*;
        match self {
            FieldKind::Status | FieldKind::OptStatus | FieldKind::Text => &[Equals, In, Exists],
            FieldKind::Tags => &[ContainsTag, Exists],
            FieldKind::Flag => &[Equals],
            FieldKind::Count => &[Equals, In, Between],
            FieldKind::Instant => &[OlderThanDays, NewerThanDays, Exists],
        }
    }
}

/// `a, b, c` for error messages.
pub fn list_names<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> String {
    items
        .iter()
        .map(|item| name(*item))
        .collect::<Vec<_>>()
        .join(", ")
}
