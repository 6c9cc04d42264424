//! A replica that stops, restarts or moves is bypassed, and trusted again only once it is back where it was.

use super::*;

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn a_stopped_replica_is_bypassed_until_it_is_back() {
    let (cluster, settings) = replicated(None).await;
    let app = Instance::start(settings).await;
    let id = customer(&app, "Steady").await;

    cluster.stop_replica().await;
    // Reads keep working (from the primary), with no error, while the
    // checker notices; then /readyz says so.
    let ready = app.until_replica_down(Some((&id, "Steady"))).await;
    assert_eq!(ready["status"], "degraded", "{ready}");
    let (to_replica, _) = app.routed();
    for _ in 0..10 {
        assert_eq!(app.name_of(&id, None).await, "Steady");
    }
    app.rename(&id, "While down").await;
    assert_eq!(app.name_of(&id, None).await, "While down");
    assert_eq!(
        app.routed().0,
        to_replica,
        "nothing went to the stopped replica"
    );

    cluster.start_replica().await;
    app.serving().await;
    let ready = app.readiness().await;
    assert_eq!(ready["replica"], "up", "{ready}");
    assert_eq!(ready["status"], "ok", "{ready}");
    // Back on the replica once it has replayed what the primary had when
    // it was let back; every read before and after sees the write.
    let (to_replica, _) = app.routed();
    assert!(
        app.back_on_replica(to_replica, 0, Some((&id, "While down")))
            .await,
        "reads never returned to the replica"
    );
    // (Gauges are process-wide and the tests run several instances at
    // once; the pool gauge is set by this instance's scrape itself.)
    let open = app
        .metric("db_read_pool_connections{state=\"idle\"}")
        .await
        .expect("the replica's pool gauge")
        + app
            .metric("db_read_pool_connections{state=\"in_use\"}")
            .await
            .expect("the replica's pool gauge");
    assert!(open >= 1.0, "the replica's pool has connections: {open}");
    // Reads counted by target: at least this instance's (other tests'
    // instances add to the same process-wide counter, never take away).
    let counted = || app.metric("db_reads_total{target=\"replica\"}");
    let (before, routed_before) = (counted().await.expect("reads by target"), app.routed().0);
    for _ in 0..5 {
        assert_eq!(app.name_of(&id, None).await, "While down");
    }
    let routed = app.routed().0 - routed_before;
    let after = counted().await.expect("reads by target");
    assert!(routed >= 5, "{routed} of 5 reads went to the replica");
    assert!(
        after - before >= routed as f64,
        "{before} -> {after}, {routed} routed"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn readers_never_see_a_write_undone_across_a_bypass() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    // Writes go on every 20 ms the whole time, so the replica (applying
    // each 300 ms late) is never fully caught up, yet must come back.
    let (cluster, settings) = replicated(None).await;
    let app = Arc::new(Instance::start(settings).await);
    let id = customer(&app, "v0").await;
    let done = Arc::new(AtomicBool::new(false));
    let writes = {
        let (app, id, done) = (app.clone(), id.clone(), done.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while !done.load(Ordering::SeqCst) {
                i += 1;
                app.rename(&id, &format!("v{i}")).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            i
        })
    };
    // An anonymous reader: the version it sees never goes back.
    let reads = {
        let (app, id, done) = (app.clone(), id.clone(), done.clone());
        tokio::spawn(async move {
            let (mut highest, mut count) = (0u64, 0u64);
            while !done.load(Ordering::SeqCst) {
                let name = app.name_of(&id, None).await;
                let seen: u64 = name[1..].parse().expect("a version");
                assert!(seen >= highest, "saw v{seen} after v{highest}");
                highest = seen;
                count += 1;
            }
            (highest, count)
        })
    };

    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.stop_replica().await;
    app.until_replica_down(None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (to_replica, _) = app.routed();
    cluster.start_replica().await;
    let back = app.back_on_replica(to_replica, 20, None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    done.store(true, Ordering::SeqCst);
    let written = writes.await.expect("the writer");
    let (highest, count) = reads.await.expect("a reader that never saw a write undone");
    assert!(
        back,
        "reads never returned to the replica while writes went on"
    );
    assert!(
        written > 50 && count > 50,
        "{written} writes, {count} reads"
    );
    assert!(highest > 0);
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn a_restarted_replica_serves_again_only_once_it_is_back_where_it_was() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    // No writes around the restarts: the primary's position does not move,
    // so only what the restarted replica says of itself can tell whether
    // it is back where it was (after a crash a standby recovers from its
    // last restart point and may accept reads before it is back).
    let (cluster, settings) = replicated(None).await;
    let app = Arc::new(Instance::start(settings).await);
    let id = customer(&app, "Before").await;
    app.rename(&id, "After").await;
    eventually(&app, &id, "After").await;
    let done = Arc::new(AtomicBool::new(false));
    let reads = {
        let (app, id, done) = (app.clone(), id.clone(), done.clone());
        tokio::spawn(async move {
            let mut count = 0u64;
            while !done.load(Ordering::SeqCst) {
                assert_eq!(app.name_of(&id, None).await, "After");
                count += 1;
            }
            count
        })
    };
    for crash in [false, true, true] {
        let (to_replica, _) = app.routed();
        if crash {
            cluster.crash_replica().await;
        } else {
            cluster.stop_replica().await;
        }
        cluster.start_replica().await;
        assert!(
            app.back_on_replica(to_replica, 20, None).await,
            "reads never returned to the replica"
        );
    }
    done.store(true, Ordering::SeqCst);
    let count = reads.await.expect("a reader that always saw the rename");
    assert!(count > 60, "{count} reads");
}

/// One text value a statement returns on `url` (None when no row).
async fn sql_text(url: &str, sql: &str) -> Option<String> {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let db = Database::connect(url).await.expect("connect");
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("query");
    db.close().await.ok();
    row.map(|r| r.try_get_by_index::<String>(0).expect("text"))
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn a_replica_url_that_moves_to_an_older_replica_is_not_trusted() {
    use crate::proxy::{FaultProxy, route_through, upstream_of};

    // The replica URL goes through a balancer (here a proxy) that fails
    // over from replica A to replica B, whose replay is paused before the
    // last write: what the server knew of A's position says nothing of B.
    let (cluster, mut settings) = replicated(None).await;
    let name = database_name(&settings);
    let b_port = cluster.add_replica().await;
    let b_url = format!("postgres://postgres@127.0.0.1:{b_port}/{name}");
    let a_url = settings.database.read_url.clone().expect("replica A");
    let proxy = FaultProxy::start(upstream_of(&a_url, 5432).await).await;
    settings.database.read_url = Some(route_through(&a_url, proxy.addr));
    let app = Instance::start(settings).await;

    let id = customer(&app, "Before").await;
    let on_b = format!("SELECT name FROM customers WHERE id = {id}");
    let mut replayed = false;
    for _ in 0..200 {
        if sql_text(&b_url, &on_b).await.as_deref() == Some("Before") {
            replayed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(replayed, "replica B never got the customer");
    sql_text(&b_url, "SELECT pg_wal_replay_pause()::text, 'paused'::text").await;
    app.rename(&id, "After").await;
    eventually(&app, &id, "After").await;

    proxy.switch_to(upstream_of(&b_url, 5432).await);
    for _ in 0..60 {
        assert_eq!(app.name_of(&id, None).await, "After");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let ready = app.readiness().await;
    assert_eq!(ready["status"], "degraded", "{ready}");

    // Once B replays the write it serves again.
    sql_text(&b_url, "SELECT pg_wal_replay_resume()::text").await;
    let (to_replica, _) = app.routed();
    assert!(
        app.back_on_replica(to_replica, 5, Some((&id, "After")))
            .await,
        "reads never returned to replica B"
    );
}
