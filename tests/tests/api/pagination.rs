use serde_json::{Value, json};

use crate::helpers::{data, spawn_app};

fn ids_of(conn: &Value) -> Vec<i64> {
    conn["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            e["node"]["id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("numeric")
        })
        .collect()
}

#[tokio::test]
async fn customers_can_be_walked_to_the_end_by_cursor() {
    let app = spawn_app().await;
    let ids = app.seed_customers(25).await;
    let q = "query($after: String) { customers(first: 7, after: $after) { totalCount edges { cursor node { id } } nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let resp = app.query(q, json!({ "after": after })).await;
        let conn = data(&resp)["customers"].clone();
        assert_eq!(conn["totalCount"], 25);
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], after.is_some());
        let page = ids_of(&conn);
        let nodes: Vec<i64> = conn["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["id"].as_str().expect("id").parse().expect("numeric"))
            .collect();
        assert_eq!(page, nodes, "edges and nodes agree");
        assert_eq!(conn["pageInfo"]["startCursor"], conn["edges"][0]["cursor"]);
        assert_eq!(
            conn["pageInfo"]["endCursor"],
            conn["edges"][page.len() - 1]["cursor"]
        );
        seen.extend(page);
        pages += 1;
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, ids, "every customer once, by id ascending");
}

#[tokio::test]
async fn orders_can_be_walked_to_the_end_across_equal_timestamps() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let mut expected = Vec::new();
    for i in 0..23 {
        // Groups of three share a timestamp, so the id breaks ties.
        let t = format!("2025-03-{:02}T10:00:00Z", 1 + i / 3);
        let id = app.seed_order(ids[i % 2], 100 + i as i64, &t).await;
        expected.push((t, id));
    }
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();

    let q = "query($after: String) { orders(first: 5, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let resp = app.query(q, json!({ "after": after })).await;
        let conn = data(&resp)["orders"].clone();
        seen.extend(ids_of(&conn));
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_customers_orders_can_be_walked_by_cursor() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let mut mine = Vec::new();
    for day in 1..=12 {
        mine.push(
            app.seed_order(ids[0], day, &format!("2025-01-{day:02}T00:00:00Z"))
                .await,
        );
        app.seed_order(ids[1], day, &format!("2025-01-{day:02}T12:00:00Z"))
            .await;
    }
    mine.reverse();
    let q = "query($id: ID!, $after: String) { customer(id: $id) { orders(first: 5, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }";
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let resp = app
            .query(q, json!({ "id": ids[0].to_string(), "after": after }))
            .await;
        let conn = data(&resp)["customer"]["orders"].clone();
        assert_eq!(conn["totalCount"], 12);
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], after.is_some());
        seen.extend(ids_of(&conn));
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, mine);
}

#[tokio::test]
async fn an_empty_page_still_says_whether_rows_follow() {
    let app = spawn_app().await;
    app.seed_customers(3).await;
    let resp = app
        .query("{ customers(first: 0) { nodes { id } pageInfo { hasNextPage startCursor endCursor } } }", json!({}))
        .await;
    assert_eq!(
        data(&resp)["customers"],
        json!({ "nodes": [], "pageInfo": { "hasNextPage": true, "startCursor": null, "endCursor": null } })
    );
}

#[tokio::test]
async fn a_deep_page_costs_the_same_statements_as_the_first() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let orders: Vec<Value> = (0..300)
        .map(|i| json!({ "customerId": ids[0].to_string(), "total": "1.00", "createdAt": format!("2025-01-01T00:{:02}:{:02}Z", i / 60, i % 60) }))
        .collect();
    data(
        &app.mutate(
            "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }",
            json!({ "i": orders }),
        )
        .await,
    );

    let q = "query($after: String) { orders(first: 10, after: $after) { nodes { id } pageInfo { endCursor } } }";
    let before = app.statements();
    let first = app.query(q, json!({})).await;
    let first_cost = app.statements() - before;

    // Walk to page 25 and measure it.
    let mut after = data(&first)["orders"]["pageInfo"]["endCursor"].clone();
    for _ in 0..23 {
        let resp = app.query(q, json!({ "after": after })).await;
        after = data(&resp)["orders"]["pageInfo"]["endCursor"].clone();
    }
    let before = app.statements();
    let deep = app.query(q, json!({ "after": after })).await;
    let deep_cost = app.statements() - before;
    assert_eq!(
        data(&deep)["orders"]["nodes"].as_array().map(Vec::len),
        Some(10)
    );
    assert_eq!(first_cost, 1);
    assert_eq!(deep_cost, first_cost);
}

