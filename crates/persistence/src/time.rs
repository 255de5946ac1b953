//! Timestamps are stored as UTC `TIMESTAMP` values with microsecond precision.

use chrono::NaiveDateTime;
use healthcare_domain::Timestamp;

pub(crate) fn to_db(at: Timestamp) -> NaiveDateTime {
    at.naive_utc()
}

pub(crate) fn from_db(at: NaiveDateTime) -> Timestamp {
    at.and_utc()
}

/// Helps `Option` columns.
pub(crate) fn opt_from_db(at: Option<NaiveDateTime>) -> Option<Timestamp> {
    at.map(|at| at.and_utc())
}
