//! The load benchmark: Q1–Q4 over HTTP with keep-alive at a fixed
//! concurrency for a fixed time, then the same logical work as plain SQL
//! through a sqlx pool of the same size (the physical limit), and the ratio
//! server/limit of each.
//!
//! Q1 `customer(id) { name email }`, random ids.
//! Q2 `customers(first: 50, after: <random cursor>)` with each customer's
//!    `orders(first: 5) { id total createdAt }`, `orderCount`, `totalSpent`.
//! Q3 `topCustomers(limit: 10, minOrders: 5)` with the cache bypassed.
//! Q4 `updateOrder` on random orders.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use sea_orm::sqlx::{self, PgPool, Row};
use serde_json::json;

use crate::driver::{self, Figures};
use crate::{dataset, harness};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    /// Concurrent clients (and connections of the raw-SQL pool).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Rewrite the results section of this Markdown file (e.g. BENCHMARKS.md).
    #[arg(long)]
    report: Option<std::path::PathBuf>,
    /// Which queries to run.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "q1,q2,q3,q4")]
    queries: Vec<Query>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Query {
    Q1,
    Q2,
    Q3,
    Q4,
}

impl Query {
    fn describe(self) -> &'static str {
        match self {
            Query::Q1 => "Q1 customer(id) { name email }",
            Query::Q2 => "Q2 customers(first: 50) + orders(first: 5), orderCount, totalSpent",
            Query::Q3 => "Q3 topCustomers(limit: 10, minOrders: 5), cache bypassed",
            Query::Q4 => "Q4 updateOrder",
        }
    }
}

const Q1: &str = "query($id: ID!) { customer(id: $id) { name email } }";
const Q2: &str = "query($after: String) { customers(first: 50, after: $after) { nodes { id orders(first: 5) { nodes { id total createdAt } } orderCount totalSpent } } }";
const Q3: &str =
    "{ topCustomers(limit: 10, minOrders: 5) { customer { id name } totalSpent orderCount } }";
const Q4: &str =
    "mutation($id: ID!, $t: Decimal!) { updateOrder(id: $id, input: { total: $t }) { id total } }";

struct Row4 {
    query: Query,
    server: Figures,
    statements_per_request: f64,
    limit: Figures,
}

