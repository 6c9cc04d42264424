use serde_json::json;

use crate::helpers::{data, error_code, spawn_app};

const CREATE: &str = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id name email phone createdAt orderCount totalSpent } }";
const GET: &str =
    "query($id: ID!) { customer(id: $id) { id name email phone orderCount totalSpent } }";

#[tokio::test]
async fn a_created_customer_reads_back_with_its_normalized_fields() {
    let app = spawn_app().await;

    let resp = app
        .mutate(
            CREATE,
            json!({ "input": { "name": "  Ada Lovelace ", "email": "Ada@Example.COM" } }),
        )
        .await;
    let created = &data(&resp)["createCustomer"];
    assert_eq!(created["name"], "Ada Lovelace");
    assert_eq!(created["email"], "ada@example.com");
    assert_eq!(created["phone"], serde_json::Value::Null);
    assert_eq!(created["orderCount"], 0);
    assert_eq!(created["totalSpent"], "0.00");
    assert!(
        created["createdAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let id = created["id"].as_str().expect("id").to_owned();
    let resp = app.query(GET, json!({ "id": id })).await;
    assert_eq!(data(&resp)["customer"]["email"], "ada@example.com");
    assert_eq!(data(&resp)["customer"]["id"], id.as_str());
}

#[tokio::test]
async fn an_absent_customer_is_null() {
    let app = spawn_app().await;
    let resp = app.query(GET, json!({ "id": "424242" })).await;
    assert_eq!(data(&resp)["customer"], serde_json::Value::Null);
}

#[tokio::test]
async fn update_changes_only_the_given_fields_and_null_clears_the_phone() {
    let app = spawn_app().await;
    let resp = app
        .mutate(CREATE, json!({ "input": { "name": "Grace", "email": "grace@example.com", "phone": "+1 555 0100" } }))
        .await;
    let id = data(&resp)["createCustomer"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let update = "mutation($id: ID!, $input: UpdateCustomerInput!) { updateCustomer(id: $id, input: $input) { name email phone } }";
    let resp = app
        .mutate(
            update,
            json!({ "id": id, "input": { "name": "Grace Hopper" } }),
        )
        .await;
    assert_eq!(
        data(&resp)["updateCustomer"],
        json!({ "name": "Grace Hopper", "email": "grace@example.com", "phone": "+1 555 0100" })
    );

    let resp = app
        .mutate(update, json!({ "id": id, "input": { "phone": null } }))
        .await;
    assert_eq!(
        data(&resp)["updateCustomer"]["phone"],
        serde_json::Value::Null
    );
    assert_eq!(data(&resp)["updateCustomer"]["name"], "Grace Hopper");

    // The next read sees the update (the cached lookup was invalidated).
    let resp = app.query(GET, json!({ "id": id })).await;
    assert_eq!(data(&resp)["customer"]["name"], "Grace Hopper");
    assert_eq!(data(&resp)["customer"]["phone"], serde_json::Value::Null);
}

#[tokio::test]
async fn deleting_a_customer_deletes_its_orders() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    app.seed_order(ids[0], 100, "2025-01-01T00:00:00Z").await;
    app.seed_order(ids[0], 200, "2025-01-02T00:00:00Z").await;
    app.seed_order(ids[1], 300, "2025-01-03T00:00:00Z").await;

    let resp = app
        .mutate(
            "mutation($id: ID!) { deleteCustomer(id: $id) }",
            json!({ "id": ids[0].to_string() }),
        )
        .await;
    assert_eq!(data(&resp)["deleteCustomer"], true);
    assert_eq!(app.count_rows("customers").await, 1);
    assert_eq!(app.count_rows("orders").await, 1);
    let resp = app.query(GET, json!({ "id": ids[0].to_string() })).await;
    assert_eq!(data(&resp)["customer"], serde_json::Value::Null);
}

#[tokio::test]
async fn bulk_create_returns_customers_in_input_order() {
    let app = spawn_app().await;
    let input: Vec<_> = (0..30)
        .map(|i| json!({ "name": format!("Bulk {i}"), "email": format!("bulk{i}@example.com") }))
        .collect();
    let resp = app
        .mutate(
            "mutation($input: [CreateCustomerInput!]!) { createCustomers(input: $input) { id name email } }",
            json!({ "input": input }),
        )
        .await;
    let created = data(&resp)["createCustomers"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(created.len(), 30);
    let mut last_id = 0;
    for (i, c) in created.iter().enumerate() {
        assert_eq!(c["name"], format!("Bulk {i}"));
        assert_eq!(c["email"], format!("bulk{i}@example.com"));
        let id: i64 = c["id"].as_str().expect("id").parse().expect("numeric id");
        assert!(id > last_id, "ids increase in input order");
        last_id = id;
    }
    assert_eq!(app.count_rows("customers").await, 30);
}

#[tokio::test]
async fn bulk_create_is_all_or_nothing() {
    let app = spawn_app().await;
    app.seed_customers(1).await; // c0@example.com
    let bulk =
        "mutation($input: [CreateCustomerInput!]!) { createCustomers(input: $input) { id } }";

    // An invalid row in the middle.
    let mut input: Vec<_> = (0..10)
        .map(|i| json!({ "name": format!("N{i}"), "email": format!("n{i}@example.com") }))
        .collect();
    input[5]["email"] = json!("not-an-email");
    let resp = app.mutate(bulk, json!({ "input": input })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("input[5]")),
        "{resp}"
    );
    assert_eq!(app.count_rows("customers").await, 1);

    // A duplicate inside the batch.
    let resp = app
        .mutate(
            bulk,
            json!({ "input": [
            { "name": "A", "email": "dup@example.com" },
            { "name": "B", "email": "DUP@example.com" }
        ] }),
        )
        .await;
    assert_eq!(error_code(&resp), "CONFLICT");
    assert_eq!(app.count_rows("customers").await, 1);

    // An email already taken in the database, at the end of the batch.
    let resp = app
        .mutate(
            bulk,
            json!({ "input": [
            { "name": "A", "email": "fresh@example.com" },
            { "name": "B", "email": "C0@example.com" }
        ] }),
        )
        .await;
    assert_eq!(error_code(&resp), "CONFLICT");
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("input[1]")),
        "{resp}"
    );
    assert_eq!(app.count_rows("customers").await, 1);
}

