//! A mutation's event, delivered to a subscriber on another instance (or
//! the same one), is a span of the mutation's trace.

use serde_json::json;

use super::{Collector, attribute, post_traced, shared_through};
use crate::helpers::{TestApp, data, spawn_app_with};
use crate::ws_client::Ws;

const ORDER_CREATED: &str = "subscription($c: ID) { orderCreated(customerId: $c) { id } }";

/// Subscribes on `on`, creates an order through `through` with
/// `traceparent` of `trace_id`, and checks the delivery's span: under the
/// mutation's operation span, in its trace.
async fn delivered_in_the_mutations_trace(
    collector: &Collector,
    through: &TestApp,
    on: (&str, &api::state::AppState),
    trace_id: &str,
) {
    let ids = through.seed_customers(1).await;
    let mut ws = Ws::connect(on.0, json!({})).await;
    ws.subscribe("s", ORDER_CREATED, json!({ "c": ids[0].to_string() }))
        .await;
    crate::subscriptions::listening(on.1, 1).await;
    let resp = post_traced(
        through,
        json!({ "c": ids[0].to_string() }),
        "mutation Buy($c: ID!) { createOrder(input: {customerId: $c, total: \"3.00\"}) { id } }",
        &format!("00-{trace_id}-1212121212121212-01"),
    )
    .await;
    let id = data(&resp)["createOrder"]["id"].clone();
    assert_eq!(ws.next_of("s").await["data"]["orderCreated"]["id"], id);

    let spans = collector.trace(trace_id, 4).await;
    let mutation = spans
        .iter()
        .find(|s| s.name == "mutation Buy")
        .expect("the mutation's span");
    let delivery = spans
        .iter()
        .find(|s| s.name == "deliver orderCreated")
        .unwrap_or_else(|| panic!("the delivery's span: {spans:#?}"));
    assert_eq!(delivery.parent_span_id, mutation.span_id);
    assert_eq!(
        attribute(delivery, "graphql.subscription.field").as_deref(),
        Some("orderCreated")
    );
    // Its publication, after the commit, under the mutation too.
    let publication = spans
        .iter()
        .find(|s| s.name == "publish events")
        .unwrap_or_else(|| panic!("the publication's span: {spans:#?}"));
    assert_eq!(publication.parent_span_id, mutation.span_id);
    assert_eq!(
        attribute(publication, "messaging.system"),
        Some(shared_through())
    );
    assert_eq!(
        attribute(publication, "messaging.batch.message_count").as_deref(),
        Some("1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_delivered_on_the_same_instance_joins_the_mutations_trace() {
    let collector = Collector::start().await;
    let endpoint = collector.url.clone();
    let app = spawn_app_with(move |s| s.traces.endpoint = Some(endpoint)).await;
    delivered_in_the_mutations_trace(
        &collector,
        &app,
        (&app.address, &app.state),
        "abababababababababababababababab",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis (REDIS_URL)"]
async fn an_event_delivered_on_another_instance_joins_the_mutations_trace_through_redis() {
    crate::helpers::require_env("REDIS_URL");
    let collector = Collector::start().await;
    let endpoint = collector.url.clone();
    let a = spawn_app_with(move |s| s.traces.endpoint = Some(endpoint)).await;
    let b = a.spawn_sibling().await;
    delivered_in_the_mutations_trace(
        &collector,
        &a,
        (&b.address, &b.state),
        "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
    )
    .await;
}
