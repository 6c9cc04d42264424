//! Audiences: subscriptions with the same document, variables and view
//! share one resolution of each event and one encoded payload; distinct
//! arguments or views are distinct audiences, resolved only for the events
//! they concern; the last subscriber to leave stops its audience.

use super::*;

#[tokio::test]
async fn subscribers_of_one_audience_share_one_resolution_and_the_same_payload() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let mine = json!({ "c": ids[0].to_string() });
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut ws = Ws::connect(&app.address, json!({})).await;
        for k in 0..4 {
            ws.subscribe(&format!("s{k}"), ORDER_CREATED, mine.clone())
                .await;
        }
        sockets.push(ws);
    }
    // Other arguments, and another view of the same arguments.
    let mut others = Ws::connect(&app.address, json!({})).await;
    others
        .subscribe("theirs", ORDER_CREATED, json!({ "c": ids[1].to_string() }))
        .await;
    let token = crate::helpers::customer_token(ids[1]);
    let mut customer = Ws::connect(
        &app.address,
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await;
    customer.subscribe("c", ORDER_CREATED, mine.clone()).await;
    listening(&app.state, 14).await;
    assert_eq!(app.state.engine.audiences.count(), 3);
    assert_eq!(app.state.store.events.listeners(), 3);

    let before = app.state.engine.audiences.produced();
    let order = create_order(&app, ids[0], "2.50").await;
    let mut payloads = Vec::new();
    for ws in &mut sockets {
        let mut heard = Vec::new();
        for _ in 0..4 {
            let msg = ws.message().await;
            assert_eq!(msg["type"], "next", "{msg}");
            heard.push(msg["id"].as_str().expect("id").to_owned());
            payloads.push(msg["payload"].to_string());
        }
        heard.sort();
        assert_eq!(heard, ["s0", "s1", "s2", "s3"]);
    }
    assert!(payloads.windows(2).all(|w| w[0] == w[1]), "{payloads:?}");
    assert!(payloads[0].contains(&order), "{}", payloads[0]);
    // Twelve subscribers, one resolution; none for the audiences the
    // order does not concern.
    assert_eq!(app.state.engine.audiences.produced() - before, 1);
    others.silent_for(Duration::from_millis(200)).await;
    customer.silent_for(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn different_views_of_one_document_are_resolved_apart() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let doc = "subscription { orderCreated { id customer { id } } }";
    let mut staff = Ws::connect(&app.address, json!({})).await;
    staff.subscribe("s", doc, json!({})).await;
    let token = crate::helpers::customer_token(ids[0]);
    let mut customer = Ws::connect(
        &app.address,
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await;
    customer.subscribe("s", doc, json!({})).await;
    listening(&app.state, 2).await;
    assert_eq!(app.state.engine.audiences.count(), 2);
    let before = app.state.engine.audiences.produced();
    // The customer's own order: both hear it, each audience resolved it.
    let own = create_order(&app, ids[0], "1.00").await;
    assert_eq!(staff.next_of("s").await["data"]["orderCreated"]["id"], own);
    assert_eq!(
        customer.next_of("s").await["data"]["orderCreated"]["id"],
        own
    );
    assert_eq!(app.state.engine.audiences.produced() - before, 2);
    // Another customer's: staff only, resolved once.
    let other = create_order(&app, ids[1], "1.00").await;
    assert_eq!(
        staff.next_of("s").await["data"]["orderCreated"]["id"],
        other
    );
    assert_eq!(app.state.engine.audiences.produced() - before, 3);
    customer.silent_for(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn the_last_subscriber_to_leave_stops_its_audience() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let mut a = Ws::connect(&app.address, json!({})).await;
    let mut b = Ws::connect(&app.address, json!({})).await;
    a.subscribe("x", ORDER_CREATED, json!({})).await;
    b.subscribe("y", ORDER_CREATED, json!({})).await;
    listening(&app.state, 2).await;
    assert_eq!(app.state.engine.audiences.count(), 1);
    // One leaves: the other still hears.
    a.send(json!({ "id": "x", "type": "complete" })).await;
    for _ in 0..200 {
        if app.state.engine.audiences.listening() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(app.state.engine.audiences.listening(), 1);
    let order = create_order(&app, ids[0], "1.00").await;
    assert_eq!(b.next_of("y").await["data"]["orderCreated"]["id"], order);
    a.silent_for(Duration::from_millis(200)).await;
    // The last leaves: the audience and its listener go.
    b.send(json!({ "id": "y", "type": "complete" })).await;
    for _ in 0..200 {
        if app.state.engine.audiences.count() == 0 && app.state.store.events.listeners() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the audience outlived its subscribers: {} audiences, {} listeners",
        app.state.engine.audiences.count(),
        app.state.store.events.listeners()
    );
}

#[tokio::test]
async fn a_slow_socket_is_let_go_without_delaying_the_others_of_its_audience() {
    let app = spawn_app_with(|s| s.ws.event_backlog = 2).await;
    let ids = app.seed_customers(1).await;
    let mut slow = slow_subscriber(&app, ids[0]).await;
    let mut fast = Ws::connect(&app.address, json!({})).await;
    fast.subscribe("big", BIG, json!({})).await;
    listening(&app.state, 2).await;
    assert_eq!(app.state.engine.audiences.count(), 1);
    // The fast one reads all along.
    let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = read.clone();
    let reader = tokio::spawn(async move {
        let mut ids = Vec::new();
        while ids.len() < 1_005 {
            let msg = fast.message().await;
            assert_eq!(msg["type"], "next", "after {} orders: {msg}", ids.len());
            let payload = &msg["payload"];
            assert!(
                payload.get("errors").is_none(),
                "after {} orders: {msg}",
                ids.len()
            );
            ids.push(payload["data"]["orderCreated"]["id"].clone());
            count.store(ids.len(), std::sync::atomic::Ordering::SeqCst);
        }
        ids
    });
    let bulk: Vec<Value> = (0..1_000)
        .map(|_| json!({ "customerId": ids[0].to_string(), "total": "1.00" }))
        .collect();
    data(&app.mutate(CREATE_ORDERS, json!({ "i": bulk })).await);
    // Five more writes, each once the fast one has read everything before
    // it (so it keeps up; the slow one falls more than two writes behind).
    for k in 0..5 {
        for _ in 0..3_000 {
            if read.load(std::sync::atomic::Ordering::SeqCst) >= 1_000 + k {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        create_order(&app, ids[0], "2.00").await;
    }
    let heard = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("the fast subscriber was not held up")
        .expect("reader");
    assert_eq!(heard.len(), 1_005);
    // The slow one: what it was sent, then why it ends, then 1008.
    read_until_let_go(&mut slow).await;
}
