//! `seed`: deterministic demo data with a progress bar.

use std::time::Instant;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use service::seed::SeedProgress;

use crate::settings::Settings;
use crate::startup::command_store;

pub(super) async fn seed(
    settings: Settings,
    customers: usize,
    orders: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let store = command_store(&settings).await?;
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
