//! `api stats check` / `api stats rebuild`: the maintained per-customer
//! aggregates (`customer_stats`) against a full recompute from `orders`.
//!
//! The triggers keep them exact for every write they see; these find and
//! repair what they could not see (`TRUNCATE`, triggers disabled, a restore
//! without them).

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::Store;
use crate::cache::Scope;
use crate::error::Result;

/// One customer whose maintained aggregates differ from the recompute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub customer_id: i64,
    /// `(order_count, total_cents)` as maintained; `None` when the row is missing.
    pub maintained: Option<(i64, i64)>,
    /// `(order_count, total_cents)` recomputed from `orders`; `None` for a row
    /// whose customer no longer exists.
    pub recomputed: Option<(i64, i64)>,
}

/// Every customer with its recomputed aggregates next to the maintained
/// ones, where they differ (one statement; SQLite has `FULL OUTER JOIN`
/// since 3.39, and sqlx bundles a later one).
const DIFFERENCES: &str = "
    SELECT COALESCE(r.id, s.customer_id) AS customer_id,
           s.order_count AS kept_count, s.total_cents AS kept_total,
           r.n AS real_count, r.t AS real_total
    FROM (SELECT c.id, COUNT(o.id) AS n, CAST(COALESCE(SUM(o.total_cents), 0) AS BIGINT) AS t
          FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
          GROUP BY c.id) r
    FULL OUTER JOIN customer_stats s ON s.customer_id = r.id
    WHERE s.customer_id IS NULL OR r.id IS NULL
       OR s.order_count <> r.n OR s.total_cents <> r.t
    ORDER BY 1";

async fn differences<C: ConnectionTrait>(conn: &C) -> Result<Vec<Difference>> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(backend, DIFFERENCES))
        .await?;
    rows.iter()
        .map(|row| {
            let (maintained, recomputed) = kept_and_real(row)?;
            Ok(Difference {
                customer_id: row.try_get("", "customer_id")?,
                maintained,
                recomputed,
            })
        })
        .collect()
}

/// A difference row's `(count, total)` as kept and as recomputed, each
/// `None` where that side has no row.
type KeptAndReal = (Option<(i64, i64)>, Option<(i64, i64)>);

fn kept_and_real(row: &sea_orm::QueryResult) -> Result<KeptAndReal> {
    let pair = |count: &str, total: &str| -> Result<Option<(i64, i64)>> {
        let n: Option<i64> = row.try_get("", count)?;
        let t: Option<i64> = row.try_get("", total)?;
        Ok(n.zip(t))
    };
    Ok((
        pair("kept_count", "kept_total")?,
        pair("real_count", "real_total")?,
    ))
}

/// The customers whose maintained aggregates differ from a full recompute.
pub async fn check(store: &Store) -> Result<Vec<Difference>> {
    differences(&store.db).await
}

/// Recomputes what differs, in one transaction that holds writers to
/// `orders` and `customers` off while it runs (so nothing changes between
/// the recompute and the repair); invalidates the cache of every repaired
/// customer and the ranking. Returns what it repaired.
pub async fn rebuild(store: &Store) -> Result<Vec<Difference>> {
    let txn = store.db.begin().await?;
    let backend = txn.get_database_backend();
    if backend == DbBackend::Postgres {
        txn.execute_unprepared("LOCK TABLE customers, orders IN SHARE MODE")
            .await?;
    }
    let repaired = differences(&txn).await?;
    for d in &repaired {
        let sql = match d.recomputed {
            Some((n, t)) => Statement::from_sql_and_values(
                backend,
                match backend {
                    DbBackend::Postgres => {
                        "INSERT INTO customer_stats (customer_id, order_count, total_cents) VALUES ($1, $2, $3) \
                         ON CONFLICT (customer_id) DO UPDATE SET order_count = EXCLUDED.order_count, total_cents = EXCLUDED.total_cents"
                    }
                    _ => {
                        "INSERT INTO customer_stats (customer_id, order_count, total_cents) VALUES (?, ?, ?) \
                         ON CONFLICT (customer_id) DO UPDATE SET order_count = excluded.order_count, total_cents = excluded.total_cents"
                    }
                },
                [d.customer_id.into(), n.into(), t.into()],
            ),
            None => Statement::from_sql_and_values(
                backend,
                match backend {
                    DbBackend::Postgres => "DELETE FROM customer_stats WHERE customer_id = $1",
                    _ => "DELETE FROM customer_stats WHERE customer_id = ?",
                },
                [d.customer_id.into()],
            ),
        };
        txn.execute_raw(sql).await?;
    }
    txn.commit().await?;
    if !repaired.is_empty() {
        let mut scopes: Vec<Scope> = repaired
            .iter()
            .map(|d| Scope::Customer(d.customer_id))
            .collect();
        scopes.push(Scope::Ranking);
        store.invalidate(&scopes).await;
    }
    Ok(repaired)
}

