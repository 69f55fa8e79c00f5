//! Instants as Unix milliseconds, read from the RFC 3339 text PostgREST sends for `timestamptz`
//! (`2026-01-15T10:00:00.123456+00:00`). The engine compares instants only by subtraction, so
//! a plain integer is all it needs; no calendar crate is pulled into the Wasm bundle.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// A point in time, in milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_unix_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// Milliseconds from `earlier` to `self`; negative when `earlier` is in the future.
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the text Postgres reads back for a `timestamptz`. Years
    /// outside 0..=9999 (and the infinity sentinels) are clamped to that range's ends.
    pub fn to_rfc3339(self) -> String {
        const FIRST: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00Z
        const LAST: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
        let millis = self.0.clamp(FIRST, LAST);
        let (seconds, millisecond) = (millis.div_euclid(1_000), millis.rem_euclid(1_000));
        let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millisecond:03}Z",
            second_of_day / 3_600,
            second_of_day % 3_600 / 60,
            second_of_day % 60
        )
    }

    /// Reads `YYYY-MM-DD[T ]HH:MM:SS[.fraction](Z|±HH[:MM[:SS]])`, the shape Postgres writes,
    /// plus its `infinity` / `-infinity` sentinels (mapped to the extreme instants).
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        match text {
            "infinity" => return Ok(Timestamp(i64::MAX)),
            "-infinity" => return Ok(Timestamp(i64::MIN)),
            _ => {}
        }
        let mut cursor = Cursor {
            bytes: text.as_bytes(),
            at: 0,
        };
        let year = cursor.digits(4)? as i64;
        cursor.expect(b'-')?;
        let month = cursor.digits(2)?;
        cursor.expect(b'-')?;
        let day = cursor.digits(2)?;
        if !cursor.eat(b'T') && !cursor.eat(b't') && !cursor.eat(b' ') {
            return Err(TimestampError::Shape);
        }
        let hour = cursor.digits(2)?;
        cursor.expect(b':')?;
        let minute = cursor.digits(2)?;
        cursor.expect(b':')?;
        let second = cursor.digits(2)?;
        let millis = cursor.fraction_as_millis()?;
        let offset_seconds = cursor.utc_offset_seconds()?;
        if !cursor.at_end() {
            return Err(TimestampError::Shape);
        }
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(TimestampError::OutOfRange);
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimestampError::OutOfRange);
        }
        let seconds = days_from_civil(year, month, day) * 86_400
            + i64::from(hour) * 3_600
            + i64::from(minute) * 60
            + i64::from(second)
            - offset_seconds;
        Ok(Timestamp(seconds * 1_000 + millis))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampError {
    Shape,
    OutOfRange,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimestampError::Shape => {
                f.write_str("expected an RFC 3339 timestamp such as 2026-01-15T10:00:00Z")
            }
            TimestampError::OutOfRange => f.write_str("timestamp has a date or time out of range"),
        }
    }
}

