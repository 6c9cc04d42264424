//! A transaction on the unnamed path behind a transaction pooler
//! ([`super::pooler`]): its statements unnamed, its connection (and so the
//! pooler's server connection) held from `BEGIN` to `COMMIT`.

use std::sync::Arc;
use std::time::Instant;

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Postgres};
use sea_orm::{DbErr, ExecResult, QueryResult, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;

use super::statements::StatementCounter;

/// A transaction on the unnamed path: one connection, held (and so, behind
/// the pooler, one server connection) until it commits or rolls back. One
/// dropped while open is closed rather than returned to the pool.
#[derive(Debug)]
pub struct Pinned {
    conn: tokio::sync::Mutex<PoolConnection<Postgres>>,
    open: bool,
    counter: Arc<StatementCounter>,
}

impl Pinned {
    pub(super) fn new(conn: PoolConnection<Postgres>, counter: Arc<StatementCounter>) -> Self {
        Pinned {
            conn: tokio::sync::Mutex::new(conn),
            open: true,
            counter,
        }
    }

    pub(super) async fn fetch(
        &self,
        stmt: &Statement,
        at_most_one: bool,
    ) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.conn.lock().await;
        let values = stmt
            .values
            .clone()
            .unwrap_or_else(|| sea_orm::sea_query::Values(Vec::new()));
        let query = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
            .persistent(false);
        let started = Instant::now();
        let result = if at_most_one {
            query
                .fetch_optional(&mut **conn)
                .await
                .map(|row| row.into_iter().collect())
        } else {
            query.fetch_all(&mut **conn).await
        };
        self.counter
            .record(&stmt.sql, started.elapsed(), result.is_err());
        Ok(result
            .map_err(query_error)?
            .into_iter()
            .map(QueryResult::from)
            .collect())
    }

    pub(super) async fn execute(&self, stmt: &Statement) -> Result<ExecResult, DbErr> {
        let mut conn = self.conn.lock().await;
        let values = stmt
            .values
            .clone()
            .unwrap_or_else(|| sea_orm::sea_query::Values(Vec::new()));
        let started = Instant::now();
        let result = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
            .persistent(false)
            .execute(&mut **conn)
            .await;
        self.counter
            .record(&stmt.sql, started.elapsed(), result.is_err());
        result.map(ExecResult::from).map_err(exec_error)
    }

    pub(super) async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut conn = self.conn.lock().await;
        run_unprepared(&mut conn, sql, &self.counter).await
    }

    /// Commits after a statement that succeeded, else rolls back (the
    /// connection goes back to the pool either way): `result` it is.
    pub(super) async fn end_with<T>(self, result: Result<T, DbErr>) -> Result<T, DbErr> {
        match result {
            Ok(value) => self.commit().await.map(|()| value),
            Err(e) => {
                let _ = self.rollback().await;
                Err(e)
            }
        }
    }

    pub(super) async fn commit(self) -> Result<(), DbErr> {
        self.end("COMMIT").await
    }

    pub(super) async fn rollback(self) -> Result<(), DbErr> {
        self.end("ROLLBACK").await
    }

    async fn end(mut self, sql: &'static str) -> Result<(), DbErr> {
        let conn = self.conn.get_mut();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut **conn)
            .await
            .map_err(exec_error)?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if self.open {
            // Still in its transaction: closing the connection rolls it
            // back (the pooler drops its server connection's transaction).
            self.conn.get_mut().close_on_drop();
        }
    }
}

pub(super) async fn run_unprepared(
    conn: &mut PoolConnection<Postgres>,
    sql: &str,
    counter: &StatementCounter,
) -> Result<ExecResult, DbErr> {
    let started = Instant::now();
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut **conn)
        .await;
    counter.record(sql, started.elapsed(), result.is_err());
    result.map(ExecResult::from).map_err(exec_error)
}

pub(super) fn query_error(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

pub(super) fn exec_error(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
}
