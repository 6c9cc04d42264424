//! Rows per second on PostgreSQL for (a) one `createOrder` request per row,
//! (b) `createOrders` in batches of 1,000 and 10,000, (c) `seed`, and (d)
//! PostgreSQL's own `COPY` of the same rows, with the ratios (b)/(a) and (c)/(d).

use std::time::Instant;

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx;
use serde_json::json;

use crate::harness;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Customers to create first (they own the orders).
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    /// Orders for (c) and (d).
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    /// Requests for (a), one order each.
    #[arg(long, default_value_t = 2_000)]
    single: usize,
    /// Rows written for each batch size of (b).
    #[arg(long, default_value_t = 100_000)]
    batched: usize,
}

fn order_input(i: usize, customers: usize) -> serde_json::Value {
    json!({
        "customerId": (1 + i % customers).to_string(),
        "total": format!("{}.{:02}", i % 500, i % 100),
        "status": "PAID",
        "createdAt": format!("2025-{:02}-{:02}T{:02}:{:02}:00Z", 1 + i % 12, 1 + i % 28, i % 24, i % 60),
    })
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let name = format!("bench_bulk_{}", std::process::id());
    let url = harness::fresh_database(base, &name).await?;
    let result = measure(&url, &args).await;
    harness::drop_database(base, &name).await?;
    result
}

async fn measure(url: &str, args: &Args) -> anyhow::Result<()> {
    // `seed` (c) runs as `api seed` does: without a statement timeout.
    let mut settings = harness::settings(url);
    settings.database.statement_timeout_ms = 0;
    let server = harness::start(settings).await?;
    let store = server.state.store.clone();
    let token = harness::writer_token()?;
    println!(
        "bulk benchmark on PostgreSQL: {} customers; (a) {} requests; (b) {} rows per batch size; (c), (d) {} orders",
        args.customers, args.single, args.batched, args.orders
    );
    service::seed::seed(&store, args.customers, 0, 1, &mut |_| {})
        .await
        .context("creating the customers")?;

    // (a) one request per row, sequentially over a kept-alive connection,
    // and (b) createOrders in batches, interleaved in rounds so that drift
    // on a shared machine (checkpoints, autovacuum, neighbours) hits all
    // paths alike.
    let single_body = |i| {
        serde_json::to_vec(&json!({ "query": "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }", "variables": { "i": order_input(i, args.customers) } })).unwrap_or_default()
    };
    let batch_body = |start: usize, size: usize| {
        let input: Vec<_> = (0..size)
            .map(|k| order_input(start + k, args.customers))
            .collect();
        serde_json::to_vec(&json!({ "query": "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }", "variables": { "i": input } })).unwrap_or_default()
    };
    server.post_bytes(single_body(0), Some(&token)).await?; // warm-up
    server
        .post_bytes(batch_body(0, 1_000), Some(&token))
        .await?;
    const ROUNDS: usize = 5;
    let sizes = [1_000usize, 10_000];
    let mut single_time = std::time::Duration::ZERO;
    let mut single_rows = 0usize;
    let mut batch_time = [std::time::Duration::ZERO; 2];
    let mut batch_rows = [0usize; 2];
    for round in 0..ROUNDS {
        let bodies: Vec<_> = (0..args.single / ROUNDS)
            .map(|i| single_body(round * args.single + i))
            .collect();
        let started = Instant::now();
        for body in bodies {
            server.post_bytes(body, Some(&token)).await?;
            single_rows += 1;
        }
        single_time += started.elapsed();
        for (k, size) in sizes.iter().enumerate() {
            let batches = (args.batched / ROUNDS / size).max(1);
            let bodies: Vec<_> = (0..batches).map(|b| batch_body(b * size, *size)).collect();
            let started = Instant::now();
            for body in bodies {
                server.post_bytes(body, Some(&token)).await?;
            }
            batch_time[k] += started.elapsed();
            batch_rows[k] += batches * size;
        }
    }
    let single_rate = single_rows as f64 / single_time.as_secs_f64();
    let batch_rates: Vec<(usize, f64)> = sizes
        .iter()
        .enumerate()
        .map(|(k, size)| (*size, batch_rows[k] as f64 / batch_time[k].as_secs_f64()))
        .collect();

    if std::env::var_os("BENCH_BREAKDOWN").is_some() {
        breakdown(&server, &token, args.customers).await?;
    }

    // (c) seed and (d) COPY of the same rows, each on a fresh schema.
    let rows = (args.customers + args.orders) as f64;
    Migrator::fresh(&*store.db).await?;
    let started = Instant::now();
    service::seed::seed(&store, args.customers, args.orders, 1, &mut |_| {}).await?;
    let seed_secs = started.elapsed().as_secs_f64();

    Migrator::fresh(&*store.db).await?;
    let (customers_text, orders_text) = service::seed::copy::render(args.customers, args.orders, 1);
    let pool = store.db.get_postgres_connection_pool();
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    for (statement, text) in [
        (
            "COPY customers (id, name, email, phone, created_at) FROM STDIN",
            &customers_text,
        ),
        (
            "COPY orders (customer_id, total_cents, status, created_at) FROM STDIN",
            &orders_text,
        ),
    ] {
        let mut copy = tx.copy_in_raw(statement).await?;
        for chunk in text.as_bytes().chunks(1 << 20) {
            copy.send(chunk).await?;
        }
        copy.finish().await?;
    }
    tx.commit().await?;
    let copy_secs = started.elapsed().as_secs_f64();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(n as usize == args.orders, "COPY wrote {n} orders");

    println!();
    println!("| path | rows/s | vs (a) |");
    println!("| --- | ---: | ---: |");
    println!("| (a) createOrder, one request per row | {single_rate:.0} | 1.0 |");
    for (size, rate) in &batch_rates {
        println!(
            "| (b) createOrders, batches of {size} | {rate:.0} | {:.1} |",
            rate / single_rate
        );
    }
    println!(
        "| (c) seed ({} rows) | {:.0} | {:.1} |",
        rows,
        rows / seed_secs,
        rows / seed_secs / single_rate
    );
    println!(
        "| (d) COPY of the same rows | {:.0} | {:.1} |",
        rows / copy_secs,
        rows / copy_secs / single_rate
    );
    println!();
    for (size, rate) in &batch_rates {
        println!(
            "(b)/(a) at {size} rows per batch: {:.1} (target >= 50)",
            rate / single_rate
        );
    }
    println!(
        "seed took {seed_secs:.2}s, COPY {copy_secs:.2}s: (c) time / (d) time = {:.2} (target <= 2)",
        seed_secs / copy_secs
    );
    Ok(())
}

