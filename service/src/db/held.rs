//! Connections taken out of sqlx's pool and kept for statements that run
//! on their own (no transaction), on PostgreSQL.
//!
//! sqlx pings every connection it gets back (`PoolConnection` returning to
//! the pool waits for a round trip, unconditionally): for a lookup that is
//! one statement, that doubles the round trips. A kept connection goes back
//! to this list instead, after a statement that completed. It never leaves
//! sqlx's accounting: the pool's size limit and acquire timeout still hold,
//! and whatever drops a kept connection (a failed or cancelled statement, a
//! full list, its age) hands it back to sqlx, which tests it then as usual.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Postgres};
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;

use super::statements::StatementCounter;

/// A kept connection unused for this long goes back to sqlx (which pings it
/// before it serves again, as for any connection idle this long).
const IDLE_BEFORE_RETURN: Duration = super::IDLE_BEFORE_PING;

/// A connection kept this long (or the pool's maximum lifetime, if
/// shorter) goes back to sqlx after its next statement, so the pool's
/// lifetime rule still reaches it.
const KEPT_AT_MOST: Duration = Duration::from_secs(60);

/// Connections the pool leaves to transactions and other callers: never
/// kept, whatever the load on single statements.
pub fn kept_connections(max_connections: u32) -> usize {
    let max = usize::try_from(max_connections).unwrap_or(usize::MAX);
    max.saturating_sub((max / 4).max(1))
}

#[derive(Debug)]
struct Kept {
    conn: PoolConnection<Postgres>,
    /// When it was taken out of sqlx's pool.
    taken: Instant,
    /// When its last statement completed.
    used: Instant,
}

#[derive(Debug)]
pub struct Held {
    pool: PgPool,
    idle: Mutex<VecDeque<Kept>>,
    keep: usize,
    /// How long a connection is kept before it goes back to sqlx.
    recycle: Duration,
    counter: Arc<StatementCounter>,
    closed: AtomicBool,
}

impl Held {
    /// Keeps at most `keep` idle connections of `pool`, none longer than
    /// `max_lifetime` (or [`KEPT_AT_MOST`]).
    pub fn new(
        pool: PgPool,
        keep: usize,
        max_lifetime: Duration,
        counter: Arc<StatementCounter>,
    ) -> Self {
        Held {
            pool,
            idle: Mutex::new(VecDeque::with_capacity(keep)),
            keep,
            recycle: max_lifetime.min(KEPT_AT_MOST),
            counter,
            closed: AtomicBool::new(false),
        }
    }

    /// Kept connections waiting for a statement.
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    /// Hands every kept connection back to sqlx and keeps none from now
    /// on (before the pool is closed: closing waits for them).
    pub fn release(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let kept: Vec<Kept> = self.lock().drain(..).collect();
        drop(kept);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Kept>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently used kept connection, else one from sqlx's pool
    /// (waiting at most its acquire timeout).
    async fn take(&self) -> Result<Kept, DbErr> {
        let kept = self.lock().pop_back();
        if let Some(kept) = kept {
            if kept.used.elapsed() < IDLE_BEFORE_RETURN {
                return Ok(kept);
            }
            // The most recent one sat this long: so did every other one.
            let stale: Vec<Kept> = self.lock().drain(..).collect();
            drop((kept, stale));
        }
        let conn = self.pool.acquire().await.map_err(|e| match e {
            sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            e => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))),
        })?;
        let now = Instant::now();
        Ok(Kept {
            conn,
            taken: now,
            used: now,
        })
    }

    /// Keeps a connection whose statement completed, unless the list is
    /// full, it was kept long enough, or the pool is closing (dropped, it
    /// goes back to sqlx).
    fn give_back(&self, mut kept: Kept) {
        if kept.taken.elapsed() >= self.recycle || self.closed.load(Ordering::SeqCst) {
            return;
        }
        kept.used = Instant::now();
        let mut idle = self.lock();
        // The least recently used one goes back once it sat too long.
        let stale = idle
            .front()
            .is_some_and(|k| k.used.elapsed() >= IDLE_BEFORE_RETURN)
            .then(|| idle.pop_front())
            .flatten();
        let surplus = if idle.len() < self.keep {
            idle.push_back(kept);
            None
        } else {
            Some(kept)
        };
        drop(idle);
        drop((stale, surplus));
    }

    /// Runs one statement that returns rows; counted like every statement.
    pub async fn fetch(&self, stmt: &Statement, at_most_one: bool) -> Result<Vec<PgRow>, DbErr> {
        let mut kept = self.take().await?;
        let values = stmt
            .values
            .clone()
            .unwrap_or_else(|| sea_orm::sea_query::Values(Vec::new()));
        let query = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values));
        let started = Instant::now();
        let result = if at_most_one {
            query
                .fetch_optional(&mut *kept.conn)
                .await
                .map(|row| row.into_iter().collect())
        } else {
            query.fetch_all(&mut *kept.conn).await
        };
        self.counter
            .record(&stmt.sql, started.elapsed(), result.is_err());
        match result {
            Ok(rows) => {
                self.give_back(kept);
                Ok(rows)
            }
            // `kept` is dropped: sqlx tests the connection before reuse.
            Err(e) => Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))),
        }
    }
}
