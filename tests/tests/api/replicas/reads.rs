//! Reads on the replica: writers read their writes, others catch up, and a lagging replica never refills the cache.

use super::*;

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn writers_read_their_writes_and_others_catch_up() {
    let _ = NEEDS;
    let (_cluster, settings) = replicated(None).await;
    let app = Instance::start(settings).await;
    let id = customer(&app, "Before").await;
    let token = writer();

    app.rename(&id, "After").await;
    let (_, to_primary) = app.routed();
    // The writer, at once: its write (from the primary).
    assert_eq!(app.name_of(&id, Some(&token)).await, "After");
    assert_eq!(
        app.routed().1,
        to_primary + 1,
        "the writer read the primary"
    );
    // Anyone else, at once: the replica has not applied it yet.
    let (to_replica, _) = app.routed();
    assert_eq!(app.name_of(&id, None).await, "Before");
    assert_eq!(app.routed().0, to_replica + 1, "the replica served it");
    // ... and only until it has; then never the old value again.
    eventually(&app, &id, "After").await;

    // The aggregates follow: an order shows in the writer's totals at once.
    let resp = app
        .graphql(
            "mutation($c: ID!) { createOrder(input: {customerId: $c, total: \"12.50\"}) { id } }",
            json!({ "c": id }),
            Some(&token),
        )
        .await;
    data(&resp);
    let resp = app
        .graphql(
            "query($id: ID!) { customer(id: $id) { orderCount totalSpent } }",
            json!({ "id": id }),
            Some(&token),
        )
        .await;
    assert_eq!(
        data(&resp)["customer"],
        json!({ "orderCount": 1, "totalSpent": "12.50" })
    );
    // Readers on the replica see them once it has replayed. The two fields
    // are two statements, run concurrently: within one request the replica
    // may replay between them, so the ranking is checked from the next
    // request on, when the replica is known to have replayed the order.
    let both = "query($id: ID!) { customer(id: $id) { orderCount } topCustomers(limit: 1) { totalSpent } }";
    let mut caught_up = false;
    for _ in 0..100 {
        let resp = app.graphql(both, json!({ "id": id }), None).await;
        if resp["data"]["customer"]["orderCount"] == 1 {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(caught_up, "anonymous readers never saw the order");
    // ... and never the old ranking again (nor an old one from the cache).
    for _ in 0..20 {
        let resp = app.graphql(both, json!({ "id": id }), None).await;
        assert_eq!(
            data(&resp),
            &json!({ "customer": { "orderCount": 1 }, "topCustomers": [{ "totalSpent": "12.50" }] }),
            "{resp}"
        );
    }
    let ready = app.readiness().await;
    assert_eq!(ready["replica"], "up", "{ready}");
    assert_eq!(ready["status"], "ok", "{ready}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup), the postgres OS user, and Redis (REDIS_URL or redis-server)"]
async fn a_lagging_replica_never_refills_the_cache_and_writers_read_anywhere() {
    let (redis_url, prefix, _redis) = some_redis().await;
    let (_cluster, settings) = replicated(Some((redis_url, prefix))).await;
    let a = Instance::start(settings.clone()).await;
    let b = Instance::start(settings).await;
    let id = customer(&a, "Old").await;
    // B caches the customer (read from the caught-up replica).
    eventually(&b, &id, "Old").await;
    let hits = b
        .state
        .store
        .cache
        .counters()
        .hits
        .load(std::sync::atomic::Ordering::Relaxed);
    b.name_of(&id, None).await;
    assert!(
        b.state
            .store
            .cache
            .counters()
            .hits
            .load(std::sync::atomic::Ordering::Relaxed)
            > hits,
        "the value is cached"
    );

    // Written through A. The writer reads it through B at once.
    a.rename(&id, "New").await;
    assert_eq!(b.name_of(&id, Some(&writer())).await, "New");
    // An anonymous reader on B misses (the version moved) and reads the
    // replica, which has not applied the write: the old value, which must
    // not be stored under the new version.
    assert_eq!(b.name_of(&id, None).await, "Old");
    assert_eq!(b.name_of(&id, None).await, "Old");
    // Once the replica has applied it, every reader sees the new value: a
    // refilled old value would be served until the TTL (300 s).
    eventually(&b, &id, "New").await;
    eventually(&a, &id, "New").await;
}
