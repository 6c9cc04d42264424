//! Aggregates clients compose (the contract's "Aggregates"):
//! `ordersAggregate`, `Customer.ordersAggregate` (one statement for a page
//! of customers) and `ordersGrouped`, checked against an independent
//! computation over every row (plain Rust with chrono-tz, written here
//! without the server's code), with writes between the questions; and bad
//! input refused before anything runs.

mod random;
mod rollups;
mod snapshots;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code, error_message, spawn_app_with};

async fn app_without_cache() -> TestApp {
    spawn_app_with(|s| s.cache.disabled = true).await
}

/// An order as stored: (id, customer, status, cents, created at).
type Row = (i64, i64, String, i64, DateTime<Utc>);

/// One condition of a random `where`, as the plain computation tests it.
type Predicate = Box<dyn Fn(&Row) -> bool>;

/// Every order as stored.
async fn all_orders(app: &TestApp) -> Vec<Row> {
    let rows = app
        .store()
        .db
        .query_all_raw(Statement::from_string(
            app.db.backend,
            "SELECT id, customer_id, status, total_cents, created_at FROM orders".to_owned(),
        ))
        .await
        .expect("orders");
    rows.iter()
        .map(|r| {
            (
                r.try_get("", "id").expect("id"),
                r.try_get("", "customer_id").expect("customer"),
                r.try_get("", "status").expect("status"),
                r.try_get("", "total_cents").expect("total"),
                r.try_get("", "created_at").expect("created"),
            )
        })
        .collect()
}

fn money(cents: i64) -> String {
    service::money::Money::from_cents(cents).to_string()
}

const CREATE: &str = "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }";
const STATUSES: [&str; 4] = ["PENDING", "PAID", "SHIPPED", "CANCELLED"];

