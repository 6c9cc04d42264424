//! `import`: a CSV or JSON Lines file, all or nothing.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use super::{ImportFormat, ImportKind};
use crate::settings::Settings;
use crate::startup::command_store;

pub(super) async fn import(
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
    let store = command_store(&settings).await?;

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
