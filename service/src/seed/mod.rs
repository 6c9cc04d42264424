//! Deterministic demo data: the same seed gives the same rows on a fresh
//! database, written in one transaction through the bulk path (`COPY` on
//! PostgreSQL, see [`copy`]); the rows themselves come from [`generate`].

pub mod copy;
pub mod generate;

use rand::SeedableRng;
use rand::rngs::StdRng;
use sea_orm::DbBackend;

pub use self::generate::{anchor, customer, order};
use crate::cache::Scope;
use crate::error::Result;
use crate::input::{NewCustomer, NewOrder};
use crate::{Store, bulk};

/// Rows per bulk write while seeding.
pub const SEED_BATCH: usize = 5_000;

/// What a seed run wrote.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SeedSummary {
    pub customers: usize,
    pub orders: usize,
}

/// Progress of a seed run, reported after every batch.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SeedProgress {
    Customers(usize),
    Orders(usize),
}

/// Writes `customers` customers and `orders` orders for `seed` through the
/// fastest path of the backend (`COPY` on PostgreSQL, multi-row inserts
/// elsewhere), calling `progress` as rows are written. All or nothing.
pub async fn seed(
    store: &Store,
    customers: usize,
    orders: usize,
    seed: u64,
    progress: &mut (dyn FnMut(SeedProgress) + Send),
) -> Result<SeedSummary> {
    let summary = if store.db.get_database_backend() == DbBackend::Postgres {
        copy::seed(store, customers, orders, seed, progress).await?
    } else {
        seed_with_inserts(store, customers, orders, seed, progress).await?
    };
    // New rows change the ranking; per-customer entries of new ids cannot exist yet.
    store.invalidate(&[Scope::Ranking]).await;
    Ok(summary)
}

/// The portable path: the bulk inserts of `createCustomers`/`createOrders`,
/// in one transaction.
async fn seed_with_inserts(
    store: &Store,
    customers: usize,
    orders: usize,
    seed: u64,
    progress: &mut (dyn FnMut(SeedProgress) + Send),
) -> Result<SeedSummary> {
    let txn = store.db.begin().await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ids = Vec::with_capacity(customers);
    let mut i = 0;
    while i < customers {
        let n = SEED_BATCH.min(customers - i);
        let batch: Vec<NewCustomer> = (i..i + n).map(|k| customer(&mut rng, seed, k)).collect();
        if let Some(rejected) = bulk::check_emails_free(&txn, &batch).await? {
            return Err(rejected.into_error(|k| format!("seeded customer {}", i + k)));
        }
        let created = bulk::insert_customers(&txn, &batch).await?;
        ids.extend(created.iter().map(|c| c.id));
        i += n;
        progress(SeedProgress::Customers(i));
    }
    let mut written = 0;
    while written < orders && !ids.is_empty() {
        let n = SEED_BATCH.min(orders - written);
        let batch: Vec<NewOrder> = (0..n).map(|_| order(&mut rng, &ids)).collect();
        bulk::insert_orders(&txn, &batch).await?;
        written += n;
        progress(SeedProgress::Orders(written));
    }
    txn.commit().await?;
    Ok(SeedSummary {
        customers: ids.len(),
        orders: written,
    })
}