/// One rollup bucket (`order_rollups`, PostgreSQL) whose kept sums differ
/// from a recompute from `orders`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupDifference {
    /// 0 quarter-hour, 1 hour, 2 day, 3 month (UTC).
    pub grain: i16,
    pub bucket: chrono::DateTime<chrono::Utc>,
    pub status: String,
    /// `(order_count, total_cents)` summed over the bucket's shards; `None`
    /// when it holds nothing.
    pub maintained: Option<(i64, i64)>,
    /// `(order_count, total_cents)` recomputed; `None` without orders.
    pub recomputed: Option<(i64, i64)>,
}

/// Every bucket whose kept sums differ from the recompute (one statement).
const ROLLUP_DIFFERENCES: &str = "
    SELECT COALESCE(k.grain, r.grain) AS grain, COALESCE(k.bucket, r.bucket) AS bucket,
           COALESCE(k.status, r.status) AS status,
           k.n AS kept_count, k.t AS kept_total, r.n AS real_count, r.t AS real_total
    FROM (SELECT grain, bucket, status, SUM(order_count)::BIGINT AS n, SUM(total_cents)::BIGINT AS t
          FROM order_rollups GROUP BY 1, 2, 3
          HAVING SUM(order_count) <> 0 OR SUM(total_cents) <> 0) k
    FULL OUTER JOIN (
          SELECT g::SMALLINT AS grain, order_rollup_bucket(g, created_at) AS bucket, status,
                 COUNT(*) AS n, SUM(total_cents)::BIGINT AS t
          FROM orders CROSS JOIN generate_series(0, 3) AS g GROUP BY 1, 2, 3) r
      ON k.grain = r.grain AND k.bucket = r.bucket AND k.status = r.status
    WHERE k.grain IS NULL OR r.grain IS NULL OR k.n <> r.n OR k.t <> r.t
    ORDER BY 1, 2, 3";

/// Whether the database keeps rollups (PostgreSQL with the seventh
/// migration).
pub async fn has_rollups<C: ConnectionTrait>(conn: &C) -> Result<bool> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(false);
    }
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT to_regclass('order_rollups') IS NOT NULL AS present",
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<bool>("", "present"))
        .transpose()?
        .unwrap_or(false))
}

async fn rollup_differences<C: ConnectionTrait>(conn: &C) -> Result<Vec<RollupDifference>> {
    if !has_rollups(conn).await? {
        return Ok(Vec::new());
    }
    let rows = conn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            ROLLUP_DIFFERENCES,
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let (maintained, recomputed) = kept_and_real(row)?;
            Ok(RollupDifference {
                grain: row.try_get("", "grain")?,
                bucket: row.try_get("", "bucket")?,
                status: row.try_get("", "status")?,
                maintained,
                recomputed,
            })
        })
        .collect()
}

/// The rollup buckets whose kept sums differ from a full recompute (none
/// where the database keeps no rollups).
pub async fn check_rollups(store: &Store) -> Result<Vec<RollupDifference>> {
    rollup_differences(&store.db).await
}

/// Recomputes every rollup from `orders` when any differs, in one
/// transaction that holds writers to `orders` off while it runs. Returns
/// what differed.
pub async fn rebuild_rollups(store: &Store) -> Result<Vec<RollupDifference>> {
    if !has_rollups(&store.db).await? {
        return Ok(Vec::new());
    }
    let txn = store.db.begin().await?;
    txn.execute_unprepared("LOCK TABLE orders IN SHARE MODE")
        .await?;
    let repaired = rollup_differences(&txn).await?;
    if !repaired.is_empty() {
        txn.execute_unprepared("DELETE FROM order_rollups").await?;
        txn.execute_unprepared(
            "INSERT INTO order_rollups (grain, bucket, status, shard, order_count, total_cents)
             SELECT g, order_rollup_bucket(g, created_at), status, 0, COUNT(*), SUM(total_cents)::BIGINT
             FROM orders CROSS JOIN generate_series(0, 3) AS g
             GROUP BY 1, 2, 3",
        )
        .await?;
        txn.execute_unprepared("ANALYZE order_rollups").await?;
    }
    txn.commit().await?;
    Ok(repaired)
}
