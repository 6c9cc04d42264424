//! Per-customer aggregates kept by the database: `customer_stats` holds each
//! customer's order count and total, one row per customer (zeros without
//! orders), indexed for the spending ranking.
//!
//! Triggers keep it exact in the same transaction as every write to
//! `orders` and `customers`, whoever makes it (the server, `import`,
//! `seed`'s `COPY`, psql, another program):
//!
//! - PostgreSQL: statement-level triggers with transition tables apply one
//!   grouped delta per statement, so a 10,000-row insert updates each of its
//!   customers once, in customer order (concurrent bulk writes lock rows in
//!   the same order and cannot deadlock on them).
//! - SQLite has no statement-level triggers: row-level ones do the same one
//!   row at a time.
//!
//! What triggers cannot see (`TRUNCATE`, triggers disabled, a restored dump
//! without them) `api stats check` finds and `api stats rebuild` repairs.
//! The backfill computes every row from `orders` in one statement.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::run;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The function of the triggers on `orders` (the eighth migration replaces it).
pub(crate) const ORDERS_CHANGED: &str = "CREATE OR REPLACE FUNCTION customer_stats_orders_changed() RETURNS trigger LANGUAGE plpgsql AS $$
 BEGIN
   IF TG_OP = 'INSERT' THEN
     INSERT INTO customer_stats AS s (customer_id, order_count, total_cents)
     SELECT customer_id, COUNT(*), SUM(total_cents)::BIGINT
     FROM new_rows GROUP BY customer_id ORDER BY customer_id
     ON CONFLICT (customer_id) DO UPDATE
       SET order_count = s.order_count + EXCLUDED.order_count,
           total_cents = s.total_cents + EXCLUDED.total_cents;
   ELSIF TG_OP = 'DELETE' THEN
     UPDATE customer_stats s
     SET order_count = s.order_count - d.n, total_cents = s.total_cents - d.t
     FROM (SELECT customer_id, COUNT(*) AS n, SUM(total_cents)::BIGINT AS t
           FROM old_rows GROUP BY customer_id) d
     WHERE s.customer_id = d.customer_id;
   ELSE
     INSERT INTO customer_stats AS s (customer_id, order_count, total_cents)
     SELECT customer_id, SUM(n), SUM(t)::BIGINT FROM (
       SELECT customer_id, -1 AS n, -total_cents AS t FROM old_rows
       UNION ALL
       SELECT customer_id, 1, total_cents FROM new_rows
     ) d
     GROUP BY customer_id
     HAVING SUM(n) <> 0 OR SUM(t) <> 0
     ORDER BY customer_id
     ON CONFLICT (customer_id) DO UPDATE
       SET order_count = s.order_count + EXCLUDED.order_count,
           total_cents = s.total_cents + EXCLUDED.total_cents;
   END IF;
   RETURN NULL;
 END $$";