impl std::error::Error for TimestampError {}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Rfc3339;
        impl Visitor<'_> for Rfc3339 {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(text)
                    .map_err(|error| E::custom(format!("{error}: {text:?}")))
            }
        }
        deserializer.deserialize_str(Rfc3339)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let matched = self.peek() == Some(byte);
        if matched {
            self.at += 1;
        }
        matched
    }

    fn expect(&mut self, byte: u8) -> Result<(), TimestampError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(TimestampError::Shape)
        }
    }

    fn digits(&mut self, count: usize) -> Result<u32, TimestampError> {
        let mut value = 0u32;
        for _ in 0..count {
            match self.peek() {
                Some(byte @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(byte - b'0');
                    self.at += 1;
                }
                _ => return Err(TimestampError::Shape),
            }
        }
        Ok(value)
    }

    /// Keeps the first three fractional digits (milliseconds) and skips the rest, truncating,
    /// which is how Postgres itself rounds down when casting to a coarser precision.
    fn fraction_as_millis(&mut self) -> Result<i64, TimestampError> {
        if !self.eat(b'.') {
            return Ok(0);
        }
        let mut millis = 0i64;
        let mut seen = 0usize;
        while let Some(byte @ b'0'..=b'9') = self.peek() {
            if seen < 3 {
                millis = millis * 10 + i64::from(byte - b'0');
            }
            seen += 1;
            self.at += 1;
        }
        if seen == 0 {
            return Err(TimestampError::Shape);
        }
        for _ in seen..3 {
            millis *= 10;
        }
        Ok(millis)
    }

    fn utc_offset_seconds(&mut self) -> Result<i64, TimestampError> {
        if self.eat(b'Z') || self.eat(b'z') {
            return Ok(0);
        }
        let sign = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return Err(TimestampError::Shape);
        };
        let hours = self.digits(2)?;
        let mut minutes = 0;
        let mut seconds = 0;
        if self.eat(b':') {
            minutes = self.digits(2)?;
            if self.eat(b':') {
                seconds = self.digits(2)?;
            }
        }
        if hours > 15 || minutes > 59 || seconds > 59 {
            return Err(TimestampError::OutOfRange);
        }
        Ok(sign * i64::from(hours * 3_600 + minutes * 60 + seconds))
    }
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = if year >= 0 { year } else { year - 399 } / 400;
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// (year, month, day) for a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> i64 {
        Timestamp::parse_rfc3339(text).unwrap().unix_millis()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reads_the_shapes_postgres_writes() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), 0);
        assert_eq!(parse("2026-01-15T10:00:00+00:00"), 1_768_471_200_000);
        assert_eq!(parse("2026-01-15 10:00:00+00"), 1_768_471_200_000);
        assert_eq!(parse("2026-01-15T10:00:00.123456+00:00"), 1_768_471_200_123);
        assert_eq!(parse("2026-01-15T10:00:00.5Z"), 1_768_471_200_500);
        assert_eq!(parse("2026-01-15T15:30:00+05:30"), 1_768_471_200_000);
        assert_eq!(parse("2026-01-15T04:00:00-06:00"), 1_768_471_200_000);
        assert_eq!(
            parse("1883-11-18T12:00:00+00:53:28"),
            parse("1883-11-18T11:06:32Z")
        );
        assert_eq!(parse("1969-12-31T23:59:59Z"), -1_000);
        assert_eq!(
            parse("2024-02-29T00:00:00Z") + MILLIS_PER_DAY,
            parse("2024-03-01T00:00:00Z")
        );
        assert_eq!(parse("infinity"), i64::MAX);
        assert_eq!(parse("-infinity"), i64::MIN);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn writes_known_instants() {
        // Expected values from Python's datetime.fromtimestamp(ms / 1000, timezone.utc).
        for (millis, expected) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_825_600_001, "2000-02-29T12:00:00.001Z"),
            (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
            (1_798_761_599_999, "2026-12-31T23:59:59.999Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
        ] {
            assert_eq!(Timestamp::from_unix_millis(millis).to_rfc3339(), expected);
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn writes_rfc3339_that_reads_back_to_the_same_instant() {
        assert_eq!(
            Timestamp::from_unix_millis(0).to_rfc3339(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(1_768_471_200_123).to_rfc3339(),
            "2026-01-15T10:00:00.123Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(-1).to_rfc3339(),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(951_825_600_000).to_rfc3339(),
            "2000-02-29T12:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(i64::MAX).to_rfc3339(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(i64::MIN).to_rfc3339(),
            "0000-01-01T00:00:00.000Z"
        );
        let mut millis = -86_400_000 * 365 * 300;
        while millis < 86_400_000 * 365 * 300 {
            let instant = Timestamp::from_unix_millis(millis);
            assert_eq!(Timestamp::parse_rfc3339(&instant.to_rfc3339()), Ok(instant));
            millis += 7_777_777_777;
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn refuses_what_is_not_a_timestamp() {
        for text in [
            "",
            "2026-01-15",
            "2026-01-15T10:00:00",
            "2026-1-15T10:00:00Z",
            "2026-01-15T10:00Z",
            "2026-01-15T10:00:00.Z",
            "2026-01-15T10:00:00Z junk",
            "yesterday",
        ] {
            assert_eq!(
                Timestamp::parse_rfc3339(text),
                Err(TimestampError::Shape),
                "{text:?}"
            );
        }
        for text in [
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-01-15T24:00:00Z",
            "2026-01-15T10:60:00Z",
            "2026-01-15T10:00:00+16:00",
        ] {
            assert_eq!(
                Timestamp::parse_rfc3339(text),
                Err(TimestampError::OutOfRange),
                "{text:?}"
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn deserializes_from_json_and_names_bad_text() {
        let at: Timestamp = serde_json::from_str("\"2026-01-15T10:00:00Z\"").unwrap();
        assert_eq!(at.unix_millis(), 1_768_471_200_000);
        let error = serde_json::from_str::<Timestamp>("\"soon\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("RFC 3339") && error.contains("soon"),
            "{error}"
        );
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }
}
