//! Validated inputs. Every write goes through one of these parsers first, so
//! nothing invalid reaches the database and errors say what to change.

use chrono::{DateTime, Utc};

use crate::model::OrderStatus;
use crate::money::Money;

pub const NAME_MAX_CHARS: usize = 100;
pub const EMAIL_MAX_CHARS: usize = 320;
pub const PHONE_MAX_CHARS: usize = 32;

/// A customer ready to insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCustomer {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// `None`: the time of the insert.
    pub created_at: Option<DateTime<Utc>>,
}

impl NewCustomer {
    pub fn parse(name: &str, email: &str, phone: Option<&str>) -> Result<Self, String> {
        Ok(NewCustomer {
            name: parse_name(name)?,
            email: parse_email(email)?,
            phone: phone.map(parse_phone).transpose()?.flatten(),
            created_at: None,
        })
    }
}

/// Changes to a customer; `None` leaves a field as it is. `phone: Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<Option<String>>,
}

impl CustomerPatch {
    pub fn parse(
        name: Option<&str>,
        email: Option<&str>,
        phone: Option<Option<&str>>,
    ) -> Result<Self, String> {
        Ok(CustomerPatch {
            name: name.map(parse_name).transpose()?,
            email: email.map(parse_email).transpose()?,
            phone: match phone {
                None => None,
                Some(None) => Some(None),
                Some(Some(p)) => Some(parse_phone(p)?),
            },
        })
    }
}

/// An order ready to insert. The customer's existence is checked by the writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    pub customer_id: i64,
    pub total: Money,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
}

impl NewOrder {
    pub fn parse(
        customer_id: i64,
        total: Money,
        status: Option<OrderStatus>,
        created_at: Option<DateTime<Utc>>,
    ) -> Result<Self, String> {
        Ok(NewOrder {
            customer_id,
            total: parse_total(total)?,
            status: status.unwrap_or(OrderStatus::Pending),
            created_at: created_at.map(truncate_to_micros).unwrap_or_else(now),
        })
    }
}

/// Changes to an order; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderPatch {
    pub total: Option<Money>,
    pub status: Option<OrderStatus>,
}

impl OrderPatch {
    pub fn parse(total: Option<Money>, status: Option<OrderStatus>) -> Result<Self, String> {
        Ok(OrderPatch {
            total: total.map(parse_total).transpose()?,
            status,
        })
    }
}

/// The current time at the database's precision (microseconds), so a value
/// reads back exactly as it was written on every backend.
pub fn now() -> DateTime<Utc> {
    truncate_to_micros(Utc::now())
}

pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// The largest order total accepted: a billion in major units, which keeps
/// any customer's sum of totals far inside 64 bits.
pub const MAX_ORDER_TOTAL: Money = Money::from_cents(100_000_000_000);

fn parse_total(total: Money) -> Result<Money, String> {
    if total.is_negative() {
        return Err(format!("total must not be negative (got {total})"));
    }
    if total > MAX_ORDER_TOTAL {
        return Err(format!(
            "total must be at most {MAX_ORDER_TOTAL} (got {total})"
        ));
    }
    Ok(total)
}

fn parse_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err("name must not be empty".into());
    }
    if chars > NAME_MAX_CHARS {
        return Err(format!(
            "name must be at most {NAME_MAX_CHARS} characters (got {chars})"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("name must not contain control characters".into());
    }
    if name.chars().any(is_bidi_control) {
        return Err(
            "name must not contain bidirectional control characters (they reorder how text is shown)"
                .into(),
        );
    }
    if name.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        return Err("name must contain a visible character".into());
    }
    Ok(name.to_owned())
}

