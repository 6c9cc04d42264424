//! `cargo run --release -p bench -- <bulk|cache|load|soak|attack|persisted|aggregates|live|replicas|compose|dashboards|upkeep|traces>`: benchmarks that
//! print their figures. Each needs PostgreSQL (`--database-url` or
//! `DATABASE_URL`, any database the user may connect to); it creates and
//! drops its own database.

mod aggregates;
mod attack;
mod bulk;
mod cache;
mod cluster;
mod compose;
mod compositions;
mod dashboards;
mod dataset;
mod driver;
mod harness;
mod live;
mod live_client;
mod load;
mod persisted;
mod process;
mod replicas;
mod soak;
mod traces;
mod upkeep;

use clap::{Parser, Subcommand};

/// mimalloc: glibc's allocator spent a quarter of a bulk request in
/// malloc/free (measured with perf on `bench bulk`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "bench", about = "Benchmarks of the customer and order server")]
struct Cli {
    /// A PostgreSQL URL; the benchmark works in a database of its own next to it.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Rows per second: createOrder per row, createOrders in batches, seed, and COPY.
    Bulk(bulk::Args),
    /// topCustomers with a cold and a warm cache.
    Cache(cache::Args),
    /// Q1–Q4 over HTTP against the same work as plain SQL.
    Load(load::Args),
    /// A mixed read/write load at many clients for a fixed time.
    Soak(soak::Args),
    /// The release server as a process, under hostile traffic, while a cheap query is timed.
    Attack(attack::Args),
    /// Queries sent by their persisted-query hash against the same with their document.
    Persisted(persisted::Args),
    /// The kept aggregates: backfill, the ranking against the plain aggregate, same-customer writes.
    Aggregates(aggregates::Args),
    /// Subscribers on one instance, orders created through another: delivery latency and memory.
    Live(live::Args),
    /// Q1/Q2 reads on a streaming replica against reads on the primary, under a write load.
    Replicas(replicas::Args),
    /// The query builder: the README's screens against pgbench, random compositions.
    Compose(compose::Args),
    /// Four dashboard aggregates against the plain SQL GROUP BY they replace.
    Dashboards(dashboards::Args),
    /// What the kept order rollups cost writers: upkeep on against off.
    Upkeep(upkeep::Args),
    /// Q1/Q2 with traces off, sampled at 1% and 100%; memory with the collector down.
    Traces(traces::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let base = cli
        .database_url
        .filter(|u| u.starts_with("postgres"))
        .ok_or_else(|| anyhow::anyhow!("the benchmarks need PostgreSQL: set DATABASE_URL or pass --database-url postgres://…"))?;
    match cli.command {
        Command::Bulk(args) => bulk::run(&base, args).await,
        Command::Cache(args) => cache::run(&base, args).await,
        Command::Load(args) => load::run(&base, args).await,
        Command::Soak(args) => soak::run(&base, args).await,
        Command::Attack(args) => attack::run(&base, args).await,
        Command::Persisted(args) => persisted::run(&base, args).await,
        Command::Aggregates(args) => aggregates::run(&base, args).await,
        Command::Live(args) => live::run(&base, args).await,
        Command::Replicas(args) => replicas::run(&base, args).await,
        Command::Compose(args) => compose::run(&base, args).await,
        Command::Dashboards(args) => dashboards::run(&base, args).await,
        Command::Upkeep(args) => upkeep::run(&base, args).await,
        Command::Traces(args) => traces::run(&base, args).await,
    }
}
