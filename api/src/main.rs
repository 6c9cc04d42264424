use clap::Parser;

/// mimalloc: glibc's allocator spent a quarter of a bulk request in
/// malloc/free (measured with perf on `bench bulk`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is fine; a malformed one is reported.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("warning: could not read .env: {e}");
    }
    let cli = api::cli::Cli::parse();
    api::telemetry::init_tracing(cli.settings.log_format == api::settings::LogFormat::Json);
    api::cli::run(cli).await
}
