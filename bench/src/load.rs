//! The load benchmark: what one request costs. Q1 and Q2 against the
//! release server as a process of its own, driven by wrk (a load generator
//! in C, in another process: keep-alive connections, `--concurrency` of
//! them, for `--seconds`), once with the result cache disabled (the engine)
//! and once enabled (in-process, or Redis with `--redis-url`); and the
//! limit: the same SQL served by PostgreSQL to pgbench, with prepared
//! statements at the same concurrency. Scripts: `bench/scripts/`.
//!
//! Q1 `customer(id) { id name email }`, random ids.
//! Q2 `customers(first: 50) { nodes { id name orders(first: 5) { nodes { id total createdAt } } } }`.
//!
//! Needs the release binary (`cargo build --release -p api`), wrk and
//! pgbench.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;

use crate::dataset;
use crate::process::{rss_of, spawn_server};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    /// Concurrent connections (wrk and pgbench), and the server's pool size.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Threads of wrk and pgbench.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Rewrite the results section of this Markdown file (e.g. BENCHMARKS.md).
    #[arg(long)]
    report: Option<PathBuf>,
}

const QUERIES: [(&str, &str, &str); 2] = [
    ("Q1 customer(id) { id name email }", "q1.lua", "q1.sql"),
    (
        "Q2 customers(first: 50) { nodes { id name orders(first: 5) { … } } }",
        "q2.lua",
        "q2.sql",
    ),
];

/// What wrk measured.
pub struct Wrk {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: f64,
    pub errors: u64,
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// `1.23ms`, `456.00us`, `1.02s` in milliseconds.
fn millis(text: &str) -> Option<f64> {
    let (num, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    num.parse::<f64>().ok().map(|v| v * factor)
}

/// How wrk drives a server.
pub struct WrkArgs {
    pub concurrency: usize,
    pub threads: usize,
    /// Ids the scripts pick from (1 to this).
    pub customers: usize,
}

impl Args {
    fn wrk(&self) -> WrkArgs {
        WrkArgs {
            concurrency: self.concurrency,
            threads: self.threads,
            customers: self.data.customers,
        }
    }
}

/// Runs wrk with `script` (in `bench/scripts/`) against `url` for `seconds`.
pub async fn wrk_run(args: &WrkArgs, url: &str, script: &str, seconds: u64) -> anyhow::Result<Wrk> {
    let out = tokio::process::Command::new("wrk")
        .args([
            &format!("-t{}", args.threads),
            &format!("-c{}", args.concurrency),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(scripts().join(script))
        .arg(url)
        .env("CUSTOMERS", args.customers.to_string())
        .stderr(Stdio::inherit())
        .output()
        .await
        .context("running wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_owned()))
    };
    let percentile = |p: &str| field(p).and_then(|v| millis(&v)).unwrap_or(f64::NAN);
    let errors: u64 = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum();
    Ok(Wrk {
        rps: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("wrk printed no rate:\n{text}"))?,
        p50_ms: percentile("50%"),
        p99_ms: percentile("99%"),
        requests: text
            .lines()
            .find_map(|l| l.trim().split(" requests in").next()?.trim().parse().ok())
            .unwrap_or(f64::NAN),
        errors,
    })
}

/// Runs pgbench (prepared statements) with `script` against `url` for
/// `seconds`: transactions per second and the average latency in ms.
pub async fn pgbench_run(
    args: &WrkArgs,
    url: &str,
    script: &str,
    seconds: u64,
) -> anyhow::Result<(f64, f64)> {
    let out = tokio::process::Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            &format!("-c{}", args.concurrency),
            &format!("-j{}", args.threads),
            &format!("-T{seconds}"),
            "-D",
            &format!("customers={}", args.customers),
            "-f",
        ])
        .arg(scripts().join(script))
        .arg(url)
        .output()
        .await
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let tps = text
        .lines()
        .find_map(|l| l.strip_prefix("tps = ")?.split(' ').next()?.parse().ok())
        .with_context(|| {
            format!(
                "pgbench printed no tps:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let latency = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("latency average = ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(f64::NAN);
    Ok((tps, latency))
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let url = args.data.ensure(base).await?;
    let mut table = format!(
        "{} customers, {} orders; {} connections, {} s per measurement, wrk and pgbench with {} threads; the server is the release binary as a process of its own\n\n",
        args.data.customers, args.data.orders, args.concurrency, args.seconds, args.threads
    );
    table.push_str("| query | result cache | server req/s | p50 ms | p99 ms | errors | SQL/request | server RSS MiB | pgbench tps (same SQL) | pgbench latency ms | server/pgbench |\n");
    table
        .push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (name, lua, sql) in QUERIES {
        let (tps, latency) = pgbench_run(&args.wrk(), &url, sql, args.seconds).await?;
        for cache_disabled in [true, false] {
            let env = [
                ("CACHE_DISABLED", cache_disabled.to_string()),
                ("DB_MAX_CONNECTIONS", args.concurrency.to_string()),
                ("DB_MIN_CONNECTIONS", args.concurrency.to_string()),
            ];
            let server = spawn_server(&url, args.data.redis_url.as_deref(), &env).await?;
            let endpoint = format!("{}/graphql", server.origin);
            wrk_run(&args.wrk(), &endpoint, lua, 2).await?;
            let before = server.counter("sql_statements_total").await.unwrap_or(0.0);
            let pid = server.pid;
            let peak = std::sync::Arc::new(std::sync::Mutex::new(0.0f64));
            let sampler = {
                let peak = peak.clone();
                tokio::spawn(async move {
                    loop {
                        if let Some(r) = rss_of(pid)
                            && let Ok(mut p) = peak.lock()
                        {
                            *p = p.max(r);
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                })
            };
            let w = wrk_run(&args.wrk(), &endpoint, lua, args.seconds).await?;
            sampler.abort();
            let statements = server.counter("sql_statements_total").await.unwrap_or(0.0) - before;
            let rss = *peak.lock().map_err(|_| anyhow::anyhow!("sampler"))?;
            server.stop().await;
            let cache = if cache_disabled {
                "disabled"
            } else if args
                .data
                .redis_url
                .as_deref()
                .is_some_and(|u| !u.is_empty())
            {
                "redis"
            } else {
                "in-process"
            };
            let line = format!(
                "| {name} | {cache} | {:.0} | {:.2} | {:.2} | {} | {:.2} | {:.0} | {:.0} | {:.3} | {:.2} |\n",
                w.rps,
                w.p50_ms,
                w.p99_ms,
                w.errors,
                statements / w.requests.max(1.0),
                rss,
                tps,
                latency,
                w.rps / tps.max(1e-9)
            );
            print!("{line}");
            table.push_str(&line);
        }
    }
    println!();
    println!("{table}");
    if let Some(path) = &args.report {
        write_report(path, &table)?;
        println!("wrote the results into {}", path.display());
    }
    Ok(())
}

const BEGIN: &str = "<!-- bench load: begin -->";
const END: &str = "<!-- bench load: end -->";

/// Replaces the text between the markers (or appends a section).
fn write_report(path: &Path, table: &str) -> anyhow::Result<()> {
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
