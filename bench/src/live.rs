//! `bench live`: subscribers on one server instance, orders created through
//! another at a steady rate, events fanned out through Redis.
//!
//! Both instances are the release server as processes of their own. Each
//! subscriber is a WebSocket (`graphql-transport-ws`) with one
//! `orderCreated` subscription. The writer sends `createOrder` to the other
//! instance at `--rate` per second, each order's total encoding its
//! sequence number; a subscriber's latency for an order is the time from
//! just before its mutation was sent (so: request, insert, commit, publish,
//! fan-out, resolution and the socket) to the message's arrival. Reports
//! the latency percentiles over every delivery, deliveries missing, the
//! subscribing instance's resident memory idle, per idle subscription, and
//! under the load, and the CPU the subscribing instance and this client
//! used while orders were written (per delivery).
//!
//! With `--audiences N` the subscribers ask for `orderCreated(customerId:
//! …)` of N customers (subscriber i the customer i mod N), and the orders
//! go to those customers in turn: N audiences. The client (`live_client`) reads
//! only each message's total (the sequence number), without parsing the JSON.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::harness;
use crate::process::{cpu_seconds_of, rss_of, spawn_server};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Subscribers (one WebSocket and one subscription each).
    #[arg(long, default_value_t = 1_000)]
    subscribers: usize,
    /// Orders created per second through the other instance.
    #[arg(long, default_value_t = 20)]
    rate: u64,
    /// How long orders are created.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Distinct subscriptions (`orderCreated` of this many customers); 1:
    /// every subscriber sends the same document, without arguments.
    #[arg(long, default_value_t = 1)]
    audiences: usize,
    /// Redis shared by the two instances.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379/0")]
    redis_url: String,
}

