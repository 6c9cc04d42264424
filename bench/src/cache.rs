//! `topCustomers` with a cold cache (the ranking invalidated before every
//! request) and a warm one: requests per second, p50 and p99, and the ratio.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use service::cache::Scope;

use crate::{dataset, driver, harness};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let url = args.data.ensure(base).await?;
    let settings = args.data.settings(&url, "bench");
    let redis = settings.redis.clone();
    let server = Arc::new(harness::start(settings).await?);
    let body = Arc::new(serde_json::to_vec(&json!({
        "query": "{ topCustomers(limit: 10, minOrders: 5) { customer { id name } totalSpent orderCount } }"
    }))?);
    println!(
        "topCustomers(limit: 10, minOrders: 5) on {} customers / {} orders, cache: {}, {} clients, {}s each",
        args.data.customers,
        args.data.orders,
        server.state.store.cache.backend_name(),
        args.concurrency,
        args.seconds
    );
    server.post_bytes(body.to_vec(), None).await?; // warm-up

    let mut rows = Vec::new();
    for cold in [true, false] {
        let (s, b) = (server.clone(), body.clone());
        let figures = driver::run(
            args.concurrency,
            Duration::from_secs(args.seconds),
            move |_, _| {
                let (s, b) = (s.clone(), b.clone());
                async move {
                    if cold {
                        s.state.store.cache.invalidate(&[Scope::Ranking]).await;
                    }
                    s.send(b.to_vec(), None).await
                }
            },
        )
        .await;
        rows.push((
            if cold {
                "cold (invalidated before every request)"
            } else {
                "warm"
            },
            figures,
        ));
    }
    println!();
    println!("| cache | requests/s | p50 ms | p99 ms | errors |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, f) in &rows {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {} |",
            f.rps(),
            f.p50_ms,
            f.p99_ms,
            f.errors
        );
    }
    println!();
    println!(
        "warm/cold throughput: {:.1}x",
        rows[1].1.rps() / rows[0].1.rps().max(1e-9)
    );
    harness::forget_redis_keys(&redis).await;
    if let Some(rss) = driver::rss_mib() {
        println!("resident memory of the process (server and load generator): {rss:.0} MiB");
    }
    Ok(())
}
