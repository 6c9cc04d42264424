//! Bulk mutations: equal to row by row, all or nothing, chunked, limited, every bad row named.

use super::*;

#[tokio::test]
async fn bulk_results_equal_row_by_row_results() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let (bulk_customer, single_customer) = (ids[0], ids[1]);

    let resp = app
        .mutate(
            CREATE_ORDERS,
            json!({ "i": order_inputs(bulk_customer, 60) }),
        )
        .await;
    let bulk: Vec<Value> = data(&resp)["createOrders"]
        .as_array()
        .expect("list")
        .clone();

    let mut single = Vec::new();
    for input in order_inputs(single_customer, 60) {
        let resp = app
            .mutate(
                "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id total status createdAt customer { id } } }",
                json!({ "i": input }),
            )
            .await;
        single.push(data(&resp)["createOrder"].clone());
    }
    assert_eq!(essence(&bulk), essence(&single));
    let owner = json!(bulk_customer.to_string());
    assert!(bulk.iter().all(|o| o["customer"]["id"] == owner));

    // The stored rows and aggregates agree too.
    let q = "query($id: ID!) { customer(id: $id) { orderCount totalSpent orders(first: 100) { nodes { total status createdAt } } } }";
    let a = app
        .query(q, json!({ "id": bulk_customer.to_string() }))
        .await;
    let b = app
        .query(q, json!({ "id": single_customer.to_string() }))
        .await;
    assert_eq!(data(&a)["customer"], data(&b)["customer"]);
    assert_eq!(data(&a)["customer"]["orderCount"], 60);
}