pub const SUBSCRIPTION: &str = "subscription { orderCreated { id total createdAt } }";
pub const OF_CUSTOMER: &str =
    "subscription($c: ID) { orderCreated(customerId: $c) { id total createdAt } }";

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let name = "bench_live";
    let url = harness::fresh_database(base, name).await?;
    let env = [("DB_MAX_CONNECTIONS", "16".to_owned())];
    let a = spawn_server(&url, Some(&args.redis_url), &env).await?;
    let b = spawn_server(&url, Some(&args.redis_url), &env).await?;
    let client = reqwest::Client::new();
    let token = harness::writer_token()?;
    let graphql_b = format!("{}/graphql", b.origin);
    let audiences = args.audiences.max(1);
    let news: Vec<Value> = (0..audiences)
        .map(|i| json!({ "name": format!("Live {i}"), "email": format!("live{i}@example.com") }))
        .collect();
    let created: Value = client
        .post(&graphql_b)
        .bearer_auth(&token)
        .json(&json!({
            "query": "mutation($i: [CreateCustomerInput!]!) { createCustomers(input: $i) { id } }",
            "variables": { "i": news },
        }))
        .send()
        .await?
        .json()
        .await?;
    let customers: Vec<String> = created
        .pointer("/data/createCustomers")
        .and_then(Value::as_array)
        .context("creating the customers")?
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    anyhow::ensure!(
        customers.len() == audiences,
        "creating the customers: {created}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = rss_of(a.pid).unwrap_or(0.0);

    let total_orders = (args.rate * args.seconds) as usize;
    let sent_at: Arc<Vec<AtomicU64>> =
        Arc::new((0..total_orders + 2).map(|_| AtomicU64::new(0)).collect());
    let start = Instant::now();
    let ready = Arc::new(tokio::sync::Barrier::new(args.subscribers + 1));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::with_capacity(args.subscribers);
    for i in 0..args.subscribers {
        let customer = (audiences > 1).then(|| customers[i % audiences].clone());
        tasks.push(tokio::spawn(crate::live_client::subscriber(
            a.origin.clone(),
            customer,
            sent_at.clone(),
            start,
            ready.clone(),
            stop_rx.clone(),
        )));
        // Do not open a thousand handshakes at once.
        tokio::task::yield_now().await;
    }
    ready.wait().await;
    // Let the last subscriptions reach the server.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_subscribed = rss_of(a.pid).unwrap_or(0.0);
    let open = a.counter("ws_connections_open").await.unwrap_or(0.0);

    // Steady writes through B.
    let interval = Duration::from_micros(1_000_000 / args.rate.max(1));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut writes = Vec::with_capacity(total_orders);
    let mut rss_peak = rss_subscribed;
    let server_cpu = cpu_seconds_of(&a.pid.to_string()).unwrap_or(0.0);
    let client_cpu = cpu_seconds_of("self").unwrap_or(0.0);
    for n in 1..=total_orders {
        let customer = &customers[n % audiences];
        ticker.tick().await;
        sent_at[n].store(start.elapsed().as_micros() as u64, Ordering::SeqCst);
        let body = json!({
            "query": "mutation($c: ID!, $t: Decimal!) { createOrder(input: {customerId: $c, total: $t}) { id } }",
            "variables": { "c": customer, "t": format!("{}.{:02}", n / 100, n % 100) },
        });
        let client = client.clone();
        let graphql_b = graphql_b.clone();
        let token = token.clone();
        writes.push(tokio::spawn(async move {
            client
                .post(&graphql_b)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }));
        if n % (args.rate as usize).max(1) == 0 {
            rss_peak = rss_peak.max(rss_of(a.pid).unwrap_or(0.0));
        }
    }
    let mut failed_writes = 0;
    for w in writes {
        if !w.await.unwrap_or(false) {
            failed_writes += 1;
        }
    }
    // Let the last events arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server_cpu = cpu_seconds_of(&a.pid.to_string()).unwrap_or(0.0) - server_cpu;
    let client_cpu = cpu_seconds_of("self").unwrap_or(0.0) - client_cpu;
    let _ = stop_tx.send(true);
    // Each subscriber hears the orders of its customer (all of them with
    // one audience).
    let per_subscriber = |i: usize| {
        if audiences == 1 {
            total_orders as u64
        } else {
            (1..=total_orders)
                .filter(|n| n % audiences == i % audiences)
                .count() as u64
        }
    };
    let mut histogram = Histogram::<u64>::new(3)?;
    let mut delivered = 0u64;
    let mut expected = 0u64;
    let mut failed_subscribers = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await {
            Ok(Ok(latencies)) => {
                expected += per_subscriber(i);
                for l in latencies {
                    histogram.record(l.max(1))?;
                    delivered += 1;
                }
            }
            _ => failed_subscribers += 1,
        }
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "live: {} subscribers on instance A ({} WebSockets open) in {} audiences, {} orders/s for {} s through instance B, events through Redis",
        args.subscribers, open, audiences, args.rate, args.seconds
    );
    println!(
        "  deliveries: {delivered} of {expected} ({} missing), failed writes {failed_writes}, failed subscribers {failed_subscribers}",
        expected.saturating_sub(delivered)
    );
    println!(
        "  latency from sending the mutation to the subscriber: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        histogram.max() as f64 / 1000.0
    );
    println!(
        "  instance A resident memory: {rss_idle:.1} MiB idle, {rss_subscribed:.1} MiB with {} idle subscriptions ({:.1} KiB each), {rss_peak:.1} MiB peak under the load",
        args.subscribers,
        (rss_subscribed - rss_idle) * 1024.0 / args.subscribers.max(1) as f64
    );
    println!(
        "  CPU while orders were written: instance A {server_cpu:.2} s ({:.1} µs per delivery), this client {client_cpu:.2} s ({:.1} µs per delivery)",
        server_cpu * 1e6 / delivered.max(1) as f64,
        client_cpu * 1e6 / delivered.max(1) as f64
    );
    a.stop().await;
    b.stop().await;
    harness::drop_database(base, name).await?;
    Ok(())
}
