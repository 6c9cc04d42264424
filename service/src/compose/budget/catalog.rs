//! What the row budget knows about the two tables without asking the
//! planner: how many rows each holds and which indexes exist. Read at
//! start, again in the background when a request finds it older than a
//! minute (that request goes on with what is known: estimating costs the
//! hot paths no round trip), and at once whenever a request is about to be
//! refused (so an index created a moment ago unlocks the next request).
//! The planner's answers are kept until the catalog is read again, so a
//! screen a client repeats is estimated without a round trip.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::super::shape::indexes;
use super::model::Question;
use crate::db::Db;

/// How old a reading of the catalog may get before a request has it read
/// again in the background (a refusal always reads it again first).
pub const FRESH_FOR: Duration = Duration::from_secs(60);

/// One table as the budget sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Rows, as the planner's statistics have them (PostgreSQL) or counted
    /// (SQLite).
    pub rows: f64,
    /// Each index as its plain leading key columns.
    pub indexes: Vec<Vec<String>>,
}

/// Both tables.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    pub customers: Table,
    pub orders: Table,
    /// The database keeps order rollups (PostgreSQL, seventh migration).
    pub rollups: bool,
}

impl Catalog {
    /// Reads both tables now.
    pub async fn read<C: ConnectionTrait>(db: &C) -> Result<Catalog, DbErr> {
        let indexes = indexes(db).await?;
        let rollups = crate::stats::has_rollups(db).await.unwrap_or(false);
        Ok(Catalog {
            rollups,
            customers: Table {
                rows: rows(db, "customers").await?,
                indexes: indexes.customers,
            },
            orders: Table {
                rows: rows(db, "orders").await?,
                indexes: indexes.orders,
            },
        })
    }

    /// The same catalog with one more index on `table`: what the budget
    /// would be if the operator created it.
    pub fn with_index(&self, table: &str, columns: &[&str]) -> Catalog {
        let mut out = self.clone();
        let target = if table == "customers" {
            &mut out.customers
        } else {
            &mut out.orders
        };
        target
            .indexes
            .push(columns.iter().map(|c| (*c).to_owned()).collect());
        out
    }
}

/// The rows of `table` (one of the two constants above, never input).
async fn rows<C: ConnectionTrait>(db: &C, table: &str) -> Result<f64, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        // The planner's own figure; a table never analyzed yet is counted.
        DbBackend::Postgres => format!(
            "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::float8 \
             ELSE (SELECT count(*) FROM {table})::float8 END AS n \
             FROM pg_class c WHERE c.oid = to_regclass('{table}')"
        ),
        _ => format!("SELECT CAST(COUNT(*) AS REAL) AS n FROM {table}"),
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?;
    Ok(row
        .map(|r| r.try_get::<f64>("", "n"))
        .transpose()?
        .unwrap_or(0.0)
        .max(0.0))
}

/// A reading of the catalog and when it was taken.
type Reading = Option<(Instant, Arc<Catalog>)>;

/// Planner answers kept at most (then they are all forgotten).
const MAX_ANSWERS: usize = 4_096;

/// The catalog as last read, and the planner's answers since (forgotten
/// whenever the catalog is read again, as statistics and indexes may have
/// changed), shared by every clone of a store.
#[derive(Clone, Debug, Default)]
pub struct CatalogCache {
    last: Arc<Mutex<Reading>>,
    refreshing: Arc<AtomicBool>,
    answers: Arc<Mutex<HashMap<Question, f64>>>,
}

impl CatalogCache {
    /// The catalog as known; read now only when nothing is known yet.
    /// Older than [`FRESH_FOR`], it is read again in the background.
    pub async fn get(&self, db: &Db) -> Result<Arc<Catalog>, DbErr> {
        let cached = self
            .last
            .lock()
            .map(|last| last.clone())
            .unwrap_or_default();
        let Some((at, catalog)) = cached else {
            return self.refresh(db).await;
        };
        if at.elapsed() >= FRESH_FOR && !self.refreshing.swap(true, Ordering::AcqRel) {
            let (cache, db) = (self.clone(), db.clone());
            tokio::spawn(async move {
                if let Err(e) = cache.refresh(&db).await {
                    tracing::warn!(error = %e, "could not read the catalog for the row budget");
                }
                cache.refreshing.store(false, Ordering::Release);
            });
        }
        Ok(catalog)
    }

    /// Whether the last reading found the order rollups.
    pub fn rollups(&self) -> bool {
        self.last
            .lock()
            .ok()
            .and_then(|last| last.as_ref().map(|(_, c)| c.rollups))
            .unwrap_or(false)
    }

    /// The catalog read now.
    pub async fn refresh<C: ConnectionTrait>(&self, db: &C) -> Result<Arc<Catalog>, DbErr> {
        let catalog = Arc::new(Catalog::read(db).await?);
        if let Ok(mut last) = self.last.lock() {
            *last = Some((Instant::now(), catalog.clone()));
        }
        if let Ok(mut answers) = self.answers.lock() {
            answers.clear();
        }
        Ok(catalog)
    }

    /// Reads the indexes again, one statement (before a refusal: one created a moment ago
    /// counts at once); the catalog with them, and whether they changed
    /// (then the planner's answers are forgotten too).
    pub async fn recheck<C: ConnectionTrait>(
        &self,
        db: &C,
        known: &Catalog,
    ) -> Result<(Arc<Catalog>, bool), DbErr> {
        let now = indexes(db).await?;
        let (customers, orders) = (now.customers, now.orders);
        if customers == known.customers.indexes && orders == known.orders.indexes {
            return Ok((Arc::new(known.clone()), false));
        }
        let mut catalog = known.clone();
        catalog.customers.indexes = customers;
        catalog.orders.indexes = orders;
        let catalog = Arc::new(catalog);
        if let Ok(mut last) = self.last.lock() {
            *last = Some((Instant::now(), catalog.clone()));
        }
        if let Ok(mut answers) = self.answers.lock() {
            answers.clear();
        }
        Ok((catalog, true))
    }

    /// The answers known for `questions`.
    pub(super) fn known(&self, questions: &[Question]) -> HashMap<Question, f64> {
        let Ok(answers) = self.answers.lock() else {
            return HashMap::new();
        };
        questions
            .iter()
            .filter_map(|q| answers.get(q).map(|a| (q.clone(), *a)))
            .collect()
    }

    /// Keeps the planner's answers until the catalog is read again.
    pub(super) fn remember(&self, new: &HashMap<Question, f64>) {
        if let Ok(mut answers) = self.answers.lock() {
            if answers.len() + new.len() > MAX_ANSWERS {
                answers.clear();
            }
            answers.extend(new.iter().map(|(q, a)| (q.clone(), *a)));
        }
    }
}
