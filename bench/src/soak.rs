//! A mixed load for a fixed time at many clients: reads (cache hits and
//! misses) and writes, against PostgreSQL and Redis (with `--bulk`, 100-row
//! bulk inserts too; with `--dashboards`, the four dashboard aggregates).
//! Reports requests, errors by code, p50/p99 latency (and per kind of
//! request), resident memory at start and end, and `stats check`
//! afterwards.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use rand::Rng;
use serde_json::json;

use crate::{dataset, driver, harness};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Also send 100-row `createOrders` (5% of the mix, taken from the lookups).
    #[arg(long)]
    bulk: bool,
    /// Also send the four dashboard aggregates of `bench dashboards` (1%
    /// of the mix each, taken from the lookups).
    #[arg(long)]
    dashboards: bool,
    /// Instances serving the clients (spread over them in turn), sharing
    /// the database and Redis.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Reach the data set through a transaction pooler at this `host:port`
    /// (PgBouncer with `pool_mode = transaction`), with
    /// `DATABASE_POOLER=transaction`.
    #[arg(long, value_name = "HOST:PORT")]
    pooler: Option<String>,
    /// Each instance's `DB_MAX_CONNECTIONS` (default: the server's).
    #[arg(long)]
    db_max_connections: Option<u32>,
}

/// What a request of the mix is, for the latencies per kind.
type Kind = &'static str;
const LOOKUP: Kind = "customer lookup";

/// One request of the mix: 29% customer lookups, 2% each of the README's
/// three query-builder screens, 20% customer pages with their orders and
/// aggregates, 10% the ranking (one argument set, as a
/// dashboard asks it; every write invalidates it), 10% order pages, 15%
/// order updates, 10% new orders.
fn request(
    customers: usize,
    orders: usize,
    bulk: bool,
    dashboards: &[(Kind, String)],
) -> (serde_json::Value, bool, Kind) {
    let mut rng = rand::rng();
    let roll = rng.random_range(0..100usize);
    let customer = rng.random_range(1..=customers);
    if let Some((kind, query)) = dashboards.get(roll.wrapping_sub(5)) {
        return (json!({ "query": query }), false, kind);
    }
    let (body, write) = mix(&mut rng, roll, customer, customers, orders, bulk);
    let kind = match roll {
        _ if bulk && roll < 5 => "createOrders, 100 rows",
        0..29 => LOOKUP,
        _ => "other",
    };
    (body, write, kind)
}

