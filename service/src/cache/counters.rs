//! What the cache did and how it is doing: counters for tests and
//! `/metrics`, and the status `/readyz` reports.

use std::sync::atomic::{AtomicU64, Ordering};

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
}