/// Characters that change the direction text is shown in.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: zero-width and formatting characters,
/// variation selectors, fillers, tags.
fn is_invisible(c: char) -> bool {
    is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

/// A search text (a filter's substring or email): any text without control
/// characters (a NUL byte cannot reach the database), at most 320 characters.
pub fn parse_search_text(what: &str, text: &str) -> Result<String, String> {
    if text.chars().any(char::is_control) {
        return Err(format!("{what} must not contain control characters"));
    }
    if text.chars().count() > EMAIL_MAX_CHARS {
        return Err(format!(
            "{what} must be at most {EMAIL_MAX_CHARS} characters"
        ));
    }
    Ok(text.to_owned())
}

/// Checks the syntax of an address (`local@domain.tld`) and lower-cases it:
/// emails are unique regardless of case.
pub fn parse_email(email: &str) -> Result<String, String> {
    let email = email.trim();
    let invalid = || format!("email {email:?} is not a valid address");
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err(format!(
            "email must be at most {EMAIL_MAX_CHARS} characters"
        ));
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if !local_ok || !domain_ok {
        return Err(invalid());
    }
    Ok(email.to_ascii_lowercase())
}

/// A phone number: digits with optional `+`, spaces, dashes, dots and
/// parentheses. An empty string clears it.
fn parse_phone(phone: &str) -> Result<Option<String>, String> {
    let phone = phone.trim();
    if phone.is_empty() {
        return Ok(None);
    }
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    if !allowed || digits < 3 || phone.chars().count() > PHONE_MAX_CHARS {
        return Err(format!(
            "phone {phone:?} is not a phone number (digits with optional + - . ( ) and spaces, at most {PHONE_MAX_CHARS} characters)"
        ));
    }
    Ok(Some(phone.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_input_is_trimmed_and_email_lower_cased() {
        let c = NewCustomer::parse(
            "  Ada Lovelace ",
            " Ada@Example.COM ",
            Some(" +44 20 7946 0958 "),
        )
        .expect("valid");
        assert_eq!(c.name, "Ada Lovelace");
        assert_eq!(c.email, "ada@example.com");
        assert_eq!(c.phone.as_deref(), Some("+44 20 7946 0958"));
    }

    #[test]
    fn names_are_one_to_a_hundred_characters() {
        assert!(parse_name("").is_err());
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"é".repeat(100)).is_ok());
        assert!(parse_name(&"é".repeat(101)).is_err());
        assert!(parse_name("a\u{0}b").is_err());
    }

    #[test]
    fn names_need_a_visible_character_and_no_bidi_controls() {
        assert!(parse_name("\u{200B}\u{200C}\u{200D}").is_err());
        assert!(parse_name("\u{FEFF} \u{2060}").is_err());
        assert!(parse_name("\u{202E}\u{2066}").is_err());
        assert!(parse_name("evil\u{202E}gnp.exe").is_err());
        assert!(parse_name("Zoë \u{200D}").is_ok());
        assert!(parse_name("李小龙").is_ok());
    }

    #[test]
    fn search_texts_refuse_control_characters() {
        assert!(parse_search_text("nameContains", "a\u{0}b").is_err());
        assert_eq!(parse_search_text("email", "Ada").as_deref(), Ok("Ada"));
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", "x_y@e-x.io"] {
            assert!(parse_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@b",
            "a@b.c",
            "a@@b.com",
            "a b@c.com",
            "a@b..com",
            ".a@b.com",
            "a.@b.com",
            "a..b@c.com",
            "a@-b.com",
            "a@b.c0m1",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_are_digits_with_punctuation() {
        assert_eq!(parse_phone(""), Ok(None));
        assert!(parse_phone("12").is_err());
        assert!(parse_phone("call me").is_err());
        assert!(parse_phone(&"1".repeat(33)).is_err());
        assert_eq!(
            parse_phone("(555) 010-9999"),
            Ok(Some("(555) 010-9999".into()))
        );
    }

    #[test]
    fn order_totals_must_not_be_negative() {
        assert!(NewOrder::parse(1, Money::from_cents(-1), None, None).is_err());
        let o = NewOrder::parse(1, Money::from_cents(0), None, None).expect("valid");
        assert_eq!(o.status, OrderStatus::Pending);
        assert_eq!(o.created_at.timestamp_subsec_nanos() % 1000, 0);
    }
}