fn mix(
    rng: &mut impl Rng,
    roll: usize,
    customer: usize,
    customers: usize,
    orders: usize,
    bulk: bool,
) -> (serde_json::Value, bool) {
    if bulk && roll < 5 {
        let rows: Vec<serde_json::Value> = (0..100)
            .map(|_| json!({ "customerId": rng.random_range(1..=customers).to_string(), "total": format!("{}.50", rng.random_range(1..300)) }))
            .collect();
        return (
            json!({ "query": "mutation($r: [CreateOrderInput!]!) { createOrders(input: $r) { id } }", "variables": { "r": rows } }),
            true,
        );
    }
    match roll {
        29..31 => (json!({ "query": crate::compose::screen_a(None) }), false),
        31..33 => (json!({ "query": crate::compose::SCREEN_B }), false),
        33..35 => (json!({ "query": crate::compose::SCREEN_C }), false),
        0..29 => (
            json!({ "query": "query($id: ID!) { customer(id: $id) { name email orderCount totalSpent } }", "variables": { "id": customer.to_string() } }),
            false,
        ),
        35..55 => {
            let start = rng.random_range(0..customers.saturating_sub(20).max(1)) as i64;
            let after = (start > 0)
                .then(|| api::graphql::schema::types::lists::default_customers_cursor(start));
            (
                json!({ "query": "query($after: String) { customers(first: 20, after: $after) { nodes { id name orders(first: 3) { nodes { id total status } } orderCount totalSpent } } }", "variables": { "after": after } }),
                false,
            )
        }
        55..65 => (
            json!({ "query": "{ topCustomers(limit: 10, minOrders: 3) { customer { name } totalSpent } }" }),
            false,
        ),
        65..75 => (
            json!({ "query": "query($c: ID!) { orders(first: 10, filter: { customerId: $c }) { totalCount nodes { id total createdAt } } }", "variables": { "c": customer.to_string() } }),
            false,
        ),
        75..90 => (
            json!({ "query": "mutation($id: ID!, $t: Decimal!) { updateOrder(id: $id, input: { total: $t }) { id } }", "variables": { "id": rng.random_range(1..=orders).to_string(), "t": format!("{}.{:02}", rng.random_range(0..900), rng.random_range(0..100)) } }),
            true,
        ),
        _ => (
            json!({ "query": "mutation($c: ID!, $t: Decimal!) { createOrder(input: { customerId: $c, total: $t, status: PAID }) { id } }", "variables": { "c": customer.to_string(), "t": format!("{}.00", rng.random_range(1..500)) } }),
            true,
        ),
    }
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let url = args.data.ensure(base).await?;
    let mut settings = args.data.settings(&url, "soak");
    if let Some(pooler) = &args.pooler {
        let mut through = reqwest::Url::parse(&url)?;
        let (host, port) = pooler
            .rsplit_once(':')
            .ok_or_else(|| anyhow::anyhow!("--pooler takes HOST:PORT"))?;
        through.set_host(Some(host))?;
        through
            .set_port(Some(port.parse()?))
            .map_err(|()| anyhow::anyhow!("--pooler: no port in {pooler}"))?;
        settings.database.url = Some(through.to_string());
        settings.database.pooler = api::settings::DatabasePooler::Transaction;
    }
    if let Some(n) = args.db_max_connections {
        settings.database.max_connections = n;
    }
    let redis = settings.redis.clone();
    let mut servers = Vec::new();
    for _ in 0..args.instances.max(1) {
        servers.push(Arc::new(harness::start(settings.clone()).await?));
    }
    let servers: Arc<[Arc<harness::Server>]> = servers.into();
    let server = servers[0].clone();
    let token: Arc<str> = harness::writer_token()?.into();
    let dashboards: Arc<[(Kind, String)]> = if args.dashboards {
        crate::dashboards::dashboards()
            .into_iter()
            .map(|d| (d.name, d.query))
            .collect()
    } else {
        Arc::new([])
    };
    for _ in 0..200 {
        let (body, write, _) = request(
            args.data.customers,
            args.data.orders,
            args.bulk,
            &dashboards,
        );
        let _ = server
            .send(serde_json::to_vec(&body)?, write.then_some(&*token))
            .await;
    }
    let rss_start = driver::rss_mib().unwrap_or(0.0);
    println!(
        "soak: {} clients for {} s over {} instance(s){}, cache: {}, {} customers / {} orders",
        args.concurrency,
        args.seconds,
        servers.len(),
        args.pooler
            .as_ref()
            .map(|p| format!(" through the pooler at {p}"))
            .unwrap_or_default(),
        server.state.store.cache.backend_name(),
        args.data.customers,
        args.data.orders
    );
    // Resident memory every ten seconds, to see whether it stays flat.
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sampler = tokio::spawn({
        let samples = samples.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                if let Ok(mut s) = samples.lock() {
                    s.push(driver::rss_mib().unwrap_or(0.0));
                }
            }
        }
    });
    let (all, t, c, o, bulk, d) = (
        servers.clone(),
        token.clone(),
        args.data.customers,
        args.data.orders,
        args.bulk,
        dashboards.clone(),
    );
    let kinds: Arc<Mutex<BTreeMap<Kind, Histogram<u64>>>> = Arc::default();
    let k = kinds.clone();
    let figures = driver::run(
        args.concurrency,
        Duration::from_secs(args.seconds),
        move |worker, _| {
            let s = all[worker % all.len()].clone();
            let (t, k) = (t.clone(), k.clone());
            let (body, write, kind) = request(c, o, bulk, &d);
            async move {
                let body = serde_json::to_vec(&body).map_err(|_| "encode".to_owned())?;
                let started = Instant::now();
                let result = s.send(body, write.then_some(&*t)).await;
                let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                if let Ok(mut k) = k.lock() {
                    let h = k.entry(kind).or_insert_with(|| {
                        Histogram::new_with_bounds(1, 60_000_000, 3)
                            .expect("BUG: valid histogram bounds")
                    });
                    let _ = h.record(micros.clamp(1, 60_000_000));
                }
                result
            }
        },
    )
    .await;
    let rss_end = driver::rss_mib().unwrap_or(0.0);
    harness::forget_redis_keys(&redis).await;
    sampler.abort();
    let samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    let counters = server.state.store.cache.counters();
    println!();
    println!("| requests | req/s | errors | p50 ms | p99 ms | RSS start MiB | RSS end MiB |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {:.0} | {} | {:.2} | {:.2} | {:.0} | {:.0} |",
        figures.requests,
        figures.rps(),
        figures.errors,
        figures.p50_ms,
        figures.p99_ms,
        rss_start,
        rss_end
    );
    println!();
    println!(
        "resident memory every 10 s (MiB): {}",
        samples
            .iter()
            .map(|m| format!("{m:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let kinds = kinds.lock().map(|k| k.clone()).unwrap_or_default();
    println!();
    println!("| kind | requests | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: |");
    let p99 = |h: &Histogram<u64>| h.value_at_quantile(0.99) as f64 / 1000.0;
    for (kind, h) in &kinds {
        println!(
            "| {kind} | {} | {:.2} | {:.2} |",
            h.len(),
            h.value_at_quantile(0.5) as f64 / 1000.0,
            p99(h)
        );
    }
    if let Some(lookup) = kinds.get(LOOKUP) {
        for (kind, _) in dashboards.iter() {
            if let Some(h) = kinds.get(kind) {
                println!(
                    "{kind}: p99 / customer lookup p99 = {:.2} (target at most 2)",
                    p99(h) / p99(lookup).max(1e-9)
                );
            }
        }
    }
    if figures.errors_by_code.is_empty() {
        println!("errors by code: none");
    } else {
        for (code, n) in &figures.errors_by_code {
            println!("errors {code}: {n}");
        }
    }
    println!(
        "cache: {} hits, {} misses, {} errors; SQL statements: {}",
        counters.hits(),
        counters.misses(),
        counters.errors(),
        server.state.statements.get()
    );
    let differences = service::stats::check(&server.state.store).await?;
    let rollups = service::stats::check_rollups(&server.state.store).await?;
    println!(
        "stats check after the soak: {} customer differences, {} rollup differences",
        differences.len(),
        rollups.len()
    );
    Ok(())
}
