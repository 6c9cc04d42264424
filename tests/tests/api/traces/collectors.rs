//! A collector that is down, refusing or slow never stops serving: its
//! spans are lost and counted. At shutdown, what is queued is sent before
//! the server stops.

use std::time::Duration;

use serde_json::json;

use super::{Answer, Collector};
use crate::helpers::{TestApp, TestDb, data, spawn_app_with, test_settings};

const PAGE: &str = "{ customers(first: 1) { nodes { id } } }";

/// `otel_spans_dropped_total` (process-wide: other tests' drops count too,
/// so each test also checks what its collector was sent).
async fn dropped(app: &TestApp) -> f64 {
    app.metrics()
        .await
        .lines()
        .find_map(|l| {
            l.strip_prefix("otel_spans_dropped_total ")?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(0.0)
}

/// Serves 20 pages while the collector misbehaves, then waits (at most
/// `within`) until at least 20 more spans were counted as dropped.
async fn serves_and_drops(app: &TestApp, within: Duration) {
    let before = dropped(app).await;
    for _ in 0..20 {
        let resp = app.query(PAGE, json!({})).await;
        assert!(data(&resp)["customers"]["nodes"].is_array(), "{resp}");
    }
    let deadline = tokio::time::Instant::now() + within;
    let mut after = before;
    while tokio::time::Instant::now() < deadline {
        after = dropped(app).await;
        if after >= before + 20.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(after >= before + 20.0, "dropped {before} -> {after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_loses_spans_counted_and_serving_goes_on() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let app = spawn_app_with(move |s| {
        s.traces.endpoint = Some(format!("http://127.0.0.1:{port}"));
    })
    .await;
    serves_and_drops(&app, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_collector_loses_spans_counted_and_serving_goes_on() {
    let collector = Collector::answering(Answer::Refused(503)).await;
    let endpoint = collector.url.clone();
    let app = spawn_app_with(move |s| s.traces.endpoint = Some(endpoint)).await;
    serves_and_drops(&app, Duration::from_secs(10)).await;
    assert!(
        collector.received() >= 1,
        "the exporter asked the collector"
    );
    assert!(collector.all().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_slower_than_the_export_timeout_never_holds_a_request() {
    // Longer than the export's 5 s limit: its exports count as dropped.
    let collector = Collector::answering(Answer::After(Duration::from_secs(30))).await;
    let endpoint = collector.url.clone();
    let app = spawn_app_with(move |s| s.traces.endpoint = Some(endpoint)).await;
    // Every request is answered while the first export hangs.
    serves_and_drops(&app, Duration::from_secs(15)).await;
    assert!(collector.received() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_queued_at_shutdown_reach_the_collector_before_the_server_stops() {
    // Each export takes a second: the second request's spans are still
    // queued behind the first's export when the server is told to stop.
    let collector = Collector::answering(Answer::After(Duration::from_secs(1))).await;
    let db = TestDb::create().await;
    let (mut settings, _prefix) = test_settings(&db);
    settings.redis.url = None;
    settings.traces.endpoint = Some(collector.url.clone());
    let (address, _state, stop, server) = crate::helpers::start_stoppable(settings).await;
    let client = reqwest::Client::new();
    for trace in [
        "0123456789abcdef0123456789abcdef",
        "fedcba9876543210fedcba9876543210",
    ] {
        let resp: serde_json::Value = client
            .post(format!("{address}/graphql"))
            .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
            .json(&json!({ "query": PAGE }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON");
        assert!(data(&resp)["customers"]["nodes"].is_array(), "{resp}");
    }
    let _ = stop.send(());
    server.await.expect("the server's task").expect("stopped");
    // No waiting: the server stopped only once they were sent.
    let second = collector.spans_of("fedcba9876543210fedcba9876543210");
    assert!(
        second.iter().any(|s| s.name == "POST /graphql"),
        "{second:#?}"
    );
}
