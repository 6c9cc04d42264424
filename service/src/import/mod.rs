//! `api import`: customers or orders from a CSV or JSON Lines file of any
//! size, in constant memory (records are read, validated and written in
//! batches), reporting bad records with their line numbers.
//!
//! An import is atomic: every batch is written inside one transaction, which
//! commits only when the whole file was valid. Any bad record (or a database
//! error) rolls everything back, so a failed import can simply be run again
//! once the file is fixed. Validation goes on after the first bad record, so
//! one run reports every bad line (up to [`MAX_REPORTED`]).

mod reader;

use std::collections::BTreeSet;
use std::io::BufRead;

use self::reader::{Record, RecordReader};
use crate::Store;
use crate::bulk;
use crate::cache::Scope;
use crate::error::Result;
use crate::input::{NewCustomer, NewOrder};

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
        store.invalidate(chunk).await;
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
