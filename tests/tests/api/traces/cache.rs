//! The result cache in a trace: a miss read, the query and the fill; a hit
//! read and no statement; a write's invalidation.

use serde_json::json;

use super::{Collector, attribute, post_traced, shared_through};
use crate::helpers::{data, spawn_app_with};

const LOOK: &str = "query Look($id: ID!) { customer(id: $id) { name } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_reads_fills_and_invalidations_are_spans_of_their_request() {
    let collector = Collector::start().await;
    let endpoint = collector.url.clone();
    let app = spawn_app_with(move |s| s.traces.endpoint = Some(endpoint)).await;
    let id = app.seed_customers(1).await[0].to_string();
    let traceparent = |trace: &str| format!("00-{trace}-00f067aa0ba902b7-01");

    // A miss: read, the statement, the fill.
    let miss = "11111111111111111111111111111111";
    let resp = post_traced(&app, json!({ "id": id }), LOOK, &traceparent(miss)).await;
    assert!(data(&resp)["customer"]["name"].is_string(), "{resp}");
    let spans = collector.trace(miss, 6).await;
    let read = spans
        .iter()
        .find(|s| s.name == "cache.read")
        .unwrap_or_else(|| panic!("a cache read: {spans:#?}"));
    assert_eq!(attribute(read, "cache.hit").as_deref(), Some("false"));
    assert_eq!(attribute(read, "cache.keys").as_deref(), Some("1"));
    assert_eq!(attribute(read, "cache.hits").as_deref(), Some("0"));
    assert_eq!(attribute(read, "cache.backend"), Some(shared_through()));
    let fill = spans
        .iter()
        .find(|s| s.name == "cache.fill")
        .unwrap_or_else(|| panic!("a cache fill: {spans:#?}"));
    assert_eq!(attribute(fill, "cache.entries").as_deref(), Some("1"));
    assert_eq!(fill.parent_span_id, read.parent_span_id);
    assert!(
        spans
            .iter()
            .any(|s| attribute(s, "db.query.text").is_some_and(|t| t.contains("customers")))
    );

    // A hit: the read, no statement, no fill.
    let hit = "22222222222222222222222222222222";
    let again = post_traced(&app, json!({ "id": id }), LOOK, &traceparent(hit)).await;
    assert_eq!(again, resp);
    let spans = collector.trace(hit, 5).await;
    let read = spans
        .iter()
        .find(|s| s.name == "cache.read")
        .unwrap_or_else(|| panic!("a cache read: {spans:#?}"));
    assert_eq!(attribute(read, "cache.hit").as_deref(), Some("true"));
    assert_eq!(attribute(read, "cache.hits").as_deref(), Some("1"));
    assert!(
        spans
            .iter()
            .all(|s| attribute(s, "db.query.text").is_none() && s.name != "cache.fill"),
        "{spans:#?}"
    );

    // A write: its invalidation, under its operation.
    let write = "33333333333333333333333333333333";
    let renamed = post_traced(
        &app,
        json!({ "id": id }),
        "mutation Rename($id: ID!) { updateCustomer(id: $id, input: {name: \"Renamed\"}) { name } }",
        &traceparent(write),
    )
    .await;
    assert_eq!(data(&renamed)["updateCustomer"]["name"], "Renamed");
    let spans = collector.trace(write, 5).await;
    let operation = spans
        .iter()
        .find(|s| s.name == "mutation Rename")
        .expect("the mutation's span");
    let invalidation = spans
        .iter()
        .find(|s| s.name == "cache.invalidate")
        .unwrap_or_else(|| panic!("the invalidation: {spans:#?}"));
    assert_eq!(invalidation.parent_span_id, operation.span_id);
    let scopes: u64 = attribute(invalidation, "cache.scopes")
        .and_then(|n| n.parse().ok())
        .expect("how many scopes");
    assert!(scopes >= 1);
    // And the next read misses.
    let after = post_traced(&app, json!({ "id": id }), LOOK, &traceparent(miss)).await;
    assert_eq!(data(&after)["customer"]["name"], "Renamed");
}
