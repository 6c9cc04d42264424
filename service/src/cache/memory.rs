//! The in-process store: entries in a bounded moka cache with a TTL, version
//! counters in a map. Same semantics as Redis, for one instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{Scope, Slot};

pub(crate) struct MemoryStore {
    entries: moka::future::Cache<String, Arc<str>>,
    versions: Mutex<HashMap<Scope, u64>>,
}

impl MemoryStore {
    pub(crate) fn new(ttl: Duration, max_entries: u64) -> Self {
        MemoryStore {
            entries: moka::future::Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl)
                .build(),
            versions: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn get_versioned(&self, slots: &[Slot]) -> Vec<(u64, Option<String>)> {
        let versions: Vec<u64> = {
            let map = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
            slots
                .iter()
                .map(|s| map.get(&s.scope).copied().unwrap_or(0))
                .collect()
        };
        let mut out = Vec::with_capacity(slots.len());
        for (slot, v) in slots.iter().zip(versions) {
            let json = self.entries.get(&super::entry_key(slot, v)).await;
            out.push((v, json.map(|j| j.to_string())));
        }
        out
    }

    pub(crate) async fn set_many(&self, entries: Vec<(String, String)>) {
        for (k, v) in entries {
            self.entries.insert(k, Arc::from(v)).await;
        }
    }

    /// Each scope's version goes up by one, and to at least `floor`.
    pub(crate) fn bump(&self, scopes: &[Scope], floor: u64) {
        let mut map = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        map.reserve(scopes.len());
        for scope in scopes {
            let v = map.entry(*scope).or_insert(0);
            *v = (*v + 1).max(floor);
        }
    }
}
