//! `Prefer: count=` on table and view reads, as PostgREST v14 counts them (`Query.hs`
//! `resultSetWTotal`):
//!
//! - `exact`: the filtered rows are counted;
//! - `planned`: nothing is counted; the total is the planner's row estimate, from
//!   `EXPLAIN (FORMAT JSON)` of the count query;
//! - `estimated`: the filtered rows are counted up to `db-max-rows + 1` only. At or below
//!   `db-max-rows` that count is the total; above it (or always, when `db-max-rows` is unset, as
//!   PostgREST compares against an absent maximum) the total is the larger of that count and the
//!   planner's estimate. A large table is therefore never counted in full.
//!
//! Function calls count differently (`exact` and `estimated` count every row, `planned` gives no
//! total); see `plan::call`.

use crate::request::prefer::CountPref;

/// How many of the filtered rows the statement counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    None,
    All,
    /// At most this many: enough to tell whether `db-max-rows` was passed.
    UpTo(u64),
}

impl Counting {
    /// The `total` column: a count over `from_where` (`from ... where ...` of the read).
    pub fn sql(self, from_where: &str) -> String {
        match self {
            Counting::None => "null".to_string(),
            Counting::All => format!("(select pg_catalog.count(*) {from_where})"),
            Counting::UpTo(limit) => format!(
                "(select pg_catalog.count(*) from (select 1 {from_where} limit {limit}) pgrst_counted)"
            ),
        }
    }
}

/// What a table read must count, and whether it needs the planner's estimate.
pub fn table_counting(pref: Option<CountPref>, max_rows: Option<u64>) -> (Counting, bool) {
    match pref {
        None => (Counting::None, false),
        Some(CountPref::Exact) => (Counting::All, false),
        Some(CountPref::Planned) => (Counting::None, true),
        Some(CountPref::Estimated) => (
            max_rows.map_or(Counting::All, |max| Counting::UpTo(max.saturating_add(1))),
            true,
        ),
    }
}

/// The total a table read reports, from what was counted and what the planner estimated.
pub fn table_total(
    pref: Option<CountPref>,
    counted: Option<i64>,
    planned: Option<i64>,
    max_rows: Option<u64>,
) -> Option<i64> {
    match pref {
        None => None,
        Some(CountPref::Exact) => counted,
        Some(CountPref::Planned) => planned,
        Some(CountPref::Estimated) => {
            let over_max = match (counted, max_rows) {
                (Some(count), Some(max)) => count > i64::try_from(max).unwrap_or(i64::MAX),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if over_max {
                counted.max(planned)
            } else {
                counted
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimated_counts_up_to_max_rows_then_trusts_the_planner() {
        let est = Some(CountPref::Estimated);
        assert_eq!(table_counting(est, Some(50)), (Counting::UpTo(51), true));
        assert_eq!(table_counting(est, None), (Counting::All, true));
        assert_eq!(
            table_counting(Some(CountPref::Planned), Some(50)),
            (Counting::None, true)
        );
        // At or below the maximum the count stands, whatever the planner thinks.
        assert_eq!(table_total(est, Some(30), Some(900), Some(50)), Some(30));
        assert_eq!(table_total(est, Some(50), Some(900), Some(50)), Some(50));
        // Past it, the larger of the capped count and the estimate.
        assert_eq!(table_total(est, Some(51), Some(360), Some(50)), Some(360));
        assert_eq!(table_total(est, Some(51), Some(40), Some(50)), Some(51));
        // Without a maximum every count is "past it".
        assert_eq!(table_total(est, Some(200), Some(360), None), Some(360));
        assert_eq!(table_total(est, Some(200), Some(40), None), Some(200));
        assert_eq!(
            table_total(Some(CountPref::Planned), None, Some(40), Some(50)),
            Some(40)
        );
        assert_eq!(table_total(None, Some(3), Some(4), None), None);
    }

    #[test]
    fn capped_counts_stop_early() {
        assert_eq!(
            Counting::UpTo(51).sql("from t where a"),
            "(select pg_catalog.count(*) from (select 1 from t where a limit 51) pgrst_counted)"
        );
        assert_eq!(Counting::None.sql("from t"), "null");
    }
}
