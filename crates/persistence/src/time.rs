//! Timestamps are stored as UTC `TIMESTAMP` values with microsecond precision.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp as SqlTimestamp;
use diesel::sqlite::Sqlite;
use healthcare_domain::Timestamp;

use crate::connection::DbBackend;

pub(crate) fn to_db(at: Timestamp) -> NaiveDateTime {
    at.naive_utc()
}

pub(crate) fn from_db(at: impl Into<NaiveDateTime>) -> Timestamp {
    at.into().and_utc()
}

/// Helps `Option` columns.
pub(crate) fn opt_from_db(at: Option<impl Into<NaiveDateTime>>) -> Option<Timestamp> {
    at.map(from_db)
}

/// A `TIMESTAMP` column of the rows every request reads (patients, doctors, mappings).
///
/// SQLite keeps timestamps as text, which diesel parses by trying chrono format strings in
/// turn, reading each format string again every time: 3 % of the CPU of a page of patients.
/// The text diesel writes (`YYYY-MM-DD HH:MM:SS` with up to nine fractional digits) is read
/// directly here; anything else (a row edited by hand) still goes to diesel's parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub(crate) struct DbTimestamp(NaiveDateTime);

impl From<DbTimestamp> for NaiveDateTime {
    fn from(at: DbTimestamp) -> Self {
        at.0
    }
}

impl FromSql<SqlTimestamp, Sqlite> for DbTimestamp {
    fn from_sql(mut value: diesel::sqlite::SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if let Some(at) = parse_written(value.read_text()) {
            return Ok(Self(at));
        }
        <NaiveDateTime as FromSql<SqlTimestamp, Sqlite>>::from_sql(value).map(Self)
    }
}

impl FromSql<SqlTimestamp, Pg> for DbTimestamp {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<SqlTimestamp, Pg>>::from_sql(value).map(Self)
    }
}

impl FromSql<SqlTimestamp, DbBackend> for DbTimestamp {
    fn from_sql(
        value: <DbBackend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        value.from_sql::<Self, SqlTimestamp>()
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1 to 9 fractional digits, as diesel writes
/// a `NaiveDateTime` to SQLite (`%F %T%.f`); `None` for anything else or an impossible date.
fn parse_written(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0_u32, |value, &digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + u32::from(digit - b'0'))
        })
    };
    let (head, fraction) = bytes.split_at_checked(19)?;
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b' ',
        h0,
        h1,
        b':',
        i0,
        i1,
        b':',
        s0,
        s1,
    ] = *head
    else {
        return None;
    };
    let nanos = match fraction {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(digits)? * 10_u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(number(&[y0, y1, y2, y3])?).ok()?,
        number(&[m0, m1])?,
        number(&[d0, d1])?,
    )?;
    let time = NaiveTime::from_hms_nano_opt(
        number(&[h0, h1])?,
        number(&[i0, i1])?,
        number(&[s0, s1])?,
        nanos,
    )?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(at: NaiveDateTime) -> String {
        // What diesel's `ToSql<Timestamp, Sqlite>` writes.
        at.format("%F %T%.f").to_string()
    }

    #[test]
    fn reads_what_diesel_writes() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).expect("date");
        for time in [
            NaiveTime::from_hms_opt(0, 0, 0),
            NaiveTime::from_hms_opt(23, 59, 59),
            NaiveTime::from_hms_milli_opt(8, 5, 3, 120),
            NaiveTime::from_hms_micro_opt(8, 5, 3, 123_456),
            NaiveTime::from_hms_nano_opt(8, 5, 3, 123_456_789),
        ] {
            let at = day.and_time(time.expect("time"));
            assert_eq!(parse_written(&written(at)), Some(at), "{}", written(at));
        }
    }

    #[test]
    fn reads_short_fractions_as_diesel_does() {
        let expected = NaiveDate::from_ymd_opt(2026, 1, 2)
            .and_then(|day| day.and_hms_milli_opt(3, 4, 5, 500))
            .expect("valid");
        assert_eq!(parse_written("2026-01-02 03:04:05.5"), Some(expected));
        assert_eq!(
            NaiveDateTime::parse_from_str("2026-01-02 03:04:05.5", "%F %T%.f").ok(),
            Some(expected)
        );
    }

    #[test]
    fn leaves_every_other_text_to_diesel() {
        for text in [
            "",
            "2026-12-07",
            "2026-12-07T08:05:03",
            "2026-12-07 08:05:03Z",
            "2026-12-07 08:05:03.",
            "2026-12-07 08:05:03.1234567890",
            "2026-13-07 08:05:03",
            "2026-02-30 08:05:03",
            "2026-12-07 24:00:00",
            "2026-12-07 08:05:60",
            "2026-12-07 08:5:03.1",
            "+2026-12-07 08:05:03",
            "2026-12-07 08:05:0x",
            "２０２６-12-07 08:05:03",
        ] {
            assert_eq!(parse_written(text), None, "{text:?}");
        }
    }
}
