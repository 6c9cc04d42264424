//! The result cache: read-through, exact invalidation, no stale reads after a
//! write (also across instances and under races), and survival of Redis
//! outages. Runs against Redis when `REDIS_URL` is set and against the
//! in-process cache otherwise; the outage tests start a private Redis.

mod freshness;
mod outages;

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, data, spawn_app, spawn_on, test_settings};
use crate::proxy::{FaultProxy, route_through, upstream_of};
use crate::redis_server::RedisServer;

const STATS: &str = "query($id: ID!) { customer(id: $id) { name orderCount totalSpent } }";

/// Statements a query costs (and its response).
async fn cost(app: &TestApp, query: &str, variables: Value) -> (u64, Value) {
    let before = app.statements();
    let resp = app.query(query, variables).await;
    data(&resp);
    (app.statements() - before, resp)
}
