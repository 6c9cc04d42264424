//! Each caller's last write position (its token's subject → WAL LSN), so a
//! later read by that caller, on any instance sharing Redis, can wait for
//! the replica or read the primary.

use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::cache::RedisSettings;

/// Each caller's last write position.
enum Marks {
    InProcess(moka::sync::Cache<String, u64>),
    Redis {
        conn: ConnectionManager,
        prefix: String,
        timeout: Duration,
        script: redis::Script,
    },
}

/// Keeps a position only if it is higher than the one kept.
const MARK: &str = r"
local kept = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > kept then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
";

/// The writer marks could not be read or kept (Redis unreachable).
#[derive(Debug, thiserror::Error)]
#[error("the writer marks are unavailable: {0}")]
pub struct MarksUnavailable(String);

/// Callers' last write positions, shared by the instances that share Redis.
pub struct WriterMarks {
    marks: Marks,
    ttl: Duration,
}

impl WriterMarks {
    pub fn in_process(ttl: Duration) -> Self {
        WriterMarks {
            marks: Marks::InProcess(
                moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(ttl)
                    .build(),
            ),
            ttl,
        }
    }

    pub fn redis(
        settings: &RedisSettings,
        ttl: Duration,
    ) -> std::result::Result<Self, redis::RedisError> {
        Ok(WriterMarks {
            marks: Marks::Redis {
                conn: settings.connection_manager()?,
                prefix: format!("{}wrote:", settings.key_prefix),
                timeout: settings.timeout,
                script: redis::Script::new(MARK),
            },
            ttl,
        })
    }

    /// Remembers that `caller` wrote at `lsn`.
    pub async fn mark(&self, caller: &str, lsn: u64) -> std::result::Result<(), MarksUnavailable> {
        match &self.marks {
            Marks::InProcess(cache) => {
                let kept = cache.get(caller).unwrap_or(0);
                cache.insert(caller.to_owned(), kept.max(lsn));
                Ok(())
            }
            Marks::Redis {
                conn,
                prefix,
                timeout,
                script,
            } => {
                let mut conn = conn.clone();
                let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
                let mut invocation = script.key(format!("{prefix}{caller}"));
                invocation.arg(lsn).arg(ttl_ms);
                tokio::time::timeout(*timeout, invocation.invoke_async::<i64>(&mut conn))
                    .await
                    .map_err(|_| MarksUnavailable("Redis did not answer in time".into()))?
                    .map_err(|e| MarksUnavailable(e.to_string()))?;
                Ok(())
            }
        }
    }

    /// The last position `caller` wrote at (0 when none is remembered).
    pub async fn last(&self, caller: &str) -> std::result::Result<u64, MarksUnavailable> {
        match &self.marks {
            Marks::InProcess(cache) => Ok(cache.get(caller).unwrap_or(0)),
            Marks::Redis {
                conn,
                prefix,
                timeout,
                ..
            } => {
                let mut conn = conn.clone();
                let value: Option<u64> = tokio::time::timeout(
                    *timeout,
                    redis::cmd("GET")
                        .arg(format!("{prefix}{caller}"))
                        .query_async(&mut conn),
                )
                .await
                .map_err(|_| MarksUnavailable("Redis did not answer in time".into()))?
                .map_err(|e| MarksUnavailable(e.to_string()))?;
                Ok(value.unwrap_or(0))
            }
        }
    }
}
