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
