//! Who sees what (contract, "Auth"): a `customer` token sees its own
//! customer row and orders on every path and nothing of anyone else's, its
//! mutations follow the contract's table and order of checks, and nothing
//! (cache, cursors, persisted documents, subscriptions, metrics, rate
//! limits) is shared across callers that should not share it.

mod limits;
mod property;
mod reads;
mod shared;
mod tokens;
mod writes;

use serde_json::Value;

use crate::helpers::{TestApp, customer_token, spawn_app};

/// Three customers: `a` and `b` with orders, `c` without.
pub struct Shop {
    pub app: TestApp,
    pub a: i64,
    pub b: i64,
    pub c: i64,
    /// `a`'s orders: PENDING 12.50, PAID 3.00, SHIPPED 9.90.
    pub a_orders: Vec<String>,
    /// `b`'s orders: PENDING 50.00, PAID 7.00.
    pub b_orders: Vec<String>,
}

/// Creates an order through the service, as a writer's mutation does
/// (invalidation and event included, no rate limit or budget in the
/// way); returns its id.
pub async fn order(app: &TestApp, customer: i64, total: &str, status: &str, at: &str) -> String {
    let new = service::input::NewOrder::parse(
        customer,
        total.parse::<service::money::Money>().expect("money"),
        service::model::OrderStatus::from_name(status),
        Some(
            chrono::DateTime::parse_from_rfc3339(at)
                .expect("instant")
                .with_timezone(&chrono::Utc),
        ),
    )
    .expect("order");
    app.store()
        .orders(&service::View::unrestricted())
        .create(new)
        .await
        .expect("created")
        .id
        .to_string()
}

pub async fn shop() -> Shop {
    shop_on(spawn_app().await).await
}

pub async fn shop_on(app: TestApp) -> Shop {
    let ids = app.seed_customers(3).await;
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    let mut a_orders = Vec::new();
    for (total, status, at) in [
        ("12.50", "PENDING", "2026-01-05T10:00:00Z"),
        ("3.00", "PAID", "2026-02-10T10:00:00Z"),
        ("9.90", "SHIPPED", "2026-03-01T10:00:00Z"),
    ] {
        a_orders.push(order(&app, a, total, status, at).await);
    }
    let mut b_orders = Vec::new();
    for (total, status, at) in [
        ("50.00", "PENDING", "2026-01-06T10:00:00Z"),
        ("7.00", "PAID", "2026-02-11T10:00:00Z"),
    ] {
        b_orders.push(order(&app, b, total, status, at).await);
    }
    Shop {
        app,
        a,
        b,
        c,
        a_orders,
        b_orders,
    }
}

impl Shop {
    /// Runs `query` as the customer `id`; the whole response.
    pub async fn as_customer(&self, id: i64, query: &str, variables: Value) -> Value {
        self.app
            .graphql(query, variables, Some(&customer_token(id)))
            .await
    }
}

/// The ids of a list of `{ id }` objects.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}
