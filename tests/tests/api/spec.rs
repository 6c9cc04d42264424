//! The GraphQL specification's execution rules, as clients rely on them:
//! fields in the order selected (fragments and aliases included, cold or
//! warm cache), a failed nullable field is `null` with its error, a failed
//! non-null field nulls its nearest nullable parent, one error per failure.

use async_graphql::Value as Ordered;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// The response as text, read into a value that keeps the keys' order.
async fn ordered(app: &TestApp, query: &str) -> Ordered {
    let text = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&text).expect("JSON")
}

fn keys(v: &Ordered) -> Vec<String> {
    match v {
        Ordered::Object(map) => map.keys().map(|k| k.to_string()).collect(),
        other => panic!("not an object: {other}"),
    }
}

fn get<'a>(v: &'a Ordered, key: &str) -> &'a Ordered {
    match v {
        Ordered::Object(map) => map.get(key).unwrap_or_else(|| panic!("no {key} in {v}")),
        other => panic!("not an object: {other}"),
    }
}

#[tokio::test]
async fn fields_come_back_in_the_order_selected_with_fragments_and_aliases() {
    let app = spawn_app().await;
    let ids = app.seed_customers(3).await;
    app.seed_order(ids[0], 500, "2026-01-01T00:00:00Z").await;
    app.seed_order(ids[1], 700, "2026-01-02T00:00:00Z").await;
    let query = format!(
        r#"query {{
          zed: customer(id: "{}") {{ ...Who email alias: id }}
          customers(first: 2) {{ totalCount nodes {{ id }} pageInfo {{ endCursor hasNextPage }} }}
          topCustomers(limit: 2) {{ customer {{ name }} totalSpent ... on CustomerSpending {{ orderCount }} }}
          __typename
        }}
        fragment Who on Customer {{ totalSpent name id orderCount }}"#,
        ids[0]
    );
    // Cold, then warm (cached reads finish in another order).
    for round in ["cold", "warm"] {
        let resp = ordered(&app, &query).await;
        let data = get(&resp, "data");
        assert_eq!(
            keys(data),
            ["zed", "customers", "topCustomers", "__typename"],
            "{round}"
        );
        assert_eq!(
            keys(get(data, "zed")),
            ["totalSpent", "name", "id", "orderCount", "email", "alias"],
            "{round}"
        );
        assert_eq!(
            keys(get(data, "customers")),
            ["totalCount", "nodes", "pageInfo"],
            "{round}"
        );
        let Ordered::List(top) = get(data, "topCustomers") else {
            panic!("a list");
        };
        assert_eq!(
            keys(&top[0]),
            ["customer", "totalSpent", "orderCount"],
            "{round}"
        );
    }
}

#[tokio::test]
async fn a_failed_nullable_field_is_null_with_its_error() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let resp = app
        .query(
            &format!(
                r#"{{ ok: customer(id: "{}") {{ id }} bad: customer(id: "abc") {{ id }} }}"#,
                ids[0]
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        resp["data"],
        json!({ "ok": { "id": ids[0].to_string() }, "bad": null })
    );
    let errors = resp["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{resp}");
    assert_eq!(errors[0]["path"], json!(["bad"]));
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_failed_non_null_field_nulls_its_nearest_nullable_parent() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    // `orders` is non-null: its failure nulls `customer` (nullable).
    let resp = app
        .query(
            &format!(
                r#"{{ customer(id: "{}") {{ id orders(first: 1000) {{ totalCount }} }} other: customer(id: "{}") {{ name }} }}"#,
                ids[0], ids[0]
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        resp["data"],
        json!({ "customer": null, "other": { "name": "Customer 0" } }),
        "{resp}"
    );
    let errors = resp["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{resp}");
    assert_eq!(errors[0]["path"], json!(["customer", "orders"]));

    // Non-null all the way up: `data` itself becomes null.
    let resp = app
        .query(
            "{ customers(first: 1) { nodes { orders(last: 5, first: 5) { totalCount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(resp["data"], Value::Null, "{resp}");
    let errors = resp["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{resp}");
    assert_eq!(
        errors[0]["path"],
        json!(["customers", "nodes", 0, "orders"])
    );
}

#[tokio::test]
async fn each_failure_is_one_error_at_its_own_path() {
    let app = spawn_app().await;
    let resp = app
        .query(
            r#"{ a: customer(id: "x") { id } b: order(id: "y") { id } c: customer(id: "-1") { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(resp["data"], json!({ "a": null, "b": null, "c": null }));
    let mut paths: Vec<String> = resp["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["path"][0].as_str().unwrap_or_default().to_owned())
        .collect();
    paths.sort();
    assert_eq!(paths, ["a", "b", "c"], "{resp}");
}

#[tokio::test]
async fn skipped_and_included_fields_follow_their_conditions() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let resp = ordered(
        &app,
        &format!(
            r#"{{ customer(id: "{}") {{ id @skip(if: true) name @include(if: true) email @include(if: false) ... on Customer @skip(if: false) {{ phone }} }} }}"#,
            ids[0]
        ),
    )
    .await;
    assert_eq!(keys(get(get(&resp, "data"), "customer")), ["name", "phone"]);
}

#[tokio::test]
async fn an_argument_bound_to_an_omitted_variable_takes_its_default() {
    // CoerceArgumentValues: a variable the request leaves out (declared
    // without a default) gives the argument its own default; an explicit
    // null is refused where the argument is non-null.
    let app = spawn_app().await;
    let ids = app.seed_customers(12).await;
    for (i, id) in ids.iter().enumerate() {
        for day in 0..=(i % 3) {
            app.seed_order(
                *id,
                100 * (i as i64 + 1),
                &format!("2026-01-0{}T00:00:00Z", day + 1),
            )
            .await;
        }
    }
    let query = "query Top($min: Int, $limit: Int) { topCustomers(minOrders: $min, limit: $limit) { orderCount } }";
    // Defaults: limit 10, minOrders 1 (every seeded customer has orders).
    let resp = app.query(query, json!({})).await;
    let rows = resp["data"]["topCustomers"]
        .as_array()
        .unwrap_or_else(|| panic!("{resp}"));
    assert_eq!(rows.len(), 10, "{resp}");
    let resp = app.query(query, json!({ "min": 3 })).await;
    let rows = resp["data"]["topCustomers"]
        .as_array()
        .unwrap_or_else(|| panic!("{resp}"));
    assert_eq!(rows.len(), 4, "{resp}");
    assert!(rows.iter().all(|r| r["orderCount"] == 3), "{resp}");

    let resp = app.query(query, json!({ "min": null })).await;
    assert_eq!(
        resp["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{resp}"
    );
    assert!(resp.get("data").is_none_or(Value::is_null), "{resp}");
}