/// Where the time of one 10,000-row request goes (set `BENCH_BREAKDOWN`).
async fn breakdown(server: &harness::Server, token: &str, customers: usize) -> anyhow::Result<()> {
    let input: Vec<_> = (0..10_000).map(|k| order_input(k, customers)).collect();
    let body = json!({ "query": "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }", "variables": { "i": input } });
    let bytes = serde_json::to_vec(&body)?;
    let t = Instant::now();
    let _: serde_json::Value = serde_json::from_slice(&bytes)?;
    println!("parse JSON body: {:?}", t.elapsed());
    let t = Instant::now();
    server.post(&body, Some(token)).await?;
    println!("whole request: {:?}", t.elapsed());
    let mut bad = input.clone();
    bad[9_999]["total"] = json!("-1.00");
    let bad = json!({ "query": "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }", "variables": { "i": bad } });
    let t = Instant::now();
    let _ = server.post(&bad, Some(token)).await;
    println!(
        "request refused after parsing every row (no SQL): {:?}",
        t.elapsed()
    );
    let news: Vec<_> = (0..10_000)
        .map(|k| {
            service::input::NewOrder::parse(
                (1 + k % customers) as i64,
                service::money::Money::from_cents(100),
                None,
                None,
            )
            .map_err(anyhow::Error::msg)
        })
        .collect::<anyhow::Result<_>>()?;
    let t = Instant::now();
    server
        .state
        .store
        .orders(&service::View::unrestricted())
        .create_many(news)
        .await?;
    println!("service create_many: {:?}", t.elapsed());
    Ok(())
}
