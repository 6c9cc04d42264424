//! `migrate up|down|status|fresh`.

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};

use super::MigrateAction;
use crate::settings::Settings;
use crate::startup::{PoolUse, connect_database, refuse_behind_pooler};

pub(super) async fn migrate(settings: Settings, action: MigrateAction) -> anyhow::Result<()> {
    let db = connect_database(&settings.database, Default::default(), PoolUse::Command).await?;
    if !matches!(action, MigrateAction::Status) {
        refuse_behind_pooler(&db)?;
    }
    match action {
        MigrateAction::Up { steps } => {
            Migrator::up(&*db, steps)
                .await
                .context("migrate up failed")?;
        }
        MigrateAction::Down { steps } => {
            Migrator::down(&*db, Some(steps))
                .await
                .context("migrate down failed")?;
        }
        MigrateAction::Fresh => {
            Migrator::fresh(&*db)
                .await
                .context("migrate fresh failed")?;
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
