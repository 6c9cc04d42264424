//! The in-process store: entries in a bounded moka cache with a TTL, version
//! counters in a map. Same semantics as Redis, for one instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub(crate) struct MemoryStore {
    entries: moka::future::Cache<String, Arc<str>>,
    versions: Mutex<HashMap<String, u64>>,
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

    pub(crate) async fn get_versioned(
        &self,
        pairs: &[(String, String)],
    ) -> Vec<(u64, Option<String>)> {
        let versions: Vec<u64> = {
            let map = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
            pairs
                .iter()
                .map(|(vk, _)| map.get(vk).copied().unwrap_or(0))
                .collect()
        };
        let mut out = Vec::with_capacity(pairs.len());
        for ((_, base), v) in pairs.iter().zip(versions) {
            let json = self.entries.get(&format!("{base}:{v}")).await;
            out.push((v, json.map(|j| j.to_string())));
        }
        out
    }

    pub(crate) async fn set_many(&self, entries: Vec<(String, String)>) {
        for (k, v) in entries {
            self.entries.insert(k, Arc::from(v)).await;
        }
    }

    pub(crate) fn bump(&self, version_keys: &[String]) {
        let mut map = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        for k in version_keys {
            *map.entry(k.clone()).or_insert(0) += 1;
        }
    }
}
