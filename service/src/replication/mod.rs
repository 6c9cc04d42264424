//! Reads from a streaming replica without stale reads.
//!
//! Positions are WAL LSNs (bytes since `0/0`). After a write commits, its
//! service reads the primary's position ([`Replication::after_commit`]) and
//! bumps the cache versions of what it changed to at least that position
//! (see `cache`). A caller's last write position is kept per token subject
//! ([`WriterMarks`], in Redis when configured, so every instance knows it).
//!
//! A query chooses its database once ([`Replication::route`]):
//!
//! - the replica, when it is healthy and has replayed at least the caller's
//!   last write (known from the latest check, or asked then); values it
//!   reads are cached only if it had replayed their scope's version;
//! - else the primary: for a caller whose write the replica has not
//!   replayed yet (read-your-writes; nothing read is cached), or for
//!   everyone while the replica is down or more than `max_lag` behind
//!   (cached as usual).
//!
//! A checker task asks both databases their position every `interval`. The
//! replica's lag is the age of the oldest primary position it has not
//! replayed. Past `max_lag`, or when it does not answer, it is bypassed:
//! every query reads the primary. It is let back once within `max_lag`:
//! from that moment queries wait (typically its lag, at most a second) until
//! it has replayed the primary's position read just then, so a reader
//! coming back from the primary does not see writes it already saw undone.
//! (The one exception: a primary read routed before that position was read
//! whose statement started after it, and saw a write committed in between.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::db::Db;
use crate::error::{Error, Result};

mod marks;
mod watch;

pub use self::marks::{MarksUnavailable, WriterMarks};

/// The primary's current WAL position.
const PRIMARY_POSITION: &str = "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS lsn";

/// What a replica has replayed (on a server that is not a replica: its own
/// position, so a replica URL pointing at a primary still works).
const REPLAYED_POSITION: &str = "SELECT (CASE WHEN pg_is_in_recovery() \
     THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint AS lsn";

async fn position<C: ConnectionTrait>(conn: &C, sql: &str) -> Result<u64> {
    let row = conn
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .ok_or_else(|| Error::Db(sea_orm::DbErr::Custom("no WAL position".into())))?;
    let lsn: Option<i64> = row.try_get("", "lsn")?;
    Ok(lsn.and_then(|l| u64::try_from(l).ok()).unwrap_or(0))
}

/// The primary's WAL position now (every commit before this call is at or
/// below it).
pub async fn primary_position<C: ConnectionTrait>(conn: &C) -> Result<u64> {
    position(conn, PRIMARY_POSITION).await
}

/// Where one query reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The replica, which had replayed at least this position.
    Replica(u64),
    /// The primary, because the replica has not replayed the caller's write.
    PrimaryForCaller,
    /// The primary, because the replica is down or too far behind.
    PrimaryBypassing,
}

/// The replica as the last check saw it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReplicaStatus {
    /// Serving reads.
    Up,
    /// Answering, but bypassed (too far behind, or catching up).
    Behind,
    /// Not answering.
    Down,
}

impl ReplicaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaStatus::Up => "up",
            ReplicaStatus::Behind => "behind",
            ReplicaStatus::Down => "down",
        }
    }
}

/// How long a replica being let back after a bypass has to replay what the
/// primary had then; queries wait for it meanwhile.
const CATCH_UP: Duration = Duration::from_secs(1);

/// How the replica is watched.
#[derive(Copy, Clone, Debug)]
pub struct ReplicaSettings {
    /// Past this lag the replica is bypassed.
    pub max_lag: Duration,
    /// How often both positions are read.
    pub interval: Duration,
}

struct Inner {
    primary: Db,
    replica: Db,
    settings: ReplicaSettings,
    marks: WriterMarks,
    /// The highest position the replica said it had replayed; lowered
    /// when a check finds the server behind the URL further back (it
    /// restarted from an earlier point, or is another server).
    replayed: AtomicU64,
    /// The highest position read after a commit on this instance.
    latest_commit: AtomicU64,
    serving: AtomicBool,
    /// After a bypass: reads go to the replica only once it has replayed
    /// this (the primary's position read after the replica was let back;
    /// `u64::MAX` until that read). Until then they wait.
    return_floor: AtomicU64,
    /// Wakes the queries waiting for the replica to be let back.
    caught_up: tokio::sync::Notify,
    reachable: AtomicBool,
    lag_ms: AtomicU64,
    /// Queries routed to each database (this instance).
    to_replica: AtomicU64,
    to_primary: AtomicU64,
}

/// The replica of a deployment. Cheap to clone.
#[derive(Clone)]
pub struct Replication(Arc<Inner>);

