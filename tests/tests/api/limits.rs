//! With the default limits, what a legitimate frontend sends uses at most
//! half of each: the same requests succeed on a server whose every limit is
//! half its default. The tools' introspection query runs with the defaults.

use serde_json::{Value, json};

use crate::helpers::{data, spawn_app, spawn_app_with};

/// The introspection query GraphiQL and code generators send.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}"#;

/// The README's first query.
const README_QUERY: &str = r#"{
  customers(first: 5) {
    totalCount
    nodes { id name email orderCount totalSpent orders(first: 3) { nodes { id total status createdAt } } }
    pageInfo { hasNextPage endCursor }
  }
  topCustomers(limit: 3) { customer { name } totalSpent orderCount }
}"#;

#[tokio::test]
async fn legitimate_requests_fit_in_half_of_every_default_limit() {
    let defaults = api::settings::Settings::default();
    let app = spawn_app_with(|s| {
        s.graphql.max_document_bytes = defaults.graphql.max_document_bytes / 2;
        s.graphql.max_tokens = defaults.graphql.max_tokens / 2;
        s.graphql.max_selections = defaults.graphql.max_selections / 2;
        s.graphql.max_depth = defaults.graphql.max_depth / 2;
        s.graphql.max_complexity = defaults.graphql.max_complexity / 2;
        s.http.max_response_bytes = defaults.http.max_response_bytes / 2;
        s.http.max_body_bytes = defaults.http.max_body_bytes / 2;
        s.graphql.max_bulk_rows = defaults.graphql.max_bulk_rows / 2;
    })
    .await;
    let ids = app.seed_customers(120).await;
    for (i, id) in ids.iter().enumerate().take(100) {
        for k in 0..5 {
            app.seed_order(*id, 100 + (i * 5 + k) as i64, "2026-01-01T00:00:00Z")
                .await;
        }
    }
    data(&app.query(README_QUERY, json!({})).await);
    // A 100-row page with 5 nested orders each, everything a list shows.
    let page = app
        .query(
            "{ customers(first: 100) { totalCount edges { cursor node { id name email phone createdAt orderCount totalSpent orders(first: 5) { totalCount nodes { id total status createdAt } } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&page)["customers"]["edges"].as_array().map(Vec::len),
        Some(100)
    );
    // A 10,000-row bulk mutation returning every field of each row.
    let rows: Vec<Value> = (0..10_000)
        .map(|i| json!({ "customerId": ids[i % ids.len()].to_string(), "total": "19.99", "status": "PAID" }))
        .collect();
    let bulk = app
        .mutate(
            "mutation($rows: [CreateOrderInput!]!) { createOrders(input: $rows) { id total status createdAt customer { id } } }",
            json!({ "rows": rows }),
        )
        .await;
    assert_eq!(
        data(&bulk)["createOrders"].as_array().map(Vec::len),
        Some(10_000)
    );
}

#[tokio::test]
async fn the_tools_introspection_query_runs_with_the_default_limits() {
    let app = spawn_app().await;
    let introspection = app.query(INTROSPECTION, json!({})).await;
    let types = data(&introspection)["__schema"]["types"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(types.iter().any(|t| t["name"] == "CustomerConnection"));
    let date_time = types
        .iter()
        .find(|t| t["name"] == "DateTime")
        .expect("DateTime");
    assert_eq!(
        date_time["specifiedByURL"],
        "https://www.rfc-editor.org/rfc/rfc3339"
    );
}
