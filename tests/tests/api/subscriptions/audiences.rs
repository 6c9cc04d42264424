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
