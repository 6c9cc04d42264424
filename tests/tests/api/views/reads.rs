//! Every read path under a customer token: lookups, lists, counts,
//! relation filters, nested fields, aggregates and grouped aggregates.

use serde_json::json;

use super::{ids, shop};
use crate::helpers::{data, error_code};

#[tokio::test]
async fn lookups_answer_null_for_other_customers_rows() {
    let shop = shop().await;
    let q = "query($c: ID!, $o: ID!) { customer(id: $c) { id name } order(id: $o) { id total } }";
    let own = shop
        .as_customer(
            shop.a,
            q,
            json!({ "c": shop.a.to_string(), "o": shop.a_orders[0] }),
        )
        .await;
    assert_eq!(data(&own)["customer"]["id"], shop.a.to_string());
    assert_eq!(data(&own)["order"]["total"], "12.50");
    let other = shop
        .as_customer(
            shop.a,
            q,
            json!({ "c": shop.b.to_string(), "o": shop.b_orders[0] }),
        )
        .await;
    // Exactly as rows that do not exist: null, and no error.
    let missing = shop
        .as_customer(shop.a, q, json!({ "c": "999999", "o": "999999" }))
        .await;
    assert_eq!(
        other,
        json!({ "data": { "customer": null, "order": null } })
    );
    assert_eq!(other, missing);
}

#[tokio::test]
async fn lists_counts_and_relation_filters_cover_only_its_own_rows() {
    let shop = shop().await;
    let resp = shop
        .as_customer(
            shop.a,
            "{ customers { totalCount nodes { id } } orders { totalCount nodes { id customer { id } } } }",
            json!({}),
        )
        .await;
    let d = data(&resp);
    assert_eq!(d["customers"]["totalCount"], 1);
    assert_eq!(ids(&d["customers"]["nodes"]), vec![shop.a.to_string()]);
    assert_eq!(d["orders"]["totalCount"], 3);
    let mut seen = ids(&d["orders"]["nodes"]);
    seen.sort();
    let mut own = shop.a_orders.clone();
    own.sort();
    assert_eq!(seen, own);
    // Filters naming the other customer find nothing.
    let resp = shop
        .as_customer(
            shop.a,
            "query($b: ID!) {
               byId: customers(where: {id: {eq: $b}}) { totalCount }
               ordersOf: orders(where: {customerId: {eq: $b}}) { totalCount nodes { id } }
               legacy: orders(filter: {customerId: $b}) { totalCount }
               richOrders: customers(where: {orders: {some: {total: {gte: \"40.00\"}}}}) { totalCount }
               theirCustomer: orders(where: {customer: {id: {eq: $b}}}) { totalCount }
               notMine: orders(where: {not: {customerId: {eq: $b}}}) { totalCount }
             }",
            json!({ "b": shop.b.to_string() }),
        )
        .await;
    let d = data(&resp);
    assert_eq!(d["byId"]["totalCount"], 0);
    assert_eq!(d["ordersOf"]["totalCount"], 0);
    assert_eq!(d["ordersOf"]["nodes"], json!([]));
    assert_eq!(d["legacy"]["totalCount"], 0);
    assert_eq!(
        d["richOrders"]["totalCount"], 0,
        "b's 50.00 order is not seen"
    );
    assert_eq!(d["theirCustomer"]["totalCount"], 0);
    assert_eq!(d["notMine"]["totalCount"], 3);
    // Nested lists and aggregates of the one customer it sees.
    let resp = shop
        .as_customer(
            shop.a,
            "{ customers { nodes { orderCount totalSpent orders(first: 10) { totalCount nodes { id } } ordersAggregate { count sum } } } }",
            json!({}),
        )
        .await;
    let me = &data(&resp)["customers"]["nodes"][0];
    assert_eq!(me["orderCount"], 3);
    assert_eq!(me["totalSpent"], "25.40");
    assert_eq!(me["orders"]["totalCount"], 3);
    assert_eq!(me["ordersAggregate"], json!({ "count": 3, "sum": "25.40" }));
}

#[tokio::test]
async fn aggregates_and_groups_cover_only_its_own_orders() {
    let shop = shop().await;
    let q = "{
        all: ordersAggregate { count sum avg min max }
        since: ordersAggregate(where: {createdAt: {gte: \"2026-01-01T00:00:00Z\"}}) { count sum }
        byStatus: ordersGrouped(groupBy: [STATUS]) { status count sum }
        byCustomer: ordersGrouped(groupBy: [CUSTOMER], orderBy: [SUM_DESC]) { customer { id } count sum }
        byMonth: ordersGrouped(groupBy: [MONTH], timeZone: \"Europe/Berlin\") { periodLabel count sum }
    }";
    let resp = shop.as_customer(shop.a, q, json!({})).await;
    let d = data(&resp);
    assert_eq!(
        d["all"],
        json!({ "count": 3, "sum": "25.40", "avg": "8.47", "min": "3.00", "max": "12.50" })
    );
    assert_eq!(d["since"], json!({ "count": 3, "sum": "25.40" }));
    assert_eq!(
        d["byStatus"],
        json!([
            { "status": "PAID", "count": 1, "sum": "3.00" },
            { "status": "PENDING", "count": 1, "sum": "12.50" },
            { "status": "SHIPPED", "count": 1, "sum": "9.90" },
        ])
    );
    assert_eq!(
        d["byCustomer"],
        json!([{ "customer": { "id": shop.a.to_string() }, "count": 3, "sum": "25.40" }])
    );
    assert_eq!(
        d["byMonth"],
        json!([
            { "periodLabel": "2026-01", "count": 1, "sum": "12.50" },
            { "periodLabel": "2026-02", "count": 1, "sum": "3.00" },
            { "periodLabel": "2026-03", "count": 1, "sum": "9.90" },
        ])
    );
    // The same request as staff sees both customers.
    let staff = shop.app.query(q, json!({})).await;
    assert_eq!(data(&staff)["all"]["count"], 5);
    assert_eq!(data(&staff)["byCustomer"].as_array().map(Vec::len), Some(2));
    // A customer without orders sees zeros, and a token whose customer
    // does not exist sees nothing at all.
    for who in [shop.c, 999_999] {
        let resp = shop
            .as_customer(
                who,
                "{ ordersAggregate { count sum avg } ordersGrouped(groupBy: [STATUS]) { count } orders { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data(&resp),
            &json!({
                "ordersAggregate": { "count": 0, "sum": "0.00", "avg": null },
                "ordersGrouped": [],
                "orders": { "totalCount": 0 }
            }),
            "customer {who}"
        );
    }
    let ghost = shop
        .as_customer(999_999, "{ customers { totalCount } }", json!({}))
        .await;
    assert_eq!(data(&ghost)["customers"]["totalCount"], 0);
}

#[tokio::test]
async fn the_ranking_is_forbidden_to_customers() {
    let shop = shop().await;
    let resp = shop
        .as_customer(shop.a, "{ topCustomers { customer { id } } }", json!({}))
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    assert!(
        resp["data"].is_null() || resp["data"]["topCustomers"].is_null(),
        "{resp}"
    );
    let staff = shop
        .app
        .query("{ topCustomers { customer { id } } }", json!({}))
        .await;
    assert_eq!(
        data(&staff)["topCustomers"].as_array().map(Vec::len),
        Some(2)
    );
}
