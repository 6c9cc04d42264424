//! The registry of documents known by their SHA-256: automatic persisted
//! queries register a document once, then clients send its hash alone.
//!
//! With Redis every instance sharing it knows every registration; without
//! it, each instance keeps its own. Registrations expire after `ttl` and are
//! bounded in number (the oldest go first), so strangers registering
//! documents cannot grow Redis or memory without limit. A hash names its
//! document forever, so each instance also keeps recently used documents in
//! memory and answers them without a Redis round trip.
//!
//! A Redis failure is never an error here: a lookup that cannot be answered
//! is a miss (the client then sends the document again), a registration that
//! cannot be stored is only kept locally.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;

use crate::cache::RedisSettings;

/// Stores the document, indexes it by time, and drops the oldest
/// registrations past the bound, in one round trip.
/// KEYS[1] the document key, KEYS[2] the index; ARGV: hash, document, ttl
/// in seconds, now in seconds, bound, key prefix of documents.
const REGISTER: &str = r"
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4] - ARGV[3])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if excess > 0 then
  local old = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #old, 2 do
    redis.call('DEL', ARGV[6] .. old[i])
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
";

/// How long and how many registrations are kept.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RegistryLimits {
    pub ttl: Duration,
    pub max_documents: u64,
}

enum Backend {
    Memory,
    Redis {
        conn: ConnectionManager,
        prefix: String,
        timeout: Duration,
        script: redis::Script,
    },
}

/// The registry. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct DocumentRegistry(Arc<Inner>);

struct Inner {
    backend: Backend,
    /// Documents seen lately: the only store without Redis, a read-through
    /// copy with it.
    local: moka::future::Cache<String, Arc<str>>,
    limits: RegistryLimits,
}

impl std::fmt::Debug for DocumentRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.0.backend {
            Backend::Memory => "in-process",
            Backend::Redis { .. } => "redis",
        };
        f.debug_struct("DocumentRegistry")
            .field("backend", &backend)
            .field("limits", &self.0.limits)
            .finish()
    }
}

impl DocumentRegistry {
    /// Registrations kept by this instance only.
    pub fn in_process(limits: RegistryLimits) -> Self {
        Self::with_backend(Backend::Memory, limits)
    }

    /// Registrations shared through Redis (lazily connected; works while
    /// Redis is down, from memory).
    pub fn redis(
        settings: &RedisSettings,
        limits: RegistryLimits,
    ) -> Result<Self, redis::RedisError> {
        let conn = settings.connection_manager()?;
        Ok(Self::with_backend(
            Backend::Redis {
                conn,
                prefix: format!("{}pq:", settings.key_prefix),
                timeout: settings.timeout,
                script: redis::Script::new(REGISTER),
            },
            limits,
        ))
    }

    fn with_backend(backend: Backend, limits: RegistryLimits) -> Self {
        let capacity = match backend {
            Backend::Memory => limits.max_documents.max(1),
            Backend::Redis { .. } => limits.max_documents.clamp(1, 10_000),
        };
        let local = moka::future::Cache::builder()
            .max_capacity(capacity)
            .time_to_live(limits.ttl.max(Duration::from_secs(1)))
            .build();
        DocumentRegistry(Arc::new(Inner {
            backend,
            local,
            limits,
        }))
    }

    /// The document registered under `hash` (lower-case hex), if any.
    pub async fn get(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(doc) = self.0.local.get(hash).await {
            return Some(doc);
        }
        let Backend::Redis {
            conn,
            prefix,
            timeout,
            ..
        } = &self.0.backend
        else {
            return None;
        };
        let mut conn = conn.clone();
        let key = format!("{prefix}{hash}");
        let found = tokio::time::timeout(
            *timeout,
            redis::cmd("GET")
                .arg(&key)
                .query_async::<Option<String>>(&mut conn),
        )
        .await;
        match found {
            Ok(Ok(Some(doc))) => {
                let doc: Arc<str> = Arc::from(doc);
                self.0.local.insert(hash.to_owned(), doc.clone()).await;
                Some(doc)
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "persisted document lookup failed; treated as unknown");
                None
            }
            Err(_) => None,
        }
    }

    /// Registers `document` under `hash` (already verified by the caller).
    pub async fn put(&self, hash: &str, document: &str) {
        let doc: Arc<str> = Arc::from(document);
        self.0.local.insert(hash.to_owned(), doc).await;
        let Backend::Redis {
            conn,
            prefix,
            timeout,
            script,
        } = &self.0.backend
        else {
            return;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut invocation = script.prepare_invoke();
        invocation
            .key(format!("{prefix}{hash}"))
            .key(format!("{prefix}index"))
            .arg(hash)
            .arg(document)
            .arg(self.0.limits.ttl.as_secs().max(1))
            .arg(now)
            .arg(self.0.limits.max_documents.max(1))
            .arg(prefix.as_str());
        let mut conn = conn.clone();
        match tokio::time::timeout(*timeout, invocation.invoke_async::<i64>(&mut conn)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not share a persisted document through Redis")
            }
            Err(_) => tracing::warn!("sharing a persisted document through Redis timed out"),
        }
    }
}
