//! Read-through result cache with exact, race-free invalidation.
//!
//! # Design
//!
//! Every cached entry belongs to a *scope* that has a version counter: one
//! scope per customer (its row and its aggregates) and one for the spending
//! ranking. An entry's key embeds the version that was current when the read
//! started (`e:stats:7:12`). A mutation bumps the versions of the scopes it
//! touched *after* its transaction commits, so:
//!
//! - readers after the mutation look up keys under the new version and miss;
//! - a reader that started before the mutation and stores its (old) result
//!   late stores it under the old version, which nobody reads again;
//! - nothing scans key patterns, and instances sharing one Redis agree
//!   because the versions live in Redis.
//!
//! Entries expire after the TTL (`CACHE_TTL_SECS`) at the latest. Version
//! counters do not expire (they are a few bytes per mutated customer); with
//! Redis, use a `noeviction` or `volatile-*` eviction policy so they are never
//! evicted. When a bump cannot be delivered (Redis down), the instance keeps
//! it pending and delivers it before it reads from Redis again; other
//! instances may serve the superseded entry until it expires, so a stale
//! entry lives at most the TTL. Such failures are counted in
//! `cache_invalidation_failures_total`.
//!
//! Concurrent misses for the same key within one instance are coalesced
//! (see [`flights`]): one database query answers all of them.
//!
//! With a read replica, which values may be stored is [`Fill`]'s rule.

mod counters;
mod fill;
mod flights;
mod invalidate;
mod io;
mod keys;
mod maintenance;
mod memory;
mod redis_store;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use self::flights::{Flights, Landed};
use self::memory::MemoryStore;
use self::redis_store::RedisStore;
use crate::spans::{Kind, Spans};

pub use self::counters::{CacheCounters, CacheStatus};
pub use self::fill::Fill;
use self::keys::entry_key;
pub use self::keys::{Scope, Slot, index_by};
pub use self::maintenance::delete_redis_prefix;
pub use self::redis_store::RedisSettings;

/// Why a cache operation did not happen. Never shown to clients: the caller
/// falls back to the database.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("redis is marked down after a recent failure")]
    Down,
}

/// Where entries live.
enum Backend {
    Memory(MemoryStore),
    Redis(RedisStore),
    /// No cache: every read goes to the database, nothing is coalesced.
    Disabled,
}

struct Inner {
    backend: Backend,
    ttl: Duration,
    flights: Flights,
    counters: CacheCounters,
    /// Told of reads, fills and invalidations (the server's traces).
    spans: Spans,
}

/// The result cache. Cheap to clone; clones share everything but their
/// [`Fill`] policy.
#[derive(Clone)]
pub struct Cache(Arc<Inner>, Fill);

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("backend", &self.backend_name())
            .field("ttl", &self.0.ttl)
            .finish()
    }
}

impl Cache {
    /// The in-process cache of the embedded default.
    pub fn in_process(ttl: Duration, max_entries: u64) -> Self {
        Self::with_backend(Backend::Memory(MemoryStore::new(ttl, max_entries)), ttl)
    }

    /// Redis behind a connection manager that reconnects by itself. Does not
    /// need Redis to be up: until it is, reads go to the database.
    pub fn redis(settings: RedisSettings, ttl: Duration) -> Result<Self, CacheError> {
        Ok(Self::with_backend(
            Backend::Redis(RedisStore::new(settings)?),
            ttl,
        ))
    }

    /// No caching at all (`CACHE_DISABLED`): for measurements and debugging.
    pub fn disabled() -> Self {
        Self::with_backend(Backend::Disabled, Duration::ZERO)
    }

    fn with_backend(backend: Backend, ttl: Duration) -> Self {
        Cache(
            Arc::new(Inner {
                backend,
                ttl,
                flights: Flights::default(),
                counters: CacheCounters::default(),
                spans: Spans::default(),
            }),
            Fill::Always,
        )
    }

    /// The same cache, storing on a miss only what `fill` allows.
    pub fn with_fill(&self, fill: Fill) -> Self {
        Cache(self.0.clone(), fill)
    }

    pub fn fill(&self) -> Fill {
        self.1
    }

