//! Versioned schema migrations, applied in order by `api migrate` and at `serve`.

pub use sea_orm_migration::prelude::*;
pub use sea_orm_migration::{MigrationStatus, MigratorTrait};

/// The orders' aggregates trigger function, with or without the rollups
/// (the benchmark of their upkeep switches between the two).
pub use m20261204_000008_orders_aggregates_trigger::changed as orders_aggregates_function;

/// Runs `statements` in order (the raw-SQL migrations' one step).
async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Runs `statements` on PostgreSQL; nothing on SQLite (the migrations of
/// what only PostgreSQL keeps).
async fn on_postgres(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    match manager.get_database_backend() {
        sea_orm_migration::sea_orm::DbBackend::Postgres => run(manager, statements).await,
        _ => Ok(()),
    }
}

mod m20260101_000001_create_customers_and_orders;
mod m20260101_000002_add_customer_phone;
mod m20260102_000003_cover_customer_orders_index;
mod m20260301_000004_customer_stats;
mod m20261203_000005_screen_indexes;
mod m20261203_000006_customer_name_trigrams;
mod m20261203_000007_order_rollups;
mod m20261204_000008_orders_aggregates_trigger;
mod m20261204_000009_rollups_time_of_day;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_customers_and_orders::Migration),
            Box::new(m20260101_000002_add_customer_phone::Migration),
            Box::new(m20260102_000003_cover_customer_orders_index::Migration),
            Box::new(m20260301_000004_customer_stats::Migration),
            Box::new(m20261203_000005_screen_indexes::Migration),
            Box::new(m20261203_000006_customer_name_trigrams::Migration),
            Box::new(m20261203_000007_order_rollups::Migration),
            Box::new(m20261204_000008_orders_aggregates_trigger::Migration),
            Box::new(m20261204_000009_rollups_time_of_day::Migration),
        ]
    }
}
