//! The read-replica benchmark: Q1 and Q2 read throughput with reads on a
//! streaming replica against reads on the primary, while a steady write
//! load runs on the primary through the same server.
//!
//! It makes its own primary and replica (`tests/replica/cluster.sh`; with
//! `--apply-delay-ms 0` the replica lags only as much as replay does), seeds the
//! data set on the primary, and runs the release server as a process of its
//! own, result cache disabled (every read reaches a database), twice per
//! query: without `DATABASE_READ_URL` (every read on the primary) and with
//! it. The writes are `updateOrder` at `--writes-per-sec`, each followed at
//! once by the writer reading the order back (read-your-writes: a stale
//! answer is counted). Reads are wrk's, anonymous, as in `bench load`.
//!
//! Needs the release binary (`cargo build --release -p api`), wrk,
//! PostgreSQL's server binaries and (as root) the `postgres` OS user.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use rand::Rng;
use serde_json::json;

use crate::cluster::{Cluster, caught_up};
use crate::process::{Child, spawn_server};
use crate::{dataset, harness, load};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Customers in the data set.
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    /// Orders in the data set.
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    /// Concurrent wrk connections, and the server's pool size (each pool).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The replica applies each commit this late (0: as fast as it replays).
    #[arg(long, default_value_t = 0)]
    apply_delay_ms: u64,
    /// Order updates per second during every measurement.
    #[arg(long, default_value_t = 50)]
    writes_per_sec: u64,
}

/// The writer's HTTP client.
struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    fn new(url: &str) -> anyhow::Result<Client> {
        Ok(Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            url: url.to_owned(),
        })
    }

    /// POSTs a document with the writer's token; fails on GraphQL errors.
    async fn post(
        &self,
        body: &serde_json::Value,
        token: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let resp: serde_json::Value = self
            .http
            .post(&self.url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await?
            .json()
            .await?;
        anyhow::ensure!(resp.get("errors").is_none(), "GraphQL errors: {resp}");
        Ok(resp)
    }
}

/// What the writer did during one measurement.
#[derive(Default)]
struct Writes {
    done: AtomicU64,
    failed: AtomicU64,
    /// Reads by the writer right after its write that did not show it.
    stale: AtomicU64,
}

