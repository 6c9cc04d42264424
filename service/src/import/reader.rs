//! Reading an import file: CSV (with a header) or JSON Lines, record by
//! record in constant memory, each parsed and validated into a row to write.

use std::io::BufRead;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Format, Kind};
use crate::error::{Error, Result};
use crate::input::{NewCustomer, NewOrder};
use crate::model::OrderStatus;
use crate::money::Money;

/// A parsed record of either kind.
pub(super) enum Record {
    Customer(NewCustomer),
    Order(NewOrder),
}

/// Streams records out of a CSV or JSON Lines source.
pub(super) struct RecordReader<R: BufRead> {
    kind: Kind,
    source: Source<R>,
    /// Set after an I/O error: nothing more can be read.
    done: bool,
}

enum Source<R: BufRead> {
    Csv {
        reader: csv::Reader<R>,
        columns: Vec<String>,
        record: csv::StringRecord,
    },
    Json {
        reader: R,
        line: u64,
        buf: String,
    },
}

impl<R: BufRead> RecordReader<R> {
    pub(super) fn new(kind: Kind, format: Format, reader: R) -> Result<Self> {
        let source = match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .trim(csv::Trim::Headers)
                    .flexible(true)
                    .from_reader(reader);
                let columns: Vec<String> = reader
                    .headers()
                    .map_err(|e| {
                        Error::Validation(format!("line 1: cannot read the CSV header: {e}"))
                    })?
                    .iter()
                    .map(normalize_key)
                    .collect();
                let required: &[&str] = match kind {
                    Kind::Customers => &["name", "email"],
                    Kind::Orders => &["customer_id", "total"],
                };
                for r in required {
                    if !columns.iter().any(|c| c == r) {
                        return Err(Error::Validation(format!(
                            "line 1: the CSV header has no {r:?} column (found {columns:?})"
                        )));
                    }
                }
                Source::Csv {
                    reader,
                    columns,
                    record: csv::StringRecord::new(),
                }
            }
            Format::JsonLines => Source::Json {
                reader,
                line: 0,
                buf: String::new(),
            },
        };
        Ok(RecordReader {
            kind,
            source,
            done: false,
        })
    }

    /// The next record and its line, or `None` at the end.
    /// The next record and its 1-based line; `None` at the end.
    pub(super) fn next_record(&mut self) -> Option<(u64, std::result::Result<Record, String>)> {
        if self.done {
            return None;
        }
        match &mut self.source {
            Source::Csv {
                reader,
                columns,
                record,
            } => match reader.read_record(record) {
                Ok(false) => None,
                Ok(true) => {
                    let line = record.position().map(|p| p.line()).unwrap_or(0);
                    let field = |name: &str| {
                        columns
                            .iter()
                            .position(|c| c == name)
                            .and_then(|i| record.get(i))
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(|v| Value::String(v.to_owned()))
                    };
                    Some((line, parse(self.kind, &field)))
                }
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    // A broken record may be followed by good ones; an I/O error ends the file.
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        self.done = true;
                        return Some((line, Err(format!("cannot read the file: {e}"))));
                    }
                    Some((line, Err(format!("malformed CSV record: {e}"))))
                }
            },
            Source::Json { reader, line, buf } => loop {
                buf.clear();
                match reader.read_line(buf) {
                    Ok(0) => return None,
                    Ok(_) => {
                        *line += 1;
                        if buf.trim().is_empty() {
                            continue;
                        }
                        let parsed = match serde_json::from_str::<Value>(buf) {
                            Ok(Value::Object(map)) => {
                                let field = |name: &str| {
                                    map.iter()
                                        .find(|(k, _)| normalize_key(k) == name)
                                        .map(|(_, v)| v.clone())
                                        .filter(|v| !v.is_null())
                                };
                                parse(self.kind, &field)
                            }
                            Ok(_) => Err("expected a JSON object".to_owned()),
                            Err(e) => Err(format!("malformed JSON: {e}")),
                        };
                        return Some((*line, parsed));
                    }
                    Err(e) => {
                        self.done = true;
                        return Some((*line + 1, Err(format!("cannot read the file: {e}"))));
                    }
                }
            },
        }
    }
}

/// `customerId`, `Customer ID` and `customer_id` all name the same field.
fn normalize_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, ch) in key.trim().chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else if ch == ' ' || ch == '-' {
            out.push('_');
        } else {
            out.push(ch);
        }
    }
    out
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse(kind: Kind, field: &dyn Fn(&str) -> Option<Value>) -> std::result::Result<Record, String> {
    let get = |name: &str| -> std::result::Result<Option<String>, String> {
        match field(name) {
            None => Ok(None),
            Some(v) => text(&v)
                .map(Some)
                .ok_or_else(|| format!("{name} must be a string or a number")),
        }
    };
    let required = |name: &str| -> std::result::Result<String, String> {
        get(name)?.ok_or_else(|| format!("{name} is missing"))
    };
    match kind {
        Kind::Customers => {
            let name = required("name")?;
            let email = required("email")?;
            let phone = get("phone")?;
            NewCustomer::parse(&name, &email, phone.as_deref()).map(Record::Customer)
        }
        Kind::Orders => {
            let customer_id: i64 = required("customer_id")?
                .trim()
                .parse()
                .ok()
                .filter(|id| *id > 0)
                .ok_or("customer_id must be a positive integer")?;
            let total: Money = required("total")?
                .parse()
                .map_err(|e| format!("total: {e}"))?;
            let status = get("status")?.map(|s| parse_status(&s)).transpose()?;
            let created_at = get("created_at")?
                .map(|t| {
                    DateTime::parse_from_rfc3339(t.trim())
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| format!("created_at {t:?} is not an RFC 3339 date-time"))
                })
                .transpose()?;
            NewOrder::parse(customer_id, total, status, created_at).map(Record::Order)
        }
    }
}

fn parse_status(s: &str) -> std::result::Result<OrderStatus, String> {
    OrderStatus::from_name(s)
        .ok_or_else(|| format!("status {s:?} is not one of PENDING, PAID, SHIPPED, CANCELLED"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalized() {
        assert_eq!(normalize_key("customerId"), "customer_id");
        assert_eq!(normalize_key("customer_id"), "customer_id");
        assert_eq!(normalize_key(" Created At "), "created_at");
        assert_eq!(normalize_key("createdAt"), "created_at");
    }
}
