use serde_json::{Value, json};

use crate::helpers::{data, error_code, spawn_app};

const CREATE: &str = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { id total status createdAt customer { id email } } }";

#[tokio::test]
async fn a_created_order_defaults_to_pending_now_and_reads_back() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let before = chrono::Utc::now();

    let resp = app
        .mutate(
            CREATE,
            json!({ "input": { "customerId": ids[0].to_string(), "total": "12.5" } }),
        )
        .await;
    let order = data(&resp)["createOrder"].clone();
    assert_eq!(order["total"], "12.50");
    assert_eq!(order["status"], "PENDING");
    assert_eq!(
        order["customer"],
        json!({ "id": ids[0].to_string(), "email": "c0@example.com" })
    );
    let created_at =
        chrono::DateTime::parse_from_rfc3339(order["createdAt"].as_str().expect("time"))
            .expect("RFC 3339");
    assert!(created_at >= before - chrono::Duration::seconds(1));

    let resp = app
        .query(
            "query($id: ID!) { order(id: $id) { id total status } }",
            json!({ "id": order["id"] }),
        )
        .await;
    assert_eq!(
        data(&resp)["order"],
        json!({ "id": order["id"], "total": "12.50", "status": "PENDING" })
    );
}

#[tokio::test]
async fn money_is_exact_in_both_directions() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    for (input, expected) in [
        (json!("0.1"), "0.10"),
        (json!("0.07"), "0.07"),
        (json!(19.99), "19.99"),
        (json!(3), "3.00"),
        (json!("1000000000.00"), "1000000000.00"),
    ] {
        let resp = app
            .mutate(
                CREATE,
                json!({ "input": { "customerId": ids[0].to_string(), "total": input } }),
            )
            .await;
        assert_eq!(data(&resp)["createOrder"]["total"], expected, "for {input}");
    }
    let resp = app
        .query(
            "query($id: ID!) { customer(id: $id) { totalSpent } }",
            json!({ "id": ids[0].to_string() }),
        )
        .await;
    assert_eq!(data(&resp)["customer"]["totalSpent"], "1000000023.16");
}

#[tokio::test]
async fn update_and_delete_change_the_aggregates_seen_next() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let o1 = app.seed_order(ids[0], 1000, "2025-01-01T00:00:00Z").await;
    let o2 = app.seed_order(ids[0], 2000, "2025-01-02T00:00:00Z").await;
    let stats = "query($id: ID!) { customer(id: $id) { orderCount totalSpent } }";
    let id = json!({ "id": ids[0].to_string() });
    assert_eq!(
        data(&app.query(stats, id.clone()).await)["customer"],
        json!({ "orderCount": 2, "totalSpent": "30.00" })
    );

    let resp = app
        .mutate(
            "mutation($id: ID!, $input: UpdateOrderInput!) { updateOrder(id: $id, input: $input) { id total status } }",
            json!({ "id": o1.to_string(), "input": { "total": "15.25", "status": "SHIPPED" } }),
        )
        .await;
    assert_eq!(
        data(&resp)["updateOrder"],
        json!({ "id": o1.to_string(), "total": "15.25", "status": "SHIPPED" })
    );
    assert_eq!(
        data(&app.query(stats, id.clone()).await)["customer"],
        json!({ "orderCount": 2, "totalSpent": "35.25" })
    );

    let resp = app
        .mutate(
            "mutation($id: ID!) { deleteOrder(id: $id) }",
            json!({ "id": o2.to_string() }),
        )
        .await;
    assert_eq!(data(&resp)["deleteOrder"], true);
    assert_eq!(
        data(&app.query(stats, id).await)["customer"],
        json!({ "orderCount": 1, "totalSpent": "15.25" })
    );
    assert_eq!(app.count_rows("orders").await, 1);
}

