//! Entries fill on reads, and every mutation makes the next read fresh, on every instance and under racing writes.

use super::*;

#[tokio::test]
async fn entries_appear_after_reads_and_answer_the_next_ones() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    app.seed_order(ids[0], 1234, "2025-01-01T00:00:00Z").await;
    let id = json!({ "id": ids[0].to_string() });

    let hits = app.state.store.cache.counters().hits();
    let (cold, first) = cost(&app, STATS, id.clone()).await;
    assert_eq!(cold, 2, "the customer and its aggregates");
    let (warm, second) = cost(&app, STATS, id.clone()).await;
    assert_eq!(warm, 0, "both from the cache");
    assert_eq!(first, second);
    assert_eq!(data(&second)["customer"]["totalSpent"], "12.34");
    assert!(app.state.store.cache.counters().hits() >= hits + 2);

    let top = "{ topCustomers(limit: 5) { customer { id } totalSpent } }";
    let (cold, _) = cost(&app, top, json!({})).await;
    assert!(cold >= 1);
    let (warm, _) = cost(&app, top, json!({})).await;
    assert_eq!(warm, 0);

    if let (Some(url), Some(prefix)) = (&app.settings.redis.url, &app.redis_prefix) {
        let client = redis::Client::open(url.as_str()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}e:*"))
            .query_async(&mut conn)
            .await
            .expect("keys");
        for expected in [
            format!("{prefix}e:cust:{}:", ids[0]),
            format!("{prefix}e:stats:{}:", ids[0]),
            format!("{prefix}e:top:5:1:"),
        ] {
            assert!(
                keys.iter().any(|k| k.starts_with(&expected)),
                "{expected} in {keys:?}"
            );
        }
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&keys[0])
            .query_async(&mut conn)
            .await
            .expect("ttl");
        assert!(
            ttl > 0 && ttl <= 300_000,
            "entries expire within CACHE_TTL_SECS ({ttl} ms)"
        );
    }

    let metrics = app.metrics().await;
    assert!(metrics.contains("cache_hits_total"), "{metrics}");
    assert!(metrics.contains("cache_misses_total"), "{metrics}");
}

