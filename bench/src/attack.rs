//! The attack soak: the release server as a process of its own, under the
//! hostile traffic that once exhausted it (fragment bombs, amplification
//! batches, a thousand-alias pool starver, idle and slow sockets) for a
//! fixed time, while another client's cheap query is timed. Reports the
//! cheap query's p50/p99 and errors, the attacks' answers by code, the
//! server's resident memory, panics in its log, and how long SIGTERM takes
//! to stop it. First it times the 2^30 fragment bomb alone and the memory it
//! costs.
//!
//! Needs the release binary: `cargo build --release -p api` first.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::dataset;
use crate::driver;
use crate::process::{Child, rss_of, spawn_server};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    /// How long the attacks run.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Idle sockets held open against the server.
    #[arg(long, default_value_t = 1_500)]
    idle_sockets: usize,
    /// Sockets that send their headers a byte at a time.
    #[arg(long, default_value_t = 200)]
    slow_sockets: usize,
}

fn fragment_bomb(levels: usize) -> String {
    let mut doc = String::from("query { ...F0 }");
    for i in 0..levels {
        doc.push_str(&format!(
            " fragment F{i} on Query {{ ...F{} ...F{} }}",
            i + 1,
            i + 1
        ));
    }
    doc.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    doc
}

const AMPLIFIER: &str = "{a: topCustomers(limit:100,minOrders:0){customer{orders(first:49){nodes{customer{orders(first:49){nodes{id}}}}}}} b: topCustomers(limit:100,minOrders:1){customer{orders(first:49){nodes{customer{orders(first:49){nodes{id}}}}}}}}";

/// `n` aliases of the ranking, each with other arguments (never cached).
fn starver(n: usize, offset: usize) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "r{i}:topCustomers(limit:1,minOrders:{}){{totalSpent}}",
                offset + i
            )
        })
        .collect();
    format!("{{{}}}", fields.join(" "))
}

