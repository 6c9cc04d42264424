//! The upkeep of the orders' kept aggregates (`customer_stats`, fourth
//! migration; `order_rollups`, seventh) at a fraction of its first cost
//! (BENCHMARKS, "What the rollups cost writers"). PostgreSQL 14 or later
//! (`date_bin`); SQLite keeps its row-level triggers.
//!
//! - One trigger function for both tables instead of one each: a statement
//!   reads its transition table once, and calls one function.
//! - A statement that inserted one row (a `createOrder`) upserts that
//!   customer's row and its four buckets as values, with no grouping or
//!   sorting; statements of more rows, deletions and updates keep the
//!   grouped upserts, in key order (customers, then buckets) as before.
//! - Buckets by `date_bin` on the timestamp's microseconds instead of
//!   `extract(epoch …)`, which PostgreSQL computes in `numeric`, and four
//!   values a row instead of a join to `generate_series` through a `CASE`.
//!
//! The kept rows are the same as before (`order_rollup_bucket` keeps its
//! results; stats check and rebuild use it). [`changed`] without the
//! rollups is what `bench upkeep` measures as "upkeep off".

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20260301_000004_customer_stats as stats;
use crate::m20261203_000007_order_rollups as rollups;
use crate::run;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each bucket of `at`: grain 0 quarter-hour, 1 hour, 2 day, 3 month (UTC).
const BUCKETS: &str = "CREATE OR REPLACE FUNCTION order_rollup_buckets(at TIMESTAMPTZ)
     RETURNS TABLE (grain SMALLINT, bucket TIMESTAMPTZ) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
       VALUES
         (0::SMALLINT, date_bin('15 minutes', at, TIMESTAMPTZ '1970-01-01 00:00:00+00')),
         (1::SMALLINT, date_bin('1 hour', at, TIMESTAMPTZ '1970-01-01 00:00:00+00')),
         (2::SMALLINT, date_bin('1 day', at, TIMESTAMPTZ '1970-01-01 00:00:00+00')),
         (3::SMALLINT, date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
     $$";

/// The bucket of `at` at `grain`, same results as the seventh migration's
/// (an expression, so that the stats check's statements inline it).
const BUCKET: &str = "CREATE OR REPLACE FUNCTION order_rollup_bucket(grain INT, at TIMESTAMPTZ)
     RETURNS TIMESTAMPTZ LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
       SELECT CASE grain
         WHEN 0 THEN date_bin('15 minutes', at, TIMESTAMPTZ '1970-01-01 00:00:00+00')
         WHEN 1 THEN date_bin('1 hour', at, TIMESTAMPTZ '1970-01-01 00:00:00+00')
         WHEN 2 THEN date_bin('1 day', at, TIMESTAMPTZ '1970-01-01 00:00:00+00')
         ELSE date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
       END
     $$";

const TRIGGERS: [&str; 3] = [
    "CREATE TRIGGER orders_aggregates_inserted AFTER INSERT ON orders
     REFERENCING NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION orders_aggregates_changed()",
    "CREATE TRIGGER orders_aggregates_deleted AFTER DELETE ON orders
     REFERENCING OLD TABLE AS old_rows
     FOR EACH STATEMENT EXECUTE FUNCTION orders_aggregates_changed()",
    "CREATE TRIGGER orders_aggregates_updated AFTER UPDATE ON orders
     REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION orders_aggregates_changed()",
];

/// The grouped deltas of a statement, `(customer_id, created_at, status,
/// n, t)`, by trigger operation.
const INSERTED: &str =
    "SELECT customer_id, created_at, status, 1 AS n, total_cents AS t FROM new_rows";
const DELETED: &str =
    "SELECT customer_id, created_at, status, -1 AS n, -total_cents AS t FROM old_rows";
const UPDATED: &str =
    "SELECT customer_id, created_at, status, -1 AS n, -total_cents AS t FROM old_rows
             UNION ALL
             SELECT customer_id, created_at, status, 1, total_cents FROM new_rows";

/// The grouped writes of the deltas `source` yields: customers, then (with
/// `rollups`) buckets, each in key order. Deletions subtract from existing
/// `customer_stats` rows only: when a customer is deleted, its row goes
/// first and its orders follow by the foreign key's cascade, and an upsert
/// would bring the row back for a customer that no longer exists.
fn grouped(source: &str, deletion: bool, rollups: bool) -> String {
    let mut sql = if deletion {
        format!(
            "UPDATE customer_stats x
           SET order_count = x.order_count + d.n, total_cents = x.total_cents + d.t
           FROM (SELECT customer_id, SUM(n) AS n, SUM(t)::BIGINT AS t FROM ({source}) e GROUP BY 1) d
           WHERE x.customer_id = d.customer_id;"
        )
    } else {
        format!(
            "INSERT INTO customer_stats AS x (customer_id, order_count, total_cents)
           SELECT d.customer_id, SUM(d.n), SUM(d.t)::BIGINT FROM ({source}) d
           GROUP BY 1 HAVING SUM(d.n) <> 0 OR SUM(d.t) <> 0 ORDER BY 1
           ON CONFLICT (customer_id) DO UPDATE
             SET order_count = x.order_count + EXCLUDED.order_count,
                 total_cents = x.total_cents + EXCLUDED.total_cents;"
        )
    };
    if rollups {
        sql.push_str(&format!(
            "
         INSERT INTO order_rollups AS r (grain, bucket, status, shard, order_count, total_cents)
           SELECT b.grain, b.bucket, d.status, v_shard, SUM(d.n), SUM(d.t)::BIGINT
           FROM ({source}) d CROSS JOIN LATERAL order_rollup_buckets(d.created_at) b
           GROUP BY 1, 2, 3 HAVING SUM(d.n) <> 0 OR SUM(d.t) <> 0 ORDER BY 1, 2, 3
           ON CONFLICT (grain, bucket, status, shard) DO UPDATE
             SET order_count = r.order_count + EXCLUDED.order_count,
                 total_cents = r.total_cents + EXCLUDED.total_cents;"
        ));
    }
    sql
}

/// `CREATE OR REPLACE` of the triggers' function; without `rollups` it
/// keeps `customer_stats` alone (what the benchmark compares against).
pub fn changed(rollups: bool) -> String {
    let one_rollup = if rollups {
        "INSERT INTO order_rollups AS r (grain, bucket, status, shard, order_count, total_cents)
             SELECT b.grain, b.bucket, v_status, v_shard, 1, v_total FROM order_rollup_buckets(v_at) b
             ON CONFLICT (grain, bucket, status, shard) DO UPDATE
               SET order_count = r.order_count + EXCLUDED.order_count,
                   total_cents = r.total_cents + EXCLUDED.total_cents;"
    } else {
        ""
    };
    format!(
        "CREATE OR REPLACE FUNCTION orders_aggregates_changed() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
       v_shard SMALLINT := (pg_backend_pid() % 16)::SMALLINT;
       v_rows BIGINT;
       v_customer BIGINT;
       v_at TIMESTAMPTZ;
       v_status VARCHAR(16);
       v_total BIGINT;
     BEGIN
       IF TG_OP = 'INSERT' THEN
         SELECT COUNT(*), MIN(customer_id), MIN(created_at), MIN(status), MIN(total_cents)
           INTO v_rows, v_customer, v_at, v_status, v_total FROM new_rows;
         IF v_rows = 1 THEN
           INSERT INTO customer_stats AS x (customer_id, order_count, total_cents) VALUES (v_customer, 1, v_total)
             ON CONFLICT (customer_id) DO UPDATE
               SET order_count = x.order_count + 1, total_cents = x.total_cents + EXCLUDED.total_cents;
           {one_rollup}
         ELSIF v_rows > 1 THEN
           {inserted}
         END IF;
       ELSIF TG_OP = 'DELETE' THEN
         {deleted}
       ELSE
         {updated}
       END IF;
       RETURN NULL;
     END $$",
        inserted = grouped(INSERTED, false, rollups),
        deleted = grouped(DELETED, true, rollups),
        updated = grouped(UPDATED, false, rollups),
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let changed = changed(true);
        let mut statements = vec![
            "DROP TRIGGER order_rollups_inserted ON orders",
            "DROP TRIGGER order_rollups_deleted ON orders",
            "DROP TRIGGER order_rollups_updated ON orders",
            "DROP TRIGGER customer_stats_orders_inserted ON orders",
            "DROP TRIGGER customer_stats_orders_deleted ON orders",
            "DROP TRIGGER customer_stats_orders_updated ON orders",
            "DROP FUNCTION order_rollups_changed()",
            "DROP FUNCTION customer_stats_orders_changed()",
            BUCKETS,
            BUCKET,
            changed.as_str(),
        ];
        statements.extend(TRIGGERS);
        run(manager, &statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let mut statements = vec![
            "DROP TRIGGER orders_aggregates_inserted ON orders",
            "DROP TRIGGER orders_aggregates_deleted ON orders",
            "DROP TRIGGER orders_aggregates_updated ON orders",
            "DROP FUNCTION orders_aggregates_changed()",
            rollups::BUCKET,
            "DROP FUNCTION order_rollup_buckets(TIMESTAMPTZ)",
            stats::ORDERS_CHANGED,
            rollups::CHANGED,
        ];
        statements.extend(stats::ORDERS_TRIGGERS);
        statements.extend(rollups::TRIGGERS);
        run(manager, &statements).await
    }
}
