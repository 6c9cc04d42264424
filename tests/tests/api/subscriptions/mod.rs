//! Subscriptions over the WebSocket at `/graphql`, with a real client:
//! what each field delivers, which writes publish, the protocol's close
//! codes, the limits, fan-out across instances and Redis outages.

mod audiences;
mod events;
mod instances;
mod protocol;
mod ranking;
mod rate;

use std::time::Duration;

use api::state::AppState;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, data, spawn_app, spawn_app_with, spawn_on, test_settings};
use crate::redis_server::RedisServer;
use crate::ws_client::{Received, Ws, open, open_with_buffer};

const ORDER_CREATED: &str = "subscription($c: ID) { orderCreated(customerId: $c) { id total status customer { id name } } }";
const RANKING: &str = "subscription($l: Int = 10, $m: Int = 1) { topCustomersChanged(limit: $l, minOrders: $m) { customer { id name } totalSpent orderCount } }";
const CREATE_ORDER: &str =
    "mutation($c: ID!, $t: Decimal!) { createOrder(input: {customerId: $c, total: $t}) { id } }";

/// Waits until `n` subscriptions of the instance listen for its events (a
/// subscription listens from the moment its audience's first event could
/// reach it).
pub(crate) async fn listening(state: &AppState, n: usize) {
    for _ in 0..500 {
        if state.engine.audiences.listening() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "expected {n} listening subscriptions, have {}",
        state.engine.audiences.listening()
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

/// Reads a subscriber that fell behind to its end: what it was sent, its
/// last word (`SERVICE_UNAVAILABLE`: why it ends), then the close with 1008.
/// Returns how many `next` messages it got.
async fn read_until_let_go(ws: &mut Ws) -> usize {
    let mut received = 0;
    let mut last = Value::Null;
    let ending = loop {
        match ws.recv().await {
            Received::Json(msg) if msg["type"] == "next" => {
                received += 1;
                last = msg;
            }
            Received::Json(msg) if msg["type"] == "complete" => {}
            other => break other,
        }
    };
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
    received
}

/// Each message about 9 kB (the order's customer with 100 orders, once
/// [`slow_subscriber`] wrote them): a socket's buffers fill quickly.
const BIG: &str = "subscription { orderCreated { id customer { orders(first: 100) { nodes { id total status createdAt } } } } }";

const CREATE_ORDERS: &str = "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }";

/// Gives `customer` 100 old orders, then opens a socket with a 4 kB receive
/// buffer subscribed to [`BIG`] as `big` (it reads nothing until asked).
async fn slow_subscriber(app: &TestApp, customer: i64) -> Ws {
    let filler: Vec<Value> = (0..100)
        .map(|i| json!({ "customerId": customer.to_string(), "total": format!("{i}.00"), "createdAt": "2020-01-01T00:00:00Z" }))
        .collect();
    data(&app.mutate(CREATE_ORDERS, json!({ "i": filler })).await);
    let mut ws = open_with_buffer(&app.address, Some("graphql-transport-ws"), Some(4_096))
        .await
        .expect("open");
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(ws.message().await["type"], "connection_ack");
    ws.subscribe("big", BIG, json!({})).await;
    ws
}