#[tokio::test]
async fn bulk_orders_come_back_in_input_order_and_fail_as_a_whole() {
    let app = spawn_app().await;
    let ids = app.seed_customers(3).await;
    let bulk = "mutation($input: [CreateOrderInput!]!) { createOrders(input: $input) { id total status customer { id } } }";
    let input: Vec<Value> = (0..12)
        .map(|i| json!({ "customerId": ids[i % 3].to_string(), "total": format!("{i}.01"), "status": "PAID" }))
        .collect();
    let resp = app.mutate(bulk, json!({ "input": input })).await;
    let created = data(&resp)["createOrders"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(created.len(), 12);
    for (i, o) in created.iter().enumerate() {
        assert_eq!(o["total"], format!("{i}.01"));
        assert_eq!(o["customer"]["id"], ids[i % 3].to_string());
        assert_eq!(o["status"], "PAID");
    }

    // A missing customer in the middle: nothing is written.
    let mut input: Vec<Value> = (0..12)
        .map(|i| json!({ "customerId": ids[i % 3].to_string(), "total": "1.00" }))
        .collect();
    input[7]["customerId"] = json!("999999");
    let resp = app.mutate(bulk, json!({ "input": input })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    let message = resp["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("input[7]") && message.contains("999999"),
        "{message}"
    );
    assert_eq!(app.count_rows("orders").await, 12);

    // A negative total: refused before any write.
    let resp = app
        .mutate(
            bulk,
            json!({ "input": [
            { "customerId": ids[0].to_string(), "total": "1.00" },
            { "customerId": ids[0].to_string(), "total": "-1.00" }
        ] }),
        )
        .await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert_eq!(app.count_rows("orders").await, 12);
}

#[tokio::test]
async fn orders_filter_by_every_field_with_documented_bounds() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let bulk = "mutation($input: [CreateOrderInput!]!) { createOrders(input: $input) { id } }";
    let resp = app
        .mutate(bulk, json!({ "input": [
            { "customerId": ids[0].to_string(), "total": "10.00", "status": "PAID", "createdAt": "2025-01-01T00:00:00Z" },
            { "customerId": ids[0].to_string(), "total": "20.00", "status": "SHIPPED", "createdAt": "2025-02-01T00:00:00Z" },
            { "customerId": ids[1].to_string(), "total": "30.00", "status": "PAID", "createdAt": "2025-03-01T00:00:00Z" },
            { "customerId": ids[1].to_string(), "total": "40.00", "status": "CANCELLED", "createdAt": "2025-04-01T00:00:00+02:00" }
        ] }))
        .await;
    data(&resp);
    let q = "query($f: OrderFilter) { orders(filter: $f) { totalCount nodes { total } } }";
    let totals = |resp: &Value| -> Vec<String> {
        data(resp)["orders"]["nodes"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|n| n["total"].as_str().map(str::to_owned))
            .collect()
    };

    let resp = app.query(q, json!({})).await;
    assert_eq!(totals(&resp), ["40.00", "30.00", "20.00", "10.00"]);
    assert_eq!(data(&resp)["orders"]["totalCount"], 4);

    let resp = app.query(q, json!({ "f": { "status": "PAID" } })).await;
    assert_eq!(totals(&resp), ["30.00", "10.00"]);
    assert_eq!(data(&resp)["orders"]["totalCount"], 2);

    let resp = app
        .query(q, json!({ "f": { "customerId": ids[0].to_string() } }))
        .await;
    assert_eq!(totals(&resp), ["20.00", "10.00"]);

    // createdAfter inclusive, createdBefore exclusive.
    let resp = app
        .query(q, json!({ "f": { "createdAfter": "2025-02-01T00:00:00Z", "createdBefore": "2025-03-01T00:00:00Z" } }))
        .await;
    assert_eq!(totals(&resp), ["20.00"]);

    // Offsets are converted to UTC: 2025-04-01T00:00+02:00 is 2025-03-31T22:00Z.
    let resp = app
        .query(
            q,
            json!({ "f": { "createdAfter": "2025-03-31T22:00:00Z" } }),
        )
        .await;
    assert_eq!(totals(&resp), ["40.00"]);

    // minTotal and maxTotal inclusive.
    let resp = app
        .query(q, json!({ "f": { "minTotal": "20.00", "maxTotal": "30" } }))
        .await;
    assert_eq!(totals(&resp), ["30.00", "20.00"]);
    assert_eq!(data(&resp)["orders"]["totalCount"], 2);
}

#[tokio::test]
async fn orders_are_newest_first_with_ties_broken_by_id() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let a = app
        .seed_order(ids[0], 1, "2025-05-05T05:05:05.123456Z")
        .await;
    let b = app
        .seed_order(ids[0], 2, "2025-05-05T05:05:05.123456Z")
        .await;
    let c = app.seed_order(ids[0], 3, "2025-05-05T05:05:05Z").await;
    let d = app.seed_order(ids[0], 4, "2025-05-05T05:05:05.5Z").await;
    let resp = app
        .query("{ orders { nodes { id createdAt } } }", json!({}))
        .await;
    let got: Vec<String> = data(&resp)["orders"]["nodes"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(got, [d, b, a, c].map(|i| i.to_string()));
    assert_eq!(
        data(&resp)["orders"]["nodes"][1]["createdAt"],
        "2025-05-05T05:05:05.123456Z"
    );
}
