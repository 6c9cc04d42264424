//! Hostile documents: bombs, cycles, nesting, size, amplification, response size, pool share.

use super::*;

/// `query { ...F0 }` where each fragment spreads the next twice: 2^levels
/// selections once expanded, in about 40 bytes per level.
fn fragment_bomb(levels: usize) -> String {
    let mut doc = String::from("query { ...F0 }");
    for i in 0..levels {
        doc.push_str(&format!(
            " fragment F{i} on Query {{ ...F{} ...F{} }}",
            i + 1,
            i + 1
        ));
    }
    doc.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    doc
}

#[tokio::test]
async fn a_fragment_bomb_is_counted_without_being_expanded_and_refused() {
    let app = spawn_app().await;
    let bomb = fragment_bomb(30);
    assert!(bomb.len() < 1_300, "{} bytes", bomb.len());
    let before = app.statements();
    let resp = app.query(&bomb, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    // The count is exact (2^30), so it was computed per fragment, not by
    // expanding a billion selections.
    assert!(error_message(&resp).contains("1073741824"), "{resp}");
    assert!(resp.get("data").is_none());
    assert_eq!(app.statements(), before, "no database work");
    // Small expansions are fine.
    assert_eq!(
        data(&app.query(&fragment_bomb(5), json!({})).await)["__typename"],
        "Query"
    );
}

#[tokio::test]
async fn fragment_cycles_and_deep_nesting_are_refused_before_parsing_work_grows() {
    let app = spawn_app().await;
    let resp = app
        .query(
            "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    let deep = format!("{{{}{}", "a{".repeat(10_000), "}".repeat(10_001));
    let resp = app.query(&deep, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    assert!(error_message(&resp).contains("nests"), "{resp}");
}

#[tokio::test]
async fn the_document_is_capped_in_bytes_and_tokens_but_variables_are_not() {
    let app = spawn_app_with(|s| {
        s.graphql.max_document_bytes = 2_000;
        s.graphql.max_tokens = 100;
    })
    .await;
    let big = format!("{{ __typename {} }}", "# padding\n".repeat(300));
    let resp = app.query(&big, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    assert!(error_message(&resp).contains("bytes"), "{resp}");
    let many = format!(
        "{{ {} }}",
        (0..60)
            .map(|i| format!("a{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let resp = app.query(&many, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    assert!(error_message(&resp).contains("tokens"), "{resp}");
    // A bulk input travels in variables, whatever its size.
    let ids = app.seed_customers(1).await;
    let rows: Vec<Value> = (0..2_000)
        .map(|_| json!({ "customerId": ids[0].to_string(), "total": "1.00" }))
        .collect();
    let resp = app
        .mutate(
            "mutation($rows: [CreateOrderInput!]!) { createOrders(input: $rows) { id } }",
            json!({ "rows": rows }),
        )
        .await;
    assert_eq!(
        data(&resp)["createOrders"].as_array().map(Vec::len),
        Some(2_000)
    );
}

/// One operation of the amplification batch: rankings of 100, each with
/// 49 orders, each with their customer's 49 orders.
const AMPLIFIER: &str = "{a: topCustomers(limit:100,minOrders:0){customer{orders(first:49){nodes{customer{orders(first:49){nodes{id}}}}}}}}";

#[tokio::test]
async fn lists_are_priced_by_their_size_and_a_batch_shares_one_budget() {
    let app = spawn_app().await;
    app.seed_customers(3).await;
    let before = app.statements();
    // One amplifier alone is over the budget: `limit` multiplies too.
    let resp = app.query(AMPLIFIER, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    // Sixteen operations each under the budget, together over it.
    let each = "{ customers(first: 100) { nodes { orders(first: 100) { nodes { id total } } } } }";
    let alone = app.query(each, json!({})).await;
    data(&alone);
    let batch: Vec<Value> = (0..16).map(|_| json!({ "query": each })).collect();
    let resp: Value = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&batch)
        .send()
        .await
        .expect("batch")
        .json()
        .await
        .expect("JSON");
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX", "{resp}");
    assert!(error_message(&resp).contains("at most 150000"), "{resp}");
    // Refused before any database work (the single `each` above ran 2).
    assert_eq!(app.statements() - before, 2);
}

#[tokio::test]
async fn a_response_past_its_cap_is_replaced_by_one_error() {
    let app = spawn_app_with(|s| s.http.max_response_bytes = 2_000).await;
    app.seed_customers(40).await;
    let resp = app
        .query(
            "{ customers(first: 40) { nodes { id name email createdAt } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&resp), "RESPONSE_TOO_LARGE");
    assert!(resp["data"].is_null());
    assert!(error_message(&resp).contains("2000"), "{resp}");
    // Under the cap, the same query answers.
    data(
        &app.query("{ customers(first: 5) { nodes { id } } }", json!({}))
            .await,
    );
}

#[tokio::test]
async fn statements_of_their_own_cost_more_than_values() {
    let app = spawn_app_with(|s| s.graphql.max_complexity = 5_000).await;
    let ranking = format!(
        "{{ {} }}",
        (0..40)
            .map(|i| format!(
                "r{i}: topCustomers(limit: 1, minOrders: {}) {{ totalSpent }}",
                i + 1
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let resp = app.query(&ranking, json!({})).await;
    assert_eq!(
        error_code(&resp),
        "QUERY_TOO_COMPLEX",
        "40 rankings: {resp}"
    );
    let lookups = format!(
        "{{ {} }}",
        (0..40)
            .map(|i| format!("c{i}: customer(id: \"{}\") {{ name }}", i + 1))
            .collect::<Vec<_>>()
            .join(" ")
    );
    data(&app.query(&lookups, json!({})).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_holds_at_most_its_share_of_the_pool() {
    let app = spawn_app_with(|s| {
        s.database.max_connections = 8;
        s.database.max_connections_per_request = 2;
        s.cache.disabled = true;
    })
    .await;
    let ids = app.seed_customers(5).await;
    for id in &ids {
        app.seed_order(*id, 100, "2026-01-01T00:00:00Z").await;
    }
    // Eight root fields, each a statement of its own, resolved concurrently.
    let many = format!(
        "{{ {} }}",
        (0..8)
            .map(|i| format!("r{i}: topCustomers(limit: 3, minOrders: {}) {{ totalSpent }} o{i}: orders(first: 3, filter: {{ minTotal: \"0.0{i}\" }}) {{ totalCount }}", i % 2))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let since = std::time::Instant::now();
    data(&app.query(&many, json!({})).await);
    // Each running statement holds a connection of its own.
    let peak = app.state.statements.peak_concurrency(since);
    assert!(
        (1..=2).contains(&peak),
        "peak {peak} statements at once for one request"
    );
}
