//! Counting the statements the server runs (for tests and `/metrics`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{Counter, Histogram};

use crate::metered::Once;

/// Counts every SQL statement the connection executes (SeaORM's metric
/// callback), so tests and `/metrics` can prove how many a request costs.
/// The replica's pool counts into the same totals ([`Self::replica`]).
#[derive(Debug, Default)]
pub struct StatementCounter {
    statements: Arc<AtomicU64>,
    /// When set, the SQL of the most recent statements and when each ran
    /// (for tests and debugging).
    recent: Option<Arc<Mutex<VecDeque<Kept>>>>,
    /// Told of every statement after it ran (the server's traces).
    hook: Option<StatementHook>,
    /// This counter's statements run on the read replica.
    on_replica: bool,
}

/// A statement that ran, as its hook is told of it: the SQL (placeholders,
/// never values), how long it ran, whether it failed, and on which server.
#[derive(Clone, Copy, Debug)]
pub struct Ran<'a> {
    pub sql: &'a str,
    pub elapsed: Duration,
    pub failed: bool,
    pub on_replica: bool,
}

/// What is told of each statement that ran.
#[derive(Clone)]
pub struct StatementHook(pub Arc<StatementFn>);

/// The function of a [`StatementHook`].
pub type StatementFn = dyn Fn(Ran<'_>) + Send + Sync;

impl std::fmt::Debug for StatementHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatementHook")
    }
}

/// A statement that ran, as [`StatementCounter::recent`] keeps it: its SQL,
/// when it started and ended.
#[derive(Clone, Debug)]
struct Kept {
    sql: String,
    started: std::time::Instant,
    ended: std::time::Instant,
}

/// How many statements [`StatementCounter::recent`] keeps.
const RECENT_STATEMENTS: usize = 256;

impl StatementCounter {
    /// Also tells `hook` of every statement.
    pub fn with_hook(mut self, hook: StatementHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The counter of the replica's pool: the same totals, recent
    /// statements and hook, its statements told as the replica's.
    pub fn replica(&self) -> StatementCounter {
        StatementCounter {
            statements: self.statements.clone(),
            recent: self.recent.clone(),
            hook: self.hook.clone(),
            on_replica: true,
        }
    }

    /// A counter that also keeps the SQL of the last statements.
    pub fn recording() -> Self {
        StatementCounter {
            recent: Some(Arc::default()),
            ..Default::default()
        }
    }

    fn ran(&self) -> Vec<Kept> {
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

    /// Counts a statement that ran (here and in `/metrics`).
    pub(crate) fn record(&self, sql: &str, elapsed: Duration, failed: bool) {
        static SUCCEEDED: Once<Counter> =
            Once::new(|| metrics::counter!("sql_statements_total", "failed" => "false"));
        static FAILED: Once<Counter> =
            Once::new(|| metrics::counter!("sql_statements_total", "failed" => "true"));
        static DURATION: Once<Histogram> =
            Once::new(|| metrics::histogram!("sql_statement_duration_seconds"));
        self.statements.fetch_add(1, Ordering::Relaxed);
        if failed { &FAILED } else { &SUCCEEDED }.with(|c| c.increment(1));
        DURATION.with(|h| h.record(elapsed.as_secs_f64()));
        if let Some(hook) = &self.hook {
            (hook.0)(Ran {
                sql,
                elapsed,
                failed,
                on_replica: self.on_replica,
            });
        }
        if let Some(recent) = &self.recent {
            let ended = std::time::Instant::now();
            let ran = Kept {
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
