//! The query builder on the full data set, the release server as a process
//! of its own with the result cache disabled (the engine):
//!
//! 1. The README's three screens, driven by wrk, side by side with pgbench
//!    running the SQL an ideal server would send for each (prepared
//!    statements, same concurrency): (a) PAID or SHIPPED orders of at least
//!    400.00 in the data's last 30 days by total descending, page 1 and
//!    page 20; (b) customers whose name contains "ann" by total spent, with
//!    `totalCount`; (c) customers with some PENDING order over 450.00 by
//!    name. Each screen is checked to answer without errors first (wrk
//!    counts HTTP failures only).
//! 2. Random compositions from one client: `where` trees of every field and
//!    operator (relation filters included), `orderBy` of one to three keys,
//!    `first` or `last`, and a follow-up page through the cursor the first
//!    one returned; p50, p99 and max of the accepted ones, the share
//!    refused (`QUERY_TOO_EXPENSIVE`) and the refusals' p99.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::compositions::composition;
use crate::dataset;
use crate::load::{WrkArgs, pgbench_run, wrk_run};
use crate::process::spawn_server;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: dataset::DataSet,
    /// Concurrent connections (wrk and pgbench), and the server's pool size.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per screen measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of random compositions.
    #[arg(long, default_value_t = 30)]
    compositions_seconds: u64,
    /// Threads of wrk and pgbench.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Only the random compositions.
    #[arg(long)]
    skip_screens: bool,
    /// Print accepted compositions slower than this many milliseconds.
    #[arg(long, default_value_t = 100.0)]
    show_slower_than_ms: f64,
}

/// The seed's anchor (`service::seed::anchor`) less 30 days.
fn since() -> String {
    (service::seed::anchor() - chrono::Duration::days(30)).to_rfc3339()
}

pub fn screen_a(after: Option<&str>) -> String {
    let after = after
        .map(|c| format!(", after: \"{c}\""))
        .unwrap_or_default();
    format!(
        "{{ orders(where: {{status: {{in: [PAID, SHIPPED]}}, total: {{gte: \"400\"}}, createdAt: {{gte: \"{}\"}}}}, orderBy: [TOTAL_DESC], first: 20{after}) {{ nodes {{ id total status createdAt }} pageInfo {{ endCursor }} }} }}",
        since()
    )
}

pub const SCREEN_B: &str = "{ customers(where: {name: {contains: \"ann\", caseInsensitive: true}}, orderBy: [TOTAL_SPENT_DESC], first: 20) { totalCount nodes { id name totalSpent } } }";
pub const SCREEN_C: &str = "{ customers(where: {orders: {some: {status: {eq: PENDING}, total: {gt: \"450\"}}}}, orderBy: [NAME_ASC], first: 20) { nodes { id name } } }";

fn ideal_a(position: Option<(i64, i64)>) -> String {
    let bound = position
        .map(|(cents, id)| format!(" AND (total_cents, id) < ({cents}, {id})"))
        .unwrap_or_default();
    format!(
        "SELECT id, customer_id, total_cents, status, created_at FROM orders WHERE status IN ('PAID', 'SHIPPED') AND total_cents >= 40000 AND created_at >= '{}'{bound} ORDER BY total_cents DESC, id DESC LIMIT 21;\n",
        since()
    )
}

const IDEAL_B: &str = "SELECT c.id, c.name, c.email, c.phone, c.created_at, COALESCE(s.total_cents, 0) AS t FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id WHERE lower(c.name) LIKE '%ann%' ORDER BY t DESC, c.id DESC LIMIT 21;\nSELECT count(*) FROM customers WHERE lower(name) LIKE '%ann%';\n";
const IDEAL_C: &str = "SELECT c.id, c.name, c.email, c.phone, c.created_at FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.status = 'PENDING' AND o.total_cents > 45000) ORDER BY c.name, c.id LIMIT 21;\n";

pub(crate) async fn post(
    client: &reqwest::Client,
    endpoint: &str,
    query: &str,
) -> anyhow::Result<Value> {
    Ok(client
        .post(endpoint)
        .json(&json!({ "query": query }))
        .send()
        .await?
        .json()
        .await?)
}

pub(crate) fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// A wrk script posting `query`, in a file of its own.
pub(crate) fn lua(dir: &std::path::Path, name: &str, query: &str) -> anyhow::Result<PathBuf> {
    let body = serde_json::to_string(&json!({ "query": query }))?;
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(
        &path,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [==[{body}]==]\n"
        ),
    )?;
    Ok(path)
}

/// Where and how long a request is measured against its SQL.
pub(crate) struct Measured<'a> {
    pub wrk: &'a WrkArgs,
    pub url: &'a str,
    pub endpoint: &'a str,
    pub dir: &'a std::path::Path,
    pub seconds: u64,
}

impl Measured<'_> {
    /// pgbench running `sql`, then wrk posting `query` (after a 2 s
    /// warm-up): one table row, `| name | rows | req/s | p50 | p99 |
    /// errors | tps | ratio |`.
    pub(crate) async fn side_by_side(
        &self,
        file: &str,
        name: &str,
        rows: usize,
        query: &str,
        sql: &str,
    ) -> anyhow::Result<()> {
        let script = lua(self.dir, file, query)?;
        let sql_path = self.dir.join(format!("{file}.sql"));
        std::fs::write(&sql_path, sql)?;
        let (tps, _) = pgbench_run(
            self.wrk,
            self.url,
            sql_path.to_str().context("path")?,
            self.seconds,
        )
        .await?;
        let script = script.to_str().context("path")?;
        wrk_run(self.wrk, self.endpoint, script, 2).await?;
        let w = wrk_run(self.wrk, self.endpoint, script, self.seconds).await?;
        println!(
            "| {name} | {rows} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.2} |",
            w.rps,
            w.p50_ms,
            w.p99_ms,
            w.errors,
            tps,
            w.rps / tps.max(1e-9)
        );
        Ok(())
    }
}

