//! The server through database faults: unreachable means a fast, clear
//! `SERVICE_UNAVAILABLE`, a 503 from `/readyz`, and recovery without restart.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, data, error_code, spawn_on, test_settings};
use crate::proxy::{FaultProxy, route_through, upstream_of};

/// An app whose PostgreSQL connections go through a fault proxy. Its tests
/// are ignored unless asked for: an embedded SQLite file cannot become
/// unreachable, so they need `DATABASE_URL` to name PostgreSQL.
pub async fn behind_proxy(
    configure: impl FnOnce(&mut api::settings::Settings),
) -> (TestApp, FaultProxy) {
    let db = TestDb::create().await;
    assert_eq!(
        db.backend,
        sea_orm::DbBackend::Postgres,
        "this test needs PostgreSQL: set DATABASE_URL (see .ci/run)"
    );
    let proxy = FaultProxy::start(upstream_of(&db.url, 5432).await).await;
    let (mut settings, prefix) = test_settings(&db);
    settings.database.url = Some(route_through(&db.url, proxy.addr));
    settings.database.acquire_timeout_secs = 1;
    configure(&mut settings);
    (spawn_on(db, settings, prefix).await, proxy)
}

#[tokio::test]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn an_unreachable_database_is_service_unavailable_until_it_returns() {
    let (app, proxy) = behind_proxy(|_| {}).await;
    app.seed_customers(3).await;
    let q = "{ customers { totalCount nodes { id } } }";
    assert_eq!(
        data(&app.query(q, json!({})).await)["customers"]["totalCount"],
        3
    );

    proxy.cut();
    let resp = app.query(q, json!({})).await;
    assert_eq!(error_code(&resp), "SERVICE_UNAVAILABLE", "{resp}");
    let text = resp.to_string().to_lowercase();
    assert!(
        !text.contains("connection refused") && !text.contains("sqlx"),
        "{resp}"
    );

    let (status, body) = app.readiness().await;
    assert_eq!(status, 503);
    assert_eq!(body["database"], "down");

    // A mutation fails cleanly too, and writes nothing.
    let resp = app
        .mutate(
            "mutation { createCustomer(input: { name: \"X\", email: \"x@example.com\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&resp), "SERVICE_UNAVAILABLE", "{resp}");

    proxy.restore();
    let mut recovered = None;
    for _ in 0..50 {
        let resp = app.query(q, json!({})).await;
        if resp.get("errors").is_none() {
            recovered = Some(resp);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let resp = recovered.expect("the server recovers by itself");
    assert_eq!(resp["data"]["customers"]["totalCount"], 3);
    assert_eq!(app.readiness().await.0, 200);
    assert_eq!(app.count_rows("customers").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn a_connection_cut_in_the_middle_of_a_bulk_write_leaves_nothing() {
    let (app, proxy) = behind_proxy(|s| s.graphql.max_bulk_rows = 50_000).await;
    let ids = app.seed_customers(1).await;
    // Three inserts of 16,383 rows at most: cut after the first one.
    let input: Vec<Value> = (0..40_000)
        .map(|i| json!({ "customerId": ids[0].to_string(), "total": format!("{}.00", i % 100) }))
        .collect();
    let before = app.statements();
    let client = app.client.clone();
    let url = format!("{}/graphql", app.address);
    let token = crate::helpers::writer();
    let request = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }", "variables": { "i": input } }))
            .send()
            .await
            .expect("request")
            .json::<Value>()
            .await
            .expect("JSON")
    });
    let mut inserted = false;
    for _ in 0..2_000 {
        let n = usize::try_from(app.statements() - before).unwrap_or(0);
        let recent = app.state.statements.recent();
        if recent[recent.len().saturating_sub(n)..]
            .iter()
            .any(|s| s.contains("INSERT INTO orders"))
        {
            inserted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(inserted, "the first chunk was written before the cut");
    proxy.cut();
    let resp = request.await.expect("response");
    assert_eq!(error_code(&resp), "SERVICE_UNAVAILABLE", "{resp}");
    proxy.restore();
    let mut rows = None;
    for _ in 0..50 {
        let resp = app
            .query("{ orders(first: 0) { totalCount } }", json!({}))
            .await;
        if resp.get("errors").is_none() {
            rows = resp["data"]["orders"]["totalCount"].as_i64();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(rows, Some(0), "nothing of the cut transaction was kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn an_exhausted_pool_queues_then_fails_cleanly() {
    let (app, proxy) = behind_proxy(|s| {
        s.database.max_connections = 2;
        s.database.min_connections = 0;
    })
    .await;
    app.seed_customers(3).await;
    // Each statement now takes 300 ms: 16 requests on two connections wait
    // longer than the one-second acquire timeout.
    proxy.set_latency(std::time::Duration::from_millis(300));
    let requests = (0..16).map(|i| {
        let client = app.client.clone();
        let url = format!("{}/graphql", app.address);
        async move {
            client
                .post(url)
                .json(&json!({ "query": format!("{{ customers(first: {}) {{ totalCount }} }}", 1 + i % 3) }))
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("JSON")
        }
    });
    let responses = futures::future::join_all(requests).await;
    let (mut ok, mut unavailable) = (0, 0);
    for resp in &responses {
        if resp.get("errors").is_none() {
            assert_eq!(resp["data"]["customers"]["totalCount"], 3);
            ok += 1;
        } else {
            assert_eq!(error_code(resp), "SERVICE_UNAVAILABLE", "{resp}");
            unavailable += 1;
        }
    }
    assert!(ok >= 1, "queued requests were served ({ok} of 16)");
    assert!(
        unavailable >= 1,
        "requests past the acquire timeout failed cleanly ({unavailable} of 16)"
    );
    proxy.set_latency(std::time::Duration::ZERO);
    assert_eq!(
        data(&app.query("{ customers { totalCount } }", json!({})).await)["customers"]["totalCount"],
        3
    );
}
