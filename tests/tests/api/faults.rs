//! The server through database faults: unreachable means a fast, clear
//! `SERVICE_UNAVAILABLE`, a 503 from `/readyz`, and recovery without restart.

use serde_json::{Value, json};

use crate::helpers::{TestDb, data, error_code, spawn_on, test_settings};
use crate::proxy::{FaultProxy, route_through, upstream_of};

#[tokio::test]
async fn an_unreachable_database_is_service_unavailable_until_it_returns() {
    let db = TestDb::create().await;
    if db.backend != sea_orm::DbBackend::Postgres {
        // An embedded SQLite file cannot become unreachable.
        return;
    }
    let proxy = FaultProxy::start(upstream_of(&db.url, 5432).await).await;
    let (mut settings, prefix) = test_settings(&db);
    settings.database_url = Some(route_through(&db.url, proxy.addr));
    settings.db_acquire_timeout_secs = 1;
    let app = spawn_on(db, settings, prefix).await;
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

    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("JSON");
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
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    assert_eq!(app.count_rows("customers").await, 3);
}
