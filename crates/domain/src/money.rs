//! Money: a non-negative amount with at most 2 decimal places and 10 digits in all, stored as
//! integer cents and shown with exactly two decimals.

/// An amount of money in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(i64);

use crate::errors::FieldProblem;

impl Money {
    /// Most digits in all.
    pub const MAX_DIGITS: usize = 10;
    /// Most decimal places.
    pub const DECIMAL_PLACES: usize = 2;

    /// Parses a decimal such as `"150"`, `"150.5"` or `"150.50"` (a JSON number arrives as its
    /// text), judging digits as DRF's `DecimalField(max_digits=10, decimal_places=2)` does.
    pub fn parse(raw: &str) -> Result<Self, FieldProblem> {
        let text = raw.trim();
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !is_digits(whole) || !is_digits(fraction) {
            return Err(FieldProblem::NotANumber);
        }
        // Python's Decimal drops leading zeros of the whole part but keeps trailing zeros of
        // the fraction, and DRF counts digits on that tuple.
        let significant_whole = whole.trim_start_matches('0');
        let total_digits = if significant_whole.is_empty() {
            fraction.len().max(1)
        } else {
            significant_whole.len() + fraction.len()
        };
        if total_digits > Self::MAX_DIGITS {
            return Err(FieldProblem::TooManyDigits {
                max: Self::MAX_DIGITS,
            });
        }
        if fraction.len() > Self::DECIMAL_PLACES {
            return Err(FieldProblem::TooManyDecimalPlaces {
                max: Self::DECIMAL_PLACES,
            });
        }
        let max_whole = Self::MAX_DIGITS - Self::DECIMAL_PLACES;
        if significant_whole.len() > max_whole {
            return Err(FieldProblem::TooManyWholeDigits { max: max_whole });
        }
        let whole_value: i64 = if significant_whole.is_empty() {
            0
        } else {
            significant_whole
                .parse()
                .map_err(|_| FieldProblem::NotANumber)?
        };
        let fraction_value: i64 = format!("{fraction:0<2}")
            .parse()
            .map_err(|_| FieldProblem::NotANumber)?;
        let cents = whole_value * 100 + fraction_value;
        if negative && cents > 0 {
            return Err(FieldProblem::TooSmall { min: 0 });
        }
        Ok(Self(cents))
    }

    /// From stored cents. Refuses a negative amount (the database was edited by hand).
    pub fn from_cents(cents: i64) -> Result<Self, FieldProblem> {
        if cents < 0 {
            Err(FieldProblem::TooSmall { min: 0 })
        } else {
            Ok(Self(cents))
        }
    }

    /// The amount in cents.
    pub fn cents(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for Money {
    /// Exactly two decimals: `150.00`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let cases = [
            ("150", "150.00"),
            ("150.5", "150.50"),
            ("150.50", "150.50"),
            ("0", "0.00"),
            ("0.07", "0.07"),
            (".5", "0.50"),
            ("5.", "5.00"),
            ("00012.30", "12.30"),
            ("99999999.99", "99999999.99"),
            ("-0", "0.00"),
            (" 7 ", "7.00"),
        ];
        for (raw, shown) in cases {
            assert_eq!(
                Money::parse(raw).map(|m| m.to_string()),
                Ok(shown.to_owned()),
                "{raw}"
            );
        }
        assert_eq!(Money::parse("12.34").map(Money::cents), Ok(1234));
    }

    #[test]
    fn refuses_as_drf_judges_digits() {
        let cases = [
            ("abc", FieldProblem::NotANumber),
            ("", FieldProblem::NotANumber),
            (".", FieldProblem::NotANumber),
            ("1e3", FieldProblem::NotANumber),
            ("1.2.3", FieldProblem::NotANumber),
            ("12.345", FieldProblem::TooManyDecimalPlaces { max: 2 }),
            ("1234567890.5", FieldProblem::TooManyDigits { max: 10 }),
            ("123456789.5", FieldProblem::TooManyWholeDigits { max: 8 }),
            ("123456789", FieldProblem::TooManyWholeDigits { max: 8 }),
            ("-1", FieldProblem::TooSmall { min: 0 }),
            ("-0.01", FieldProblem::TooSmall { min: 0 }),
        ];
        for (raw, problem) in cases {
            assert_eq!(Money::parse(raw), Err(problem), "{raw}");
        }
    }
}
