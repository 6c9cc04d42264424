//! Database connection: pool settings, the statement counter, the
//! connections kept for single statements, and the path taken behind a
//! transaction pooler.

mod held;
mod pinned;
mod pooler;
mod statements;
mod transaction;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{
    AccessMode, ConnAcquireErr, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, DbErr, ExecResult, IsolationLevel, QueryResult, RuntimeErr, Statement,
    TransactionTrait as _,
};

use self::held::Held;
pub use self::pooler::Pooler;
use self::pooler::Unnamed;
pub use self::statements::{Ran, StatementCounter, StatementHook};
pub use self::transaction::Tx;

/// Connection pool settings (`api`'s settings hold their defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
    /// PostgreSQL's `statement_timeout` on every connection (`None`: the
    /// server's own setting): the backstop for a planner's misestimate.
    pub statement_timeout: Option<Duration>,
    /// What the URL leads to: PostgreSQL, or a transaction pooler.
    pub pooler: Pooler,
}

/// How long a pooled connection may sit idle before it is pinged on acquire.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

/// Opens the pool, installs the statement counter, and keeps connections
/// for single statements on PostgreSQL ([`held`]). Fails if the database
/// cannot be reached within the acquire timeout.
pub async fn connect(
    url: &str,
    pool: &PoolSettings,
    counter: Arc<StatementCounter>,
) -> Result<Db, DbErr> {
    let timeout = pool.statement_timeout;
    let pooler = pool.pooler;
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(pool.max_connections)
        .min_connections(pool.min_connections.min(pool.max_connections))
        .acquire_timeout(pool.acquire_timeout)
        .connect_timeout(pool.acquire_timeout)
        .idle_timeout(pool.idle_timeout)
        .max_lifetime(pool.max_lifetime)
        .sqlx_logging(false)
        // Ping a pooled connection only after it sat idle (sqlx's default is
        // a round trip before every statement: measured a fifth of an
        // uncached lookup's CPU). A connection that broke meanwhile fails
        // its statement and is discarded.
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        .map_sqlx_postgres_opts(move |o| match (pooler, timeout) {
            // Behind a transaction pooler: no statement cache (nothing
            // named), and no startup parameter a pooler refuses by default
            // (the timeout goes as `SET LOCAL` in each transaction).
            (Pooler::Transaction, _) => o.statement_cache_capacity(0).extra_float_digits(None),
            (Pooler::None, Some(t)) => {
                o.options([("statement_timeout", format!("{}ms", t.as_millis()))])
            }
            (Pooler::None, None) => o,
        })
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    let mut db = Database::connect(opts).await.map_err(pooler_hint)?;
    let metered = counter.clone();
    db.set_metric_callback(move |info| {
        metered.record(&info.statement.sql, info.elapsed, info.failed);
    });
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Db {
            conn: db,
            held: None,
            unnamed: None,
        });
    }
    let pg = db.get_postgres_connection_pool().clone();
    let unnamed = Arc::new(Unnamed::new(pg.clone(), counter.clone(), timeout, pooler));
    if pooler == Pooler::None
        && let Some(why) = pooler::probe(&pg).await?
    {
        unnamed.switch(&why);
    }
    let keep = held::kept_connections(pool.max_connections);
    let held =
        (!unnamed.active() && keep > 0).then(|| Held::new(pg, keep, pool.max_lifetime, counter));
    Ok(Db {
        conn: db,
        held,
        unnamed: Some(unnamed),
    })
}

/// A connection refused for a startup parameter is a pooler's doing (the
/// statement timeout goes as one): the error says what to change.
fn pooler_hint(err: DbErr) -> DbErr {
    let text = err.to_string();
    if text.contains("unsupported startup parameter") {
        DbErr::Custom(format!(
            "{text}: this looks like a connection pooler (PgBouncer); set \
             DATABASE_POOLER=transaction if it pools transactions, or add `options` and \
             `extra_float_digits` to its ignore_startup_parameters"
        ))
    } else {
        err
    }
}

/// Tells `unnamed` when `result` shows a named statement behind a
/// transaction pooler (it takes the unnamed path from then on).
fn observe<T>(unnamed: Option<&Unnamed>, result: Result<T, DbErr>) -> Result<T, DbErr> {
    if let (Err(e), Some(unnamed)) = (&result, unnamed)
        && pooler::shows_pooler(e)
    {
        unnamed.switch(&format!("a statement failed with: {e}"));
    }
    result
}

fn acquire_error(e: sea_orm::sqlx::Error) -> DbErr {
    use sea_orm::sqlx::Error;
    match e {
        Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        e => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))),
    }
}

/// The backend's limit on bind parameters in one statement.
pub fn max_bind_params(backend: DbBackend) -> usize {
    match backend {
        DbBackend::Postgres => 65_535,
        DbBackend::Sqlite => 32_766,
        _ => 65_535,
    }
}