#[tokio::test]
async fn every_mutation_makes_the_next_read_fresh() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let order = app.seed_order(ids[0], 1000, "2025-01-01T00:00:00Z").await;
    let id = json!({ "id": ids[0].to_string() });
    let top =
        "{ topCustomers(limit: 10, minOrders: 0) { customer { id name } totalSpent orderCount } }";

    // Warm, then check each mutation is seen by the next read.
    async fn warm(app: &TestApp, id: &Value, top: &str) {
        for _ in 0..2 {
            data(&app.query(STATS, id.clone()).await);
            data(&app.query(top, json!({})).await);
        }
    }
    async fn read(app: &TestApp, id: &Value, top: &str) -> (Value, Value) {
        (
            app.query(STATS, id.clone()).await,
            app.query(top, json!({})).await,
        )
    }

    warm(&app, &id, top).await;
    app.mutate(
        "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }",
        json!({ "i": { "customerId": ids[0].to_string(), "total": "5.00" } }),
    )
    .await;
    let (stats, ranking) = read(&app, &id, top).await;
    assert_eq!(data(&stats)["customer"]["totalSpent"], "15.00");
    assert_eq!(data(&ranking)["topCustomers"][0]["totalSpent"], "15.00");

    warm(&app, &id, top).await;
    app.mutate(
        "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }",
        json!({ "i": [
        { "customerId": ids[0].to_string(), "total": "1.00" },
        { "customerId": ids[1].to_string(), "total": "100.00" }
    ] }),
    )
    .await;
    let (stats, ranking) = read(&app, &id, top).await;
    assert_eq!(data(&stats)["customer"]["orderCount"], 3);
    assert_eq!(
        data(&ranking)["topCustomers"][0]["customer"]["id"],
        ids[1].to_string()
    );

    warm(&app, &id, top).await;
    app.mutate(
        "mutation($id: ID!) { updateOrder(id: $id, input: { total: \"50.00\" }) { id } }",
        json!({ "id": order.to_string() }),
    )
    .await;
    let (stats, _) = read(&app, &id, top).await;
    assert_eq!(data(&stats)["customer"]["totalSpent"], "56.00");

    warm(&app, &id, top).await;
    app.mutate(
        "mutation($id: ID!) { deleteOrder(id: $id) }",
        json!({ "id": order.to_string() }),
    )
    .await;
    let (stats, _) = read(&app, &id, top).await;
    assert_eq!(data(&stats)["customer"]["totalSpent"], "6.00");

    warm(&app, &id, top).await;
    app.mutate(
        "mutation($id: ID!) { updateCustomer(id: $id, input: { name: \"Renamed\" }) { id } }",
        id.clone(),
    )
    .await;
    let (stats, ranking) = read(&app, &id, top).await;
    assert_eq!(data(&stats)["customer"]["name"], "Renamed");
    let names: Vec<&str> = data(&ranking)["topCustomers"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["customer"]["name"].as_str())
        .collect();
    assert!(names.contains(&"Renamed"), "{names:?}");

    warm(&app, &id, top).await;
    app.mutate("mutation { createCustomer(input: { name: \"Newcomer\", email: \"new@example.com\" }) { id } }", json!({})).await;
    let (_, ranking) = read(&app, &id, top).await;
    assert_eq!(
        data(&ranking)["topCustomers"].as_array().map(Vec::len),
        Some(3)
    );

    warm(&app, &id, top).await;
    app.mutate("mutation($id: ID!) { deleteCustomer(id: $id) }", id.clone())
        .await;
    let (stats, ranking) = read(&app, &id, top).await;
    assert_eq!(data(&stats)["customer"], Value::Null);
    assert_eq!(
        data(&ranking)["topCustomers"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn a_write_invalidates_its_customer_and_the_ranking_only() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let (seven, eight) = (ids[0], ids[1]);
    let order = app.seed_order(seven, 100, "2025-01-01T00:00:00Z").await;
    app.seed_order(eight, 200, "2025-01-01T00:00:00Z").await;
    let top = "{ topCustomers(limit: 3) { totalSpent } }";
    for id in [seven, eight] {
        data(&app.query(STATS, json!({ "id": id.to_string() })).await);
    }
    data(&app.query(top, json!({})).await);

    app.mutate(
        "mutation($id: ID!) { updateOrder(id: $id, input: { status: SHIPPED }) { id } }",
        json!({ "id": order.to_string() }),
    )
    .await;

    let (other, _) = cost(&app, STATS, json!({ "id": eight.to_string() })).await;
    assert_eq!(other, 0, "customer 8's entries stay cached");
    let (changed, _) = cost(&app, STATS, json!({ "id": seven.to_string() })).await;
    assert_eq!(changed, 2, "customer 7's entries were invalidated");
    let (ranking, _) = cost(&app, top, json!({})).await;
    assert!(ranking >= 1, "the ranking was invalidated");
}

#[tokio::test]
#[ignore = "needs Redis (REDIS_URL, or redis-server)"]
async fn a_second_instance_sharing_the_cache_sees_the_write() {
    // Two instances share a cache only through Redis: use REDIS_URL's, or a private one.
    let private = if std::env::var("REDIS_URL").is_ok_and(|u| !u.is_empty()) {
        None
    } else {
        Some(
            RedisServer::start()
                .await
                .expect("this test needs REDIS_URL or redis-server (see .ci/run)"),
        )
    };
    let db = TestDb::create().await;
    let (mut settings, mut prefix) = test_settings(&db);
    if let Some(r) = &private {
        settings.redis.url = Some(r.url());
        settings.redis.key_prefix = crate::helpers::unique_name("s");
        prefix = Some(settings.redis.key_prefix.clone());
    }
    let a = spawn_on(db, settings, prefix).await;
    let b = a.spawn_sibling().await;
    let ids = a.seed_customers(1).await;
    a.seed_order(ids[0], 700, "2025-01-01T00:00:00Z").await;
    let id = json!({ "id": ids[0].to_string() });

    // B caches the customer; A writes; B's next read is fresh.
    let before = b.query(&a.client, STATS, id.clone()).await;
    assert_eq!(data(&before)["customer"]["totalSpent"], "7.00");
    let b_statements = b.state.statements.get();
    let again = b.query(&a.client, STATS, id.clone()).await;
    assert_eq!(
        b.state.statements.get(),
        b_statements,
        "B reads from the shared cache"
    );
    assert_eq!(again, before);

    data(
        &a.mutate(
            "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id } }",
            json!({ "i": { "customerId": ids[0].to_string(), "total": "3.00" } }),
        )
        .await,
    );
    data(
        &a.mutate(
            "mutation($id: ID!) { updateCustomer(id: $id, input: { name: \"Seen by B\" }) { id } }",
            id.clone(),
        )
        .await,
    );
    let after = b.query(&a.client, STATS, id).await;
    assert_eq!(
        data(&after)["customer"],
        json!({ "name": "Seen by B", "orderCount": 2, "totalSpent": "10.00" })
    );
}

#[tokio::test]
async fn reads_racing_200_writes_end_equal_to_the_database() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let customer = ids[0];
    let mut orders = Vec::new();
    for i in 0..5 {
        orders.push(
            app.seed_order(customer, 100, &format!("2025-01-0{}T00:00:00Z", i + 1))
                .await,
        );
    }
    let id = json!({ "id": customer.to_string() });
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..6)
        .map(|_| {
            let client = app.client.clone();
            let url = format!("{}/graphql", app.address);
            let id = id.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = client
                        .post(&url)
                        .json(&json!({ "query": STATS, "variables": id }))
                        .send()
                        .await;
                    n += 1;
                }
                n
            })
        })
        .collect();

    for i in 0..200u32 {
        let order = orders[i as usize % orders.len()];
        let resp = app
            .mutate(
                "mutation($id: ID!, $t: Decimal!) { updateOrder(id: $id, input: { total: $t }) { id } }",
                json!({ "id": order.to_string(), "t": format!("{}.{:02}", i, i % 100) }),
            )
            .await;
        data(&resp);
    }
    // Every read that starts after the last write returns what the database holds.
    let truth = app
        .store()
        .orders(&service::View::unrestricted())
        .page_where(
            &service::compose::Where::from(&service::model::OrderFilter {
                customer_id: Some(customer),
                ..Default::default()
            }),
            &service::compose::order::default_order_sort(),
            &service::model::PageRequest::first(100, None),
        )
        .await
        .expect("orders");
    let total: i64 = truth.items.iter().map(|o| o.total.cents()).sum();
    let expected = json!({ "name": "Customer 0", "orderCount": 5, "totalSpent": service::money::Money::from_cents(total).to_string() });
    for _ in 0..20 {
        let resp = app.query(STATS, id.clone()).await;
        assert_eq!(data(&resp)["customer"], expected);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut reads = 0;
    for r in readers {
        reads += r.await.expect("reader");
    }
    assert!(reads > 50, "the readers raced the writer ({reads} reads)");
}