#[tokio::test]
async fn an_aggregate_covers_exactly_what_where_selects() {
    let app = app_without_cache().await;
    let ids = app.seed_customers(3).await;
    let orders = json!([
        { "customerId": ids[0].to_string(), "total": "10.00", "status": "PAID", "createdAt": "2026-01-01T00:00:00Z" },
        { "customerId": ids[0].to_string(), "total": "20.01", "status": "PAID", "createdAt": "2026-01-02T00:00:00Z" },
        { "customerId": ids[1].to_string(), "total": "5.00", "status": "PENDING", "createdAt": "2026-01-03T00:00:00Z" },
    ]);
    data(&app.mutate(CREATE, json!({ "i": orders })).await);
    let q = "query($w: OrderWhere) { ordersAggregate(where: $w) { count sum avg min max } }";
    let all = app.query(q, json!({})).await;
    assert_eq!(
        data(&all)["ordersAggregate"],
        json!({ "count": 3, "sum": "35.01", "avg": "11.67", "min": "5.00", "max": "20.01" })
    );
    let paid = app
        .query(q, json!({ "w": { "status": { "eq": "PAID" } } }))
        .await;
    // 30.01 / 2 = 15.005: half away from zero.
    assert_eq!(
        data(&paid)["ordersAggregate"],
        json!({ "count": 2, "sum": "30.01", "avg": "15.01", "min": "10.00", "max": "20.01" })
    );
    let none = app
        .query(q, json!({ "w": { "total": { "gt": "100" } } }))
        .await;
    assert_eq!(
        data(&none)["ordersAggregate"],
        json!({ "count": 0, "sum": "0.00", "avg": null, "min": null, "max": null })
    );

    // A page of customers with theirs: one statement for all of them.
    let page = "{ customers(first: 10) { nodes { id ordersAggregate(where: {status: {eq: PAID}}) { count sum max } } } }";
    app.query(page, json!({})).await; // warm
    let before = app.statements();
    let resp = app.query(page, json!({})).await;
    let used = app.statements() - before;
    let nodes = data(&resp)["customers"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    let got: Vec<Value> = nodes.iter().map(|n| n["ordersAggregate"].clone()).collect();
    assert_eq!(
        got,
        vec![
            json!({ "count": 2, "sum": "30.01", "max": "20.01" }),
            json!({ "count": 0, "sum": "0.00", "max": null }),
            json!({ "count": 0, "sum": "0.00", "max": null }),
        ]
    );
    assert_eq!(
        used, 2,
        "the page, then one statement for every customer's aggregate"
    );
}

#[tokio::test]
async fn groups_follow_the_time_zones_calendar() {
    let app = app_without_cache().await;
    let ids = app.seed_customers(2).await;
    let c = ids[0].to_string();
    let orders = json!([
        // 22:30 UTC on March 31 is April 1 in Berlin (summer time, +02).
        { "customerId": c, "total": "1.00", "status": "PAID", "createdAt": "2026-03-31T22:30:00Z" },
        { "customerId": c, "total": "2.00", "status": "PAID", "createdAt": "2026-03-31T21:30:00Z" },
        // 18:14 UTC on Dec 31 is still 2025 in Kathmandu (+05:45): 23:59.
        { "customerId": c, "total": "4.00", "status": "SHIPPED", "createdAt": "2025-12-31T18:14:00Z" },
        { "customerId": c, "total": "8.00", "status": "SHIPPED", "createdAt": "2025-12-31T18:15:00Z" },
    ]);
    data(&app.mutate(CREATE, json!({ "i": orders })).await);
    let q = "query($g: [OrderGroupKey!]!, $tz: String) { ordersGrouped(groupBy: $g, timeZone: $tz, orderBy: [KEY_ASC]) { period periodLabel count sum } }";
    let berlin = app
        .query(q, json!({ "g": ["MONTH"], "tz": "Europe/Berlin" }))
        .await;
    assert_eq!(
        normalize_periods(&data(&berlin)["ordersGrouped"]),
        normalize_periods(&json!([
            { "period": "2025-12-01T00:00:00+01:00", "periodLabel": "2025-12", "count": 2, "sum": "12.00" },
            { "period": "2026-03-01T00:00:00+01:00", "periodLabel": "2026-03", "count": 1, "sum": "2.00" },
            { "period": "2026-04-01T00:00:00+02:00", "periodLabel": "2026-04", "count": 1, "sum": "1.00" },
        ])),
        "{berlin}"
    );
    let kathmandu = app
        .query(q, json!({ "g": ["YEAR"], "tz": "Asia/Kathmandu" }))
        .await;
    let labels: Vec<(&str, i64)> = data(&kathmandu)["ordersGrouped"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["periodLabel"].as_str().expect("a value"),
                g["count"].as_i64().expect("a value"),
            )
        })
        .collect();
    assert_eq!(labels, vec![("2025", 1), ("2026", 3)]);
    let week = app
        .query(q, json!({ "g": ["WEEK", "STATUS"], "tz": "US/Eastern" }))
        .await;
    let first = &data(&week)["ordersGrouped"][0];
    assert_eq!(first["periodLabel"], "2026-W01", "{week}");
}

/// Periods as instants in one notation.
fn normalize_periods(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(groups) = v.as_array_mut() {
        for g in groups {
            if let Some(p) = g["period"].as_str() {
                let at = DateTime::parse_from_rfc3339(p)
                    .expect("a value")
                    .with_timezone(&Utc);
                g["period"] = json!(at.to_rfc3339());
            }
        }
    }
    v
}