#[tokio::test]
async fn a_bad_row_in_the_middle_of_a_large_batch_writes_nothing() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let mut input = order_inputs(ids[0], 5_000);
    input[2_500]["customerId"] = json!("987654");
    let resp = app.mutate(CREATE_ORDERS, json!({ "i": input })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert!(error_message(&resp).contains("input[2500]"), "{resp}");
    assert_eq!(app.count_rows("orders").await, 0);

    let mut input = order_inputs(ids[0], 5_000);
    input[4_999]["total"] = json!("-0.01");
    let resp = app.mutate(CREATE_ORDERS, json!({ "i": input })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert!(error_message(&resp).contains("input[4999]"), "{resp}");
    assert_eq!(app.count_rows("orders").await, 0);
}

#[tokio::test]
async fn a_batch_bigger_than_one_insert_is_chunked_and_returned_in_order() {
    let app = spawn_app_with(|s| s.graphql.max_bulk_rows = 20_000).await;
    let ids = app.seed_customers(1).await;
    // Above the rows one statement can carry on either backend (16,383 on
    // PostgreSQL, 8,191 on SQLite, at four columns per order).
    let n = 17_000;
    let before = app.statements();
    let resp = app
        .mutate(CREATE_ORDERS, json!({ "i": order_inputs(ids[0], n) }))
        .await;
    let created = data(&resp)["createOrders"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(created.len(), n);
    // Inputs carry totals with two decimals, so they read back verbatim.
    assert_eq!(essence(&created), essence(&order_inputs(ids[0], n)));
    let mut last = 0i64;
    for o in &created {
        let id: i64 = o["id"].as_str().expect("id").parse().expect("numeric");
        assert!(id > last, "input order");
        last = id;
    }
    assert_eq!(app.count_rows("orders").await, n as i64);
    let n_statements = usize::try_from(app.statements() - before).expect("small");
    let recent = app.state.statements.recent();
    let inserts = recent[recent.len().saturating_sub(n_statements)..]
        .iter()
        .filter(|sql| sql.trim_start().to_uppercase().starts_with("INSERT"))
        .count();
    assert!(inserts >= 2, "{inserts} insert statements");
    assert!(inserts <= 3, "{inserts} insert statements");
}

#[tokio::test]
async fn more_rows_than_the_limit_are_refused_with_the_limit_named() {
    let app = spawn_app_with(|s| s.graphql.max_bulk_rows = 5).await;
    let input: Vec<Value> = (0..6)
        .map(|i| json!({ "name": format!("N{i}"), "email": format!("n{i}@example.com") }))
        .collect();
    let resp = app
        .mutate(
            "mutation($i: [CreateCustomerInput!]!) { createCustomers(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert!(error_message(&resp).contains("at most 5"), "{resp}");
    assert_eq!(app.count_rows("customers").await, 0);

    let resp = app
        .mutate(
            "mutation($i: [CreateCustomerInput!]!) { createCustomers(input: $i) { id } }",
            json!({ "i": input[..5] }),
        )
        .await;
    assert_eq!(
        data(&resp)["createCustomers"].as_array().map(Vec::len),
        Some(5)
    );
}

fn messages(resp: &Value) -> Vec<String> {
    resp["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_bad_row_is_named_even_when_its_value_cannot_be_parsed() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let good = json!({ "customerId": ids[0].to_string(), "total": "10.00" });
    let mut rows: Vec<Value> = vec![good; 20];
    rows[3] = json!({ "total": "1.00" });
    rows[7] = json!({ "customerId": ids[0].to_string(), "total": "1.00", "status": "BOGUS" });
    rows[12] = json!({ "customerId": ids[0].to_string(), "total": "12.345" });
    rows[15] = json!({ "customerId": ids[0].to_string(), "total": true, "createdAt": "yesterday" });
    let resp = app
        .mutate(
            "mutation($rows: [CreateOrderInput!]!) { createOrders(input: $rows) { id } }",
            json!({ "rows": rows }),
        )
        .await;
    let m = messages(&resp);
    assert!(resp.get("data").is_none(), "refused before running: {resp}");
    for (prefix, words) in [
        ("input[3].customerId:", "required"),
        ("input[7].status:", "PENDING"),
        ("input[12].total:", "two decimals"),
        ("input[15].total:", "money"),
        ("input[15].createdAt:", "RFC 3339"),
    ] {
        assert!(
            m.iter().any(|e| e.starts_with(prefix) && e.contains(words)),
            "{prefix} … {words} in {m:#?}"
        );
    }
    assert_eq!(m.len(), 5, "{m:#?}");
    assert!(
        resp["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["extensions"]["code"] == "BAD_USER_INPUT")
    );

    // Rows whose values parse but break a rule: each named, with its index.
    let mut rows: Vec<Value> = (0..10)
        .map(|_| json!({ "customerId": ids[0].to_string(), "total": "5.00" }))
        .collect();
    rows[2]["total"] = json!("-1.00");
    rows[9]["total"] = json!("2000000000.00");
    let resp = app
        .mutate(
            "mutation($rows: [CreateOrderInput!]!) { createOrders(input: $rows) { id } }",
            json!({ "rows": rows }),
        )
        .await;
    let errors = resp["errors"].as_array().cloned().unwrap_or_default();
    let indices: Vec<u64> = errors
        .iter()
        .filter_map(|e| e["extensions"]["index"].as_u64())
        .collect();
    assert_eq!(indices, [2, 9], "{resp}");
    assert!(
        messages(&resp)[0].starts_with("input[2]: total must not be negative"),
        "{resp}"
    );
    assert_eq!(app.count_rows("orders").await, 0, "nothing written");
}

#[tokio::test]
async fn at_most_a_hundred_bad_rows_are_listed_and_the_rest_counted() {
    let app = spawn_app().await;
    let rows: Vec<Value> = (0..150)
        .map(|_| json!({ "customerId": "1", "total": "0.001" }))
        .collect();
    let resp = app
        .mutate(
            "mutation($rows: [CreateOrderInput!]!) { createOrders(input: $rows) { id } }",
            json!({ "rows": rows }),
        )
        .await;
    let m = messages(&resp);
    assert_eq!(m.len(), 101, "{m:?}");
    assert!(m[99].starts_with("input[99].total:"));
    assert!(m[100].contains("50 more"), "{}", m[100]);
}
