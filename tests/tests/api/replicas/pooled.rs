//! The primary and the replica each behind a PgBouncer in transaction mode
//! (`DATABASE_POOLER=transaction` applies to both URLs).

use super::*;
use migration::MigratorTrait as _;

use crate::pgbouncer::PgBouncer;

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup), the postgres OS user and pgbouncer"]
async fn through_poolers_writers_read_their_writes_and_others_catch_up() {
    let (cluster, mut settings) = replicated(None).await;
    let name = database_name(&settings);
    // Migrations take a session: applied directly, as the README says.
    let direct = sea_orm::Database::connect(cluster.primary_url(&name))
        .await
        .expect("connect to the primary");
    migration::Migrator::up(&direct, None)
        .await
        .expect("migrate directly");
    direct.close().await.ok();
    let primary = PgBouncer::before("127.0.0.1", cluster.primary_port, "postgres", 2).await;
    let replica = PgBouncer::before("127.0.0.1", cluster.replica_port, "postgres", 2).await;
    settings.database.url = Some(primary.url(&name));
    settings.database.read_url = Some(replica.url(&name));
    settings.database.pooler = api::settings::DatabasePooler::Transaction;
    let app = Instance::start(settings).await;
    assert!(app.state.store.db.is_behind_pooler());
    let replication = app.state.store.replication.as_ref().expect("a replica");
    assert!(replication.replica().is_behind_pooler());

    let id = customer(&app, "Before").await;
    app.rename(&id, "After").await;
    let (to_replica, to_primary) = app.routed();
    // The writer reads its write at once, from the primary.
    assert_eq!(app.name_of(&id, Some(&writer())).await, "After");
    assert_eq!(
        app.routed().1,
        to_primary + 1,
        "the writer read the primary"
    );
    // Anyone else reads the replica, which has not applied it yet ...
    assert_eq!(app.name_of(&id, None).await, "Before");
    assert_eq!(app.routed().0, to_replica + 1, "the replica served it");
    // ... until it has; then never the old value again.
    eventually(&app, &id, "After").await;
    let ready = app.readiness().await;
    assert_eq!(ready["replica"], "up", "{ready}");
    assert!(ready.get("pooler").is_none(), "{ready}");
}
