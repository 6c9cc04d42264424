//! PostgreSQL behind a transaction-pooling proxy (PgBouncer's
//! `pool_mode = transaction`, pgcat, a hosted database's pooler).
//!
//! Such a proxy hands each transaction whichever server connection is free,
//! so nothing may outlive a transaction on the server: no named prepared
//! statement (sqlx names and caches every statement it prepares on a
//! connection: behind the proxy, the name meets another client's statement
//! or none), no session setting (the statement timeout goes as `SET LOCAL`).
//! On this path every statement is unnamed (`persistent(false)`: sqlx's
//! Parse, Describe and Bind of the unnamed statement) and runs inside a
//! transaction of its own or of its caller, which holds the server connection
//! from `BEGIN` to `COMMIT`: one statement costs four round trips
//! (`BEGIN` with the timeout, Parse with Describe, Bind with Execute,
//! `COMMIT`) instead of one.
//!
//! The path is taken when `DATABASE_POOLER=transaction` says so, or when the
//! server finds out by itself: at connect (two connections of the pool that
//! reach one server process, or one connection that moves between
//! processes), or from the errors a named statement meets behind such a
//! proxy. A server that found out says so (log and `/readyz`), naming the
//! setting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Connection as _, PgPool, Postgres, Row as _};
use sea_orm::{AccessMode, DbErr, ExecResult, IsolationLevel, QueryResult, Statement};

use super::acquire_error;
use super::pinned::{Pinned, exec_error, query_error, run_unprepared};
use super::statements::StatementCounter;

/// What `DATABASE_URL` (or `DATABASE_READ_URL`) leads to.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Pooler {
    /// PostgreSQL itself, or a pooler that gives each client connection a
    /// server connection of its own (session mode).
    #[default]
    None,
    /// A transaction-pooling proxy.
    Transaction,
}

/// Errors that a named statement meets behind a transaction pooler: its
/// name unknown on the server connection it landed on, taken there by
/// another client's statement, or bound to that statement's parameters.
const POOLER_SYMPTOMS: [&str; 4] = [
    "prepared statement \"sqlx_s_",
    "bind message supplies",
    "incorrect binary data format in bind parameter",
    "bind message has",
];

/// The error's text shows a named statement behind a transaction pooler.
pub(super) fn shows_pooler(err: &DbErr) -> bool {
    let text = err.to_string();
    POOLER_SYMPTOMS.iter().any(|s| text.contains(s))
}

/// The unnamed path of one PostgreSQL pool, and whether it is taken.
#[derive(Debug)]
pub(super) struct Unnamed {
    pool: PgPool,
    counter: Arc<StatementCounter>,
    /// `SET LOCAL statement_timeout` in each transaction.
    timeout: Option<Duration>,
    /// Statements take this path.
    active: AtomicBool,
    /// Why the server believes it is behind a transaction pooler without
    /// having been told (`None`: told, or not found).
    found: Mutex<Option<String>>,
}

impl Unnamed {
    pub(super) fn new(
        pool: PgPool,
        counter: Arc<StatementCounter>,
        timeout: Option<Duration>,
        pooler: Pooler,
    ) -> Self {
        Unnamed {
            pool,
            counter,
            timeout,
            active: AtomicBool::new(pooler == Pooler::Transaction),
            found: Mutex::new(None),
        }
    }