/// Updates a random order and reads it back with the same token, at `rate`
/// per second, until `until`; returns the writes' latency histogram (µs).
async fn write_load(
    server: Arc<Client>,
    token: Arc<str>,
    orders: usize,
    rate: u64,
    until: Instant,
    writes: Arc<Writes>,
) -> Histogram<u64> {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let mut tasks = Vec::new();
    while Instant::now() < until {
        tick.tick().await;
        let (server, token, writes) = (server.clone(), token.clone(), writes.clone());
        let (id, cents) = {
            let mut rng = rand::rng();
            (rng.random_range(1..=orders), rng.random_range(100..100_000))
        };
        tasks.push(tokio::spawn(async move {
            let total = format!("{}.{:02}", cents / 100, cents % 100);
            let started = Instant::now();
            let update = json!({
                "query": "mutation($id: ID!, $t: Decimal!) { updateOrder(id: $id, input: { total: $t }) { id } }",
                "variables": { "id": id.to_string(), "t": total },
            });
            if server.post(&update, &token).await.is_err() {
                writes.failed.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            writes.done.fetch_add(1, Ordering::Relaxed);
            let read = json!({
                "query": "query($id: ID!) { order(id: $id) { total } }",
                "variables": { "id": id.to_string() },
            });
            match server.post(&read, &token).await {
                Ok(r) if r["data"]["order"]["total"] == total.as_str() => {}
                _ => {
                    writes.stale.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(micros)
        }));
    }
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("BUG: valid histogram bounds");
    for task in tasks {
        if let Ok(Some(micros)) = task.await {
            let _ = hist.record(micros.clamp(1, 60_000_000));
        }
    }
    hist
}

/// The highest replica lag `/metrics` shows while `until` has not passed.
async fn watch_lag(server: &Child, until: Instant) -> f64 {
    let mut highest = 0.0f64;
    while Instant::now() < until {
        if let Some(lag) = server.counter("replica_lag_seconds").await {
            highest = highest.max(lag);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    highest
}

pub async fn run(_base: &str, args: Args) -> anyhow::Result<()> {
    let cluster = Cluster::start(args.apply_delay_ms)?;
    let primary_base = Cluster::url(cluster.primary_port);
    let replica_base = Cluster::url(cluster.replica_port);
    let primary = dataset::ensure(&primary_base, args.customers, args.orders).await?;
    let name = primary
        .rsplit('/')
        .next()
        .context("no database name")?
        .to_owned();
    let replica = api::settings::with_database_name(&replica_base, &name);
    caught_up(&primary, &replica).await?;
    let token: Arc<str> = harness::writer_token()?.into();
    let load_args = load::WrkArgs {
        concurrency: args.concurrency,
        threads: 2,
        customers: args.customers,
    };

    let mut table = format!(
        "{} customers, {} orders; a primary and a streaming replica on this machine (apply delay {} ms); the release server as a process of its own, result cache disabled, pools of {}; wrk with {} connections, {} s per measurement; meanwhile {} `updateOrder`/s through the same server, each read back at once by its writer\n\n",
        args.customers,
        args.orders,
        args.apply_delay_ms,
        args.concurrency,
        args.concurrency,
        args.seconds,
        args.writes_per_sec
    );
    table.push_str("| query | reads on | req/s | p50 ms | p99 ms | errors | reads routed to replica / primary | writes/s | write p99 ms | writer reads stale | highest replica lag ms | pgbench tps (same SQL, same database) | server/pgbench |\n");
    table.push_str(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (query, lua, sql) in [
        ("Q1 customer(id)", "q1.lua", "q1.sql"),
        ("Q2 customers(50) + orders(5)", "q2.lua", "q2.sql"),
    ] {
        for on_replica in [false, true] {
            let mut env = vec![
                ("CACHE_DISABLED", "true".to_owned()),
                ("DB_MAX_CONNECTIONS", args.concurrency.to_string()),
                ("DB_MIN_CONNECTIONS", args.concurrency.to_string()),
            ];
            if on_replica {
                env.push(("DATABASE_READ_URL", replica.clone()));
            }
            let child = spawn_server(&primary, None, &env).await?;
            let endpoint = format!("{}/graphql", child.origin);
            let server = Arc::new(Client::new(&endpoint)?);
            if on_replica {
                wait_serving(&child).await?;
            }
            load::wrk_run(&load_args, &endpoint, lua, 2).await?;
            let (to_replica, to_primary) = routed(&child).await;
            let writes = Arc::new(Writes::default());
            let until = Instant::now() + Duration::from_secs(args.seconds);
            let writer = tokio::spawn(write_load(
                server.clone(),
                token.clone(),
                args.orders,
                args.writes_per_sec,
                until,
                writes.clone(),
            ));
            let (w, lag) = tokio::join!(
                load::wrk_run(&load_args, &endpoint, lua, args.seconds),
                watch_lag(&child, until)
            );
            let w = w?;
            let write_hist = writer.await?;
            let (to_replica_after, to_primary_after) = routed(&child).await;
            // The same SQL from pgbench on the database the reads went to,
            // under the same write load.
            let writer = tokio::spawn(write_load(
                server.clone(),
                token.clone(),
                args.orders,
                args.writes_per_sec,
                Instant::now() + Duration::from_secs(args.seconds),
                Arc::new(Writes::default()),
            ));
            let target = if on_replica { &replica } else { &primary };
            let (tps, _) = load::pgbench_run(&load_args, target, sql, args.seconds).await?;
            writer.await?;
            child.stop().await;
            let routed = if on_replica {
                format!(
                    "{:.0} / {:.0}",
                    to_replica_after - to_replica,
                    to_primary_after - to_primary
                )
            } else {
                "– / all".to_owned()
            };
            let line = format!(
                "| {query} | {} | {:.0} | {:.2} | {:.2} | {} | {routed} | {:.1} | {:.1} | {} of {} | {} | {:.0} | {:.2} |\n",
                if on_replica { "replica" } else { "primary" },
                w.rps,
                w.p50_ms,
                w.p99_ms,
                w.errors + writes.failed.load(Ordering::Relaxed),
                writes.done.load(Ordering::Relaxed) as f64 / args.seconds as f64,
                write_hist.value_at_quantile(0.99) as f64 / 1000.0,
                writes.stale.load(Ordering::Relaxed),
                writes.done.load(Ordering::Relaxed),
                if on_replica {
                    format!("{:.0}", lag * 1000.0)
                } else {
                    "–".to_owned()
                },
                tps,
                w.rps / tps.max(1e-9),
            );
            print!("{line}");
            table.push_str(&line);
        }
    }
    println!();
    println!("{table}");
    drop(cluster);
    Ok(())
}

/// Reads routed to the replica and to the primary so far (`/metrics`).
async fn routed(child: &Child) -> (f64, f64) {
    (
        child
            .counter("db_reads_total{target=\"replica\"}")
            .await
            .unwrap_or(0.0),
        child
            .counter("db_reads_total{target=\"primary\"}")
            .await
            .unwrap_or(0.0),
    )
}

/// Waits until the server reads from the replica (its first checks).
async fn wait_serving(child: &Child) -> anyhow::Result<()> {
    for _ in 0..100 {
        if child.counter("replica_serving").await == Some(1.0) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server never started reading from the replica")
}
