//! Totals the triggers keep for a list (`doctor_totals`, `clinic_patient_totals`), read instead
//! of counting the list's rows on every page.

use std::ops::Add;

/// How many rows of a list are live and how many archived.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeptTotals {
    pub(crate) live: i64,
    pub(crate) archived: i64,
}

impl KeptTotals {
    /// The total for a list's `archived` filter: live (`Some(false)`), archived (`Some(true)`)
    /// or both (`None`).
    pub(crate) fn for_filter(self, archived: Option<bool>) -> i64 {
        match archived {
            Some(false) => self.live,
            Some(true) => self.archived,
            None => self.live + self.archived,
        }
    }
}

impl From<(i64, i64)> for KeptTotals {
    fn from((live, archived): (i64, i64)) -> Self {
        Self { live, archived }
    }
}

/// Totals spread over several rows add up.
impl Add for KeptTotals {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            live: self.live + other.live,
            archived: self.archived + other.archived,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_filter_reads_its_part_and_rows_add_up() {
        let totals = KeptTotals::from((3, 1)) + KeptTotals::from((2, 0));
        assert_eq!(
            totals,
            KeptTotals {
                live: 5,
                archived: 1
            }
        );
        assert_eq!(
            (
                totals.for_filter(Some(false)),
                totals.for_filter(Some(true)),
                totals.for_filter(None)
            ),
            (5, 1, 6)
        );
    }
}
