//! Subscriptions over the WebSocket at `/graphql`, with a real client:
//! what each field delivers, which writes publish, the protocol's close
//! codes, the limits, fan-out across instances and Redis outages.

use std::time::Duration;

use api::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, data, spawn_app, spawn_app_with, spawn_on, test_settings};
use crate::redis_server::RedisServer;
use crate::ws_client::{Received, Ws, open, open_with_buffer};

const ORDER_CREATED: &str = "subscription($c: ID) { orderCreated(customerId: $c) { id total status customer { id name } } }";
const CREATE_ORDER: &str =
    "mutation($c: ID!, $t: Decimal!) { createOrder(input: {customerId: $c, total: $t}) { id } }";

/// Waits until the instance has `n` listeners of its events (a subscription
/// listens from the moment its first event could reach it).
async fn listening(state: &AppState, n: usize) {
    for _ in 0..500 {
        if state.store.events.listeners() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "expected {n} event listeners, have {}",
        state.store.events.listeners()
    );
}

async fn create_order(app: &TestApp, customer: i64, total: &str) -> String {
    let resp = app
        .mutate(
            CREATE_ORDER,
            json!({ "c": customer.to_string(), "t": total }),
        )
        .await;
    data(&resp)["createOrder"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

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

const RANKING: &str = "subscription($l: Int = 10, $m: Int = 1) { topCustomersChanged(limit: $l, minOrders: $m) { customer { id name } totalSpent orderCount } }";

#[tokio::test]
async fn the_ranking_comes_at_once_then_only_when_it_changed() {
    let app = spawn_app().await;
    let ids = app.seed_customers(3).await;
    app.seed_order(ids[0], 5_000, "2025-01-01T00:00:00Z").await;
    app.seed_order(ids[1], 3_000, "2025-01-01T00:00:00Z").await;
    let mut one = Ws::connect(&app.address, json!({})).await;
    let mut two = Ws::connect(&app.address, json!({})).await;
    one.subscribe("r", RANKING, json!({ "l": 2 })).await;
    two.subscribe("r", RANKING, json!({ "l": 2, "m": 1 })).await;

    let expected = json!({ "topCustomersChanged": [
        { "customer": { "id": ids[0].to_string(), "name": "Customer 0" }, "totalSpent": "50.00", "orderCount": 1 },
        { "customer": { "id": ids[1].to_string(), "name": "Customer 1" }, "totalSpent": "30.00", "orderCount": 1 },
    ] });
    let first = one.next_of("r").await;
    assert_eq!(first["data"], expected, "{first}");
    assert_eq!(two.next_of("r").await["data"], expected);
    // Same arguments (given or defaulted): one watcher for both.
    assert_eq!(app.state.rankings.len(), 1);
    // The query agrees.
    let query = app
        .query(
            "{ topCustomers(limit: 2) { customer { id name } totalSpent orderCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&query)["topCustomers"],
        expected["topCustomersChanged"]
    );

    // A write that does not change the top two: no push.
    create_order(&app, ids[2], "1.00").await;
    one.silent_for(Duration::from_millis(2_500)).await;

    // Customer 2 overtakes customer 1.
    create_order(&app, ids[2], "40.00").await;
    let pushed = one.next_of("r").await;
    assert_eq!(
        pushed["data"]["topCustomersChanged"][1],
        json!({ "customer": { "id": ids[2].to_string(), "name": "Customer 2" }, "totalSpent": "41.00", "orderCount": 2 })
    );
    assert_eq!(two.next_of("r").await, pushed);

    // A renamed customer in the ranking counts as a change.
    let rename =
        "mutation($id: ID!, $n: String!) { updateCustomer(id: $id, input: {name: $n}) { id } }";
    data(
        &app.mutate(
            rename,
            json!({ "id": ids[0].to_string(), "n": "Top buyer" }),
        )
        .await,
    );
    let pushed = one.next_of("r").await;
    assert_eq!(
        pushed["data"]["topCustomersChanged"][0]["customer"]["name"],
        "Top buyer"
    );

    // When its subscribers leave, the watcher goes.
    drop(one);
    drop(two);
    for _ in 0..300 {
        if app.state.rankings.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(app.state.rankings.is_empty());
}

#[tokio::test]
async fn distinct_ranking_argument_sets_are_bounded() {
    let app = spawn_app_with(|s| s.subscription_max_rankings = 2).await;
    let mut ws = Ws::connect(&app.address, json!({})).await;
    for (id, limit) in [("a", 1), ("b", 2)] {
        ws.subscribe(id, RANKING, json!({ "l": limit })).await;
        assert_eq!(
            ws.next_of(id).await["data"]["topCustomersChanged"],
            json!([])
        );
    }
    ws.subscribe("c", RANKING, json!({ "l": 3 })).await;
    let refused = ws.next_of("c").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{refused}"
    );
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("SUBSCRIPTION_MAX_RANKINGS"),
        "{refused}"
    );
    let done = ws.message().await;
    assert_eq!(done, json!({ "type": "complete", "id": "c" }));
    // An argument set in use is still open to more subscribers.
    ws.subscribe("d", RANKING, json!({ "l": 2 })).await;
    assert_eq!(
        ws.next_of("d").await["data"]["topCustomersChanged"],
        json!([])
    );
    // Bad arguments are refused with the query's code.
    ws.subscribe("e", RANKING, json!({ "l": 101 })).await;
    let refused = ws.next_of("e").await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn refused_operations_get_an_error_message() {
    let app = spawn_app_with(|s| s.ws_max_subscriptions_per_connection = 2).await;
    let mut ws = Ws::connect(&app.address, json!({})).await;
    let cases = [
        ("syntax", "subscription {", "BAD_USER_INPUT"),
        ("unknown", "subscription { nope }", "BAD_USER_INPUT"),
        (
            "two-roots",
            "subscription { orderCreated { id } orderUpdated { id } }",
            "BAD_USER_INPUT",
        ),
        ("query", "{ customers { totalCount } }", "BAD_USER_INPUT"),
        (
            "mutation",
            "mutation { deleteOrder(id: \"1\") }",
            "BAD_USER_INPUT",
        ),
    ];
    for (id, query, code) in cases {
        ws.subscribe(id, query, json!({})).await;
        let msg = ws.message().await;
        assert_eq!(msg["type"], "error", "{id}: {msg}");
        assert_eq!(msg["id"], id);
        assert_eq!(msg["payload"][0]["extensions"]["code"], code, "{id}: {msg}");
    }
    // A bad argument value is the field's error: `next` with it, then `complete`.
    ws.subscribe(
        "bad-id",
        "subscription { orderCreated(customerId: \"x\") { id } }",
        json!({}),
    )
    .await;
    let msg = ws.next_of("bad-id").await;
    assert_eq!(
        msg["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{msg}"
    );
    assert_eq!(
        ws.message().await,
        json!({ "type": "complete", "id": "bad-id" })
    );
    // The id of a refused operation may be used again.
    ws.subscribe("a", "subscription { orderCreated { id } }", json!({}))
        .await;
    ws.subscribe("b", "subscription { orderCreated { id } }", json!({}))
        .await;
    ws.subscribe("syntax", "subscription { orderCreated { id } }", json!({}))
        .await;
    let msg = ws.message().await;
    assert_eq!(msg["type"], "error", "{msg}");
    assert_eq!(msg["id"], "syntax");
    assert!(
        msg["payload"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("WS_MAX_SUBSCRIPTIONS_PER_CONNECTION"),
        "{msg}"
    );
    // Completing one makes room; nothing comes back for a completed id.
    ws.send(json!({ "type": "complete", "id": "a" })).await;
    ws.subscribe("syntax", "subscription { orderCreated { id } }", json!({}))
        .await;
    listening(&app.state, 2).await;
    ws.silent_for(Duration::from_millis(300)).await;
    // Over HTTP a subscription is refused.
    let resp = app
        .query("subscription { orderCreated { id } }", json!({}))
        .await;
    assert_eq!(crate::helpers::error_code(&resp), "BAD_USER_INPUT");
    assert!(resp["data"].is_null(), "{resp}");
}

#[tokio::test]
async fn protocol_violations_close_with_the_protocols_codes() {
    let app = spawn_app_with(|s| {
        s.ws_init_timeout_secs = 1;
        s.ws_max_message_bytes = 4_096;
    })
    .await;
    let address = &app.address;
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { orderCreated { id } }" } });

    // Not a protocol message.
    let mut ws = Ws::connect(address, json!({})).await;
    ws.send_text("{not json").await;
    assert_eq!(ws.closed().await.0, 4400);
    let mut ws = Ws::connect(address, json!({})).await;
    ws.send(json!({ "type": "next", "id": "1" })).await;
    assert_eq!(ws.closed().await.0, 4400);
    let mut ws = Ws::connect(address, json!({})).await;
    ws.send_binary(vec![1, 2, 3]).await;
    assert_eq!(ws.closed().await.0, 4400);

    // Subscribing before the acknowledgement.
    let mut ws = open(address, Some("graphql-transport-ws"))
        .await
        .expect("open");
    ws.send(subscribe.clone()).await;
    assert_eq!(ws.closed().await, (4401, "Unauthorized".to_owned()));

    // A second connection_init.
    let mut ws = Ws::connect(address, json!({})).await;
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(ws.closed().await.0, 4429);

    // An id in use.
    let mut ws = Ws::connect(address, json!({})).await;
    ws.send(subscribe.clone()).await;
    ws.send(subscribe.clone()).await;
    assert_eq!(
        ws.closed().await,
        (4409, "Subscriber for 1 already exists".to_owned())
    );

    // No connection_init in time.
    let mut ws = open(address, Some("graphql-transport-ws"))
        .await
        .expect("open");
    let started = std::time::Instant::now();
    assert_eq!(ws.closed().await.0, 4408);
    assert!(started.elapsed() >= Duration::from_millis(900));

    // Too large a message.
    let mut ws = Ws::connect(address, json!({})).await;
    ws.send_text(&format!(
        "{{\"type\":\"ping\",\"payload\":{{\"x\":\"{}\"}}}}",
        "a".repeat(5_000)
    ))
    .await;
    assert_eq!(ws.closed().await.0, 1009);

    // Pings are answered.
    let mut ws = Ws::connect(address, json!({})).await;
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.message().await, json!({ "type": "pong" }));

    // Without the subprotocol the upgrade is refused.
    assert_eq!(open(address, None).await.err(), Some(400));
    assert_eq!(open(address, Some("graphql-ws")).await.err(), Some(400));
}

#[tokio::test]
async fn tokens_in_connection_init_are_checked() {
    let app = spawn_app().await;
    // Anonymous is allowed, like queries.
    let mut ws = Ws::connect(&app.address, json!(null)).await;
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.message().await["type"], "pong");
    // A valid token, in either place clients put it.
    Ws::connect(
        &app.address,
        json!({ "Authorization": format!("Bearer {}", crate::helpers::writer()) }),
    )
    .await;
    Ws::connect(
        &app.address,
        json!({ "headers": { "authorization": format!("Bearer {}", crate::helpers::writer()) } }),
    )
    .await;
    // An invalid or expired one closes the socket with 4403.
    let expired = api::auth::Jwt::new(b"another secret")
        .issue("x", api::auth::Role::Reader, Duration::from_secs(60))
        .expect("token");
    for bad in [
        json!({ "Authorization": "Bearer not-a-token" }),
        json!({ "Authorization": format!("Bearer {expired}") }),
        json!({ "Authorization": 42 }),
    ] {
        let mut ws = open(&app.address, Some("graphql-transport-ws"))
            .await
            .expect("open");
        ws.send(json!({ "type": "connection_init", "payload": bad }))
            .await;
        let (code, reason) = ws.closed().await;
        assert_eq!(code, 4403, "{bad}: {reason}");
        assert!(reason.starts_with("Forbidden"), "{reason}");
    }
}

#[tokio::test]
async fn connections_past_the_cap_are_refused() {
    let app = spawn_app_with(|s| s.ws_max_connections = 2).await;
    let _a = Ws::connect(&app.address, json!({})).await;
    let b = Ws::connect(&app.address, json!({})).await;
    assert_eq!(
        open(&app.address, Some("graphql-transport-ws")).await.err(),
        Some(503)
    );
    drop(b);
    for _ in 0..300 {
        if app.state.live.open() < 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ws::connect(&app.address, json!({})).await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    // Large messages, a subscriber that reads nothing, and more writes than
    // the backlog: the server stops writing, notices the backlog, and closes
    // with 1008 (read once the client reads again) instead of buffering.
    let app = spawn_app_with(|s| {
        s.event_backlog = 2;
        s.max_bulk_rows = 5_000;
    })
    .await;
    let ids = app.seed_customers(1).await;
    let filler: Vec<Value> = (0..100)
        .map(|i| json!({ "customerId": ids[0].to_string(), "total": format!("{i}.00"), "createdAt": "2020-01-01T00:00:00Z" }))
        .collect();
    let insert = "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }";
    data(&app.mutate(insert, json!({ "i": filler })).await);
    let mut ws = open_with_buffer(&app.address, Some("graphql-transport-ws"), Some(4_096))
        .await
        .expect("open");
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(ws.message().await["type"], "connection_ack");
    ws.subscribe(
        "big",
        "subscription { orderCreated { id customer { orders(first: 100) { nodes { id total status createdAt } } } } }",
        json!({}),
    )
    .await;
    listening(&app.state, 1).await;
    // About 9 kB per message: 2,000 of them are far more than the socket buffers.
    let bulk: Vec<Value> = (0..2_000)
        .map(|_| json!({ "customerId": ids[0].to_string(), "total": "1.00" }))
        .collect();
    data(&app.mutate(insert, json!({ "i": bulk })).await);
    for _ in 0..5 {
        create_order(&app, ids[0], "2.00").await;
    }
    // Now read: everything sent, then the close.
    let mut received = 0;
    let mut last = Value::Null;
    let ending = loop {
        match ws.recv().await {
            Received::Json(msg) if msg["type"] == "next" => {
                received += 1;
                last = msg;
            }
            Received::Json(msg) if msg == json!({ "type": "complete", "id": "big" }) => {}
            other => break other,
        }
    };
    // The subscription's last word says why it ends.
    assert_eq!(
        last["payload"]["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{last}"
    );
    match ending {
        Received::Closed(code, reason) => {
            assert_eq!(code, 1008, "{reason}");
            assert!(reason.contains("slow consumer"), "{reason}");
        }
        other => panic!("expected a close, got {other:?}"),
    }
    assert!(received < 2_005, "it got everything: {received}");
}

#[tokio::test]
async fn shutdown_completes_subscriptions_and_closes_with_1001() {
    let db = TestDb::create().await;
    let (settings, _prefix) = test_settings(&db);
    let (address, state, stop, server) = crate::helpers::start_stoppable(settings).await;
    let mut ws = Ws::connect(&address, json!({})).await;
    ws.subscribe("a", "subscription { orderCreated { id } }", json!({}))
        .await;
    ws.subscribe("b", RANKING, json!({})).await;
    assert_eq!(
        ws.next_of("b").await["data"]["topCustomersChanged"],
        json!([])
    );
    listening(&state, 2).await;
    stop.send(()).expect("stop");
    let mut completed = Vec::new();
    let (code, _) = loop {
        match ws.recv().await {
            Received::Json(msg) => {
                assert_eq!(msg["type"], "complete", "{msg}");
                completed.push(msg["id"].as_str().expect("id").to_owned());
            }
            Received::Closed(code, reason) => break (code, reason),
            Received::Ended => panic!("ended without a close frame"),
        }
    };
    completed.sort();
    assert_eq!(completed, ["a", "b"]);
    assert_eq!(code, 1001);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .expect("task")
        .expect("clean stop");
    drop(db);
}

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
    let private = if settings.redis_url.is_some() {
        None
    } else {
        let server = RedisServer::start()
            .await
            .expect("this test needs REDIS_URL or redis-server (see .ci/run)");
        settings.redis_url = Some(server.url());
        settings.redis_key_prefix = crate::helpers::unique_name("sub");
        prefix = Some(settings.redis_key_prefix.clone());
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
            let resp: Value = client
                .post(format!("{address}/graphql"))
                .bearer_auth(crate::helpers::writer())
                .json(&body)
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("JSON");
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
    let url = a.settings.redis_url.clone().expect("redis");
    let channel = format!("{}events", a.settings.redis_key_prefix);
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
        s.redis_url = Some(redis.url());
        s.redis_key_prefix = "outage-events:".into();
        s.cache_timeout_ms = 100;
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
