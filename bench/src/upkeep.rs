//! What the kept order rollups cost writers (issue 23), on the full data
//! set, with the orders' aggregates trigger function keeping the rollups
//! and `customer_stats` ("upkeep on"), then `customer_stats` alone ("off",
//! [`migration::orders_aggregates_function`]`(false)`), alternated in rounds
//! so that drift on the machine (checkpoints, autovacuum) hits both:
//!
//! - `createOrder` from `concurrency` clients through the server;
//! - pgbench inserting one order a transaction (prepared), same clients;
//! - `createOrders` of 100 rows, one client after the other;
//! - `createOrders` of 10,000 rows against psql running the same `INSERT`
//!   (same arrays, same triggers and indexes).
//!
//! The orders written are deleted afterwards and the rollups rebuilt (the
//! rows written while the upkeep was off were never counted), then checked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rand::Rng;
use sea_orm::sqlx::{self, PgPool};
use serde_json::json;

use crate::load::{WrkArgs, pgbench_run};
use crate::{dataset, driver, harness};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    /// Concurrent clients (server and pgbench), and the server's pool size.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per concurrent measurement.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Rounds of upkeep on, then off.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
}

const INSERT_ONE: &str = "\\set c random(1, :customers)\nINSERT INTO orders (customer_id, total_cents, status, created_at) VALUES (:c, 1234, 'PENDING', now());\n";

/// Sums of one measurement over the rounds, upkeep on (`[0]`) and off.
#[derive(Default)]
struct Tally {
    units: [f64; 2],
    seconds: [f64; 2],
    p99_ms: [Vec<f64>; 2],
}

impl Tally {
    fn add(&mut self, on: bool, units: f64, seconds: f64, p99_ms: Option<f64>) {
        let k = usize::from(!on);
        self.units[k] += units;
        self.seconds[k] += seconds;
        self.p99_ms[k].extend(p99_ms);
    }

    fn rate(&self, k: usize) -> f64 {
        self.units[k] / self.seconds[k].max(1e-9)
    }

    fn line(&self, name: &str, unit: &str) {
        let p99 = |k: usize| {
            let v: Vec<String> = self.p99_ms[k].iter().map(|p| format!("{p:.1}")).collect();
            if v.is_empty() {
                "–".to_owned()
            } else {
                v.join(" / ")
            }
        };
        println!(
            "| {name} | {:.0} {unit} | {:.0} {unit} | {:.2} | {} | {} |",
            self.rate(0),
            self.rate(1),
            self.rate(0) / self.rate(1).max(1e-9),
            p99(0),
            p99(1)
        );
    }
}

async fn upkeep(pool: &PgPool, on: bool) -> anyhow::Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(migration::orders_aggregates_function(
        on,
    )))
    .execute(pool)
    .await?;
    Ok(())
}

fn order(customers: usize, rng: &mut impl Rng) -> serde_json::Value {
    json!({
        "customerId": rng.random_range(1..=customers).to_string(),
        "total": format!("{}.{:02}", rng.random_range(1..500), rng.random_range(0..100)),
    })
}

fn bulk_body(rows: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "query": "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }",
        "variables": { "i": rows },
    }))
    .unwrap_or_default()
}

/// The server's 10,000-row insert as psql runs it: the same statement with
/// the arrays written out, timed by psql itself (`\timing`).
fn psql_script(rows: usize, customers: usize) -> String {
    let mut rng = rand::rng();
    let ids: Vec<String> = (0..rows)
        .map(|_| rng.random_range(1..=customers).to_string())
        .collect();
    let cents: Vec<String> = (0..rows)
        .map(|_| rng.random_range(100..50_000).to_string())
        .collect();
    let statuses = vec!["PENDING"; rows].join(",");
    let now = vec!["\"2026-12-03 12:00:00+00\""; rows].join(",");
    format!(
        "\\timing on\nINSERT INTO orders (customer_id, total_cents, status, created_at) SELECT * FROM unnest('{{{}}}'::bigint[], '{{{}}}'::bigint[], '{{{statuses}}}'::text[], '{{{now}}}'::timestamptz[]) RETURNING id;\n",
        ids.join(","),
        cents.join(",")
    )
}