/// Rows per multi-row insert: the most that stay below the bind limit.
pub fn rows_per_insert(backend: DbBackend, columns: usize) -> usize {
    (max_bind_params(backend) / columns.max(1)).max(1)
}

/// The database as the service uses it: SeaORM's pool and, on PostgreSQL,
/// the connections kept for statements that run on their own ([`held`])
/// and the path taken behind a transaction pooler ([`pooler`]).
/// Dereferences to SeaORM's connection (migrations, the driver's pool); as
/// a [`ConnectionTrait`] it runs statements that return rows on a kept
/// connection, and every statement on the unnamed path when that is taken;
/// its transactions ([`Db::begin`]) follow it there.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    held: Option<Arc<Held>>,
    unnamed: Option<Arc<Unnamed>>,
}

impl Db {
    /// The unnamed path, when statements take it.
    fn unnamed(&self) -> Option<&Arc<Unnamed>> {
        self.unnamed.as_ref().filter(|u| u.active())
    }

    /// Statements go unnamed, each in a transaction (behind a transaction
    /// pooler, said or found).
    pub fn is_behind_pooler(&self) -> bool {
        self.unnamed().is_some()
    }

    /// Why the server believes it runs behind a transaction pooler without
    /// `DATABASE_POOLER` saying so.
    pub fn pooler_found(&self) -> Option<String> {
        self.unnamed.as_ref().and_then(|u| u.found())
    }

    /// Begins a transaction.
    pub async fn begin(&self) -> Result<Tx, DbErr> {
        self.begin_with_config(None, None).await
    }

    /// Begins a transaction of the isolation level and access mode given.
    pub async fn begin_with_config(
        &self,
        isolation: Option<IsolationLevel>,
        access: Option<AccessMode>,
    ) -> Result<Tx, DbErr> {
        match self.unnamed() {
            Some(unnamed) => Ok(Tx::unnamed(unnamed.begin(isolation, access).await?)),
            None => {
                let txn = self.conn.begin_with_config(isolation, access).await;
                Ok(Tx::orm(self.observe(txn)?, self.unnamed.clone()))
            }
        }
    }

    fn observe<T>(&self, result: Result<T, DbErr>) -> Result<T, DbErr> {
        observe(self.unnamed.as_deref(), result)
    }

    /// Connections open, and idle (kept ones waiting for a statement count
    /// as idle).
    pub fn pool_usage(&self) -> (u32, u32) {
        let kept = self.held.as_ref().map_or(0, |h| h.idle());
        let (size, idle) = match self.conn.get_database_backend() {
            DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DbBackend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        };
        (
            size,
            u32::try_from(idle + kept).unwrap_or(u32::MAX).min(size),
        )
    }

    /// Hands the kept connections back, then closes the pool.
    pub async fn close(self) -> Result<(), DbErr> {
        if let Some(held) = &self.held {
            held.release();
        }
        self.conn.close().await
    }
}

impl Db {
    /// A statement that returns rows: unnamed behind a pooler, else on a
    /// kept connection (retried unnamed when it shows a pooler: it did not
    /// run), else through SeaORM.
    async fn fetch(&self, stmt: Statement, at_most_one: bool) -> Result<Vec<QueryResult>, DbErr> {
        if let Some(unnamed) = self.unnamed() {
            if let Some(held) = &self.held {
                // Found behind a pooler after start: kept connections hold
                // named statements, and go back to sqlx's pool.
                held.release();
            }
            return unnamed.fetch(&stmt, at_most_one).await;
        }
        match &self.held {
            Some(held) => match self.observe(held.fetch(&stmt, at_most_one).await) {
                Ok(rows) => Ok(rows.into_iter().map(QueryResult::from).collect()),
                Err(e) => match self.unnamed() {
                    Some(unnamed) => unnamed.fetch(&stmt, at_most_one).await,
                    None => Err(e),
                },
            },
            None if at_most_one => Ok(self
                .observe(self.conn.query_one_raw(stmt).await)?
                .into_iter()
                .collect()),
            None => self.observe(self.conn.query_all_raw(stmt).await),
        }
    }
}

impl std::ops::Deref for Db {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        &self.conn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self.unnamed() {
            Some(unnamed) => unnamed.execute(&stmt).await,
            None => self.observe(self.conn.execute_raw(stmt).await),
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self.unnamed() {
            Some(unnamed) => unnamed.execute_unprepared(sql).await,
            None => self.conn.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        Ok(self.fetch(stmt, true).await?.pop())
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.fetch(stmt, false).await
    }

    fn is_mock_connection(&self) -> bool {
        self.conn.is_mock_connection()
    }
}