    pub fn backend_name(&self) -> &'static str {
        match self.0.backend {
            Backend::Memory(_) => "in-process",
            Backend::Disabled => "disabled",
            Backend::Redis(_) => "redis",
        }
    }

    pub fn counters(&self) -> &CacheCounters {
        &self.0.counters
    }

    /// Where the server installs what it tells its traces.
    pub fn spans(&self) -> &Spans {
        &self.0.spans
    }

    /// A span's kind: a call to Redis, or work in this process.
    fn span_kind(&self) -> Kind {
        match self.0.backend {
            Backend::Redis(_) => Kind::Client,
            Backend::Memory(_) | Backend::Disabled => Kind::Internal,
        }
    }

    /// Checks the backend now (a Redis `PING` within the call timeout).
    pub async fn status(&self) -> CacheStatus {
        match &self.0.backend {
            Backend::Memory(_) | Backend::Disabled => CacheStatus::InProcess,
            Backend::Redis(r) => match r.ping().await {
                Ok(()) => CacheStatus::Up,
                Err(_) => CacheStatus::Down,
            },
        }
    }

    /// Read-through lookup of many slots: answers hits from the cache, and
    /// misses with one call of `fetch` (given the indices of the missed
    /// slots), coalescing with identical misses already in flight in this
    /// instance. A `None` from `fetch` (no such row) is not cached. `fetch`
    /// runs a second time only for followers whose leader failed.
    pub async fn read_through<T, F, Fut, E>(
        &self,
        slots: &[Slot],
        fetch: F,
    ) -> Result<Vec<Option<T>>, E>
    where
        T: Serialize + DeserializeOwned + Clone,
        F: Fn(Vec<usize>) -> Fut,
        Fut: Future<Output = Result<Vec<Option<T>>, E>>,
    {
        if slots.is_empty() {
            return Ok(Vec::new());
        }
        if matches!(self.0.backend, Backend::Disabled) {
            // Every slot misses, nothing is stored, no flight to share.
            self.0.counters.record(0, slots.len() as u64);
            return fetch((0..slots.len()).collect()).await;
        }
        let mut out: Vec<Option<T>> = vec![None; slots.len()];
        let looked_up = self.lookup(slots).await;
        let fill = self.1;

        // Split into hits, misses we lead, and misses another task leads.
        let mut leading: Vec<usize> = Vec::new();
        let mut waiting = Vec::new();
        let mut leader_keys: Vec<Option<String>> = Vec::new();
        let mut storable: Vec<bool> = Vec::new();
        let mut hits = 0u64;
        for (i, (cached, version)) in looked_up.into_iter().enumerate() {
            if let Some(json) = cached
                && let Ok(value) = serde_json::from_str::<T>(&json)
            {
                out[i] = Some(value);
                hits += 1;
                continue;
            }
            let key = version.map(|v| format!("{}{}", entry_key(&slots[i], v), fill.flight_tag()));
            match key.as_deref().map(|k| self.0.flights.join_or_lead(k)) {
                Some(flights::Role::Follower(rx)) => waiting.push((i, rx)),
                Some(flights::Role::Leader) | None => {
                    leading.push(i);
                    leader_keys.push(key);
                    storable.push(version.is_some_and(|v| fill.allows(v)));
                }
            }
        }
        let misses = (slots.len() as u64) - hits;
        self.0.counters.record(hits, misses);

        // The guard releases our flights even if this future is dropped.
        let mut guard = self
            .0
            .flights
            .guard(leader_keys.iter().flatten().cloned().collect());
        if !leading.is_empty() {
            let fetched = fetch(leading.clone()).await?;
            let mut to_store = Vec::new();
            let mut landings = Vec::new();
            for (((i, key), value), storable) in
                leading.iter().zip(&leader_keys).zip(fetched).zip(&storable)
            {
                let json = value.as_ref().and_then(|v| serde_json::to_string(v).ok());
                if let Some(key) = key {
                    let landed = match &json {
                        Some(j) => Landed::Found(Arc::from(j.as_str())),
                        None => Landed::Absent,
                    };
                    landings.push((key.as_str(), landed));
                    if let Some(j) = json
                        && *storable
                    {
                        let entry = key.strip_suffix(fill.flight_tag()).unwrap_or(key);
                        to_store.push((entry.to_owned(), j));
                    }
                }
                out[*i] = value;
            }
            // Store first, land after: a miss that starts once the flight
            // is gone finds the entry instead of querying again.
            self.store(to_store).await;
            for (key, landed) in landings {
                guard.land(key, landed);
            }
        }
        drop(guard);

        // Followers: take what the leader found; if it failed, fetch ourselves.
        let mut retry = Vec::new();
        for (i, rx) in waiting {
            self.0.counters.coalesced.fetch_add(1, Ordering::Relaxed);
            match rx.await {
                Ok(Landed::Found(json)) => match serde_json::from_str::<T>(&json) {
                    Ok(v) => out[i] = Some(v),
                    Err(_) => retry.push(i),
                },
                Ok(Landed::Absent) => {}
                Ok(Landed::Failed) | Err(_) => retry.push(i),
            }
        }
        if !retry.is_empty() {
            let fetched = fetch(retry.clone()).await?;
            for (i, value) in retry.into_iter().zip(fetched) {
                out[i] = value;
            }
        }
        Ok(out)
    }
}
