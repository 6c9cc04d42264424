//! `stats check` / `stats rebuild`: the maintained per-customer aggregates
//! against a full recompute from `orders`.

use anyhow::Context as _;
use service::stats::Difference;

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

pub(super) async fn stats(settings: Settings, action: StatsAction) -> anyhow::Result<()> {
    let store = command_store(&settings).await?;
    match action {
        StatsAction::Check => {
            let differences = service::stats::check(&store)
                .await
                .context("comparing the aggregates failed")?;
            if differences.is_empty() {
                println!("the aggregates match a full recompute");
                return Ok(());
            }
            for d in &differences {
                println!("{}", show(d));
            }
            anyhow::bail!(
                "{} customers' aggregates differ from a full recompute; `api stats rebuild` repairs them",
                differences.len()
            );
        }
        StatsAction::Rebuild => {
            let repaired = service::stats::rebuild(&store)
                .await
                .context("rebuilding the aggregates failed; nothing was changed")?;
            for d in &repaired {
                println!("repaired {}", show(d));
            }
            println!("{} customers repaired", repaired.len());
            Ok(())
        }
    }
}
