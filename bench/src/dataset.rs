//! The benchmark data set: a database of its own, seeded once (through the
//! `COPY` path) and reused while it holds the wanted number of rows.

use anyhow::Context as _;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

use crate::harness;

/// The data set a benchmark runs on, and the cache in front of it.
#[derive(Debug, Clone, clap::Args)]
pub struct DataSet {
    /// Customers in the data set.
    #[arg(long, default_value_t = 10_000)]
    pub customers: usize,
    /// Orders in the data set.
    #[arg(long, default_value_t = 1_000_000)]
    pub orders: usize,
    /// Redis for the cache (default: `REDIS_URL`; unset: the in-process cache).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
}

impl DataSet {
    /// Server settings on `url` with this cache (keys under `prefix`).
    pub fn settings(&self, url: &str, prefix: &str) -> api::settings::Settings {
        let mut settings = harness::settings(url);
        settings.redis.url = self.redis_url.clone().filter(|u| !u.is_empty());
        settings.redis.key_prefix = format!("{prefix}_{}:", std::process::id());
        settings
    }

    /// The database holding it (see [`ensure`]).
    pub async fn ensure(&self, base: &str) -> anyhow::Result<String> {
        ensure(base, self.customers, self.orders).await
    }
}

/// The URL of a database holding exactly `customers` customers and
/// `orders` orders for seed 1, creating it if needed.
pub async fn ensure(base: &str, customers: usize, orders: usize) -> anyhow::Result<String> {
    let name = format!("bench_data_{customers}_{orders}");
    let url = api::settings::with_database_name(base, &name);
    if let Ok(db) = Database::connect(url.as_str()).await {
        let count = |table: &str| {
            let db = &db;
            let sql = format!("SELECT COUNT(*) AS n FROM {table}");
            async move {
                db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
                    .await
                    .ok()
                    .flatten()
                    .and_then(|r| r.try_get::<i64>("", "n").ok())
            }
        };
        let (c, o) = (count("customers").await, count("orders").await);
        if c == Some(customers as i64) && o == Some(orders as i64) {
            // Earlier runs' updates leave dead rows and clear the visibility
            // map (index-only scans turn into heap fetches): start clean.
            for table in ["customers", "orders"] {
                db.execute_raw(Statement::from_string(
                    DbBackend::Postgres,
                    format!("VACUUM ANALYZE {table}"),
                ))
                .await?;
            }
            db.close().await.ok();
            println!("reusing the data set in database {name} (vacuumed)");
            return Ok(url);
        }
        db.close().await.ok();
    }
    println!("seeding {customers} customers and {orders} orders into database {name} …");
    let url = harness::fresh_database(base, &name).await?;
    // Seeding a million rows is one long statement: no statement timeout.
    let mut settings = harness::settings(&url);
    settings.database.statement_timeout_ms = 0;
    let server = harness::start(settings).await?;
    let started = std::time::Instant::now();
    service::seed::seed(&server.state.store, customers, orders, 1, &mut |_| {})
        .await
        .context("seeding the data set")?;
    let db = &server.state.store.db;
    db.execute_raw(Statement::from_string(
        DbBackend::Postgres,
        "VACUUM ANALYZE customers".to_owned(),
    ))
    .await?;
    db.execute_raw(Statement::from_string(
        DbBackend::Postgres,
        "VACUUM ANALYZE orders".to_owned(),
    ))
    .await?;
    println!("seeded in {:.1}s", started.elapsed().as_secs_f64());
    Ok(url)
}