async fn psql_millis(url: &str, script: &std::path::Path) -> anyhow::Result<f64> {
    let out = tokio::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", "-f"])
        .arg(script)
        .arg(url)
        .output()
        .await
        .context("running psql")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Time: ")?.split(' ').next()?.parse().ok())
        .with_context(|| {
            format!(
                "psql printed no time: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let url = args.data.ensure(base).await?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let (last_id,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM orders")
        .fetch_one(&pool)
        .await?;
    let result = measure(&url, &args, &pool).await;
    // Whatever happened: the upkeep back on, the data set as it was, the
    // rollups recomputed (rows written with the upkeep off were never
    // counted) and checked.
    upkeep(&pool, true).await?;
    sqlx::query("DELETE FROM orders WHERE id > $1")
        .bind(last_id)
        .execute(&pool)
        .await?;
    let mut settings = harness::settings(&url);
    settings.database.statement_timeout_ms = 0;
    let server = harness::start(settings).await?;
    service::stats::rebuild_rollups(&server.state.store).await?;
    let left = service::stats::check_rollups(&server.state.store).await?;
    println!(
        "\nrollups rebuilt after deleting the orders written; stats check: {} differences",
        left.len()
    );
    pool.close().await;
    result
}

async fn measure(url: &str, args: &Args, pool: &PgPool) -> anyhow::Result<()> {
    let mut settings = args.data.settings(url, "upkeep");
    settings.cache.disabled = true;
    settings.database.max_connections = u32::try_from(args.concurrency).unwrap_or(16);
    let server = Arc::new(harness::start(settings.clone()).await?);
    let token: Arc<str> = harness::writer_token()?.into();
    let wrk = WrkArgs {
        concurrency: args.concurrency,
        threads: 2,
        customers: args.data.customers,
    };
    let dir = std::env::temp_dir().join(format!("bench-upkeep-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let insert_one = dir.join("insert_one.sql");
    std::fs::write(&insert_one, INSERT_ONE)?;
    let big = dir.join("insert_10000.sql");
    std::fs::write(&big, psql_script(10_000, args.data.customers))?;
    let duration = Duration::from_secs(args.seconds);
    let customers = args.data.customers;
    let (mut single, mut pgbench, mut hundred, mut ten_thousand, mut psql) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    let mut errors = 0;
    println!(
        "{} customers, {} orders; cache disabled; {} clients, {} s a measurement, {} rounds of upkeep on then off\n",
        customers, args.data.orders, args.concurrency, args.seconds, args.rounds
    );
    for _ in 0..args.rounds {
        for on in [true, false] {
            upkeep(pool, on).await?;
            let (s, t) = (server.clone(), token.clone());
            let f = driver::run(args.concurrency, duration, move |_, _| {
                let (s, t) = (s.clone(), t.clone());
                let body = json!({
                    "query": "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }",
                    "variables": { "i": order(customers, &mut rand::rng()) },
                });
                async move {
                    s.send(serde_json::to_vec(&body).unwrap_or_default(), Some(&t))
                        .await
                }
            })
            .await;
            errors += f.errors;
            single.add(on, f.requests as f64, f.seconds, Some(f.p99_ms));

            let script = insert_one.to_str().context("path")?;
            let (tps, _) = pgbench_run(&wrk, url, script, args.seconds).await?;
            pgbench.add(on, tps, 1.0, None);

            let mut rng = rand::rng();
            let bodies: Vec<Vec<u8>> = (0..200)
                .map(|_| {
                    bulk_body(
                        &(0..100)
                            .map(|_| order(customers, &mut rng))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            let started = Instant::now();
            for body in bodies {
                server.post_bytes(body, Some(&token)).await?;
            }
            hundred.add(on, 20_000.0, started.elapsed().as_secs_f64(), None);

            for _ in 0..3 {
                let rows: Vec<_> = (0..10_000).map(|_| order(customers, &mut rng)).collect();
                let body = bulk_body(&rows);
                let started = Instant::now();
                server.post_bytes(body, Some(&token)).await?;
                ten_thousand.add(on, 10_000.0, started.elapsed().as_secs_f64(), None);
                let ms = psql_millis(url, &big).await?;
                psql.add(on, 10_000.0, ms / 1000.0, None);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("| writes | upkeep on | upkeep off | on / off | p99 ms on | p99 ms off |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    single.line(
        &format!("createOrder, {} clients", args.concurrency),
        "req/s",
    );
    pgbench.line(
        &format!(
            "pgbench: one INSERT a transaction, {} clients",
            args.concurrency
        ),
        "tps",
    );
    hundred.line("createOrders of 100 rows, one client", "rows/s");
    ten_thousand.line("createOrders of 10,000 rows, one client", "rows/s");
    psql.line("psql: the same 10,000-row INSERT", "rows/s");
    println!();
    for (k, state) in ["on", "off"].iter().enumerate() {
        println!(
            "10,000 rows with the upkeep {state}: server {:.0} ms, psql {:.0} ms, server / psql = {:.2} (target at most 1.5)",
            10_000.0 / ten_thousand.rate(k) * 1000.0,
            10_000.0 / psql.rate(k) * 1000.0,
            psql.rate(k) / ten_thousand.rate(k).max(1e-9)
        );
    }
    println!(
        "createOrder errors: {errors}; {} writers with the upkeep / without: {:.2} through the server, {:.2} in pgbench (target at least 0.8)",
        args.concurrency,
        single.rate(0) / single.rate(1).max(1e-9),
        pgbench.rate(0) / pgbench.rate(1).max(1e-9)
    );
    harness::forget_redis_keys(&settings.redis).await;
    Ok(())
}