/// The release server on `url` as a process of its own, the result cache
/// disabled (the engine), its pool as large as the clients; and its
/// GraphQL endpoint.
pub(crate) async fn engine_server(
    url: &str,
    concurrency: usize,
) -> anyhow::Result<(crate::process::Child, String)> {
    let c = concurrency.to_string();
    let env = [
        ("CACHE_DISABLED", "true".to_owned()),
        ("DB_MAX_CONNECTIONS", c.clone()),
        ("DB_MIN_CONNECTIONS", c),
    ];
    let server = spawn_server(url, None, &env).await?;
    let endpoint = format!("{}/graphql", server.origin);
    Ok((server, endpoint))
}

pub async fn run(base: &str, args: Args) -> anyhow::Result<()> {
    let url = args.data.ensure(base).await?;
    let (server, endpoint) = engine_server(&url, args.concurrency).await?;
    let client = reqwest::Client::new();

    // Page 20 of screen (a): walk there once.
    let mut cursor: Option<String> = None;
    let mut position = None;
    for _ in 0..19 {
        let body = post(&client, &endpoint, &screen_a(cursor.as_deref())).await?;
        anyhow::ensure!(code(&body).is_none(), "screen (a): {body}");
        let nodes = body["data"]["orders"]["nodes"]
            .as_array()
            .context("nodes")?;
        let last = nodes.last().context("fewer than 20 pages")?;
        let cents =
            (last["total"].as_str().context("total")?.parse::<f64>()? * 100.0).round() as i64;
        let id: i64 = last["id"].as_str().context("id")?.parse()?;
        position = Some((cents, id));
        cursor = body["data"]["orders"]["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    let dir = std::env::temp_dir().join(format!("bench-compose-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let screens = [
        ("(a) page 1", screen_a(None), ideal_a(None)),
        (
            "(a) page 20",
            screen_a(cursor.as_deref()),
            ideal_a(position),
        ),
        (
            "(b) name contains \"ann\", by total spent, totalCount",
            SCREEN_B.to_owned(),
            IDEAL_B.to_owned(),
        ),
        (
            "(c) some PENDING order over 450, by name",
            SCREEN_C.to_owned(),
            IDEAL_C.to_owned(),
        ),
    ];
    let wrk = WrkArgs {
        concurrency: args.concurrency,
        threads: args.threads,
        customers: args.data.customers,
    };
    println!(
        "{} customers, {} orders; cache disabled; {} connections, {} s each\n",
        args.data.customers, args.data.orders, args.concurrency, args.seconds
    );
    println!(
        "| screen | rows | server req/s | p50 ms | p99 ms | errors | pgbench tps (ideal SQL) | server/pgbench |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let measured = Measured {
        wrk: &wrk,
        url: &url,
        endpoint: &endpoint,
        dir: &dir,
        seconds: args.seconds,
    };
    for (i, (name, query, sql)) in screens.iter().enumerate().filter(|_| !args.skip_screens) {
        let body = post(&client, &endpoint, query).await?;
        anyhow::ensure!(code(&body).is_none(), "{name}: {body}");
        let rows = ["orders", "customers"]
            .iter()
            .find_map(|f| body["data"][f]["nodes"].as_array().map(Vec::len))
            .unwrap_or(0);
        measured
            .side_by_side(&format!("screen{i}"), name, rows, query, sql)
            .await?;
    }
    let _ = std::fs::remove_dir_all(&dir);

    // Random compositions from one client.
    let mut rng = StdRng::seed_from_u64(7);
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    let mut errors = 0u64;
    let deadline = Instant::now() + Duration::from_secs(args.compositions_seconds);
    while Instant::now() < deadline {
        let (query, list) = composition(&mut rng);
        let t = Instant::now();
        let body = post(&client, &endpoint, &query).await?;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        match code(&body) {
            None => {
                accepted.push(took);
                if took > args.show_slower_than_ms {
                    eprintln!("slow ({took:.0} ms): {query}");
                }
            }
            Some("QUERY_TOO_EXPENSIVE") => {
                refused.push(took);
                continue;
            }
            Some(other) => {
                errors += 1;
                eprintln!("{other}: {query}\n{body}");
                continue;
            }
        }
        // Half the time, the next page through the cursor it returned.
        let cursor = body["data"][list]["pageInfo"]["endCursor"].as_str();
        if let Some(cursor) = cursor.filter(|_| rng.random_bool(0.5)) {
            let next = query.replacen("first: ", &format!("after: \"{cursor}\", first: "), 1);
            let t = Instant::now();
            let body = post(&client, &endpoint, &next).await?;
            let took = t.elapsed().as_secs_f64() * 1000.0;
            match code(&body) {
                None => accepted.push(took),
                Some("QUERY_TOO_EXPENSIVE") => refused.push(took),
                Some(_) => errors += 1,
            }
        }
    }
    server.stop().await;
    let pct = |v: &mut Vec<f64>, p: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * p).round() as usize]
    };
    let total = accepted.len() + refused.len();
    println!(
        "\nrandom compositions, one client, {} s: {} requests, {} accepted (p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms), {} refused ({:.1}%, p50 {:.2} ms, p99 {:.2} ms), {errors} errors",
        args.compositions_seconds,
        total,
        accepted.len(),
        pct(&mut accepted, 0.5),
        pct(&mut accepted, 0.99),
        pct(&mut accepted, 1.0),
        refused.len(),
        100.0 * refused.len() as f64 / total.max(1) as f64,
        pct(&mut refused, 0.5),
        pct(&mut refused, 0.99),
    );
    Ok(())
}