impl std::fmt::Debug for Replication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replication")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Replication {
    /// Watches `replica` (spawning the checker task). Until the first check
    /// finds it caught up, queries read the primary.
    pub fn new(primary: Db, replica: Db, settings: ReplicaSettings, marks: WriterMarks) -> Self {
        let replication = Replication(Arc::new(Inner {
            primary,
            replica,
            settings,
            marks,
            replayed: AtomicU64::new(0),
            latest_commit: AtomicU64::new(0),
            serving: AtomicBool::new(false),
            return_floor: AtomicU64::new(0),
            caught_up: tokio::sync::Notify::new(),
            reachable: AtomicBool::new(false),
            lag_ms: AtomicU64::new(0),
            to_replica: AtomicU64::new(0),
            to_primary: AtomicU64::new(0),
        }));
        tokio::spawn(watch::watch(Arc::downgrade(&replication.0)));
        replication
    }

    pub fn replica(&self) -> &Db {
        &self.0.replica
    }

    /// Reads the primary's position after a commit (see the module).
    pub async fn after_commit(&self) -> Result<u64> {
        let lsn = primary_position(&self.0.primary).await?;
        self.0.latest_commit.fetch_max(lsn, Ordering::SeqCst);
        Ok(lsn)
    }

    /// The highest position read after a commit on this instance: at least
    /// the position of every write this instance committed so far.
    pub fn latest_commit(&self) -> u64 {
        self.0.latest_commit.load(Ordering::SeqCst)
    }

    /// Remembers that `caller` wrote (everything this instance committed so
    /// far counts: at least the caller's own writes).
    pub async fn mark_writer(&self, caller: &str) -> std::result::Result<(), MarksUnavailable> {
        self.0.marks.mark(caller, self.latest_commit()).await
    }

    /// Where a query by `caller` (its token's subject, if any) reads.
    pub async fn route(&self, caller: Option<&str>) -> Route {
        let route = self.decide(caller).await;
        match route {
            Route::Replica(_) => self.0.to_replica.fetch_add(1, Ordering::Relaxed),
            _ => self.0.to_primary.fetch_add(1, Ordering::Relaxed),
        };
        metrics::counter!("db_reads_total", "target" => match route {
            Route::Replica(_) => "replica",
            _ => "primary",
        })
        .increment(1);
        route
    }

    async fn decide(&self, caller: Option<&str>) -> Route {
        if !self.0.serving.load(Ordering::SeqCst) {
            return Route::PrimaryBypassing;
        }
        // Being let back after a bypass: wait until the replica has caught
        // up with what primary readers saw (see `watch::let_back`).
        if !self.caught_up() {
            let woken = self.0.caught_up.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if !self.caught_up() {
                let _ = tokio::time::timeout(CATCH_UP + Duration::from_secs(1), woken).await;
            }
            if !self.0.serving.load(Ordering::SeqCst) || !self.caught_up() {
                return Route::PrimaryBypassing;
            }
        }
        let floor = match caller {
            None => 0,
            Some(caller) => match self.0.marks.last(caller).await {
                Ok(lsn) => lsn,
                // Unknown: the caller may have written anywhere.
                Err(_) => return Route::PrimaryForCaller,
            },
        };
        let replayed = self.0.replayed.load(Ordering::SeqCst);
        if replayed >= floor {
            return Route::Replica(replayed);
        }
        // Ask the replica itself: it may be further than the last check.
        let asked = tokio::time::timeout(
            Duration::from_secs(1),
            position(&self.0.replica, REPLAYED_POSITION),
        )
        .await;
        if let Ok(Ok(now)) = asked {
            self.0.replayed.fetch_max(now, Ordering::SeqCst);
            if now >= floor {
                return Route::Replica(now);
            }
        }
        Route::PrimaryForCaller
    }

    fn caught_up(&self) -> bool {
        self.0.replayed.load(Ordering::SeqCst) >= self.0.return_floor.load(Ordering::SeqCst)
    }

    /// A read of the replica failed, or a write's position is unknown:
    /// bypass the replica until the checker lets it back (past a position
    /// read then).
    pub fn suspect(&self) {
        if self.0.serving.swap(false, Ordering::SeqCst) {
            tracing::warn!("reads go to the primary until the replica is let back");
        }
    }

    /// The replica's state and lag at the last check.
    pub fn status(&self) -> (ReplicaStatus, Duration) {
        let lag = Duration::from_millis(self.0.lag_ms.load(Ordering::SeqCst));
        let status = if !self.0.reachable.load(Ordering::SeqCst) {
            ReplicaStatus::Down
        } else if self.0.serving.load(Ordering::SeqCst) {
            ReplicaStatus::Up
        } else {
            ReplicaStatus::Behind
        };
        (status, lag)
    }

    /// Queries this instance routed to the replica and to the primary.
    pub fn routed(&self) -> (u64, u64) {
        (
            self.0.to_replica.load(Ordering::Relaxed),
            self.0.to_primary.load(Ordering::Relaxed),
        )
    }
}
