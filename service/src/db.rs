//! Database connection: pool settings and the statement counter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};

/// Connection pool settings (`api`'s settings hold their defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
}

/// Counts every SQL statement the connection executes (SeaORM's metric
/// callback), so tests and `/metrics` can prove how many a request costs.
#[derive(Debug, Default)]
pub struct StatementCounter {
    statements: AtomicU64,
    /// When set, the SQL of the most recent statements and when each ran
    /// (for tests and debugging).
    recent: Option<std::sync::Mutex<std::collections::VecDeque<Ran>>>,
}

/// A statement that ran: its SQL, when it started and ended.
#[derive(Clone, Debug)]
struct Ran {
    sql: String,
    started: std::time::Instant,
    ended: std::time::Instant,
}

/// How many statements [`StatementCounter::recent`] keeps.
const RECENT_STATEMENTS: usize = 256;

impl StatementCounter {
    /// A counter that also keeps the SQL of the last statements.
    pub fn recording() -> Self {
        StatementCounter {
            recent: Some(Default::default()),
            ..Default::default()
        }
    }

    fn ran(&self) -> Vec<Ran> {
        self.recent
            .as_ref()
            .map(|r| {
                r.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .iter()
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The SQL of the most recent statements, oldest first (empty unless recording).
    pub fn recent(&self) -> Vec<String> {
        self.ran().into_iter().map(|r| r.sql).collect()
    }

    /// The most statements that were running at the same moment among the
    /// recent ones that started after `since` (each runs on a connection of
    /// its own, so this is how many connections they held at once).
    pub fn peak_concurrency(&self, since: std::time::Instant) -> usize {
        let mut edges: Vec<(std::time::Instant, i32)> = Vec::new();
        for r in self.ran().into_iter().filter(|r| r.started >= since) {
            edges.push((r.started, 1));
            edges.push((r.ended, -1));
        }
        // Ends before starts at the same instant: touching is not overlapping.
        edges.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let (mut now, mut peak) = (0i32, 0i32);
        for (_, delta) in edges {
            now += delta;
            peak = peak.max(now);
        }
        usize::try_from(peak).unwrap_or_default()
    }

    fn record(&self, sql: &str, elapsed: Duration) {
        self.statements.fetch_add(1, Ordering::Relaxed);
        if let Some(recent) = &self.recent {
            let ended = std::time::Instant::now();
            let ran = Ran {
                sql: sql.to_owned(),
                started: ended.checked_sub(elapsed).unwrap_or(ended),
                ended,
            };
            let mut recent = recent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if recent.len() == RECENT_STATEMENTS {
                recent.pop_front();
            }
            recent.push_back(ran);
        }
    }

    pub fn get(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}

/// How long a pooled connection may sit idle before it is pinged on acquire.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

/// Opens the pool and installs the statement counter. Fails if the database
/// cannot be reached within the acquire timeout.
pub async fn connect(
    url: &str,
    pool: &PoolSettings,
    counter: Arc<StatementCounter>,
) -> Result<DatabaseConnection, DbErr> {
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
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    let mut db = Database::connect(opts).await?;
    db.set_metric_callback(move |info| {
        counter.record(&info.statement.sql, info.elapsed);
        metrics::counter!("sql_statements_total", "failed" => if info.failed { "true" } else { "false" })
            .increment(1);
        metrics::histogram!("sql_statement_duration_seconds").record(info.elapsed.as_secs_f64());
    });
    Ok(db)
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
