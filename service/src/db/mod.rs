//! Database connection: pool settings, the statement counter, and the
//! connections kept for single statements.

mod held;
mod statements;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, ExecResult,
    QueryResult, Statement,
};

use self::held::Held;
pub use self::statements::StatementCounter;

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
        .map_sqlx_postgres_opts(move |o| match timeout {
            Some(t) => o.options([("statement_timeout", format!("{}ms", t.as_millis()))]),
            None => o,
        })
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    let mut db = Database::connect(opts).await?;
    let metered = counter.clone();
    db.set_metric_callback(move |info| {
        metered.record(&info.statement.sql, info.elapsed, info.failed);
    });
    let keep = held::kept_connections(pool.max_connections);
    let held = (db.get_database_backend() == DbBackend::Postgres && keep > 0).then(|| {
        Held::new(
            db.get_postgres_connection_pool().clone(),
            keep,
            pool.max_lifetime,
            counter,
        )
    });
    Ok(Db { conn: db, held })
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
/// the connections kept for statements that run on their own ([`held`]).
/// Dereferences to SeaORM's connection (transactions, migrations, the
/// driver's pool); as a [`ConnectionTrait`] it runs statements that return
/// rows on a kept connection.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    held: Option<Arc<Held>>,
}

impl Db {
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
        self.conn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.conn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match &self.held {
            Some(held) => Ok(held.fetch(&stmt, true).await?.pop().map(QueryResult::from)),
            None => self.conn.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.held {
            Some(held) => Ok(held
                .fetch(&stmt, false)
                .await?
                .into_iter()
                .map(QueryResult::from)
                .collect()),
            None => self.conn.query_all_raw(stmt).await,
        }
    }

    fn is_mock_connection(&self) -> bool {
        self.conn.is_mock_connection()
    }
}
