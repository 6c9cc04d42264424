//! The contract's custom scalars, ids and page sizes (cursors: `keyset`).

use async_graphql::{ID, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{SecondsFormat, Utc};
use service::model::PageRequest;
use service::money::Money;

use crate::graphql::runtime::error::bad_input;

/// Exact money, serialized as a string with two decimals: `"123.45"`.
/// Input may be a string (`"12.5"`) or a number (`12.5`, read from its
/// decimal text, never through a float), with at most two decimals.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Decimal(pub Money);

/// Exact money, serialized as a string with two decimals: "123.45". Input
/// may be a string ("12.5") or a number (12.5, read from its decimal text,
/// never through a float), with at most two decimals.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_decimal(&value)
            .map(Decimal)
            .map_err(InputValueError::custom)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// Reads money from a string or a JSON number (its decimal text).
pub fn parse_decimal(value: &Value) -> Result<Money, String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(format!(
                "expected money as a string such as \"12.50\" (got {other})"
            ));
        }
    };
    text.parse::<Money>()
        .map_err(|e| format!("{e} (got {text:?})"))
}

/// An instant in RFC 3339, always written in UTC (`2026-01-31T12:00:00.5Z`).
/// Input may carry any offset; it is converted to UTC and kept to the microsecond.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant in RFC 3339 (date, time and offset), always returned in UTC
/// ("2026-01-31T12:00:00.5Z"). Input may carry any offset; it is kept to the
/// microsecond. Years run from 1 to 9999.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_datetime(&value)
            .map(DateTime)
            .map_err(InputValueError::custom)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// Reads an RFC 3339 instant (years 1 to 9999), truncated to microseconds.
pub fn parse_datetime(value: &Value) -> Result<chrono::DateTime<Utc>, String> {
    let Value::String(s) = value else {
        return Err(format!(
            "expected an RFC 3339 date-time string such as \"2026-01-31T12:00:00Z\" (got {value})"
        ));
    };
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| service::input::truncate_to_micros(t.with_timezone(&Utc)))
        .filter(|t| (1..=9999).contains(&chrono::Datelike::year(t)))
        .ok_or_else(|| {
            format!("expected an RFC 3339 date-time such as \"2026-01-31T12:00:00Z\" (got {s:?})")
        })
}

/// Parses an `ID` argument: a positive integer in decimal.
pub fn parse_id(id: &ID, what: &str) -> async_graphql::Result<i64> {
    id.as_str()
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| bad_input(format!("{what} id {:?} is not a valid id", id.as_str())))
}

pub fn to_id(id: i64) -> ID {
    ID(id.to_string())
}

/// A count as GraphQL's 32-bit `Int` (`INTERNAL` past its range).
pub fn to_int(n: impl TryInto<i32>) -> async_graphql::Result<i32> {
    n.try_into().map_err(|_| {
        crate::graphql::runtime::error::gql_error(
            crate::graphql::runtime::error::Code::Internal,
            "count exceeds the Int range",
        )
    })
}

/// Most rows one page may hold.
pub const MAX_PAGE: i32 = 100;

/// Reads a connection's `first`/`last`/`after`/`before`: at most one of
/// `first` and `last`, each 0 to [`MAX_PAGE`]; neither means `default` rows
/// from the start.
pub fn page_request<K>(
    first: Option<i32>,
    last: Option<i32>,
    after: Option<K>,
    before: Option<K>,
    default: u64,
) -> async_graphql::Result<PageRequest<K>> {
    let size = |name: &str, n: i32| {
        if (0..=MAX_PAGE).contains(&n) {
            Ok(u64::try_from(n).unwrap_or_default())
        } else {
            Err(bad_input(format!(
                "{name} must be between 0 and {MAX_PAGE} (got {n})"
            )))
        }
    };
    let (size, from_end) = match (first, last) {
        (Some(_), Some(_)) => {
            return Err(bad_input(
                "give `first` (a page from the start) or `last` (a page from the end), not both",
            ));
        }
        (Some(n), None) => (size("first", n)?, false),
        (None, Some(n)) => (size("last", n)?, true),
        (None, None) => (default, false),
    };
    Ok(PageRequest {
        size,
        after,
        before,
        from_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_scalar_reads_strings_and_numbers_exactly() {
        let n: Value = serde_json::from_str("12.5")
            .map(Value::Number)
            .expect("number");
        assert_eq!(
            Decimal::parse(n).ok(),
            Some(Decimal(Money::from_cents(1250)))
        );
        assert_eq!(
            Decimal::parse(Value::String("0.10".into())).ok(),
            Some(Decimal(Money::from_cents(10)))
        );
        assert!(Decimal::parse(Value::String("0.001".into())).is_err());
        assert!(Decimal::parse(Value::Boolean(true)).is_err());
        assert_eq!(
            Decimal(Money::from_cents(5)).to_value(),
            Value::String("0.05".into())
        );
    }
}
