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
