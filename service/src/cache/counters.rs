//! What the cache did and how it is doing: counters for tests and
//! `/metrics`, and the status `/readyz` reports.

use std::sync::atomic::{AtomicU64, Ordering};

use metrics::Counter;

use super::CacheError;
use crate::metered::Once;

/// What `/readyz` reports for the cache.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// The embedded in-process cache: always available.
    InProcess,
    Up,
    Down,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::InProcess => "in-process",
            CacheStatus::Up => "up",
            CacheStatus::Down => "down",
        }
    }
}

/// Counters of what the cache did, for tests and `/metrics`.
#[derive(Debug, Default)]
pub struct CacheCounters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub errors: AtomicU64,
    pub invalidation_failures: AtomicU64,
    pub coalesced: AtomicU64,
}

impl CacheCounters {
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
    pub fn coalesced(&self) -> u64 {
        self.coalesced.load(Ordering::Relaxed)
    }

    /// Counts one lookup's hits and misses.
    pub(super) fn record(&self, hits: u64, misses: u64) {
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses.fetch_add(misses, Ordering::Relaxed);
        static HITS: Once<Counter> = Once::new(|| metrics::counter!("cache_hits_total"));
        static MISSES: Once<Counter> = Once::new(|| metrics::counter!("cache_misses_total"));
        if hits > 0 {
            HITS.with(|c| c.increment(hits));
        }
        if misses > 0 {
            MISSES.with(|c| c.increment(misses));
        }
    }

    /// Counts a failed cache call (the caller answers from the database).
    pub(super) fn error(&self, err: &CacheError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("cache_errors_total").increment(1);
        tracing::debug!(error = %err, "cache unavailable; answering from the database");
    }
}
