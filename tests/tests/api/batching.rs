//! The number of SQL statements depends on the shape of a query, never on
//! how many rows a level returns.

use serde_json::{Value, json};

use crate::helpers::{TestApp, data, spawn_app};

/// The nested page: customers, five orders each with their customer,
/// and the two aggregates.
fn nested(first: usize) -> String {
    format!(
        "{{ customers(first: {first}) {{ nodes {{ orders(first: 5) {{ nodes {{ total customer {{ name }} }} }} orderCount totalSpent }} }} }}"
    )
}

async fn seed_orders(app: &TestApp, customers: usize, per_customer: usize) {
    let ids = app.seed_customers(customers).await;
    let input: Vec<Value> = ids
        .iter()
        .flat_map(|id| {
            (0..per_customer).map(move |k| {
                json!({ "customerId": id.to_string(), "total": format!("{}.{:02}", k + 1, k), "createdAt": format!("2025-01-01T00:00:{:02}Z", k) })
            })
        })
        .collect();
    for chunk in input.chunks(2_000) {
        data(
            &app.mutate(
                "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }",
                json!({ "i": chunk }),
            )
            .await,
        );
    }
}

async fn cost(app: &TestApp, query: &str) -> (u64, Value) {
    let before = app.statements();
    let resp = app.query(query, json!({})).await;
    data(&resp);
    let n = app.statements() - before;
    let recent = app.state.statements.recent();
    let ran = &recent[recent.len().saturating_sub(usize::try_from(n).unwrap_or(0))..];
    eprintln!("{n} statements for {query}:\n  {}", ran.join("\n  "));
    (n, resp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_page_costs_three_statements_whatever_its_size() {
    let app = spawn_app().await;
    seed_orders(&app, 120, 7).await;

    let (small, resp) = cost(&app, &nested(10)).await;
    let nodes = data(&resp)["customers"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    assert_eq!(nodes.len(), 10);
    assert!(
        nodes
            .iter()
            .all(|n| n["orders"]["nodes"].as_array().map(Vec::len) == Some(5))
    );
    assert!(nodes.iter().all(|n| n["orderCount"] == 7));

    let (large, resp) = cost(&app, &nested(100)).await;
    assert_eq!(
        data(&resp)["customers"]["nodes"].as_array().map(Vec::len),
        Some(100)
    );

    // customers page + one page of orders for all parents + one grouped aggregate.
    assert_eq!(small, 3);
    assert_eq!(large, small);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_of_every_order_is_one_statement() {
    let app = spawn_app().await;
    seed_orders(&app, 40, 3).await;
    let q =
        |n: usize| format!("{{ orders(first: {n}) {{ nodes {{ id customer {{ id email }} }} }} }}");
    let (five, _) = cost(&app, &q(5)).await;
    let (hundred, resp) = cost(&app, &q(100)).await;
    let nodes = data(&resp)["orders"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    assert_eq!(nodes.len(), 100);
    assert!(nodes.iter().all(|n| {
        n["customer"]["email"]
            .as_str()
            .is_some_and(|e| e.ends_with("@example.com"))
    }));
    assert_eq!(five, 2, "orders page + customers by id");
    assert_eq!(hundred, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeper_nesting_adds_statements_per_level_not_per_row() {
    let app = spawn_app().await;
    seed_orders(&app, 30, 4).await;
    let q = |n: usize| {
        format!(
            "{{ customers(first: {n}) {{ nodes {{ orders(first: 3) {{ totalCount nodes {{ customer {{ orderCount orders(first: 2) {{ nodes {{ id }} }} }} }} }} }} }} }}"
        )
    };
    let (few, _) = cost(&app, &q(3)).await;
    let (many, _) = cost(&app, &q(30)).await;
    assert_eq!(few, many);
    assert!(few <= 5, "{few} statements");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_customers_with_their_details_is_two_statements() {
    let app = spawn_app().await;
    seed_orders(&app, 50, 2).await;
    let (n, resp) = cost(
        &app,
        "{ topCustomers(limit: 50) { totalSpent customer { name orderCount totalSpent } } }",
    )
    .await;
    let rows = data(&resp)["topCustomers"]
        .as_array()
        .expect("rows")
        .clone();
    assert_eq!(rows.len(), 50);
    assert!(
        rows.iter()
            .all(|r| r["totalSpent"] == r["customer"]["totalSpent"])
    );
    // The ranking, then the customers in one batch; the aggregates come with the ranking.
    assert_eq!(n, 2);
    // Served from the cache the second time.
    let (again, _) = cost(
        &app,
        "{ topCustomers(limit: 50) { totalSpent customer { name orderCount totalSpent } } }",
    )
    .await;
    assert_eq!(again, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliased_root_lookups_share_one_batch() {
    let app = spawn_app().await;
    seed_orders(&app, 30, 2).await;
    let query = format!(
        "{{ {} }}",
        (1..=20)
            .map(|i| format!("c{i}: customer(id: \"{i}\") {{ name orderCount }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let scopes: Vec<_> = (1..=20).map(service::cache::Scope::Customer).collect();
    for _ in 0..25 {
        app.store().cache.invalidate(&scopes).await; // cold every time
        let (n, resp) = cost(&app, &query).await;
        assert_eq!(data(&resp)["c20"]["orderCount"], 2);
        assert_eq!(
            n, 2,
            "customers by id and their aggregates, for twenty aliases"
        );
    }
}
