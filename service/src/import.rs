//! `api import`: customers or orders from a CSV or JSON Lines file of any
//! size, in constant memory (records are read, validated and written in
//! batches), reporting bad records with their line numbers.
//!
//! An import is atomic: every batch is written inside one transaction, which
//! commits only when the whole file was valid. Any bad record (or a database
//! error) rolls everything back, so a failed import can simply be run again
//! once the file is fixed. Validation goes on after the first bad record, so
//! one run reports every bad line (up to [`MAX_REPORTED`]).

use std::collections::BTreeSet;
use std::io::BufRead;

use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use serde_json::Value;

use crate::Store;
use crate::bulk;
use crate::cache::Scope;
use crate::error::{Error, Result};
use crate::input::{NewCustomer, NewOrder};
use crate::model::OrderStatus;
use crate::money::Money;

/// Records validated and written per batch.
pub const IMPORT_BATCH: usize = 5_000;
/// Bad records listed in a report (all are counted).
pub const MAX_REPORTED: usize = 100;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Customers,
    Orders,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

/// One bad record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRecord {
    /// 1-based line of the file.
    pub line: u64,
    pub message: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Records read (good and bad).
    pub records: u64,
    /// Rows written; 0 unless the import committed.
    pub written: u64,
    pub committed: bool,
    /// The first bad records, by line.
    pub bad: Vec<BadRecord>,
    /// How many records were bad in all.
    pub bad_count: u64,
}

impl ImportReport {
    fn reject(&mut self, line: u64, message: impl Into<String>) {
        self.bad_count += 1;
        if self.bad.len() < MAX_REPORTED {
            self.bad.push(BadRecord {
                line,
                message: message.into(),
            });
        }
    }
}

/// A parsed record of either kind, with its line.
enum Record {
    Customer(NewCustomer),
    Order(NewOrder),
}

/// Reads `reader` as `format`, validates every record and writes them all in
/// one transaction, or nothing. `progress` gets the records read so far.
pub async fn import<R: BufRead>(
    store: &Store,
    kind: Kind,
    format: Format,
    reader: R,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    let mut records = RecordReader::new(kind, format, reader)?;
    let txn = store.db.begin().await?;
    let mut affected: BTreeSet<i64> = BTreeSet::new();
    loop {
        let mut lines = Vec::with_capacity(IMPORT_BATCH);
        let mut customers = Vec::new();
        let mut orders = Vec::new();
        while lines.len() < IMPORT_BATCH {
            let Some((line, parsed)) = records.next_record() else {
                break;
            };
            report.records += 1;
            match parsed {
                Ok(Record::Customer(c)) => {
                    lines.push(line);
                    customers.push(c);
                }
                Ok(Record::Order(o)) => {
                    lines.push(line);
                    orders.push(o);
                }
                Err(msg) => report.reject(line, msg),
            }
        }
        let read_all = lines.len() < IMPORT_BATCH;
        progress(report.records);
        if !lines.is_empty() {
            // Every batch is checked against the database; rows are sent only
            // while the file is clean (after a bad record nothing will commit).
            let write = report.bad_count == 0;
            let outcome = match kind {
                Kind::Customers => write_customers(&txn, &customers, write).await?,
                Kind::Orders => {
                    affected.extend(bulk::distinct_customers(&orders));
                    write_orders(&txn, &orders, write).await?
                }
            };
            match outcome {
                Ok(n) => report.written += n,
                Err(rejected) => report.reject(lines[rejected.index], rejected.message),
            }
        }
        if read_all {
            break;
        }
    }
    if report.bad_count > 0 {
        report.bad.sort_by_key(|b| b.line);
        txn.rollback().await?;
        report.written = 0;
        return Ok(report);
    }
    txn.commit().await?;
    report.committed = true;
    let mut scopes: Vec<Scope> = affected.into_iter().map(Scope::Customer).collect();
    scopes.push(Scope::Ranking);
    for chunk in scopes.chunks(10_000) {
        store.cache.invalidate(chunk).await;
    }
    Ok(report)
}

/// Writes a batch, or says which record of it is refused.
async fn write_customers<C: sea_orm::ConnectionTrait>(
    conn: &C,
    news: &[NewCustomer],
    write: bool,
) -> Result<std::result::Result<u64, bulk::Rejected>> {
    if let Some(rejected) = bulk::check_emails_free(conn, news).await? {
        return Ok(Err(rejected));
    }
    if write {
        bulk::insert_customers(conn, news).await?;
    }
    Ok(Ok(news.len() as u64))
}

async fn write_orders<C: sea_orm::ConnectionTrait>(
    conn: &C,
    news: &[NewOrder],
    write: bool,
) -> Result<std::result::Result<u64, bulk::Rejected>> {
    if let Some(rejected) = bulk::check_customers_exist(conn, news).await? {
        return Ok(Err(rejected));
    }
    if write {
        bulk::insert_orders(conn, news).await?;
    }
    Ok(Ok(news.len() as u64))
}

/// Streams records out of a CSV or JSON Lines source.
struct RecordReader<R: BufRead> {
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
    fn new(kind: Kind, format: Format, reader: R) -> Result<Self> {
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
    fn next_record(&mut self) -> Option<(u64, std::result::Result<Record, String>)> {
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
    match s.trim().to_ascii_uppercase().as_str() {
        "PENDING" => Ok(OrderStatus::Pending),
        "PAID" => Ok(OrderStatus::Paid),
        "SHIPPED" => Ok(OrderStatus::Shipped),
        "CANCELLED" => Ok(OrderStatus::Cancelled),
        _ => Err(format!(
            "status {s:?} is not one of PENDING, PAID, SHIPPED, CANCELLED"
        )),
    }
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
