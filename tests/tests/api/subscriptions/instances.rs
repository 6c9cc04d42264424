//! Several instances sharing Redis, and Redis outages.

use super::*;

/// Settings for instances sharing a Redis: `REDIS_URL`'s, or a private
/// `redis-server` when it is unset.
async fn shared_redis() -> (
    TestDb,
    api::settings::Settings,
    Option<String>,
    Option<RedisServer>,
) {
    let db = TestDb::create().await;
    let (mut settings, mut prefix) = test_settings(&db);
    let private = if settings.redis.url.is_some() {
        None
    } else {
        let server = RedisServer::start()
            .await
            .expect("this test needs REDIS_URL or redis-server (see .ci/run)");
        settings.redis.url = Some(server.url());
        settings.redis.key_prefix = crate::helpers::unique_name("sub");
        prefix = Some(settings.redis.key_prefix.clone());
        Some(server)
    };
    (db, settings, prefix, private)
}

#[tokio::test]
#[ignore = "needs Redis (REDIS_URL or redis-server)"]
async fn events_reach_every_instance_through_redis() {
    let (db, settings, prefix, _redis) = shared_redis().await;
    let a = spawn_on(db, settings, prefix).await;
    let b = a.spawn_sibling().await;
    let ids = a.seed_customers(2).await;
    let mut on_a = Ws::connect(&a.address, json!({})).await;
    on_a.subscribe("s", ORDER_CREATED, json!({ "c": ids[1].to_string() }))
        .await;
    on_a.subscribe("r", RANKING, json!({ "l": 1 })).await;
    assert_eq!(
        on_a.next_of("r").await["data"]["topCustomersChanged"],
        json!([])
    );
    listening(&a.state, 2).await;

    // Written through B, heard on A (filters hold).
    let client = reqwest::Client::new();
    let write = |customer: i64, total: &str| {
        let client = client.clone();
        let address = b.address.clone();
        let body = json!({ "query": CREATE_ORDER, "variables": { "c": customer.to_string(), "t": total } });
        async move {
            let token = crate::helpers::writer();
            let resp = crate::helpers::post_graphql(&client, &address, &body, Some(&token)).await;
            data(&resp)["createOrder"]["id"]
                .as_str()
                .expect("id")
                .to_owned()
        }
    };
    write(ids[0], "1.00").await;
    let id = write(ids[1], "7.00").await;
    let mut got_order = None;
    let mut got_ranking = None;
    while got_order.is_none() || got_ranking.is_none() {
        let msg = on_a.message().await;
        match msg["id"].as_str() {
            Some("s") => {
                assert!(got_order.is_none(), "only customer 1's order: {msg}");
                got_order = Some(msg["payload"]["data"]["orderCreated"].clone());
            }
            Some("r") => got_ranking = Some(msg["payload"]["data"]["topCustomersChanged"].clone()),
            _ => panic!("{msg}"),
        }
    }
    assert_eq!(got_order.expect("order")["id"], id.as_str());
    let ranking = got_ranking.expect("ranking");
    assert_eq!(
        ranking[0]["customer"]["id"],
        ids[1].to_string(),
        "{ranking}"
    );
    assert_eq!(ranking[0]["totalSpent"], "7.00", "{ranking}");

    // One publication per write, however many orders it holds.
    let url = a.settings.redis.url.clone().expect("redis");
    let channel = format!("{}events", a.settings.redis.key_prefix);
    let mut pubsub = redis::Client::open(url.as_str())
        .expect("client")
        .get_async_pubsub()
        .await
        .expect("pubsub");
    pubsub.subscribe(&channel).await.expect("subscribe");
    let input: Vec<Value> = (0..500)
        .map(|_| json!({ "customerId": ids[0].to_string(), "total": "1.00" }))
        .collect();
    let resp: Value = client
        .post(format!("{}/graphql", b.address))
        .bearer_auth(crate::helpers::writer())
        .json(&json!({ "query": "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }", "variables": { "i": input } }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    data(&resp);
    let mut messages = pubsub.on_message();
    let first = tokio::time::timeout(
        Duration::from_secs(10),
        futures::StreamExt::next(&mut messages),
    )
    .await
    .expect("a publication")
    .expect("message");
    let events: Value = serde_json::from_slice(first.get_payload_bytes()).expect("JSON");
    assert_eq!(events.as_array().map(Vec::len), Some(1), "one event");
    assert_eq!(events[0]["orders"].as_array().map(Vec::len), Some(500));
    assert!(
        tokio::time::timeout(
            Duration::from_millis(500),
            futures::StreamExt::next(&mut messages)
        )
        .await
        .is_err(),
        "a second publication"
    );
}

#[tokio::test]
#[ignore = "needs redis-server"]
async fn a_redis_outage_is_reported_and_healed() {
    let mut redis = RedisServer::start()
        .await
        .expect("this test needs redis-server (see .ci/run)");
    let app = spawn_app_with(|s| {
        s.redis.url = Some(redis.url());
        s.redis.key_prefix = "outage-events:".into();
        s.redis.timeout_ms = 100;
    })
    .await;
    let ids = app.seed_customers(1).await;
    let mut ws = Ws::connect(&app.address, json!({})).await;
    // Wait until the instance hears the channel.
    for _ in 0..500 {
        if app.state.store.events.is_hearing() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ws.subscribe("s", "subscription { orderCreated { id } }", json!({}))
        .await;
    ws.subscribe("r", RANKING, json!({})).await;
    assert_eq!(
        ws.next_of("r").await["data"]["topCustomersChanged"],
        json!([])
    );
    listening(&app.state, 2).await;

    redis.stop();
    // The event subscription ends with an error that says what to do.
    let msg = ws.message().await;
    assert_eq!(msg["id"], "s", "{msg}");
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{msg}"
    );
    assert!(
        msg["payload"]["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("subscribe again"),
        "{msg}"
    );
    assert_eq!(ws.message().await, json!({ "type": "complete", "id": "s" }));
    // While Redis is away, new subscriptions are refused rather than deaf.
    ws.subscribe("t", "subscription { orderCreated { id } }", json!({}))
        .await;
    let refused = ws.next_of("t").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );
    assert_eq!(ws.message().await, json!({ "type": "complete", "id": "t" }));

    // Back: the instance subscribes again by itself.
    redis.restart().await;
    let mut healed = false;
    for _ in 0..1_000 {
        if app.state.store.events.is_hearing() {
            healed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(healed, "the instance did not resubscribe");
    ws.subscribe("u", "subscription { orderCreated { id } }", json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = create_order(&app, ids[0], "4.00").await;
    // The ranking subscription lived through it and catches up.
    let mut saw_order = false;
    let mut saw_ranking = false;
    while !(saw_order && saw_ranking) {
        let msg = ws.message().await;
        match msg["id"].as_str() {
            Some("u") => {
                assert_eq!(
                    msg["payload"]["data"]["orderCreated"]["id"],
                    id.as_str(),
                    "{msg}"
                );
                saw_order = true;
            }
            Some("r") => {
                let rows = &msg["payload"]["data"]["topCustomersChanged"];
                if rows.as_array().is_some_and(|r| !r.is_empty()) {
                    assert_eq!(rows[0]["totalSpent"], "4.00");
                    saw_ranking = true;
                }
            }
            _ => panic!("{msg}"),
        }
    }
}

#[tokio::test]
#[ignore = "needs Redis (REDIS_URL or redis-server)"]
async fn a_customer_hears_only_of_its_own_rows_whichever_instance_wrote_them() {
    let (db, settings, prefix, _redis) = shared_redis().await;
    let a = spawn_on(db, settings, prefix).await;
    let b = a.spawn_sibling().await;
    let ids = a.seed_customers(2).await;
    let token = crate::helpers::customer_token(ids[0]);
    let mut on_a = Ws::connect(
        &a.address,
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await;
    // Asking for the other customer's orders, and for every order.
    on_a.subscribe("theirs", ORDER_CREATED, json!({ "c": ids[1].to_string() }))
        .await;
    on_a.subscribe("all", ORDER_CREATED, json!({})).await;
    listening(&a.state, 2).await;
    let client = reqwest::Client::new();
    let writer = crate::helpers::writer();
    let mut created = Vec::new();
    for customer in [ids[1], ids[1], ids[0]] {
        let body = json!({ "query": CREATE_ORDER, "variables": { "c": customer.to_string(), "t": "1.00" } });
        let resp = crate::helpers::post_graphql(&client, &b.address, &body, Some(&writer)).await;
        created.push(data(&resp)["createOrder"]["id"].clone());
    }
    // The other customer's two orders, written first through B, never
    // reach it: the first delivery is its own.
    let got = on_a.next_of("all").await;
    assert_eq!(got["data"]["orderCreated"]["id"], created[2]);
    assert_eq!(
        got["data"]["orderCreated"]["customer"]["id"],
        ids[0].to_string()
    );
    on_a.silent_for(Duration::from_millis(300)).await;
}
