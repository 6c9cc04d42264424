//! `subscribe` messages draw on the caller's `RATE_LIMIT_PER_SECOND`
//! allowance like HTTP requests: past it a `subscribe` gets an `error`
//! message (`SERVICE_UNAVAILABLE`) and starts nothing, the socket stays
//! open, and other callers keep their own allowance.

use super::*;

const SUBSCRIPTION: &str = "subscription { orderCreated { id } }";

#[tokio::test]
async fn subscribes_past_the_callers_rate_get_an_error_and_start_nothing() {
    let app = spawn_app_with(|s| {
        s.http.rate_limit_per_second = Some(1);
        s.http.rate_limit_burst = Some(4);
    })
    .await;
    let customer = app.seed_customers(1).await[0];
    // Two upgrades take two of the address's four; the second socket's
    // `connection_init` carries a token, so its subscribes count under the
    // token's subject instead.
    let mut other = Ws::connect(
        &app.address,
        json!({ "Authorization": format!("Bearer {}", crate::helpers::writer()) }),
    )
    .await;
    let mut ws = Ws::connect(&app.address, json!({})).await;
    // Two subscribes take the rest; the third (sent at once) is over.
    for id in ["a", "b", "c"] {
        ws.subscribe(id, SUBSCRIPTION, json!({})).await;
    }
    let msg = ws.message().await;
    assert_eq!(msg["type"], "error", "{msg}");
    assert_eq!(msg["id"], "c");
    assert_eq!(
        msg["payload"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{msg}"
    );
    assert!(
        msg["payload"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("per second")),
        "{msg}"
    );
    listening(&app.state, 2).await;
    // The token's subject has its own allowance.
    other.subscribe("e", SUBSCRIPTION, json!({})).await;
    listening(&app.state, 3).await;
    other.silent_for(Duration::from_millis(200)).await;
    // The address is out of allowance over HTTP too.
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "{ customers { totalCount } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 429);

    // A second later the first socket may subscribe again, with the
    // refused id: nothing of it was kept.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    ws.subscribe("c", SUBSCRIPTION, json!({})).await;
    listening(&app.state, 4).await;
    assert_eq!(app.state.engine.audiences.listening(), 4);
    // One document, one audience: one listener of the events.
    assert_eq!(app.state.engine.audiences.count(), 1);
    assert_eq!(app.state.store.events.listeners(), 1);
    let order = create_order(&app, customer, "1.00").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let msg = ws.message().await;
        assert_eq!(msg["type"], "next", "{msg}");
        assert_eq!(msg["payload"]["data"]["orderCreated"]["id"], order, "{msg}");
        ids.push(msg["id"].as_str().unwrap_or_default().to_owned());
    }
    ids.sort();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(
        other.next_of("e").await["data"]["orderCreated"]["id"],
        order
    );
}
