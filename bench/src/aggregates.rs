//! The kept per-customer aggregates (`customer_stats`): how long their
//! backfill takes on the data set, the ranking from them (cache disabled)
//! against the plain aggregate over `orders` it replaced, and concurrent
//! order writes to one customer (which serialize on its aggregate row)
//! against writes spread over every customer. Ends with `stats check`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use rand::Rng;
use sea_orm::sqlx::{self, PgPool};
use serde_json::json;

use crate::{dataset, driver, harness};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

const RANKING: &str =
    "{ topCustomers(limit: 10, minOrders: 5) { customer { id name } totalSpent orderCount } }";

/// The statements `topCustomers(limit: 10, minOrders: 5)` ran before the
/// aggregates were kept: the grouped aggregate over every order, then the
/// winners' rows.
async fn plain_aggregate(pool: &PgPool) -> Result<(), sqlx::Error> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT customer_id, COUNT(id) AS n, COALESCE(SUM(total_cents), 0)::bigint AS t FROM orders \
         GROUP BY customer_id HAVING COUNT(id) >= 5 ORDER BY t DESC, customer_id ASC LIMIT 10",
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.get::<i64, _>(0)).collect();
    sqlx::query("SELECT id, name, email, phone, created_at FROM customers WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_all(pool)
        .await?;
    Ok(())
}

fn line(name: &str, f: &driver::Figures) {
    println!(
        "| {name} | {:.0} | {:.2} | {:.2} | {} |",
        f.rps(),
        f.p50_ms,
        f.p99_ms,
        f.errors
    );
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let url = args.data.ensure(base).await?;
    let duration = Duration::from_secs(args.seconds);

    // 1. The backfill: undo the aggregates' migration, then time redoing it.
    let db = sea_orm::Database::connect(url.as_str()).await?;
    // The aggregates are the fourth migration: undo it and what follows,
    // time redoing it alone, then apply the rest.
    Migrator::up(&db, None).await?;
    let after_it = Migrator::get_applied_migrations(&db).await?.len() - 4;
    Migrator::down(&db, Some(u32::try_from(after_it + 1)?)).await?;
    let t = Instant::now();
    Migrator::up(&db, Some(1)).await?;
    println!(
        "backfill of customer_stats ({} customers, {} orders): {:.2} s",
        args.data.customers,
        args.data.orders,
        t.elapsed().as_secs_f64()
    );
    Migrator::up(&db, None).await?;
    db.close().await?;

    println!(
        "| measurement ({} clients, {} s) | req/s | p50 ms | p99 ms | errors |",
        args.concurrency, args.seconds
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    // 2. The ranking, engine against the plain aggregate.
    let mut settings = args.data.settings(&url, "aggregates");
    settings.cache.disabled = true;
    settings.database.max_connections = u32::try_from(args.concurrency).unwrap_or(16);
    let server = Arc::new(harness::start(settings.clone()).await?);
    let body = serde_json::to_vec(&json!({ "query": RANKING }))?;
    for _ in 0..50 {
        server.post_bytes(body.clone(), None).await?;
    }
    let (s, b) = (server.clone(), body.clone());
    let engine = driver::run(args.concurrency, duration, move |_, _| {
        let (s, b) = (s.clone(), b.clone());
        async move { s.send(b, None).await }
    })
    .await;
    line(
        "topCustomers(limit: 10, minOrders: 5), cache disabled",
        &engine,
    );
    drop(server);
    let pool = sea_orm::sqlx::postgres::PgPoolOptions::new()
        .max_connections(u32::try_from(args.concurrency).unwrap_or(16))
        .connect(&url)
        .await?;
    let p = pool.clone();
    let plain = driver::run(args.concurrency, duration, move |_, _| {
        let p = p.clone();
        async move { plain_aggregate(&p).await.map_err(|e| e.to_string()) }
    })
    .await;
    line("the plain aggregate it replaced (SQL, sqlx pool)", &plain);
    pool.close().await;
    println!(
        "ranking: engine / plain aggregate = {:.0}x",
        engine.rps() / plain.rps().max(1e-9)
    );

    // 3. Writes: one customer's aggregate row against many. The orders
    // written are deleted afterwards, so the data set keeps its size.
    let pool = sea_orm::sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let (last_id,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM orders")
        .fetch_one(&pool)
        .await?;
    let mut settings = args.data.settings(&url, "aggregates");
    settings.database.max_connections = u32::try_from(args.concurrency).unwrap_or(16);
    let server = Arc::new(harness::start(settings.clone()).await?);
    let token: Arc<str> = harness::writer_token()?.into();
    let mut rates = Vec::new();
    for one_customer in [true, false] {
        let (s, t, customers) = (server.clone(), token.clone(), args.data.customers);
        let figures = driver::run(args.concurrency, duration, move |_, _| {
            let (s, t) = (s.clone(), t.clone());
            let customer = if one_customer { 1 } else { rand::rng().random_range(1..=customers) };
            let body = json!({
                "query": "mutation($c: ID!) { createOrder(input: { customerId: $c, total: \"12.34\" }) { id } }",
                "variables": { "c": customer.to_string() },
            });
            async move { s.send(serde_json::to_vec(&body).unwrap_or_default(), Some(&t)).await }
        })
        .await;
        line(
            if one_customer {
                "createOrder, every client for the same customer"
            } else {
                "createOrder, clients for random customers"
            },
            &figures,
        );
        rates.push(figures.rps());
    }
    println!(
        "same customer / random customers = {:.2}",
        rates[0] / rates[1].max(1e-9)
    );
    let differences = service::stats::check(&server.state.store).await?;
    println!("stats check: {} differences", differences.len());
    sqlx::query("DELETE FROM orders WHERE id > $1")
        .bind(last_id)
        .execute(&pool)
        .await?;
    pool.close().await;
    harness::forget_redis_keys(&settings.redis).await;
    Ok(())
}
