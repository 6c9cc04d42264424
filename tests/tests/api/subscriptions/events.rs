//! Events of mutations reach subscribers: filters, bulk order, committed state, nothing from failed writes.

use super::*;

#[tokio::test]
async fn created_orders_reach_subscribers_with_their_filters() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let (a, b) = (ids[0], ids[1]);
    let mut ws = Ws::connect(&app.address, json!({})).await;
    ws.subscribe("mine", ORDER_CREATED, json!({ "c": a.to_string() }))
        .await;
    ws.subscribe("all", ORDER_CREATED, json!({})).await;
    listening(&app.state, 2).await;

    let first = create_order(&app, b, "5.00").await;
    let second = create_order(&app, a, "12.50").await;

    // "all" gets both, in commit order; "mine" only customer a's.
    let mut all = Vec::new();
    let mut mine = Vec::new();
    while all.len() < 2 || mine.is_empty() {
        let msg = ws.message().await;
        assert_eq!(msg["type"], "next", "{msg}");
        let order = msg["payload"]["data"]["orderCreated"].clone();
        match msg["id"].as_str() {
            Some("all") => all.push(order),
            Some("mine") => mine.push(order),
            other => panic!("unexpected id {other:?}"),
        }
    }
    assert_eq!(all[0]["id"], first.as_str());
    assert_eq!(all[1]["id"], second.as_str());
    assert_eq!(
        mine,
        vec![json!({
            "id": second,
            "total": "12.50",
            "status": "PENDING",
            "customer": { "id": a.to_string(), "name": "Customer 0" },
        })]
    );
    ws.silent_for(Duration::from_millis(300)).await;

    // The metrics name what runs.
    let metrics = app.metrics().await;
    for name in [
        "ws_connections_open",
        "graphql_subscriptions_active{field=\"orderCreated\"}",
        "subscription_events_delivered_total{field=\"orderCreated\"}",
        "events_published_total",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
}

#[tokio::test]
async fn a_bulk_insert_delivers_every_order_in_input_order() {
    let app = spawn_app().await;
    let ids = app.seed_customers(3).await;
    let mut ws = Ws::connect(&app.address, json!({})).await;
    ws.subscribe(
        "s",
        "subscription { orderCreated { id total customer { id } } }",
        json!({}),
    )
    .await;
    listening(&app.state, 1).await;
    let input: Vec<Value> = (0..300)
        .map(|i| json!({ "customerId": ids[i % 3].to_string(), "total": format!("{}.00", i + 1) }))
        .collect();
    let resp = app
        .mutate(
            "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
    let created: Vec<Value> = data(&resp)["createOrders"]
        .as_array()
        .expect("list")
        .iter()
        .map(|o| o["id"].clone())
        .collect();
    for (i, id) in created.iter().enumerate() {
        let order = ws.next_of("s").await["data"]["orderCreated"].clone();
        assert_eq!(&order["id"], id);
        assert_eq!(order["total"], format!("{}.00", i + 1));
        assert_eq!(order["customer"]["id"], ids[i % 3].to_string());
    }
    ws.silent_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn failed_writes_publish_nothing() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let mut ws = Ws::connect(&app.address, json!({})).await;
    ws.subscribe("o", "subscription { orderCreated { id } }", json!({}))
        .await;
    ws.subscribe(
        "c",
        "subscription { customerUpdated { id name } }",
        json!({}),
    )
    .await;
    listening(&app.state, 2).await;
    let before = app.count_rows("orders").await;

    // The last row names a customer that does not exist: all or nothing.
    let resp = app
        .mutate(
            "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }",
            json!({ "i": [
                { "customerId": ids[0].to_string(), "total": "1.00" },
                { "customerId": "999999", "total": "2.00" },
            ] }),
        )
        .await;
    assert!(resp["errors"].is_array(), "{resp}");
    // A change to an email in use is refused too.
    let resp = app
        .mutate(
            "mutation($id: ID!) { updateCustomer(id: $id, input: {email: \"c1@example.com\"}) { id } }",
            json!({ "id": ids[0].to_string() }),
        )
        .await;
    assert!(resp["errors"].is_array(), "{resp}");
    assert_eq!(app.count_rows("orders").await, before);

    // The next committed write is the first thing either subscriber hears.
    let id = create_order(&app, ids[0], "3.00").await;
    let payload = ws.next_of("o").await;
    assert_eq!(payload["data"]["orderCreated"]["id"], id.as_str());
    ws.silent_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn updates_carry_the_committed_state_and_honour_filters() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let (a, b) = (ids[0], ids[1]);
    let order_a = app.seed_order(a, 1_000, "2025-01-01T00:00:00Z").await;
    let order_b = app.seed_order(b, 2_000, "2025-01-01T00:00:00Z").await;
    let mut ws = Ws::connect(&app.address, json!({})).await;
    ws.subscribe(
        "ou",
        "subscription($c: ID) { orderUpdated(customerId: $c) { id total status } }",
        json!({ "c": a.to_string() }),
    )
    .await;
    ws.subscribe(
        "cu",
        "subscription($id: ID) { customerUpdated(id: $id) { id name email totalSpent } }",
        json!({ "id": b.to_string() }),
    )
    .await;
    listening(&app.state, 2).await;

    let update =
        "mutation($id: ID!, $s: OrderStatus) { updateOrder(id: $id, input: {status: $s}) { id } }";
    data(
        &app.mutate(update, json!({ "id": order_b.to_string(), "s": "PAID" }))
            .await,
    );
    data(
        &app.mutate(update, json!({ "id": order_a.to_string(), "s": "SHIPPED" }))
            .await,
    );
    let rename =
        "mutation($id: ID!, $n: String!) { updateCustomer(id: $id, input: {name: $n}) { id } }";
    data(
        &app.mutate(rename, json!({ "id": a.to_string(), "n": "Not watched" }))
            .await,
    );
    data(
        &app.mutate(rename, json!({ "id": b.to_string(), "n": "Renamed" }))
            .await,
    );

    let first = ws.message().await;
    assert_eq!(first["id"], "ou", "{first}");
    assert_eq!(
        first["payload"]["data"]["orderUpdated"],
        json!({ "id": order_a.to_string(), "total": "10.00", "status": "SHIPPED" })
    );
    let second = ws.message().await;
    assert_eq!(second["id"], "cu", "{second}");
    assert_eq!(
        second["payload"]["data"]["customerUpdated"],
        json!({ "id": b.to_string(), "name": "Renamed", "email": "c1@example.com", "totalSpent": "20.00" })
    );
    ws.silent_for(Duration::from_millis(300)).await;
}
