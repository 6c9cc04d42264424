//! The demo data set loaded into an empty embedded database.

use anyhow::Context as _;
use sea_orm::{EntityTrait, PaginatorTrait};
use service::Store;

pub const DEMO_CUSTOMERS: usize = 50;
pub const DEMO_ORDERS: usize = 500;
pub const DEMO_SEED: u64 = 42;

/// Seeds the demo data when the database has no customers.
pub async fn seed_if_empty(store: &Store) -> anyhow::Result<()> {
    let existing = entity::customer::Entity::find()
        .count(&store.db)
        .await
        .context("counting customers")?;
    if existing > 0 {
        return Ok(());
    }
    let summary = service::seed::seed(store, DEMO_CUSTOMERS, DEMO_ORDERS, DEMO_SEED, &mut |_| {})
        .await
        .context("seeding the demo data")?;
    tracing::info!(
        customers = summary.customers,
        orders = summary.orders,
        "empty embedded database: loaded the demo data"
    );
    Ok(())
}