/// The `extensions.code` of an answer's first error, or `ok`, or the status.
async fn outcome(resp: reqwest::Result<reqwest::Response>) -> String {
    let Ok(resp) = resp else {
        return "transport".to_owned();
    };
    let status = resp.status();
    let Ok(bytes) = resp.bytes().await else {
        return "transport".to_owned();
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let first = if value.is_array() { &value[0] } else { &value };
    match first["errors"][0]["extensions"]["code"].as_str() {
        Some(code) => code.to_owned(),
        None if status.is_success() => "ok".to_owned(),
        None => format!("HTTP {}", status.as_u16()),
    }
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    // The client side holds thousands of sockets too.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let url = args.data.ensure(base).await?;
    let server = spawn_server(&url, args.data.redis_url.as_deref(), &[]).await?;
    let graphql = format!("{}/graphql", server.origin);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(60))
        .build()?;
    println!(
        "attack soak: {} customers / {} orders, server pid {}, {} s",
        args.data.customers, args.data.orders, server.pid, args.seconds
    );

    // 1. The 2^30 fragment bomb alone.
    let bomb = fragment_bomb(30);
    let bomb_body = serde_json::to_vec(&json!({ "query": bomb }))?;
    for _ in 0..5 {
        let _ = client
            .post(&graphql)
            .header("content-type", "application/json")
            .body(bomb_body.clone())
            .send()
            .await;
    }
    let rss_before = rss_of(server.pid).unwrap_or(0.0);
    let mut times = Vec::new();
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..50 {
        let t = Instant::now();
        let resp = client
            .post(&graphql)
            .header("content-type", "application/json")
            .body(bomb_body.clone())
            .send()
            .await;
        *codes.entry(outcome(resp).await).or_default() += 1;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let rss_after = rss_of(server.pid).unwrap_or(0.0);
    times.sort_by(f64::total_cmp);
    println!(
        "fragment bomb (2^30, {} bytes) x50: {:?}; p50 {:.2} ms, max {:.2} ms; server RSS {:.1} -> {:.1} MiB ({:+.1} MiB)",
        bomb.len(),
        codes,
        times[times.len() / 2],
        times[times.len() - 1],
        rss_before,
        rss_after,
        rss_after - rss_before
    );

    // 2. The soak.
    let stop = Arc::new(AtomicBool::new(false));
    let attack_codes: Arc<std::sync::Mutex<BTreeMap<String, u64>>> = Default::default();
    let mut attackers = Vec::new();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("bomb", bomb_body.clone()),
        (
            "amplifier batch",
            serde_json::to_vec(
                &(0..16)
                    .map(|_| json!({ "query": AMPLIFIER }))
                    .collect::<Vec<_>>(),
            )?,
        ),
        (
            "1000 aliases",
            serde_json::to_vec(&json!({ "query": starver(1000, 1000) }))?,
        ),
        (
            "200 aliases",
            serde_json::to_vec(&json!({ "query": starver(200, 1) }))?,
        ),
    ];
    for (name, body) in bodies {
        for _ in 0..2 {
            let (stop, codes, body, graphql) = (
                stop.clone(),
                attack_codes.clone(),
                body.clone(),
                graphql.clone(),
            );
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?;
            attackers.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let resp = client
                        .post(&graphql)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    let code = outcome(resp).await;
                    *codes
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .entry(format!("{name}: {code}"))
                        .or_default() += 1;
                }
            }));
        }
    }
    let addr = server.origin.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..args.idle_sockets {
        if let Ok(s) = TcpStream::connect(&addr).await {
            idle.push(s);
        }
    }
    for _ in 0..args.slow_sockets {
        let (stop, addr) = (stop.clone(), addr.clone());
        attackers.push(tokio::spawn(async move {
            let head =
                b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
            while !stop.load(Ordering::SeqCst) {
                let Ok(mut s) = TcpStream::connect(&addr).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                for b in head {
                    if stop.load(Ordering::SeqCst) || s.write_all(&[*b]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }));
    }
    println!(
        "holding {} idle sockets and {} slow ones",
        idle.len(),
        args.slow_sockets
    );
    let rss_peak = Arc::new(std::sync::Mutex::new(rss_of(server.pid).unwrap_or(0.0)));
    let sampler = {
        let (stop, peak, pid) = (stop.clone(), rss_peak.clone(), server.pid);
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                if let Some(r) = rss_of(pid) {
                    let mut p = peak
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    *p = p.max(r);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    // The other client: a cheap lookup on its own keep-alive connections.
    let victim = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let (victim, graphql2, customers) = (Arc::new(victim), graphql.clone(), args.data.customers);
    let figures = driver::run(2, Duration::from_secs(args.seconds), move |_, i| {
        let (victim, graphql) = (victim.clone(), graphql2.clone());
        async move {
            let id = (i as usize * 7919) % customers + 1;
            let body = json!({ "query": "query($id: ID!) { customer(id: $id) { id name email } }", "variables": { "id": id.to_string() } });
            match outcome(victim.post(&graphql).json(&body).send().await).await.as_str() {
                "ok" => Ok(()),
                code => Err(code.to_owned()),
            }
        }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.await;
    for a in attackers {
        a.abort();
    }
    drop(idle);
    println!(
        "cheap query under attack: {} requests, {} errors {:?}, p50 {:.2} ms, p99 {:.2} ms",
        figures.requests, figures.errors, figures.errors_by_code, figures.p50_ms, figures.p99_ms
    );
    let codes = attack_codes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    for (k, n) in &codes {
        println!("  attack {k}: {n}");
    }
    println!(
        "server RSS peak {:.1} MiB",
        *rss_peak
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    );

    // 3. SIGTERM with the server still busy.
    let Child {
        mut process,
        pid,
        stderr_path,
        ..
    } = server;
    let t = Instant::now();
    let _ = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await;
    let status = tokio::time::timeout(Duration::from_secs(30), process.wait()).await;
    let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let panics = log.matches("panicked").count();
    match status {
        Ok(Ok(s)) => println!(
            "SIGTERM: stopped in {:.2} s ({s}); panics in the server's log: {panics}",
            t.elapsed().as_secs_f64()
        ),
        _ => println!("SIGTERM: still running after 30 s; panics in the server's log: {panics}"),
    }
    let _ = std::fs::remove_file(&stderr_path);
    if let Some(redis) = args.data.redis_url.as_deref() {
        let _ =
            service::cache::delete_redis_prefix(redis, &format!("attack_{}:", std::process::id()))
                .await;
    }
    Ok(())
}
