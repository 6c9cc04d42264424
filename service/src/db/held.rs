//! Connections taken out of sqlx's pool and kept for statements that run
//! on their own (no transaction), on PostgreSQL.
//!
//! sqlx pings every connection it gets back (`PoolConnection` returning to
//! the pool waits for a round trip, unconditionally): for a lookup that is
//! one statement, that doubles the round trips. A kept connection goes back
//! to this list instead, after a statement that completed, unless sqlx's
//! pool has no idle connection left (callers may be queued there: it goes
//! to them, through sqlx). At most [`kept_connections`] of the pool are
//! kept (busy or idle): the rest stay sqlx's, for transactions and for
//! statements beyond that number. A kept connection never leaves
//! sqlx's accounting: the pool's size limit and acquire timeout still hold,
//! and whatever drops one (a failed or cancelled statement, its age, a
//! closing pool) hands it back to sqlx, which tests it then as usual.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Postgres};
use sea_orm::{DbErr, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;

use super::acquire_error;
use super::statements::StatementCounter;

/// A kept connection unused for this long goes back to sqlx (which pings it
/// before it serves again, as for any connection idle this long).
const IDLE_BEFORE_RETURN: Duration = super::IDLE_BEFORE_PING;

/// A connection kept this long (or the pool's maximum lifetime, if
/// shorter) goes back to sqlx after its next statement, so the pool's
/// lifetime rule still reaches it.
const KEPT_AT_MOST: Duration = Duration::from_secs(60);

/// How many of a pool's connections may be kept: three quarters, leaving
/// at least one to transactions and other callers whatever the load on
/// single statements.
pub fn kept_connections(max_connections: u32) -> usize {
    let max = usize::try_from(max_connections).unwrap_or(usize::MAX);
    max.saturating_sub((max / 4).max(1))
}

/// A connection out of sqlx's pool for one statement. `slot` is set when
/// it counts among the kept ones: it returns to the list after a statement
/// that completed, and its count goes when it is dropped.
#[derive(Debug)]
struct Conn {
    conn: PoolConnection<Postgres>,
    slot: Option<Slot>,
    /// When it was taken out of sqlx's pool.
    taken: Instant,
    /// When its last statement completed.
    used: Instant,
}

/// One of the kept connections, counted until dropped. (Weak: the idle
/// list holds slots, and must not keep its own owner alive.)
#[derive(Debug)]
struct Slot(Weak<Held>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(held) = self.0.upgrade() {
            held.lock().kept -= 1;
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Kept connections waiting for a statement, most recently used last.
    idle: VecDeque<Conn>,
    /// Kept connections, idle or busy.
    kept: usize,
    closed: bool,
}

#[derive(Debug)]
pub struct Held {
    pool: PgPool,
    state: Mutex<State>,
    keep: usize,
    /// How long a connection is kept before it goes back to sqlx.
    recycle: Duration,
    counter: Arc<StatementCounter>,
}

impl Held {
    /// Keeps at most `keep` connections of `pool`, none longer than
    /// `max_lifetime` (or [`KEPT_AT_MOST`]).
    pub fn new(
        pool: PgPool,
        keep: usize,
        max_lifetime: Duration,
        counter: Arc<StatementCounter>,
    ) -> Arc<Self> {
        Arc::new(Held {
            pool,
            state: Mutex::new(State::default()),
            keep,
            recycle: max_lifetime.min(KEPT_AT_MOST),
            counter,
        })
    }

    /// Kept connections waiting for a statement.
    pub fn idle(&self) -> usize {
        self.lock().idle.len()
    }

    /// Hands every idle kept connection back to sqlx and keeps none from
    /// now on (before the pool is closed: closing waits for them).
    pub fn release(&self) {
        let idle = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.idle)
        };
        drop(idle);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently used idle kept connection, else one from sqlx's
    /// pool (waiting at most its acquire timeout), kept while fewer than
    /// `keep` are.
    async fn take(self: &Arc<Self>) -> Result<Conn, DbErr> {
        let stale = {
            let mut state = self.lock();
            match state.idle.pop_back() {
                Some(conn) if conn.used.elapsed() < IDLE_BEFORE_RETURN => return Ok(conn),
                // The most recent one sat this long: so did every other one.
                Some(conn) => {
                    let mut stale = std::mem::take(&mut state.idle);
                    stale.push_back(conn);
                    stale
                }
                None => VecDeque::new(),
            }
        };
        drop(stale);
        // Boxed: sqlx's acquire future is kilobytes, and every lookup's
        // future (moved into a box by SeaORM's trait) would carry it.
        let conn = Box::pin(self.pool.acquire()).await.map_err(acquire_error)?;
        Ok(Conn::new(conn, self.claim_slot()))
    }

    /// Counts one more kept connection, if there is room.
    fn claim_slot(self: &Arc<Self>) -> Option<Slot> {
        let mut state = self.lock();
        (state.kept < self.keep && !state.closed).then(|| {
            state.kept += 1;
            Slot(Arc::downgrade(self))
        })
    }

    /// After a statement that completed: a kept connection goes back to
    /// the idle list. Any other (not kept, kept long enough, the pool
    /// closing) is dropped: it goes back to sqlx. So is a kept one while
    /// sqlx's pool has no idle connection left: callers may be queued
    /// there, and sqlx serves them in turn (taking it from the list would
    /// let later callers overtake them).
    fn give_back(&self, mut conn: Conn) {
        if conn.slot.is_none() || conn.taken.elapsed() >= self.recycle || self.pool_is_busy() {
            return;
        }
        conn.used = Instant::now();
        let mut state = self.lock();
        if state.closed {
            drop(state);
            return;
        }
        // The least recently used one goes back once it sat too long.
        let stale = state
            .idle
            .front()
            .is_some_and(|c| c.used.elapsed() >= IDLE_BEFORE_RETURN)
            .then(|| state.idle.pop_front())
            .flatten();
        state.idle.push_back(conn);
        drop(state);
        drop(stale);
    }

    /// Every connection of sqlx's pool is open and out.
    fn pool_is_busy(&self) -> bool {
        self.pool.num_idle() == 0 && self.pool.size() >= self.pool.options().get_max_connections()
    }

    /// Runs one statement that returns rows; counted like every statement.
    pub async fn fetch(
        self: &Arc<Self>,
        stmt: &Statement,
        at_most_one: bool,
    ) -> Result<Vec<PgRow>, DbErr> {
        let mut conn = self.take().await?;
        let values = stmt
            .values
            .clone()
            .unwrap_or_else(|| sea_orm::sea_query::Values(Vec::new()));
        let query = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values));
        let started = Instant::now();
        let result = if at_most_one {
            query
                .fetch_optional(&mut *conn.conn)
                .await
                .map(|row| row.into_iter().collect())
        } else {
            query.fetch_all(&mut *conn.conn).await
        };
        self.counter
            .record(&stmt.sql, started.elapsed(), result.is_err());
        match result {
            Ok(rows) => {
                self.give_back(conn);
                Ok(rows)
            }
            // `conn` is dropped: sqlx tests the connection before reuse.
            Err(e) => Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))),
        }
    }
}

impl Conn {
    fn new(conn: PoolConnection<Postgres>, slot: Option<Slot>) -> Self {
        let now = Instant::now();
        Conn {
            conn,
            slot,
            taken: now,
            used: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::kept_connections;

    #[test]
    fn a_pool_always_leaves_a_connection_unkept() {
        assert_eq!(kept_connections(1), 0);
        assert_eq!(kept_connections(2), 1);
        assert_eq!(kept_connections(4), 3);
        assert_eq!(kept_connections(16), 12);
        assert_eq!(kept_connections(100), 75);
    }
}
