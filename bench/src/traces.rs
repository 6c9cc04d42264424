//! What exported traces cost: Q1 and Q2 against three release servers on
//! the same data, export off, sampling 1% and 100% to a local OTLP
//! receiver, alternated round by round; then memory over a run with the
//! collector down (every span lost). `--sink ADDR` runs only the receiver
//! (for the callgrind runs of BENCHMARKS).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::dataset;
use crate::load::{WrkArgs, wrk_run};
use crate::process::{rss_of, spawn_server};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    /// Concurrent connections (wrk), and each server's pool size.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Rounds of the three servers, one after the other.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Threads of wrk.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Seconds of the run with the collector down (memory read every 5 s).
    #[arg(long, default_value_t = 60)]
    down_seconds: u64,
    /// Only run the OTLP receiver on this address until stopped.
    #[arg(long)]
    sink: Option<SocketAddr>,
}

/// What the receiver was sent.
#[derive(Default)]
struct Received {
    exports: AtomicU64,
    bytes: AtomicU64,
}

/// An OTLP/HTTP receiver that takes every export (and keeps nothing).
async fn sink(addr: SocketAddr) -> anyhow::Result<(SocketAddr, Arc<Received>)> {
    let received = Arc::new(Received::default());
    let counted = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let counted = counted.clone();
            async move {
                counted.exports.fetch_add(1, Ordering::Relaxed);
                counted
                    .bytes
                    .fetch_add(body.len() as u64, Ordering::Relaxed);
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((bound, received))
}

const QUERIES: [(&str, &str); 2] = [("Q1", "q1.lua"), ("Q2", "q2.lua")];

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    if let Some(addr) = args.sink {
        let (bound, received) = sink(addr).await?;
        println!("OTLP receiver on http://{bound} (Ctrl-C stops it)");
        tokio::signal::ctrl_c().await?;
        println!(
            "{} exports, {} bytes",
            received.exports.load(Ordering::Relaxed),
            received.bytes.load(Ordering::Relaxed)
        );
        return Ok(());
    }
    let url = args.data.ensure(base).await?;
    let (bound, received) = sink("127.0.0.1:0".parse()?).await?;
    let wrk = WrkArgs {
        concurrency: args.concurrency,
        threads: args.threads,
        customers: args.data.customers,
    };
    let common = [
        ("CACHE_DISABLED", "true".to_owned()),
        ("DB_MAX_CONNECTIONS", args.concurrency.to_string()),
        ("DB_MIN_CONNECTIONS", args.concurrency.to_string()),
    ];
    let traced = |ratio: &str| {
        let mut env = common.to_vec();
        env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{bound}")));
        env.push(("OTEL_TRACES_SAMPLER_ARG", ratio.to_owned()));
        env
    };
    let configs = [
        ("off", common.to_vec()),
        ("1%", traced("0.01")),
        ("100%", traced("1.0")),
    ];
    let mut servers = Vec::new();
    for (name, env) in &configs {
        servers.push((*name, spawn_server(&url, None, env).await?));
    }
    println!(
        "{} customers, {} orders; cache disabled; {} connections, {} s per measurement, {} rounds alternated",
        args.data.customers, args.data.orders, args.concurrency, args.seconds, args.rounds
    );
    println!(
        "| query | export | req/s per round | median req/s | vs off | p99 ms (median) | errors |"
    );
    println!("| --- | --- | --- | ---: | ---: | ---: | ---: |");
    for (query, lua) in QUERIES {
        for (_, server) in &servers {
            wrk_run(&wrk, &format!("{}/graphql", server.origin), lua, 2).await?;
        }
        let mut figures: Vec<Vec<(f64, f64, u64)>> = vec![Vec::new(); servers.len()];
        for _ in 0..args.rounds {
            for (i, (_, server)) in servers.iter().enumerate() {
                let endpoint = format!("{}/graphql", server.origin);
                let w = wrk_run(&wrk, &endpoint, lua, args.seconds).await?;
                figures[i].push((w.rps, w.p99_ms, w.errors));
            }
        }
        let off = median(figures[0].iter().map(|f| f.0));
        for ((name, _), runs) in servers.iter().zip(&figures) {
            let rps = median(runs.iter().map(|f| f.0));
            let rounds: Vec<String> = runs.iter().map(|f| format!("{:.0}", f.0)).collect();
            println!(
                "| {query} | {name} | {} | {rps:.0} | {:.3} | {:.2} | {} |",
                rounds.join(", "),
                rps / off.max(1e-9),
                median(runs.iter().map(|f| f.1)),
                runs.iter().map(|f| f.2).sum::<u64>()
            );
        }
    }
    for (name, server) in &servers {
        let dropped = server.counter("otel_spans_dropped_total").await;
        let rss = rss_of(server.pid).unwrap_or(f64::NAN);
        println!("{name}: RSS {rss:.0} MiB, spans dropped {dropped:?}");
    }
    println!(
        "receiver: {} exports, {:.1} MiB",
        received.exports.load(Ordering::Relaxed),
        received.bytes.load(Ordering::Relaxed) as f64 / 1048576.0
    );
    for (_, server) in servers {
        server.stop().await;
    }
    collector_down(&url, &wrk, &common, args.down_seconds).await
}

/// Q1 at full speed, every request sampled, to a collector that is down:
/// the server's memory every 5 s, and the spans it counted as lost.
async fn collector_down(
    url: &str,
    wrk: &WrkArgs,
    common: &[(&'static str, String)],
    seconds: u64,
) -> anyhow::Result<()> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut env = common.to_vec();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{closed}")));
    env.push(("OTEL_TRACES_SAMPLER_ARG", "1.0".to_owned()));
    let server = spawn_server(url, None, &env).await?;
    let endpoint = format!("{}/graphql", server.origin);
    println!("\ncollector down, 100% sampled, Q1 for {seconds} s:");
    println!("| s | req/s | RSS MiB | spans dropped |");
    println!("| ---: | ---: | ---: | ---: |");
    let idle = rss_of(server.pid).unwrap_or(f64::NAN);
    println!("| 0 | | {idle:.1} | |");
    let mut at = 0;
    while at < seconds {
        let w = wrk_run(wrk, &endpoint, "q1.lua", 5).await?;
        at += 5;
        let rss = rss_of(server.pid).unwrap_or(f64::NAN);
        let dropped = server
            .counter("otel_spans_dropped_total")
            .await
            .unwrap_or(0.0);
        println!("| {at} | {:.0} | {rss:.1} | {dropped:.0} |", w.rps);
    }
    server.stop().await;
    Ok(())
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
