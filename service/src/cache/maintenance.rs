//! Maintenance outside the request path.

use super::CacheError;

/// Deletes every key under `prefix` from the Redis at `url` (`SCAN` and
/// `DEL` in pages). Maintenance for retiring a deployment's keys, and for
/// tests and benchmarks cleaning up after themselves; the server never
/// calls it (it never scans keys).
pub async fn delete_redis_prefix(url: &str, prefix: &str) -> Result<u64, CacheError> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    let mut deleted = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            deleted += redis::cmd("DEL")
                .arg(&keys)
                .query_async::<u64>(&mut conn)
                .await?;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}
