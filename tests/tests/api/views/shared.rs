//! What callers must not share: cursors, persisted documents, batches
//! and cache entries.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::{Shop, ids, order, shop};
use crate::helpers::{customer_token, data, error_code, post_graphql, writer};

const PAGE: &str = "query($after: String) { orders(first: 1, after: $after, orderBy: [TOTAL_ASC]) { nodes { id } pageInfo { endCursor } } }";

#[tokio::test]
async fn a_cursor_obtained_by_another_caller_reveals_nothing() {
    let shop = shop().await;
    let cursor_of = |resp: &Value| {
        data(resp)["orders"]["pageInfo"]["endCursor"]
            .as_str()
            .expect("cursor")
            .to_owned()
    };
    let staff_cursor = cursor_of(&shop.app.query(PAGE, json!({})).await);
    let b_cursor = cursor_of(&shop.as_customer(shop.b, PAGE, json!({})).await);
    let a_first = shop.as_customer(shop.a, PAGE, json!({})).await;
    let a_cursor = cursor_of(&a_first);
    // Its own cursor walks on.
    let next = shop
        .as_customer(shop.a, PAGE, json!({ "after": a_cursor }))
        .await;
    assert_eq!(
        ids(&data(&next)["orders"]["nodes"]),
        vec![shop.a_orders[2].clone()]
    );
    // Another caller's is refused, the same way whoever made it.
    let mut refusals = Vec::new();
    for foreign in [&staff_cursor, &b_cursor] {
        let resp = shop
            .as_customer(shop.a, PAGE, json!({ "after": foreign }))
            .await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
        refusals.push(resp["errors"][0]["message"].clone());
    }
    assert_eq!(refusals[0], refusals[1]);
    // And a customer's cursor means nothing to staff either.
    let resp = shop.app.query(PAGE, json!({ "after": a_cursor })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_persisted_document_runs_under_the_callers_own_view() {
    let shop = shop().await;
    let document = "query Mine { orders(first: 50) { totalCount nodes { id } } }";
    let hash = api::graphql::engine::persisted::sha256_hex(document);
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let app = &shop.app;
    let post = |token: Option<String>, body: Value| async move {
        post_graphql(&app.client, &app.address, &body, token.as_deref()).await
    };
    // Staff registers it (and reads everything)…
    let staff = post(
        Some(writer()),
        json!({ "query": document, "extensions": ext }),
    )
    .await;
    assert_eq!(data(&staff)["orders"]["totalCount"], 5);
    // …a customer sending the hash alone reads its own rows only.
    let mine = post(Some(customer_token(shop.a)), json!({ "extensions": ext })).await;
    assert_eq!(data(&mine)["orders"]["totalCount"], 3);
    let theirs = post(Some(customer_token(shop.b)), json!({ "extensions": ext })).await;
    let mut seen = ids(&data(&theirs)["orders"]["nodes"]);
    seen.sort();
    let mut own = shop.b_orders.clone();
    own.sort();
    assert_eq!(seen, own);
}

#[tokio::test]
async fn a_batch_answers_each_operation_under_the_one_callers_view() {
    let shop = shop().await;
    let body = json!([
        { "query": "query($id: ID!) { customer(id: $id) { id } }", "variables": { "id": shop.a.to_string() } },
        { "query": "query($id: ID!) { customer(id: $id) { id } }", "variables": { "id": shop.b.to_string() } },
        { "query": "query($id: ID!) { order(id: $id) { id } }", "variables": { "id": shop.b_orders[0] } },
        { "query": "{ orders { totalCount } }" },
    ]);
    let token = customer_token(shop.a);
    let resp = post_graphql(&shop.app.client, &shop.app.address, &body, Some(&token)).await;
    assert_eq!(
        resp,
        json!([
            { "data": { "customer": { "id": shop.a.to_string() } } },
            { "data": { "customer": null } },
            { "data": { "order": null } },
            { "data": { "orders": { "totalCount": 3 } } },
        ])
    );
}

/// Hits and misses of the app's cache so far.
fn counters(shop: &Shop) -> (u64, u64) {
    let c = shop.app.store().cache.counters();
    (
        c.hits.load(Ordering::Relaxed),
        c.misses.load(Ordering::Relaxed),
    )
}

#[tokio::test]
async fn cache_entries_filled_under_one_view_are_never_read_under_another() {
    let shop = shop().await;
    let lookup = "query($id: ID!) { customer(id: $id) { id name orderCount } }";
    let vars = |id: i64| json!({ "id": id.to_string() });
    // Staff warms both customers' entries.
    for id in [shop.a, shop.b] {
        let resp = shop.app.query(lookup, vars(id)).await;
        assert_eq!(data(&resp)["customer"]["id"], id.to_string());
    }
    let (hits, misses) = counters(&shop);
    // A customer does not get another's warmed entry…
    let resp = shop.as_customer(shop.a, lookup, vars(shop.b)).await;
    assert_eq!(data(&resp)["customer"], Value::Null);
    // …and its own comes from its own entries (a miss, then a hit), not
    // from staff's.
    let resp = shop.as_customer(shop.a, lookup, vars(shop.a)).await;
    assert_eq!(data(&resp)["customer"]["orderCount"], 3);
    let after_first = counters(&shop);
    assert_eq!(after_first.0, hits, "no entry shared with staff was read");
    assert!(after_first.1 > misses);
    let resp = shop.as_customer(shop.a, lookup, vars(shop.a)).await;
    assert_eq!(data(&resp)["customer"]["orderCount"], 3);
    assert!(
        counters(&shop).0 > after_first.0,
        "its own entries are kept"
    );
    // The reverse: staff still reads its own entry, and a write
    // invalidates every view's entries of that customer.
    let before = counters(&shop);
    let resp = shop.app.query(lookup, vars(shop.a)).await;
    assert_eq!(data(&resp)["customer"]["orderCount"], 3);
    assert!(
        counters(&shop).0 > before.0,
        "staff's entry is still shared"
    );
    order(&shop.app, shop.a, "1.00", "PENDING", "2026-04-01T00:00:00Z").await;
    let rename = shop
        .app
        .mutate(
            "mutation($id: ID!) { updateCustomer(id: $id, input: {name: \"Renamed\"}) { id } }",
            vars(shop.a),
        )
        .await;
    data(&rename);
    for token in [Some(customer_token(shop.a)), None] {
        let resp = shop
            .app
            .graphql(lookup, vars(shop.a), token.as_deref())
            .await;
        assert_eq!(data(&resp)["customer"]["name"], "Renamed");
        assert_eq!(data(&resp)["customer"]["orderCount"], 4);
    }
}
