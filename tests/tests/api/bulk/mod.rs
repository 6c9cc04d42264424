//! Bulk writes, imports and seeding.

mod files;
mod mutations;

use std::io::Write as _;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code, error_message, spawn_app, spawn_app_with};

const CREATE_ORDERS: &str = "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id total status createdAt customer { id } } }";

fn order_inputs(customer: i64, n: usize) -> Vec<Value> {
    let statuses = ["PENDING", "PAID", "SHIPPED", "CANCELLED"];
    (0..n)
        .map(|i| {
            json!({
                "customerId": customer.to_string(),
                "total": format!("{}.{:02}", i * 7 % 1000, i % 100),
                "status": statuses[i % 4],
                "createdAt": format!("2025-{:02}-{:02}T{:02}:00:00Z", 1 + i % 12, 1 + i % 28, i % 24),
            })
        })
        .collect()
}

/// Everything but the id and customer of each order, in input order.
fn essence(orders: &[Value]) -> Vec<(Value, Value, Value)> {
    orders
        .iter()
        .map(|o| {
            (
                o["total"].clone(),
                o["status"].clone(),
                o["createdAt"].clone(),
            )
        })
        .collect()
}
