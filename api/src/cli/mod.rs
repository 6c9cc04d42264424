//! The command line: `serve` (the default), `migrate`, `seed`, `import`,
//! `stats`, `print-schema` and `token`; a file per command.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

mod import;
mod migrate;
mod seed;
mod serve;
mod stats;

pub use self::serve::shutdown_signal;

use crate::auth::{Jwt, Role};
use crate::settings::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "api",
    version,
    about = "GraphQL server for customers and orders"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations (unless --no-migrate), then serve HTTP. The default.
    Serve {
        /// Do not apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Manage schema versions.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Write deterministic demo data through the bulk path.
    Seed {
        /// Customers to create.
        #[arg(long, default_value_t = 1_000)]
        customers: usize,
        /// Orders to create, spread over the customers.
        #[arg(long, default_value_t = 10_000)]
        orders: usize,
        /// The same seed gives the same data on a fresh database.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Import customers or orders from a CSV or JSON Lines file: all or nothing.
    Import {
        /// The file: `.csv`, `.jsonl` or `.ndjson`.
        file: PathBuf,
        /// What the file holds; by default guessed from its name
        /// (`customers…` or `orders…`).
        #[arg(long, value_enum)]
        kind: Option<ImportKind>,
        /// The file's format; by default taken from its extension.
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
    },
    /// Print the GraphQL SDL exactly as schema.graphql holds it.
    PrintSchema,
    /// Compare the maintained per-customer aggregates with a full recompute
    /// (exit 1 listing the differences), or repair them.
    Stats {
        #[command(subcommand)]
        action: StatsAction,
    },
    /// Print a bearer token signed with JWT_SECRET.
    Token {
        #[arg(long, value_enum, default_value_t = Role::Writer)]
        role: Role,
        /// The customer a `customer` token speaks for (required with it).
        #[arg(long)]
        customer_id: Option<i64>,
        /// The token's subject: `customer:<id>` for a customer, else `cli`.
        #[arg(long)]
        sub: Option<String>,
        /// Validity in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl_secs: u64,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    Customers,
    Orders,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    Csv,
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum StatsAction {
    /// Compare with a full recompute from `orders`; exit 1 listing differences.
    Check,
    /// Recompute what differs, with writers held off meanwhile.
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply pending migrations (all, or the next N).
    Up {
        #[arg(short = 'n', long)]
        steps: Option<u32>,
    },
    /// Roll back the last N applied migrations (default 1).
    Down {
        #[arg(short = 'n', long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
    /// Drop every table, then apply all migrations.
    Fresh,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve { no_migrate: false }) {
        Command::Serve { no_migrate } => serve::serve(settings, !no_migrate).await,
        Command::Migrate { action } => migrate::migrate(settings, action).await,
        Command::Seed {
            customers,
            orders,
            seed,
        } => seed::seed(settings, customers, orders, seed).await,
        Command::Import { file, kind, format } => {
            import::import(settings, &file, kind, format).await
        }
        Command::Stats { action } => stats::stats(settings, action).await,
        Command::PrintSchema => {
            print!("{}", crate::graphql::schema::sdl());
            Ok(())
        }
        Command::Token {
            role,
            customer_id,
            sub,
            ttl_secs,
        } => {
            let secret = settings
                .auth
                .jwt_secret
                .filter(|s| !s.is_empty())
                .context("set JWT_SECRET (the server's secret) to sign a token")?;
            let token = token(
                &Jwt::new(secret.as_bytes()),
                role,
                customer_id,
                sub,
                Duration::from_secs(ttl_secs),
            )?;
            println!("{token}");
            Ok(())
        }
    }
}

/// What `api token` prints: a token for `role` (a customer's with its id,
/// which that role needs and no other takes), its subject `sub`, else
/// `customer:<id>` for a customer and `cli` for staff.
pub fn token(
    jwt: &Jwt,
    role: Role,
    customer_id: Option<i64>,
    sub: Option<String>,
    ttl: Duration,
) -> anyhow::Result<String> {
    let customer_id = match (role, customer_id) {
        (Role::Customer, Some(id)) if id > 0 => Some(id),
        (Role::Customer, Some(id)) => anyhow::bail!("--customer-id {id} is not a valid id"),
        (Role::Customer, None) => {
            anyhow::bail!("a customer token needs --customer-id <the customer's id>")
        }
        (_, Some(_)) => anyhow::bail!("--customer-id goes with --role customer only"),
        (_, None) => None,
    };
    let sub = sub.unwrap_or_else(|| match customer_id {
        Some(id) => format!("customer:{id}"),
        None => "cli".to_owned(),
    });
    Ok(jwt.issue_for(&sub, role, customer_id, ttl)?)
}