#[tokio::test]
async fn the_articles_query_and_bad_input() {
    let app = app_without_cache().await;
    let ids = app.seed_customers(3).await;
    let mut orders = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        for k in 0..(4 + 2 * i) {
            orders.push(json!({ "customerId": id.to_string(), "total": format!("{}.00", 10 * (i + 1) + k) }));
        }
    }
    data(&app.mutate(CREATE, json!({ "i": orders })).await);
    let article = "{ ordersGrouped(groupBy: [CUSTOMER], having: {count: {gt: 5}}, orderBy: [SUM_DESC], first: 10) { customer { id } sum count } }";
    let resp = app.query(article, json!({})).await;
    assert_eq!(
        data(&resp)["ordersGrouped"],
        json!([
            { "customer": { "id": ids[2].to_string() }, "sum": "268.00", "count": 8 },
            { "customer": { "id": ids[1].to_string() }, "sum": "135.00", "count": 6 },
        ])
    );

    let bad = [
        (
            "{ ordersGrouped(groupBy: [STATUS], timeZone: \"Mars/Olympus\") { count } }",
            "timeZone",
        ),
        (
            "{ ordersGrouped(groupBy: [DAY], timeZone: \"UTC+3\") { count } }",
            "timeZone",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS, STATUS]) { count } }",
            "twice",
        ),
        (
            "{ ordersGrouped(groupBy: [DAY, MONTH]) { count } }",
            "more than one",
        ),
        ("{ ordersGrouped(groupBy: []) { count } }", "1 to 3"),
        (
            "{ ordersGrouped(groupBy: [STATUS, CUSTOMER, DAY, STATUS]) { count } }",
            "1 to 3",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS], first: 0) { count } }",
            "first",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS], first: 1001) { count } }",
            "first",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS], orderBy: [SUM_ASC, SUM_DESC]) { count } }",
            "twice",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS], having: {count: null}) { count } }",
            "having.count",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS], having: {sum: {}}) { count } }",
            "having.sum",
        ),
        (
            "{ ordersAggregate(where: {total: {eq: null}}) { count } }",
            "where.total.eq",
        ),
    ];
    for (query, says) in bad {
        let before = app.statements();
        let resp = app.query(query, json!({})).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{query}: {resp}");
        assert!(error_message(&resp).contains(says), "{query}: {resp}");
        assert_eq!(app.statements(), before, "{query}: nothing ran");
    }
}

#[tokio::test]
async fn aggregates_obey_the_row_budget() {
    // Every matching order is read: over the budget, refused before it runs.
    let app = spawn_app_with(|s| {
        s.cache.disabled = true;
        s.graphql.row_budget = 6;
    })
    .await;
    let ids = app.seed_customers(2).await;
    let orders: Vec<Value> = (0..10)
        .map(|i| json!({ "customerId": ids[i % 2].to_string(), "total": "1.00" }))
        .collect();
    data(&app.mutate(CREATE, json!({ "i": orders })).await);
    crate::compose::budget::analyze(&app).await;
    for query in [
        "{ ordersAggregate { count } }",
        "{ ordersGrouped(groupBy: [STATUS]) { count } }",
        "{ customers(first: 2) { nodes { ordersAggregate(where: {status: {eq: PAID}}) { count } } } }",
    ] {
        let before = app.statements();
        let resp = app.query(query, json!({})).await;
        assert_eq!(error_code(&resp), "QUERY_TOO_EXPENSIVE", "{query}: {resp}");
        assert!(
            app.statements() - before <= 2,
            "{query}: at most the estimate ran"
        );
    }
    // The article's query without `min`/`max` reads the kept per-customer
    // aggregates (one row per customer): within the budget, on both
    // backends; asking for `min` reads the orders again.
    let article = |extra: &str| {
        format!(
            "{{ ordersGrouped(groupBy: [CUSTOMER], having: {{count: {{gt: 1}}}}, orderBy: [SUM_DESC], first: 10) {{ customer {{ id }} count sum {extra} }} }}"
        )
    };
    let resp = app.query(&article(""), json!({})).await;
    assert_eq!(
        data(&resp)["ordersGrouped"],
        json!([
            { "customer": { "id": ids[0].to_string() }, "count": 5, "sum": "5.00" },
            { "customer": { "id": ids[1].to_string() }, "count": 5, "sum": "5.00" },
        ])
    );
    let resp = app.query(&article("min"), json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_EXPENSIVE", "{resp}");

    // One customer's orders through the per-customer index: within it.
    let one = app
        .query(
            "query($c: ID!) { ordersAggregate(where: {customerId: {eq: $c}, createdAt: {gte: \"2000-01-01T00:00:00Z\"}}) { count } }",
            json!({ "c": ids[0].to_string() }),
        )
        .await;
    assert_eq!(data(&one)["ordersAggregate"]["count"], 5, "{one}");
}
