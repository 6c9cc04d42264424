//! Concurrent misses coalesce; losing or restarting Redis costs speed only.

use super::*;

#[tokio::test]
async fn concurrent_misses_for_one_entry_run_one_query() {
    let app = spawn_app().await;
    let ids = app.seed_customers(30).await;
    for (i, id) in ids.iter().enumerate() {
        app.seed_order(*id, 100 * i as i64 + 1, "2025-01-01T00:00:00Z")
            .await;
    }
    let store = app.store().clone();
    let hits_before = app.state.store.cache.counters().hits();
    let before = app.statements();
    let results = futures::future::join_all((0..20).map(|_| {
        let store = store.clone();
        async move {
            store
                .orders(&service::View::unrestricted())
                .top_customers(10, 1)
                .await
                .expect("ranking")
        }
    }))
    .await;
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(results[0].len(), 10);
    assert_eq!(
        app.statements() - before,
        1,
        "one ranking query for twenty concurrent misses"
    );
    // The others waited for the one query, or found its result already stored.
    let counters = app.state.store.cache.counters();
    assert!(counters.coalesced() + (counters.hits() - hits_before) >= 19);
}

#[tokio::test]
#[ignore = "needs redis-server"]
async fn losing_redis_only_costs_speed_and_recovers_without_stale_reads() {
    let redis = RedisServer::start()
        .await
        .expect("this test needs redis-server (see .ci/run)");
    let proxy = FaultProxy::start(upstream_of(&redis.url(), 6379).await).await;
    let app = crate::helpers::spawn_app_with(|s| {
        s.redis.url = Some(route_through(&redis.url(), proxy.addr));
        s.redis.key_prefix = "outage:".into();
        s.redis.timeout_ms = 100;
    })
    .await;
    let ids = app.seed_customers(1).await;
    app.seed_order(ids[0], 500, "2025-01-01T00:00:00Z").await;
    let id = json!({ "id": ids[0].to_string() });
    assert_eq!(
        data(&app.query(STATS, id.clone()).await)["customer"]["totalSpent"],
        "5.00"
    );
    assert_eq!(cost(&app, STATS, id.clone()).await.0, 0, "cached in Redis");

    // Redis becomes unreachable (its entries survive behind the proxy).
    proxy.cut();
    let (code, body) = app.readiness().await;
    assert_eq!(
        (code, body["cache"].as_str(), body["status"].as_str()),
        (200, Some("down"), Some("degraded"))
    );
    // Reads come from the database, writes work; nothing shows the failure.
    let resp = app.query(STATS, id.clone()).await;
    assert_eq!(data(&resp)["customer"]["totalSpent"], "5.00");
    data(
        &app.mutate(
            "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }",
            json!({ "i": { "customerId": ids[0].to_string(), "total": "2.50" } }),
        )
        .await,
    );
    assert_eq!(
        data(&app.query(STATS, id.clone()).await)["customer"]["totalSpent"],
        "7.50"
    );
    assert!(app.state.store.cache.counters().errors() > 0);

    // Redis returns: the undelivered invalidation is delivered before any
    // read, so the entry cached before the outage (5.00) is never served.
    proxy.restore();
    let mut ready = false;
    for _ in 0..50 {
        if app.readiness().await.1["cache"] == "up" {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the cache reports up again");
    tokio::time::sleep(Duration::from_millis(1_100)).await; // past the back-off
    assert_eq!(
        data(&app.query(STATS, id.clone()).await)["customer"]["totalSpent"],
        "7.50"
    );
    assert_eq!(cost(&app, STATS, id.clone()).await.0, 0, "cached again");
    assert_eq!(
        data(&app.query(STATS, id).await)["customer"]["totalSpent"],
        "7.50"
    );
}

#[tokio::test]
#[ignore = "needs redis-server"]
async fn a_restarted_redis_is_used_again_by_itself() {
    let mut redis = RedisServer::start()
        .await
        .expect("this test needs redis-server (see .ci/run)");
    let app = crate::helpers::spawn_app_with(|s| {
        s.redis.url = Some(redis.url());
        s.redis.key_prefix = "restart:".into();
        s.redis.timeout_ms = 100;
    })
    .await;
    let ids = app.seed_customers(1).await;
    let id = json!({ "id": ids[0].to_string() });
    data(&app.query(STATS, id.clone()).await);

    redis.stop();
    assert_eq!(
        data(&app.query(STATS, id.clone()).await)["customer"]["orderCount"],
        0
    );
    assert_eq!(app.readiness().await.1["cache"], "down");

    redis.restart().await;
    let mut cached = false;
    for _ in 0..60 {
        data(&app.query(STATS, id.clone()).await);
        if cost(&app, STATS, id.clone()).await.0 == 0 {
            cached = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cached, "entries are cached in the restarted Redis");
    assert_eq!(app.readiness().await.0, 200);
}
