//! The command line: `serve` (the default), `migrate`, `seed`,
//! `print-schema` and `token`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use migration::{Migrator, MigratorTrait};
use service::Store;
use service::seed::SeedProgress;

use crate::auth::{Jwt, Role};
use crate::settings::Settings;
use crate::startup::{Application, BuildOptions, build_cache, connect_database};

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
    /// Print a bearer token signed with JWT_SECRET.
    Token {
        #[arg(long, value_enum, default_value_t = Role::Writer)]
        role: Role,
        #[arg(long, default_value = "cli")]
        sub: String,
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
        Command::Serve { no_migrate } => serve(settings, !no_migrate).await,
        Command::Migrate { action } => migrate(settings, action).await,
        Command::Seed {
            customers,
            orders,
            seed,
        } => seed_command(settings, customers, orders, seed).await,
        Command::Import { file, kind, format } => {
            import_command(settings, &file, kind, format).await
        }
        Command::PrintSchema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Token {
            role,
            sub,
            ttl_secs,
        } => {
            let secret = settings
                .jwt_secret
                .filter(|s| !s.is_empty())
                .context("set JWT_SECRET (the server's secret) to sign a token")?;
            let token =
                Jwt::new(secret.as_bytes()).issue(&sub, role, Duration::from_secs(ttl_secs))?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn serve(settings: Settings, migrate: bool) -> anyhow::Result<()> {
    // Connections past the kernel's open-file limit would fail to accept;
    // the connection cap should decide instead.
    if let Some(files) = crate::server::raise_open_file_limit() {
        let needed =
            settings.http_max_connections as u64 + u64::from(settings.db_max_connections) + 256;
        if files < needed {
            tracing::warn!(
                open_files = files,
                http_max_connections = settings.http_max_connections,
                "the open-file limit is below HTTP_MAX_CONNECTIONS plus the pool and a reserve; lower HTTP_MAX_CONNECTIONS or raise the hard limit (ulimit -Hn)"
            );
        } else {
            tracing::info!(open_files = files, "open-file limit");
        }
    }
    let app = Application::build(
        settings,
        BuildOptions {
            migrate,
            record_sql: false,
        },
    )
    .await?;
    let addr = &app.state().settings.listen_addr;
    let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
    let host = if host == "0.0.0.0" || host == "[::]" {
        "127.0.0.1"
    } else {
        host
    };
    tracing::info!(
        "GraphiQL playground: http://{host}:{}/graphql  (metrics: /metrics, health: /healthz, /readyz)",
        app.port()
    );
    app.run_until(shutdown_signal()).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

async fn migrate(settings: Settings, action: MigrateAction) -> anyhow::Result<()> {
    let db = connect_database(&settings, Default::default()).await?;
    match action {
        MigrateAction::Up { steps } => {
            Migrator::up(&db, steps)
                .await
                .context("migrate up failed")?;
        }
        MigrateAction::Down { steps } => {
            Migrator::down(&db, Some(steps))
                .await
                .context("migrate down failed")?;
        }
        MigrateAction::Fresh => {
            Migrator::fresh(&db).await.context("migrate fresh failed")?;
        }
        MigrateAction::Status => {}
    }
    for m in Migrator::get_migration_with_status(&db)
        .await
        .context("reading migration status")?
    {
        println!("{:<9} {}", m.status().to_string(), m.name());
    }
    Ok(())
}

async fn seed_command(
    settings: Settings,
    customers: usize,
    orders: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let db = connect_database(&settings, Default::default()).await?;
    Migrator::up(&db, None)
        .await
        .context("applying migrations failed")?;
    let cache = build_cache(&settings)?;
    let store = Store::new(db, cache, settings.limits());
    let started = Instant::now();
    let bar = ProgressBar::new((customers + orders) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>9} [{bar:40}] {human_pos}/{human_len} rows  {per_sec}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut report = |p: SeedProgress| match p {
        SeedProgress::Customers(n) => {
            bar.set_message("customers");
            bar.set_position(n as u64);
        }
        SeedProgress::Orders(n) => {
            bar.set_message("orders");
            bar.set_position((customers + n) as u64);
        }
    };
    let summary = service::seed::seed(&store, customers, orders, seed, &mut report)
        .await
        .context("seeding failed")?;
    bar.finish();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {} customers and {} orders in {:.2}s ({:.0} rows/s)",
        summary.customers,
        summary.orders,
        secs,
        (summary.customers + summary.orders) as f64 / secs.max(1e-9)
    );
    Ok(())
}

async fn import_command(
    settings: Settings,
    file: &Path,
    kind: Option<ImportKind>,
    format: Option<ImportFormat>,
) -> anyhow::Result<()> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let kind = match kind {
        Some(k) => k,
        None if name.starts_with("customer") => ImportKind::Customers,
        None if name.starts_with("order") => ImportKind::Orders,
        None => anyhow::bail!(
            "cannot tell whether {} holds customers or orders: pass --kind customers|orders",
            file.display()
        ),
    };
    let format = match format {
        Some(f) => f,
        None if name.ends_with(".csv") => ImportFormat::Csv,
        None if name.ends_with(".jsonl") || name.ends_with(".ndjson") => ImportFormat::Jsonl,
        None => anyhow::bail!(
            "cannot tell the format of {}: pass --format csv|jsonl",
            file.display()
        ),
    };
    let reader = std::io::BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
    );
    let db = connect_database(&settings, Default::default()).await?;
    Migrator::up(&db, None)
        .await
        .context("applying migrations failed")?;
    let store = Store::new(db, build_cache(&settings)?, settings.limits());

    let started = Instant::now();
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {human_pos} records read  {per_sec}  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut progress = |n: u64| bar.set_position(n);
    let report = service::import::import(
        &store,
        match kind {
            ImportKind::Customers => service::import::Kind::Customers,
            ImportKind::Orders => service::import::Kind::Orders,
        },
        match format {
            ImportFormat::Csv => service::import::Format::Csv,
            ImportFormat::Jsonl => service::import::Format::JsonLines,
        },
        reader,
        &mut progress,
    )
    .await
    .context("the import failed; nothing was written")?;
    bar.finish_and_clear();
    if !report.committed {
        for bad in &report.bad {
            eprintln!("{}:{}: {}", file.display(), bad.line, bad.message);
        }
        if report.bad_count > report.bad.len() as u64 {
            eprintln!("… and {} more", report.bad_count - report.bad.len() as u64);
        }
        anyhow::bail!(
            "{} of {} records are bad; nothing was written",
            report.bad_count,
            report.records
        );
    }
    println!(
        "imported {} records in {:.2}s",
        report.written,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
