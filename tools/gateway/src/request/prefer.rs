//! The `Prefer` header: return, count, resolution, missing, tx, handling, max-affected.

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnPref {
    Minimal,
    HeadersOnly,
    Representation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountPref {
    Exact,
    Planned,
    Estimated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    MergeDuplicates,
    IgnoreDuplicates,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxPref {
    Commit,
    Rollback,
}

#[derive(Debug, Default, Clone)]
pub struct Preferences {
    pub return_pref: Option<ReturnPref>,
    pub count: Option<CountPref>,
    pub resolution: Option<Resolution>,
    pub missing_default: bool,
    pub tx: Option<TxPref>,
    pub strict: Option<bool>,
    pub max_affected: Option<i64>,
    /// `timezone=<name>`; checked against Postgres' time zone names before it is applied.
    pub timezone: Option<String>,
    pub invalid: Vec<String>,
}

impl Preferences {
    pub fn parse<'a>(headers: impl Iterator<Item = &'a str>) -> Result<Preferences, ApiError> {
        let mut prefs = Preferences::default();
        for header in headers {
            for raw in header.split(',') {
                let item = raw.trim();
                if item.is_empty() {
                    continue;
                }
                let known = match item {
                    "return=minimal" => {
                        prefs.return_pref.get_or_insert(ReturnPref::Minimal) == &ReturnPref::Minimal
                    }
                    "return=headers-only" => {
                        prefs.return_pref.get_or_insert(ReturnPref::HeadersOnly)
                            == &ReturnPref::HeadersOnly
                    }
                    "return=representation" => {
                        prefs.return_pref.get_or_insert(ReturnPref::Representation)
                            == &ReturnPref::Representation
                    }
                    "count=exact" => {
                        prefs.count.get_or_insert(CountPref::Exact) == &CountPref::Exact
                    }
                    "count=planned" => {
                        prefs.count.get_or_insert(CountPref::Planned) == &CountPref::Planned
                    }
                    "count=estimated" => {
                        prefs.count.get_or_insert(CountPref::Estimated) == &CountPref::Estimated
                    }
                    "resolution=merge-duplicates" => {
                        prefs.resolution.get_or_insert(Resolution::MergeDuplicates)
                            == &Resolution::MergeDuplicates
                    }
                    "resolution=ignore-duplicates" => {
                        prefs.resolution.get_or_insert(Resolution::IgnoreDuplicates)
                            == &Resolution::IgnoreDuplicates
                    }
                    "missing=default" => {
                        prefs.missing_default = true;
                        true
                    }
                    "missing=null" => true,
                    "tx=commit" => prefs.tx.get_or_insert(TxPref::Commit) == &TxPref::Commit,
                    "tx=rollback" => prefs.tx.get_or_insert(TxPref::Rollback) == &TxPref::Rollback,
                    "handling=strict" => prefs.strict.get_or_insert(true) == &true,
                    "handling=lenient" => prefs.strict.get_or_insert(false) == &false,
                    other if other.starts_with("timezone=") => {
                        prefs
                            .timezone
                            .get_or_insert_with(|| other["timezone=".len()..].to_string());
                        true
                    }
                    other => match other.strip_prefix("max-affected=").map(str::parse::<i64>) {
                        Some(Ok(n)) => {
                            prefs.max_affected = Some(n);
                            true
                        }
                        _ => false,
                    },
                };
                if !known {
                    prefs.invalid.push(item.to_string());
                }
            }
        }
        if prefs.strict == Some(true) && !prefs.invalid.is_empty() {
            return Err(ApiError::new(
                400,
                "PGRST122",
                "Invalid preferences given with handling=strict",
            )
            .with_details(format!("Invalid preferences: {}", prefs.invalid.join(", "))));
        }
        Ok(prefs)
    }
}

/// What a response reports back in `Preference-Applied`, in PostgREST's order.
#[derive(Debug, Default)]
pub struct Applied {
    pub resolution: Option<Resolution>,
    pub return_pref: Option<ReturnPref>,
    pub count: Option<CountPref>,
    pub tx: Option<TxPref>,
    pub missing_default: bool,
    pub strict: Option<bool>,
    pub timezone: Option<String>,
    pub max_affected: Option<i64>,
}

impl Applied {
    pub fn header_value(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        if let Some(r) = self.resolution {
            parts.push(
                match r {
                    Resolution::MergeDuplicates => "resolution=merge-duplicates",
                    Resolution::IgnoreDuplicates => "resolution=ignore-duplicates",
                }
                .into(),
            );
        }
        if let Some(r) = self.return_pref {
            parts.push(
                match r {
                    ReturnPref::Minimal => "return=minimal",
                    ReturnPref::HeadersOnly => "return=headers-only",
                    ReturnPref::Representation => "return=representation",
                }
                .into(),
            );
        }
        if let Some(c) = self.count {
            parts.push(
                match c {
                    CountPref::Exact => "count=exact",
                    CountPref::Planned => "count=planned",
                    CountPref::Estimated => "count=estimated",
                }
                .into(),
            );
        }
        if let Some(t) = self.tx {
            parts.push(
                match t {
                    TxPref::Commit => "tx=commit",
                    TxPref::Rollback => "tx=rollback",
                }
                .into(),
            );
        }
        if self.missing_default {
            parts.push("missing=default".into());
        }
        if let Some(s) = self.strict {
            parts.push(
                if s {
                    "handling=strict"
                } else {
                    "handling=lenient"
                }
                .into(),
            );
        }
        if let Some(tz) = &self.timezone {
            parts.push(format!("timezone={tz}"));
        }
        if let Some(n) = self.max_affected {
            parts.push(format!("max-affected={n}"));
        }
        if parts.is_empty() {
            None
        } else {
            Some(parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_preferences() {
        let p = Preferences::parse(
            ["return=representation, count=exact", "tx=rollback,bogus=1"].into_iter(),
        )
        .unwrap();
        assert_eq!(p.return_pref, Some(ReturnPref::Representation));
        assert_eq!(p.count, Some(CountPref::Exact));
        assert_eq!(p.tx, Some(TxPref::Rollback));
        assert_eq!(p.invalid, vec!["bogus=1".to_string()]);
        assert!(Preferences::parse(["handling=strict, bogus"].into_iter()).is_err());
        let applied = Applied {
            return_pref: p.return_pref,
            count: p.count,
            ..Default::default()
        };
        assert_eq!(
            applied.header_value().as_deref(),
            Some("return=representation, count=exact")
        );
    }
}