fn body(query: Query, customers: usize, orders: usize) -> Vec<u8> {
    let mut rng = rand::rng();
    let value = match query {
        Query::Q1 => {
            json!({ "query": Q1, "variables": { "id": rng.random_range(1..=customers).to_string() } })
        }
        Query::Q2 => {
            let start = rng.random_range(0..customers.saturating_sub(50).max(1)) as i64;
            let after = (start > 0).then(|| api::graphql::scalars::cursor::customer(start));
            json!({ "query": Q2, "variables": { "after": after } })
        }
        Query::Q3 => json!({ "query": Q3 }),
        Query::Q4 => json!({ "query": Q4, "variables": {
            "id": rng.random_range(1..=orders).to_string(),
            "t": format!("{}.{:02}", rng.random_range(0..1000), rng.random_range(0..100)),
        } }),
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The same logical work as plain SQL (the statements the server issues
/// for a cold request, written by hand).
async fn limit_work(
    pool: &PgPool,
    query: Query,
    customers: usize,
    orders: usize,
) -> Result<(), sqlx::Error> {
    let (a, b, c) = {
        let mut rng = rand::rng();
        (
            rng.random_range(1..=customers) as i64,
            rng.random_range(1..=orders) as i64,
            rng.random_range(0..100_000i64),
        )
    };
    match query {
        Query::Q1 => {
            sqlx::query("SELECT id, name, email, phone, created_at FROM customers WHERE id = $1")
                .bind(a)
                .fetch_optional(pool)
                .await?;
        }
        Query::Q2 => {
            let start = a.min(customers.saturating_sub(50) as i64);
            let rows = sqlx::query("SELECT id, name, email, phone, created_at FROM customers WHERE id > $1 ORDER BY id LIMIT 51")
                .bind(start)
                .fetch_all(pool)
                .await?;
            let ids: Vec<i64> = rows.iter().take(50).map(|r| r.get::<i64, _>(0)).collect();
            sqlx::query(
                "SELECT o.id, o.customer_id, o.total_cents, o.status, o.created_at FROM unnest($1::bigint[]) AS p(cid) \
                 CROSS JOIN LATERAL (SELECT id, customer_id, total_cents, status, created_at FROM orders o \
                 WHERE o.customer_id = p.cid ORDER BY o.created_at DESC, o.id DESC LIMIT 6) o",
            )
            .bind(&ids)
            .fetch_all(pool)
            .await?;
            sqlx::query("SELECT customer_id, COUNT(id), COALESCE(SUM(total_cents), 0)::bigint FROM orders WHERE customer_id = ANY($1) GROUP BY customer_id")
                .bind(&ids)
                .fetch_all(pool)
                .await?;
        }
        Query::Q3 => {
            let rows = sqlx::query(
                "SELECT customer_id, COUNT(id) AS n, COALESCE(SUM(total_cents), 0)::bigint AS t FROM orders \
                 GROUP BY customer_id HAVING COUNT(id) >= 5 ORDER BY t DESC, customer_id ASC LIMIT 10",
            )
            .fetch_all(pool)
            .await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.get::<i64, _>(0)).collect();
            sqlx::query(
                "SELECT id, name, email, phone, created_at FROM customers WHERE id = ANY($1)",
            )
            .bind(&ids)
            .fetch_all(pool)
            .await?;
        }
        Query::Q4 => {
            sqlx::query("UPDATE orders SET total_cents = $1 WHERE id = $2 RETURNING id, customer_id, total_cents, status, created_at")
                .bind(c)
                .bind(b)
                .fetch_optional(pool)
                .await?;
        }
    }
    Ok(())
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let url = args.data.ensure(base).await?;
    let duration = Duration::from_secs(args.seconds);
    let token: Arc<str> = harness::writer_token()?.into();
    let rss_start = driver::rss_mib();
    let mut rows = Vec::new();
    let mut rss_peak: f64 = 0.0;
    for query in args.queries.clone() {
        let mut settings = args.data.settings(&url, "bench");
        settings.db_max_connections = u32::try_from(args.concurrency).unwrap_or(16);
        settings.cache_disabled = query == Query::Q3;
        let server = Arc::new(harness::start(settings).await?);
        // Warm up: connections, prepared statements, caches.
        for _ in 0..50 {
            let t = (query == Query::Q4).then_some(&*token);
            server
                .post_bytes(body(query, args.data.customers, args.data.orders), t)
                .await?;
        }
        let before = server.state.statements.get();
        let (s, t, c, o) = (
            server.clone(),
            token.clone(),
            args.data.customers,
            args.data.orders,
        );
        let figures = driver::run(args.concurrency, duration, move |_, _| {
            let (s, t) = (s.clone(), t.clone());
            async move {
                let tok = (query == Query::Q4).then_some(&*t);
                s.send(body(query, c, o), tok).await
            }
        })
        .await;
        let statements = server.state.statements.get() - before;
        rss_peak = rss_peak.max(driver::rss_mib().unwrap_or(0.0));
        harness::forget_redis_keys(&server.state.settings).await;
        drop(server);

        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(u32::try_from(args.concurrency).unwrap_or(16))
            .connect(&url)
            .await?;
        for _ in 0..50 {
            limit_work(&pool, query, args.data.customers, args.data.orders).await?;
        }
        let p = pool.clone();
        let limit = driver::run(args.concurrency, duration, move |_, _| {
            let p = p.clone();
            async move {
                limit_work(&p, query, c, o)
                    .await
                    .map_err(|_| "sql".to_owned())
            }
        })
        .await;
        pool.close().await;
        println!(
            "{}: server {:.0} req/s, limit {:.0} req/s",
            query.describe(),
            figures.rps(),
            limit.rps()
        );
        rows.push(Row4 {
            query,
            statements_per_request: statements as f64 / figures.requests.max(1) as f64,
            server: figures,
            limit,
        });
    }
    let rss_end = driver::rss_mib();
    let table = render(&args, &rows, rss_start, rss_peak, rss_end);
    println!();
    println!("{table}");
    if let Some(path) = &args.report {
        write_report(path, &table)?;
        println!("wrote the results into {}", path.display());
    }
    Ok(())
}

fn render(
    args: &Args,
    rows: &[Row4],
    rss_start: Option<f64>,
    rss_peak: f64,
    rss_end: Option<f64>,
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} customers, {} orders; {} clients, {}s per measurement; cache: {}\n\n",
        args.data.customers,
        args.data.orders,
        args.concurrency,
        args.seconds,
        if args
            .data
            .redis_url
            .as_deref()
            .is_some_and(|u| !u.is_empty())
        {
            "redis"
        } else {
            "in-process"
        }
    ));
    out.push_str("| query | server req/s | p50 ms | p99 ms | errors | SQL/request | limit req/s | limit p50 ms | limit p99 ms | server/limit |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} |\n",
            r.query.describe(),
            r.server.rps(),
            r.server.p50_ms,
            r.server.p99_ms,
            r.server.errors,
            r.statements_per_request,
            r.limit.rps(),
            r.limit.p50_ms,
            r.limit.p99_ms,
            r.server.rps() / r.limit.rps().max(1e-9),
        ));
    }
    out.push_str(&format!(
        "\nResident memory of the benchmark process (server, load generator and raw-SQL pool): {:.0} MiB at start, {:.0} MiB at the highest measured point, {:.0} MiB at the end.\n",
        rss_start.unwrap_or(0.0),
        rss_peak,
        rss_end.unwrap_or(0.0)
    ));
    out
}

const BEGIN: &str = "<!-- bench load: begin -->";
const END: &str = "<!-- bench load: end -->";

/// Replaces the text between the markers (or appends a section).
fn write_report(path: &std::path::Path, table: &str) -> anyhow::Result<()> {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    let section = format!("{BEGIN}\n{table}{END}");
    let next = match (current.find(BEGIN), current.find(END)) {
        (Some(b), Some(e)) if e > b => {
            format!("{}{section}{}", &current[..b], &current[e + END.len()..])
        }
        _ => format!("{current}\n{section}\n"),
    };
    std::fs::write(path, next)?;
    Ok(())
}