/// The triggers on `orders` (the eighth migration replaces them).
pub(crate) const ORDERS_TRIGGERS: [&str; 3] = [
    "CREATE TRIGGER customer_stats_orders_inserted AFTER INSERT ON orders
 REFERENCING NEW TABLE AS new_rows
 FOR EACH STATEMENT EXECUTE FUNCTION customer_stats_orders_changed()",
    "CREATE TRIGGER customer_stats_orders_deleted AFTER DELETE ON orders
 REFERENCING OLD TABLE AS old_rows
 FOR EACH STATEMENT EXECUTE FUNCTION customer_stats_orders_changed()",
    "CREATE TRIGGER customer_stats_orders_updated AFTER UPDATE ON orders
 REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
 FOR EACH STATEMENT EXECUTE FUNCTION customer_stats_orders_changed()",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE customer_stats (
        customer_id BIGINT PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
        order_count BIGINT NOT NULL DEFAULT 0,
        total_cents BIGINT NOT NULL DEFAULT 0
    )",
    "INSERT INTO customer_stats (customer_id, order_count, total_cents)
     SELECT c.id, COALESCE(o.n, 0), COALESCE(o.t, 0)
     FROM customers c
     LEFT JOIN (SELECT customer_id, COUNT(*) AS n, SUM(total_cents)::BIGINT AS t
                FROM orders GROUP BY customer_id) o ON o.customer_id = c.id",
    "CREATE INDEX idx_customer_stats_ranking
     ON customer_stats (total_cents DESC, customer_id) INCLUDE (order_count)",
    "CREATE OR REPLACE FUNCTION customer_stats_customers_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO customer_stats (customer_id)
       SELECT id FROM new_rows ORDER BY id
       ON CONFLICT (customer_id) DO NOTHING;
       RETURN NULL;
     END $$",
    "CREATE TRIGGER customer_stats_customers_inserted AFTER INSERT ON customers
     REFERENCING NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION customer_stats_customers_inserted()",
    ORDERS_CHANGED,
    ORDERS_TRIGGERS[0],
    ORDERS_TRIGGERS[1],
    ORDERS_TRIGGERS[2],
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS customer_stats_orders_updated ON orders",
    "DROP TRIGGER IF EXISTS customer_stats_orders_deleted ON orders",
    "DROP TRIGGER IF EXISTS customer_stats_orders_inserted ON orders",
    "DROP TRIGGER IF EXISTS customer_stats_customers_inserted ON customers",
    "DROP FUNCTION IF EXISTS customer_stats_orders_changed()",
    "DROP FUNCTION IF EXISTS customer_stats_customers_inserted()",
    "DROP TABLE IF EXISTS customer_stats",
];

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE customer_stats (
        customer_id INTEGER PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
        order_count INTEGER NOT NULL DEFAULT 0,
        total_cents INTEGER NOT NULL DEFAULT 0
    )",
    "INSERT INTO customer_stats (customer_id, order_count, total_cents)
     SELECT c.id, COALESCE(o.n, 0), COALESCE(o.t, 0)
     FROM customers c
     LEFT JOIN (SELECT customer_id, COUNT(*) AS n, SUM(total_cents) AS t
                FROM orders GROUP BY customer_id) o ON o.customer_id = c.id",
    "CREATE INDEX idx_customer_stats_ranking
     ON customer_stats (total_cents DESC, customer_id, order_count)",
    "CREATE TRIGGER customer_stats_customers_inserted AFTER INSERT ON customers BEGIN
       INSERT INTO customer_stats (customer_id) VALUES (NEW.id)
       ON CONFLICT (customer_id) DO NOTHING;
     END",
    "CREATE TRIGGER customer_stats_orders_inserted AFTER INSERT ON orders BEGIN
       INSERT INTO customer_stats (customer_id, order_count, total_cents)
       VALUES (NEW.customer_id, 1, NEW.total_cents)
       ON CONFLICT (customer_id) DO UPDATE
         SET order_count = order_count + 1, total_cents = total_cents + excluded.total_cents;
     END",
    "CREATE TRIGGER customer_stats_orders_deleted AFTER DELETE ON orders BEGIN
       UPDATE customer_stats
       SET order_count = order_count - 1, total_cents = total_cents - OLD.total_cents
       WHERE customer_id = OLD.customer_id;
     END",
    "CREATE TRIGGER customer_stats_orders_updated AFTER UPDATE OF customer_id, total_cents ON orders BEGIN
       UPDATE customer_stats
       SET order_count = order_count - 1, total_cents = total_cents - OLD.total_cents
       WHERE customer_id = OLD.customer_id;
       INSERT INTO customer_stats (customer_id, order_count, total_cents)
       VALUES (NEW.customer_id, 1, NEW.total_cents)
       ON CONFLICT (customer_id) DO UPDATE
         SET order_count = order_count + 1, total_cents = total_cents + excluded.total_cents;
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS customer_stats_orders_updated",
    "DROP TRIGGER IF EXISTS customer_stats_orders_deleted",
    "DROP TRIGGER IF EXISTS customer_stats_orders_inserted",
    "DROP TRIGGER IF EXISTS customer_stats_customers_inserted",
    "DROP TABLE IF EXISTS customer_stats",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => run(manager, POSTGRES_UP).await,
            _ => run(manager, SQLITE_UP).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => run(manager, POSTGRES_DOWN).await,
            _ => run(manager, SQLITE_DOWN).await,
        }
    }
}
