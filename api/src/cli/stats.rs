//! `stats check` / `stats rebuild`: the maintained per-customer aggregates
//! and the order rollups against a full recompute from `orders`.

use anyhow::Context as _;
use service::stats::{Difference, RollupDifference};

use super::StatsAction;
use crate::settings::Settings;
use crate::startup::command_store;

fn show(d: &Difference) -> String {
    let pair = |p: Option<(i64, i64)>| match p {
        Some((n, cents)) => format!("{n} orders, {}", service::money::Money::from_cents(cents)),
        None => "no row".to_owned(),
    };
    format!(
        "customer {}: maintained {}, recomputed {}",
        d.customer_id,
        pair(d.maintained),
        pair(d.recomputed)
    )
}

fn show_rollup(d: &RollupDifference) -> String {
    let pair = |p: Option<(i64, i64)>| match p {
        Some((n, cents)) => format!("{n} orders, {}", service::money::Money::from_cents(cents)),
        None => "nothing".to_owned(),
    };
    let grain = ["quarter-hour", "hour", "day", "month"]
        .get(usize::try_from(d.grain).unwrap_or(usize::MAX))
        .unwrap_or(&"grain ?");
    format!(
        "{grain} from {} ({}): maintained {}, recomputed {}",
        d.bucket.to_rfc3339(),
        d.status,
        pair(d.maintained),
        pair(d.recomputed)
    )
}

pub(super) async fn stats(settings: Settings, action: StatsAction) -> anyhow::Result<()> {
    let store = command_store(&settings).await?;
    match action {
        StatsAction::Check => {
            let differences = service::stats::check(&store)
                .await
                .context("comparing the aggregates failed")?;
            let rollups = service::stats::check_rollups(&store)
                .await
                .context("comparing the order rollups failed")?;
            if differences.is_empty() && rollups.is_empty() {
                println!("the aggregates and the order rollups match a full recompute");
                return Ok(());
            }
            for d in &differences {
                println!("{}", show(d));
            }
            for d in &rollups {
                println!("{}", show_rollup(d));
            }
            anyhow::bail!(
                "{} customers' aggregates and {} rollup buckets differ from a full recompute; `api stats rebuild` repairs them",
                differences.len(),
                rollups.len()
            );
        }
        StatsAction::Rebuild => {
            let repaired = service::stats::rebuild(&store)
                .await
                .context("rebuilding the aggregates failed; nothing was changed")?;
            for d in &repaired {
                println!("repaired {}", show(d));
            }
            let rollups = service::stats::rebuild_rollups(&store)
                .await
                .context("rebuilding the order rollups failed; they were not changed")?;
            for d in &rollups {
                println!("repaired {}", show_rollup(d));
            }
            println!(
                "{} customers and {} rollup buckets repaired",
                repaired.len(),
                rollups.len()
            );
            Ok(())
        }
    }
}
