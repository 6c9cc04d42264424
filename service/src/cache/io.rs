//! The two calls a read makes to the backend: look its entries up (with
//! their scopes' versions), and store what its misses found.

use super::keys::{entry_base, version_key};
use super::{Backend, Cache, Slot};

impl Cache {
    /// For each slot: the cached JSON if any, and the scope's current version
    /// (`None` when the backend could not be asked: then nothing is stored).
    pub(super) async fn lookup(&self, slots: &[Slot]) -> Vec<(Option<String>, Option<u64>)> {
        let started = self.0.spans.start();
        let result = match &self.0.backend {
            Backend::Memory(m) => Ok(m.get_versioned(slots).await),
            Backend::Redis(r) => {
                let pairs: Vec<(String, String)> = slots
                    .iter()
                    .map(|s| (version_key(&s.scope), entry_base(s)))
                    .collect();
                r.get_versioned(&pairs).await
            }
            Backend::Disabled => return vec![(None, None); slots.len()],
        };
        let error = result.is_err().then_some("the cache did not answer");
        let looked_up = match result {
            Ok(rows) => rows.into_iter().map(|(v, json)| (json, Some(v))).collect(),
            Err(err) => {
                self.0.counters.error(&err);
                vec![(None, None); slots.len()]
            }
        };
        self.0
            .spans
            .done(started, "cache.read", self.span_kind(), error, || {
                let hits = looked_up.iter().filter(|(json, _)| json.is_some()).count();
                vec![
                    ("cache.backend", self.backend_name().into()),
                    ("cache.keys", slots.len().into()),
                    ("cache.hits", hits.into()),
                    ("cache.hit", (hits == slots.len()).into()),
                ]
            });
        looked_up
    }

    pub(super) async fn store(&self, entries: Vec<(String, String)>) {
        if entries.is_empty() {
            return;
        }
        let (started, n) = (self.0.spans.start(), entries.len());
        let result = match &self.0.backend {
            Backend::Memory(m) => {
                m.set_many(entries).await;
                Ok(())
            }
            Backend::Redis(r) => r.set_many(&entries, self.0.ttl).await,
            Backend::Disabled => Ok(()),
        };
        let error = result.is_err().then_some("not stored");
        self.0
            .spans
            .done(started, "cache.fill", self.span_kind(), error, || {
                vec![
                    ("cache.backend", self.backend_name().into()),
                    ("cache.entries", n.into()),
                ]
            });
        if let Err(err) = result {
            self.0.counters.error(&err);
        }
    }
}
