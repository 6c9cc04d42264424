//! The Redis store: a connection manager that reconnects by itself, a short
//! timeout on every call, a brief back-off after a failure so a dead Redis
//! does not cost every request a timeout, and pending version bumps that are
//! delivered before the next read.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::CacheError;

/// Reads each scope's version and the entry under it, in one round trip.
const GET_VERSIONED: &str = r"
local out = {}
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i]) or '0'
  out[2 * i - 1] = v
  out[2 * i] = redis.call('GET', ARGV[i] .. ':' .. v)
end
return out
";

/// Raises each scope's version by one, and to at least its floor (a WAL
/// position). Integers stay exact up to 2^53 (9 PB of WAL).
const BUMP: &str = r"
for i = 1, #KEYS do
  local v = tonumber(redis.call('GET', KEYS[i]) or '0') + 1
  local floor = tonumber(ARGV[i])
  if floor > v then v = floor end
  redis.call('SET', KEYS[i], string.format('%.0f', v))
end
return #KEYS
";

#[derive(Clone, Debug)]
pub struct RedisSettings {
    pub url: String,
    /// Prepended to every key, so several deployments (or tests) can share a server.
    pub key_prefix: String,
    /// Upper bound on any one Redis call.
    pub timeout: Duration,
    /// How long to skip Redis after a failure before trying again.
    pub backoff: Duration,
}

impl RedisSettings {
    pub fn new(url: impl Into<String>) -> Self {
        RedisSettings {
            url: url.into(),
            key_prefix: String::new(),
            timeout: Duration::from_millis(250),
            backoff: Duration::from_secs(1),
        }
    }

    /// A connection manager that connects on first use and reconnects by
    /// itself, every call bounded by `timeout` (one retry, short back-off):
    /// what every Redis user of the server shares.
    pub fn connection_manager(&self) -> Result<ConnectionManager, redis::RedisError> {
        let client = redis::Client::open(self.url.as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        ConnectionManager::new_lazy_with_config(client, config)
    }
}

pub(crate) struct RedisStore {
    conn: ConnectionManager,
    settings: RedisSettings,
    script: redis::Script,
    bump_script: redis::Script,
    started: Instant,
    /// Milliseconds since `started` before which Redis is not asked.
    down_until_ms: AtomicU64,
    /// Version bumps not yet delivered, with their floors.
    pending: Mutex<BTreeMap<String, u64>>,
}

impl RedisStore {
    pub(crate) fn new(settings: RedisSettings) -> Result<Self, CacheError> {
        let conn = settings.connection_manager()?;
        Ok(RedisStore {
            conn,
            settings,
            script: redis::Script::new(GET_VERSIONED),
            bump_script: redis::Script::new(BUMP),
            started: Instant::now(),
            down_until_ms: AtomicU64::new(0),
            pending: Mutex::new(BTreeMap::new()),
        })
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.settings.key_prefix)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs one Redis call with the timeout and the back-off.
    async fn call<T, F>(&self, f: F) -> Result<T, CacheError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        if self.now_ms() < self.down_until_ms.load(Ordering::Relaxed) {
            return Err(CacheError::Down);
        }
        let result = match tokio::time::timeout(self.settings.timeout, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(CacheError::Redis(e)),
            Err(_) => Err(CacheError::Timeout(self.settings.timeout)),
        };
        if result.is_err() {
            let backoff = u64::try_from(self.settings.backoff.as_millis()).unwrap_or(1000);
            self.down_until_ms
                .store(self.now_ms().saturating_add(backoff), Ordering::Relaxed);
        }
        result
    }

    pub(crate) async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        // Readiness asks even during the back-off, so recovery shows at once.
        match tokio::time::timeout(
            self.settings.timeout,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        {
            Ok(Ok(_)) => {
                self.down_until_ms.store(0, Ordering::Relaxed);
                Ok(())
            }
            Ok(Err(e)) => Err(CacheError::Redis(e)),
            Err(_) => Err(CacheError::Timeout(self.settings.timeout)),
        }
    }

    /// Delivers bumps that failed earlier. Reading before they are delivered
    /// could serve entries they were meant to hide.
    async fn flush_pending(&self) -> Result<(), CacheError> {
        let bumps: Vec<(String, u64)> = {
            let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.is_empty() {
                return Ok(());
            }
            pending.iter().map(|(k, f)| (k.clone(), *f)).collect()
        };
        self.bump_all(&bumps).await?;
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for (k, _) in &bumps {
            pending.remove(k);
        }
        Ok(())
    }

    async fn bump_all(&self, bumps: &[(String, u64)]) -> Result<(), CacheError> {
        let mut invocation = self.bump_script.prepare_invoke();
        for (k, floor) in bumps {
            invocation.key(self.key(k)).arg(*floor);
        }
        let mut conn = self.conn.clone();
        self.call(invocation.invoke_async::<i64>(&mut conn))
            .await
            .map(|_| ())
    }

    pub(crate) async fn get_versioned(
        &self,
        pairs: &[(String, String)],
    ) -> Result<Vec<(u64, Option<String>)>, CacheError> {
        self.flush_pending().await?;
        let mut invocation = self.script.prepare_invoke();
        for (version_key, entry_base) in pairs {
            invocation
                .key(self.key(version_key))
                .arg(self.key(entry_base));
        }
        let mut conn = self.conn.clone();
        let values: Vec<Option<String>> = self.call(invocation.invoke_async(&mut conn)).await?;
        let mut out = Vec::with_capacity(pairs.len());
        let mut it = values.into_iter();
        for _ in pairs {
            let version = it
                .next()
                .flatten()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            out.push((version, it.next().flatten()));
        }
        Ok(out)
    }

    pub(crate) async fn set_many(
        &self,
        entries: &[(String, String)],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut pipe = redis::pipe();
        for (k, v) in entries {
            pipe.cmd("SET")
                .arg(self.key(k))
                .arg(v)
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
        }
        let mut conn = self.conn.clone();
        self.call(pipe.query_async::<()>(&mut conn)).await
    }

    pub(crate) async fn bump(&self, version_keys: &[String], floor: u64) -> Result<(), CacheError> {
        // Pending bumps go first, in the same round trip as these.
        let mut all: BTreeMap<String, u64> = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for k in version_keys {
            let f = all.entry(k.clone()).or_insert(0);
            *f = (*f).max(floor);
        }
        let bumps: Vec<(String, u64)> = all.into_iter().collect();
        match self.bump_all(&bumps).await {
            Ok(()) => {
                let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                for (k, _) in &bumps {
                    pending.remove(k);
                }
                Ok(())
            }
            Err(e) => {
                let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                for (k, f) in bumps {
                    let kept = pending.entry(k).or_insert(0);
                    *kept = (*kept).max(f);
                }
                Err(e)
            }
        }
    }
}
