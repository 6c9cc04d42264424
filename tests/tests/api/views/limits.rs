//! What callers must not share, continued: subscriptions, metric labels,
//! rate limits and the row budget's details.

use std::time::Duration;

use api::auth::{Jwt, Role};
use serde_json::json;

use super::{order, shop, shop_on};
use crate::helpers::{JWT_SECRET, customer_token, data, error_code, spawn_app_with, writer};
use crate::ws_client::Ws;

#[tokio::test]
async fn subscriptions_deliver_a_customer_only_events_about_its_own_rows() {
    let shop = shop().await;
    let auth = json!({ "Authorization": format!("Bearer {}", customer_token(shop.a)) });
    let mut ws = Ws::connect(&shop.app.address, auth).await;
    ws.subscribe(
        "all",
        "subscription { orderCreated { id customer { id } } }",
        json!({}),
    )
    .await;
    ws.subscribe(
        "theirs",
        "subscription($c: ID) { orderCreated(customerId: $c) { id } }",
        json!({ "c": shop.b.to_string() }),
    )
    .await;
    ws.subscribe(
        "updated",
        "subscription { orderUpdated { id status } }",
        json!({}),
    )
    .await;
    ws.subscribe(
        "people",
        "subscription { customerUpdated { id name } }",
        json!({}),
    )
    .await;
    ws.subscribe(
        "ranking",
        "subscription { topCustomersChanged { customer { id } } }",
        json!({}),
    )
    .await;
    let refused = ws.message().await;
    assert_eq!(refused["id"], "ranking", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"]
            .as_str()
            .or(refused["payload"][0]["extensions"]["code"].as_str()),
        Some("FORBIDDEN"),
        "{refused}"
    );
    if refused["type"] == "next" {
        let complete = ws.message().await;
        assert_eq!(complete, json!({ "id": "ranking", "type": "complete" }));
    }
    crate::subscriptions::listening(&shop.app.state, 4).await;
    // Another customer's writes first: if they leaked, they would arrive first.
    let theirs = order(&shop.app, shop.b, "2.00", "PENDING", "2026-04-01T00:00:00Z").await;
    shop.app
        .mutate(
            "mutation($id: ID!) { updateOrder(id: $id, input: {status: PAID}) { id } }",
            json!({ "id": theirs }),
        )
        .await;
    shop.app
        .mutate(
            "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"Bob\"}) { id } }",
            json!({ "id": shop.b.to_string() }),
        )
        .await;
    let mine = order(&shop.app, shop.a, "3.00", "PENDING", "2026-04-02T00:00:00Z").await;
    let got = ws.next_of("all").await;
    assert_eq!(got["data"]["orderCreated"]["id"], mine);
    assert_eq!(
        got["data"]["orderCreated"]["customer"]["id"],
        shop.a.to_string()
    );
    shop.app
        .mutate(
            "mutation($id: ID!) { updateOrder(id: $id, input: {status: PAID}) { id } }",
            json!({ "id": mine }),
        )
        .await;
    let got = ws.next_of("updated").await;
    assert_eq!(
        got["data"]["orderUpdated"],
        json!({ "id": mine, "status": "PAID" })
    );
    ws.silent_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn metric_labels_come_only_from_the_manifest_and_staff_tokens() {
    let shop = shop().await;
    let named = |name: &str| format!("query {name} {{ orders {{ totalCount }} }}");
    let resp = shop
        .as_customer(shop.a, &named("CustomerInvented"), json!({}))
        .await;
    data(&resp);
    let resp = shop
        .app
        .graphql(&named("StaffNamed"), json!({}), Some(&writer()))
        .await;
    data(&resp);
    let metrics = shop.app.metrics().await;
    assert!(
        !metrics.contains("CustomerInvented"),
        "a customer made a label"
    );
    assert!(metrics.contains("operation=\"StaffNamed\""));
    assert!(metrics.contains("operation=\"unlisted\""));
}

#[tokio::test]
async fn a_customers_tokens_share_one_rate_limit() {
    let app = spawn_app_with(|s| {
        s.http.rate_limit_per_second = Some(1);
        s.http.rate_limit_burst = Some(2);
    })
    .await;
    let shop = shop_on(app).await;
    let jwt = Jwt::new(JWT_SECRET.as_bytes());
    let device = |sub: &str, id: i64| {
        jwt.issue_for(sub, Role::Customer, Some(id), Duration::from_secs(600))
            .expect("token")
    };
    let status = |token: String| {
        let req = shop
            .app
            .client
            .post(format!("{}/graphql", shop.app.address))
            .bearer_auth(token)
            .json(&json!({ "query": "{ orders { totalCount } }" }));
        async move { req.send().await.expect("request").status().as_u16() }
    };
    // Two devices of one customer: different subjects, one allowance.
    assert_eq!(status(device("phone", shop.a)).await, 200);
    assert_eq!(status(device("laptop", shop.a)).await, 200);
    assert_eq!(status(device("tablet", shop.a)).await, 429);
    // Another customer has its own.
    assert_eq!(status(device("phone", shop.b)).await, 200);
}

#[tokio::test]
async fn a_customers_refusal_by_the_row_budget_carries_its_code_alone() {
    let app = spawn_app_with(|s| s.graphql.row_budget = 10).await;
    let shop = shop_on(app).await;
    for i in 0..30 {
        order(
            &shop.app,
            shop.a,
            "1.00",
            "PAID",
            &format!("2026-05-{:02}T00:00:00Z", 1 + i % 28),
        )
        .await;
    }
    crate::compose::budget::analyze(&shop.app).await;
    let by_status = "{ orders(orderBy: [STATUS_ASC], first: 5) { nodes { id } } }";
    let staff = shop.app.query(by_status, json!({})).await;
    assert_eq!(error_code(&staff), "QUERY_TOO_EXPENSIVE", "{staff}");
    assert!(staff["errors"][0]["extensions"]["estimatedRows"].is_u64());
    let resp = shop.as_customer(shop.a, by_status, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_EXPENSIVE", "{resp}");
    assert_eq!(
        resp["errors"][0]["extensions"],
        json!({ "code": "QUERY_TOO_EXPENSIVE" }),
        "{resp}"
    );
}