#[tokio::test]
async fn customers_filter_by_name_substring_and_exact_email_ignoring_case() {
    let app = spawn_app().await;
    let bulk =
        "mutation($input: [CreateCustomerInput!]!) { createCustomers(input: $input) { id } }";
    app.mutate(
        bulk,
        json!({ "input": [
        { "name": "Ada Lovelace", "email": "ada@example.com" },
        { "name": "Alan Turing", "email": "alan@example.com" },
        { "name": "Barbara Liskov", "email": "barbara@example.com" },
        { "name": "100%_sure", "email": "pct@example.com" }
    ] }),
    )
    .await;
    let q = "query($f: CustomerFilter) { customers(filter: $f) { totalCount nodes { name } } }";

    let resp = app
        .query(q, json!({ "f": { "nameContains": "LOV" } }))
        .await;
    assert_eq!(
        data(&resp)["customers"],
        json!({ "totalCount": 1, "nodes": [{ "name": "Ada Lovelace" }] })
    );

    let resp = app.query(q, json!({ "f": { "nameContains": "a" } })).await;
    assert_eq!(data(&resp)["customers"]["totalCount"], 3);

    // LIKE wildcards in the input are literal.
    let resp = app.query(q, json!({ "f": { "nameContains": "%_" } })).await;
    assert_eq!(
        data(&resp)["customers"]["nodes"],
        json!([{ "name": "100%_sure" }])
    );

    let resp = app
        .query(q, json!({ "f": { "email": "ALAN@EXAMPLE.COM" } }))
        .await;
    assert_eq!(
        data(&resp)["customers"]["nodes"],
        json!([{ "name": "Alan Turing" }])
    );

    let resp = app
        .query(q, json!({ "f": { "email": "alan@example" } }))
        .await;
    assert_eq!(data(&resp)["customers"]["totalCount"], 0);
}

#[tokio::test]
async fn aggregates_are_exact_sums_of_order_totals() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    // 0.10 + 0.20 must be exactly 0.30 (no floats anywhere).
    app.seed_order(ids[0], 10, "2025-01-01T00:00:00Z").await;
    app.seed_order(ids[0], 20, "2025-01-02T00:00:00Z").await;
    app.seed_order(ids[0], 99_999_999, "2025-01-03T00:00:00Z")
        .await;
    let resp = app
        .query(
            "{ customers { nodes { id orderCount totalSpent } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&resp)["customers"]["nodes"],
        json!([
            { "id": ids[0].to_string(), "orderCount": 3, "totalSpent": "1000000.29" },
            { "id": ids[1].to_string(), "orderCount": 0, "totalSpent": "0.00" }
        ])
    );
}

#[tokio::test]
async fn top_customers_rank_by_spending_with_ties_by_id() {
    let app = spawn_app().await;
    let ids = app.seed_customers(5).await;
    // c0: 3 orders, 30.00; c1: 1 order, 50.00; c2: 2 orders, 30.00; c3: 1 order, 5.00; c4: none.
    for (c, cents) in [
        (0, 1000),
        (0, 1000),
        (0, 1000),
        (1, 5000),
        (2, 1500),
        (2, 1500),
        (3, 500),
    ] {
        app.seed_order(ids[c], cents, "2025-06-01T00:00:00Z").await;
    }
    let q = "query($limit: Int, $min: Int) { topCustomers(limit: $limit, minOrders: $min) { customer { id name } totalSpent orderCount } }";

    let resp = app.query(q, json!({ "limit": 10, "min": 1 })).await;
    let rows = data(&resp)["topCustomers"]
        .as_array()
        .expect("list")
        .clone();
    let summary: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["customer"]["id"].as_str().unwrap_or_default().to_owned(),
                r["totalSpent"].as_str().unwrap_or_default().to_owned(),
                r["orderCount"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (ids[1].to_string(), "50.00".to_owned(), 1),
            (ids[0].to_string(), "30.00".to_owned(), 3),
            (ids[2].to_string(), "30.00".to_owned(), 2),
            (ids[3].to_string(), "5.00".to_owned(), 1),
        ]
    );
    assert_eq!(rows[0]["customer"]["name"], "Customer 1");

    let resp = app.query(q, json!({ "limit": 2, "min": 2 })).await;
    let ranked: Vec<&str> = data(&resp)["topCustomers"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["customer"]["id"].as_str())
        .collect();
    assert_eq!(ranked, vec![ids[0].to_string(), ids[2].to_string()]);

    // minOrders 0 includes customers without orders, at "0.00".
    let resp = app.query(q, json!({ "limit": 100, "min": 0 })).await;
    let rows = data(&resp)["topCustomers"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[4]["customer"]["id"], ids[4].to_string());
    assert_eq!(rows[4]["totalSpent"], "0.00");
    assert_eq!(rows[4]["orderCount"], 0);
}