    pub(super) fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// What the server found out by itself, if anything.
    pub(super) fn found(&self) -> Option<String> {
        self.found
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the unnamed path from now on, because of `why` (logged once,
    /// with the setting that says so).
    pub(super) fn switch(&self, why: &str) {
        if self.active.swap(true, Ordering::Relaxed) {
            return;
        }
        *self.found.lock().unwrap_or_else(PoisonError::into_inner) = Some(why.to_owned());
        tracing::error!(
            reason = why,
            "the database appears to be behind a transaction pooler (PgBouncer's pool_mode = \
             transaction or alike), where named prepared statements break: statements now go \
             unnamed, each in a transaction; set DATABASE_POOLER=transaction to say so, or \
             point DATABASE_URL at PostgreSQL itself"
        );
    }

    /// A connection of the pool that holds no named statement (one that
    /// does, from before the path was taken, is closed: its names mean
    /// nothing behind the pooler).
    async fn acquire(&self) -> Result<PoolConnection<Postgres>, DbErr> {
        let mut tries = self.pool.options().get_max_connections().saturating_add(1);
        loop {
            let conn = Box::pin(self.pool.acquire()).await.map_err(acquire_error)?;
            if conn.cached_statements_size() == 0 || tries == 0 {
                return Ok(conn);
            }
            tries -= 1;
            let _ = conn.close().await;
        }
    }

    /// Begins a transaction (of the isolation level and access mode
    /// given) on a connection of its own, the statement timeout set for it
    /// alone: one round trip.
    pub(super) async fn begin(
        self: &Arc<Self>,
        isolation: Option<IsolationLevel>,
        access: Option<AccessMode>,
    ) -> Result<Pinned, DbErr> {
        let mut conn = self.acquire().await?;
        let mut sql = String::from("BEGIN");
        if let Some(level) = isolation {
            sql.push_str(" ISOLATION LEVEL ");
            sql.push_str(match level {
                IsolationLevel::RepeatableRead => "REPEATABLE READ",
                IsolationLevel::ReadCommitted => "READ COMMITTED",
                IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
                IsolationLevel::Serializable => "SERIALIZABLE",
            });
        }
        if let Some(access) = access {
            sql.push_str(match access {
                AccessMode::ReadOnly => " READ ONLY",
                AccessMode::ReadWrite => " READ WRITE",
            });
        }
        if let Some(t) = self.timeout {
            sql.push_str(&format!(
                "; SET LOCAL statement_timeout = {}",
                t.as_millis()
            ));
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
            .map_err(exec_error)?;
        Ok(Pinned::new(conn, self.counter.clone()))
    }

    /// One statement that returns rows, in a transaction of its own.
    pub(super) async fn fetch(
        self: &Arc<Self>,
        stmt: &Statement,
        at_most_one: bool,
    ) -> Result<Vec<QueryResult>, DbErr> {
        let tx = self.begin(None, None).await?;
        let rows = tx.fetch(stmt, at_most_one).await;
        tx.end_with(rows).await
    }

    /// One statement, in a transaction of its own.
    pub(super) async fn execute(self: &Arc<Self>, stmt: &Statement) -> Result<ExecResult, DbErr> {
        let tx = self.begin(None, None).await?;
        let done = tx.execute(stmt).await;
        tx.end_with(done).await
    }

    /// SQL without parameters: the simple protocol, which a transaction
    /// pooler passes whole (several statements in one string run as one
    /// implicit transaction).
    pub(super) async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut conn = self.acquire().await?;
        run_unprepared(&mut conn, sql, &self.counter).await
    }
}

/// Finds out, at connect, whether `pool` leads to a transaction pooler:
/// two client connections served by one server process, or one client
/// connection served by two, cannot happen on PostgreSQL itself (nor
/// behind a session pooler). A pooler that hands out its server
/// connections in turn is caught by the second test, one that reuses the
/// most recent by the first.
pub(super) async fn probe(pool: &PgPool) -> Result<Option<String>, DbErr> {
    async fn pid(conn: &mut PoolConnection<Postgres>) -> Result<i32, DbErr> {
        let row = sqlx::raw_sql(sqlx::AssertSqlSafe("SELECT pg_backend_pid()"))
            .fetch_one(&mut **conn)
            .await
            .map_err(query_error)?;
        row.try_get(0).map_err(query_error)
    }
    let mut a = pool.acquire().await.map_err(acquire_error)?;
    let first = pid(&mut a).await?;
    if pool.options().get_max_connections() >= 2 {
        let mut b = pool.acquire().await.map_err(acquire_error)?;
        let other = pid(&mut b).await?;
        if other == first {
            return Ok(Some(format!(
                "two connections of the pool reached one server process ({first})"
            )));
        }
    }
    let again = pid(&mut a).await?;
    Ok((again != first).then(|| {
        format!("one connection of the pool reached two server processes ({first}, {again})")
    }))
}

#[cfg(test)]
mod tests {
    use sea_orm::RuntimeErr;

    use super::*;

    fn db_error(message: &str) -> DbErr {
        DbErr::Query(RuntimeErr::Internal(message.to_owned()))
    }

    #[test]
    fn the_errors_of_a_named_statement_behind_a_pooler_are_recognised() {
        for message in [
            "error returned from database: prepared statement \"sqlx_s_3\" does not exist",
            "error returned from database: prepared statement \"sqlx_s_1\" already exists",
            "error returned from database: bind message supplies 2 parameters, but prepared statement \"sqlx_s_4\" requires 1",
            "error returned from database: incorrect binary data format in bind parameter 1",
        ] {
            assert!(shows_pooler(&db_error(message)), "{message}");
        }
        for message in [
            "error returned from database: duplicate key value violates unique constraint",
            "pool timed out while waiting for an open connection",
        ] {
            assert!(!shows_pooler(&db_error(message)), "{message}");
        }
    }
}
