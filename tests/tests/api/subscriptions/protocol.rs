//! The protocol at the socket: refusals as `error`, close codes, tokens, caps, slow consumers, shutdown.

use super::*;

#[tokio::test]
async fn refused_operations_get_an_error_message() {
    let app = spawn_app_with(|s| s.ws.max_subscriptions_per_connection = 2).await;
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
        s.ws.init_timeout_secs = 1;
        s.ws.max_message_bytes = 4_096;
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
    let app = spawn_app_with(|s| s.ws.max_connections = 2).await;
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
        s.ws.event_backlog = 2;
        s.graphql.max_bulk_rows = 5_000;
    })
    .await;
    let ids = app.seed_customers(1).await;
    let mut ws = slow_subscriber(&app, ids[0]).await;
    listening(&app.state, 1).await;
    // About 9 kB per message: 2,000 of them are far more than the socket buffers.
    let bulk: Vec<Value> = (0..2_000)
        .map(|_| json!({ "customerId": ids[0].to_string(), "total": "1.00" }))
        .collect();
    data(&app.mutate(CREATE_ORDERS, json!({ "i": bulk })).await);
    for _ in 0..5 {
        create_order(&app, ids[0], "2.00").await;
    }
    // Now read: everything sent, then the close.
    let received = read_until_let_go(&mut ws).await;
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
