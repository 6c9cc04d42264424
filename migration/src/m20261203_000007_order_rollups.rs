//! Kept rollups of orders for the aggregates (README, "Dashboards"):
//! `order_rollups` holds, for each UTC quarter-hour, hour, day and month and
//! each status, how many orders were created in it and the sum of their
//! totals. PostgreSQL only; SQLite answers aggregates from `orders`.
//!
//! - Statement-level triggers (transition tables) apply one grouped delta
//!   per statement and grain, in key order (concurrent writers lock rows in
//!   the same order), in the same transaction as the write, whoever makes
//!   it.
//! - Writers do not queue on one row: every new order lands in the current
//!   buckets with status PENDING, so each statement writes the shard of its
//!   own server connection (`pg_backend_pid() % 16`); reads sum the shards.
//! - A bucket's rows always sum to exactly its orders; a row may hold a
//!   negative delta (a shard that only saw deletions) or zeros.
//! - What triggers cannot see (`TRUNCATE`, triggers disabled) `api stats
//!   check` finds and `api stats rebuild` repairs, as for the customer
//!   aggregates. The backfill computes every row from `orders` in one
//!   statement.

use sea_orm_migration::prelude::*;

use crate::on_postgres;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The bucket of `at` at `grain` (0 quarter-hour, 1 hour, 2 day, 3 month,
/// all in UTC).
pub(crate) const BUCKET: &str =
    "CREATE OR REPLACE FUNCTION order_rollup_bucket(grain INT, at TIMESTAMPTZ)
     RETURNS TIMESTAMPTZ LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
       SELECT CASE grain
         WHEN 0 THEN to_timestamp(floor(extract(epoch FROM at) / 900) * 900)
         WHEN 1 THEN to_timestamp(floor(extract(epoch FROM at) / 3600) * 3600)
         WHEN 2 THEN to_timestamp(floor(extract(epoch FROM at) / 86400) * 86400)
         ELSE date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
       END
     $$";

/// The triggers' function (the eighth migration replaces it).
pub(crate) const CHANGED: &str =
    "CREATE OR REPLACE FUNCTION order_rollups_changed() RETURNS trigger LANGUAGE plpgsql AS $$
 DECLARE
   s SMALLINT := (pg_backend_pid() % 16)::SMALLINT;
 BEGIN
   IF TG_OP = 'INSERT' THEN
     INSERT INTO order_rollups AS r (grain, bucket, status, shard, order_count, total_cents)
     SELECT g, order_rollup_bucket(g, created_at), status, s, COUNT(*), SUM(total_cents)::BIGINT
     FROM new_rows CROSS JOIN generate_series(0, 3) AS g
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
     ON CONFLICT (grain, bucket, status, shard) DO UPDATE
       SET order_count = r.order_count + EXCLUDED.order_count,
           total_cents = r.total_cents + EXCLUDED.total_cents;
   ELSIF TG_OP = 'DELETE' THEN
     INSERT INTO order_rollups AS r (grain, bucket, status, shard, order_count, total_cents)
     SELECT g, order_rollup_bucket(g, created_at), status, s, -COUNT(*), -SUM(total_cents)::BIGINT
     FROM old_rows CROSS JOIN generate_series(0, 3) AS g
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
     ON CONFLICT (grain, bucket, status, shard) DO UPDATE
       SET order_count = r.order_count + EXCLUDED.order_count,
           total_cents = r.total_cents + EXCLUDED.total_cents;
   ELSE
     INSERT INTO order_rollups AS r (grain, bucket, status, shard, order_count, total_cents)
     SELECT g, order_rollup_bucket(g, created_at), status, s, SUM(n), SUM(t)::BIGINT
     FROM (
       SELECT created_at, status, -1 AS n, -total_cents AS t FROM old_rows
       UNION ALL
       SELECT created_at, status, 1, total_cents FROM new_rows
     ) d CROSS JOIN generate_series(0, 3) AS g
     GROUP BY 1, 2, 3
     HAVING SUM(n) <> 0 OR SUM(t) <> 0
     ORDER BY 1, 2, 3
     ON CONFLICT (grain, bucket, status, shard) DO UPDATE
       SET order_count = r.order_count + EXCLUDED.order_count,
           total_cents = r.total_cents + EXCLUDED.total_cents;
   END IF;
   RETURN NULL;
 END $$";

/// The triggers (the eighth migration replaces them).
pub(crate) const TRIGGERS: [&str; 3] = [
    "CREATE TRIGGER order_rollups_inserted AFTER INSERT ON orders
 REFERENCING NEW TABLE AS new_rows
 FOR EACH STATEMENT EXECUTE FUNCTION order_rollups_changed()",
    "CREATE TRIGGER order_rollups_deleted AFTER DELETE ON orders
 REFERENCING OLD TABLE AS old_rows
 FOR EACH STATEMENT EXECUTE FUNCTION order_rollups_changed()",
    "CREATE TRIGGER order_rollups_updated AFTER UPDATE ON orders
 REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
 FOR EACH STATEMENT EXECUTE FUNCTION order_rollups_changed()",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE order_rollups (
        grain SMALLINT NOT NULL,
        bucket TIMESTAMPTZ NOT NULL,
        status VARCHAR(16) NOT NULL,
        shard SMALLINT NOT NULL,
        order_count BIGINT NOT NULL,
        total_cents BIGINT NOT NULL,
        PRIMARY KEY (grain, bucket, status, shard)
    )",
    BUCKET,
    "INSERT INTO order_rollups (grain, bucket, status, shard, order_count, total_cents)
     SELECT g, order_rollup_bucket(g, o.created_at), o.status, 0, COUNT(*), SUM(o.total_cents)::BIGINT
     FROM orders o CROSS JOIN generate_series(0, 3) AS g
     GROUP BY 1, 2, 3",
    // Statistics now: the reads probe it by key, and a planner that thinks
    // the table small scans it whole.
    "ANALYZE order_rollups",
    CHANGED,
    TRIGGERS[0],
    TRIGGERS[1],
    TRIGGERS[2],
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS order_rollups_updated ON orders",
    "DROP TRIGGER IF EXISTS order_rollups_deleted ON orders",
    "DROP TRIGGER IF EXISTS order_rollups_inserted ON orders",
    "DROP FUNCTION IF EXISTS order_rollups_changed()",
    "DROP TABLE IF EXISTS order_rollups",
    "DROP FUNCTION IF EXISTS order_rollup_bucket(INT, TIMESTAMPTZ)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, POSTGRES_DOWN).await
    }
}
