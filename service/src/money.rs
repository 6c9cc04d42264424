//! Exact money in integer cents, written as a decimal string with two places.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An amount of money in cents. Never a float.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

/// Why a money string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("money must be a decimal number such as \"123.45\"")]
    Malformed,
    #[error("money has at most two decimals")]
    TooManyDecimals,
    #[error("money is out of range")]
    OutOfRange,
}

impl Money {
    pub const ZERO: Money = Money(0);
    /// The largest amount money text may denote: 10^15 (a quadrillion) in
    /// major units. Order totals are capped lower (`input::MAX_ORDER_TOTAL`)
    /// so that any customer's sum stays far inside 64 bits.
    pub const MAX: Money = Money(100_000_000_000_000_000);

    pub const fn from_cents(cents: i64) -> Self {
        Money(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    /// Accepts `123`, `123.4`, `123.45`, `-0.50`, `+1.00`; trailing zeros past
    /// the second decimal (`1.230`) are allowed, other digits are not.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (negative, digits) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
            return Err(MoneyError::Malformed);
        }
        if digits.contains('.') && frac_part.is_empty() {
            return Err(MoneyError::Malformed);
        }
        let frac_trimmed = frac_part.trim_end_matches('0');
        if frac_trimmed.len() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        let int_trimmed = int_part.trim_start_matches('0');
        if int_trimmed.len() > 16 {
            return Err(MoneyError::OutOfRange);
        }
        let units: i64 = if int_trimmed.is_empty() {
            0
        } else {
            int_trimmed.parse().map_err(|_| MoneyError::OutOfRange)?
        };
        let mut cents_part = 0i64;
        for (i, b) in frac_trimmed.bytes().enumerate() {
            let d = i64::from(b - b'0');
            cents_part += if i == 0 { d * 10 } else { d };
        }
        let cents = units
            .checked_mul(100)
            .and_then(|c| c.checked_add(cents_part))
            .ok_or(MoneyError::OutOfRange)?;
        if cents > Money::MAX.0 {
            return Err(MoneyError::OutOfRange);
        }
        Ok(Money(if negative { -cents } else { cents }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(Money(12345).to_string(), "123.45");
        assert_eq!(Money(5).to_string(), "0.05");
        assert_eq!(Money(0).to_string(), "0.00");
        assert_eq!(Money(-50).to_string(), "-0.50");
        assert_eq!(Money(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn parses_exact_amounts() {
        assert_eq!("123.45".parse(), Ok(Money(12345)));
        assert_eq!("123.4".parse(), Ok(Money(12340)));
        assert_eq!("123".parse(), Ok(Money(12300)));
        assert_eq!("0.05".parse(), Ok(Money(5)));
        assert_eq!("1.230".parse(), Ok(Money(123)));
        assert_eq!("-0.50".parse(), Ok(Money(-50)));
        assert_eq!("+7".parse(), Ok(Money(700)));
        assert_eq!("007.10".parse(), Ok(Money(710)));
    }

    #[test]
    fn refuses_malformed_or_imprecise_amounts() {
        for bad in [
            "", "-", ".5", "5.", "1e3", "12,50", "abc", "1.2.3", " - 1", "--1", "0x10",
        ] {
            assert_eq!(bad.parse::<Money>(), Err(MoneyError::Malformed), "{bad:?}");
        }
        assert_eq!("1.234".parse::<Money>(), Err(MoneyError::TooManyDecimals));
        assert_eq!("0.001".parse::<Money>(), Err(MoneyError::TooManyDecimals));
        assert_eq!(
            "99999999999999999999".parse::<Money>(),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            "1000000000000000.01".parse::<Money>(),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!("1000000000000000".parse(), Ok(Money::MAX));
    }
}
