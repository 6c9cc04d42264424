//! A transaction of [`Db`](super::Db): SeaORM's, or on the unnamed path
//! behind a transaction pooler ([`super::pooler`]) one of the server's own
//! ([`Pinned`]).

use std::sync::Arc;

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
};

use super::pinned::Pinned;
use super::pooler::Unnamed;

/// A transaction: commit it, or roll it back (dropped, it rolls back).
#[derive(Debug)]
pub struct Tx {
    inner: Inner,
    /// The pool's unnamed path, told when a statement shows a pooler.
    unnamed: Option<Arc<Unnamed>>,
}

#[derive(Debug)]
enum Inner {
    Orm(DatabaseTransaction),
    Unnamed(Pinned),
}

impl Tx {
    pub(super) fn orm(txn: DatabaseTransaction, unnamed: Option<Arc<Unnamed>>) -> Self {
        Tx {
            inner: Inner::Orm(txn),
            unnamed,
        }
    }

    pub(super) fn unnamed(txn: Pinned) -> Self {
        Tx {
            inner: Inner::Unnamed(txn),
            unnamed: None,
        }
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        let result = match self.inner {
            Inner::Orm(txn) => txn.commit().await,
            Inner::Unnamed(txn) => txn.commit().await,
        };
        super::observe(self.unnamed.as_deref(), result)
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        match self.inner {
            Inner::Orm(txn) => txn.rollback().await,
            Inner::Unnamed(txn) => txn.rollback().await,
        }
    }

    fn observe<T>(&self, result: Result<T, DbErr>) -> Result<T, DbErr> {
        super::observe(self.unnamed.as_deref(), result)
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Tx {
    fn get_database_backend(&self) -> DbBackend {
        match &self.inner {
            Inner::Orm(txn) => txn.get_database_backend(),
            Inner::Unnamed(_) => DbBackend::Postgres,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match &self.inner {
            Inner::Orm(txn) => self.observe(txn.execute_raw(stmt).await),
            Inner::Unnamed(txn) => txn.execute(&stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match &self.inner {
            Inner::Orm(txn) => self.observe(txn.execute_unprepared(sql).await),
            Inner::Unnamed(txn) => txn.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match &self.inner {
            Inner::Orm(txn) => self.observe(txn.query_one_raw(stmt).await),
            Inner::Unnamed(txn) => Ok(txn.fetch(&stmt, true).await?.pop()),
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.inner {
            Inner::Orm(txn) => self.observe(txn.query_all_raw(stmt).await),
            Inner::Unnamed(txn) => txn.fetch(&stmt, false).await,
        }
    }
}