/// Walks a connection backwards with `last`/`before` from its end; returns
/// the ids in list order.
async fn walk_back(
    app: &crate::helpers::TestApp,
    query: &str,
    path: &[&str],
    vars: Value,
) -> Vec<i64> {
    let mut before: Option<String> = None;
    let mut pages: Vec<Vec<i64>> = Vec::new();
    loop {
        let mut v = vars.clone();
        v["before"] = json!(before);
        let resp = app.query(query, v).await;
        let mut conn = data(&resp).clone();
        for p in path {
            conn = conn[*p].clone();
        }
        assert_eq!(conn["pageInfo"]["hasNextPage"], before.is_some(), "{conn}");
        pages.push(ids_of(&conn));
        if conn["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = conn["pageInfo"]["startCursor"].as_str().map(str::to_owned);
    }
    pages.into_iter().rev().flatten().collect()
}

#[tokio::test]
async fn every_list_walks_backwards_with_last_and_before() {
    let app = spawn_app().await;
    let ids = app.seed_customers(23).await;
    let back = walk_back(
        &app,
        "query($before: String) { customers(last: 5, before: $before) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
        &["customers"],
        json!({}),
    )
    .await;
    assert_eq!(back, ids);

    // Orders, with equal timestamps, across the whole list and per customer.
    let mut forward = Vec::new();
    for i in 0..25 {
        let t = format!("2026-01-0{}T00:00:00Z", 1 + i % 3);
        forward.push((
            t.clone(),
            app.seed_order(ids[i % 2], 100 + i as i64, &t).await,
        ));
    }
    let (app_ref, ids_ref) = (&app, &ids);
    let all = |first: Option<i64>| async move {
        let resp = app_ref
            .query(
                "query($f: Int) { orders(first: $f) { edges { node { id } } } }",
                json!({ "f": first }),
            )
            .await;
        ids_of(&data(&resp)["orders"])
    };
    let newest_first = all(Some(100)).await;
    assert_eq!(newest_first.len(), 25);
    assert_eq!(all(None).await, newest_first[..20], "20 by default");
    let back = walk_back(
        &app,
        "query($before: String) { orders(last: 4, before: $before) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
        &["orders"],
        json!({}),
    )
    .await;
    assert_eq!(back, newest_first);

    let per_customer = |first: i64| async move {
        let resp = app_ref
            .query(
                "query($id: ID!, $f: Int) { customer(id: $id) { orders(first: $f) { edges { node { id } } } } }",
                json!({ "id": ids_ref[0].to_string(), "f": first }),
            )
            .await;
        ids_of(&data(&resp)["customer"]["orders"])
    };
    let back = walk_back(
        &app,
        "query($id: ID!, $before: String) { customer(id: $id) { orders(last: 3, before: $before) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }",
        &["customer", "orders"],
        json!({ "id": ids[0].to_string() }),
    )
    .await;
    assert_eq!(back, per_customer(100).await);
    let resp = app
        .query(
            "query($id: ID!) { customer(id: $id) { orders { edges { node { id } } } } }",
            json!({ "id": ids[0].to_string() }),
        )
        .await;
    assert_eq!(
        ids_of(&data(&resp)["customer"]["orders"]),
        per_customer(100).await[..10],
        "10 by default"
    );
}

#[tokio::test]
async fn first_with_last_is_bad_input() {
    let app = spawn_app().await;
    let resp = app
        .query("{ customers(first: 2, last: 2) { totalCount } }", json!({}))
        .await;
    assert_eq!(crate::helpers::error_code(&resp), "BAD_USER_INPUT");
    assert!(crate::helpers::error_message(&resp).contains("not both"));
}
