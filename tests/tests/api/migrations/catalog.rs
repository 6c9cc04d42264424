//! What the migration tests read back: columns, `customer_stats`, indexes,
//! the month rollups and the triggers on `orders`.

use sea_orm::{ConnectionTrait, Statement};

pub async fn has_column(
    db: &sea_orm::DatabaseConnection,
    backend: sea_orm::DbBackend,
    table: &str,
    column: &str,
) -> bool {
    db.query_one_raw(Statement::from_string(
        backend,
        format!("SELECT {column} FROM {table} LIMIT 1"),
    ))
    .await
    .is_ok()
}

/// `customer_stats` as `(customer_id, order_count, total_cents)`, by id.
pub async fn stats_rows(
    db: &sea_orm::DatabaseConnection,
    backend: sea_orm::DbBackend,
) -> Vec<(i64, i64, i64)> {
    db.query_all_raw(Statement::from_string(
        backend,
        "SELECT customer_id, order_count, total_cents FROM customer_stats ORDER BY customer_id"
            .to_owned(),
    ))
    .await
    .expect("customer_stats")
    .iter()
    .map(|r| {
        (
            r.try_get("", "customer_id").expect("id"),
            r.try_get("", "order_count").expect("count"),
            r.try_get("", "total_cents").expect("total"),
        )
    })
    .collect()
}

/// The definition of an index as the database reports it (`None`: absent).
pub async fn index_definition(
    db: &sea_orm::DatabaseConnection,
    backend: sea_orm::DbBackend,
    name: &str,
) -> Option<String> {
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            format!("SELECT indexdef AS def FROM pg_indexes WHERE indexname = '{name}'")
        }
        _ => {
            format!("SELECT sql AS def FROM sqlite_master WHERE type = 'index' AND name = '{name}'")
        }
    };
    db.query_one_raw(Statement::from_string(backend, sql))
        .await
        .expect("catalog query")
        .and_then(|row| row.try_get::<String>("", "def").ok())
}

/// The month rollups of January 2025 as `(orders, cents)`, shards summed
/// (PostgreSQL).
pub async fn rollup_months(db: &sea_orm::DatabaseConnection) -> Vec<(i64, i64)> {
    db.query_all_raw(Statement::from_string(
        sea_orm::DbBackend::Postgres,
        "SELECT SUM(order_count)::BIGINT AS n, SUM(total_cents)::BIGINT AS t FROM order_rollups \
         WHERE grain = 3 AND bucket = '2025-01-01T00:00:00+00:00'"
            .to_owned(),
    ))
    .await
    .expect("order_rollups")
    .iter()
    .map(|r| {
        (
            r.try_get("", "n").expect("n"),
            r.try_get("", "t").expect("t"),
        )
    })
    .collect()
}

/// The names of the triggers on `orders` (PostgreSQL), sorted.
pub async fn orders_triggers(
    db: &sea_orm::DatabaseConnection,
    backend: sea_orm::DbBackend,
) -> Vec<String> {
    db.query_all_raw(Statement::from_string(
        backend,
        "SELECT tgname::TEXT AS name FROM pg_trigger \
         WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal ORDER BY 1"
            .to_owned(),
    ))
    .await
    .expect("pg_trigger")
    .iter()
    .map(|r| r.try_get("", "name").expect("name"))
    .collect()
}
