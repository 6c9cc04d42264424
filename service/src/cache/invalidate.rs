//! A write's invalidation: the versions of the scopes it touched, bumped
//! after its commit.

use std::sync::atomic::Ordering;

use super::keys::version_key;
use super::{Backend, Cache, Scope};

impl Cache {
    /// Makes everything cached under `scopes` unreachable. Call after the
    /// write committed. Never fails: an undelivered bump is counted, kept
    /// pending and delivered before this instance reads from Redis again.
    pub async fn invalidate(&self, scopes: &[Scope]) {
        self.invalidate_after(scopes, None).await;
    }

    /// As [`Cache::invalidate`], for a write at WAL position `lsn`: each
    /// scope's version becomes at least `lsn` (see [`Fill`]).
    pub async fn invalidate_after(&self, scopes: &[Scope], lsn: Option<u64>) {
        if scopes.is_empty() {
            return;
        }
        let floor = lsn.unwrap_or(0);
        let started = self.0.spans.start();
        let result = match &self.0.backend {
            Backend::Memory(m) => {
                m.bump(scopes, floor);
                Ok(())
            }
            Backend::Redis(r) => {
                let keys: Vec<String> = scopes.iter().map(version_key).collect();
                r.bump(&keys, floor).await
            }
            Backend::Disabled => Ok(()),
        };
        let error = result.is_err().then_some("not delivered; kept pending");
        self.0
            .spans
            .done(started, "cache.invalidate", self.span_kind(), error, || {
                vec![
                    ("cache.backend", self.backend_name().into()),
                    ("cache.scopes", scopes.len().into()),
                ]
            });
        if let Err(err) = result {
            self.0
                .counters
                .invalidation_failures
                .fetch_add(1, Ordering::Relaxed);
            metrics::counter!("cache_invalidation_failures_total").increment(1);
            tracing::warn!(error = %err, scopes = scopes.len(), "cache invalidation not delivered; kept pending");
        }
    }
}
