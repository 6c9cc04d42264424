//! Timeouts, shutdown and garbage: nothing half-written, the server never breaks.

use super::*;

#[tokio::test]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn a_request_over_the_timeout_is_cancelled_with_408_and_writes_nothing() {
    let (app, proxy) = behind_proxy(|s| s.http.request_timeout_secs = 1).await;
    proxy.set_latency(Duration::from_millis(700));
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(writer())
        .json(&json!({ "query": "mutation { createCustomer(input: { name: \"Slow\", email: \"slow@example.com\" }) { id } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 408);
    let body: Value = resp.json().await.expect("JSON");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("longer than 1 s"))
    );
    proxy.set_latency(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.count_rows("customers").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_an_in_flight_mutation_finish() {
    let db = TestDb::create().await;
    let (mut settings, _prefix) = test_settings(&db);
    settings.graphql.max_bulk_rows = 20_000;
    // Not about the cache, and this app is not a TestApp that would clean Redis up.
    settings.redis.url = None;
    let (address, state, stop, server) = crate::helpers::start_stoppable(settings).await;
    let store = state.store.clone();
    let customer = store
        .customers(&service::View::unrestricted())
        .create(service::input::NewCustomer::parse("A", "a@example.com", None).expect("valid"))
        .await
        .expect("customer");

    let client = reqwest::Client::new();
    let input: Vec<Value> = (0..20_000)
        .map(
            |i| json!({ "customerId": customer.id.to_string(), "total": format!("{}.50", i % 50) }),
        )
        .collect();
    let url = format!("{address}/graphql");
    let request = tokio::spawn({
        let client = client.clone();
        let url = url.clone();
        async move {
            client
                .post(url)
                .bearer_auth(writer())
                .json(&json!({ "query": "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }", "variables": { "i": input } }))
                .send()
                .await
                .expect("request")
                .json::<Value>()
                .await
                .expect("JSON")
        }
    });
    let mut in_flight = false;
    for _ in 0..5_000 {
        if state.in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            in_flight = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(in_flight, "the mutation is being handled");
    let _ = stop.send(());

    let resp = request.await.expect("response");
    assert_eq!(
        data(&resp)["createOrders"].as_array().map(Vec::len),
        Some(20_000)
    );
    server.await.expect("server task").expect("clean stop");
    // Nothing was lost, and the server no longer accepts connections.
    let check = sea_orm::Database::connect(db.url.as_str())
        .await
        .expect("connect");
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        entity::order::Entity::find()
            .count(&check)
            .await
            .expect("count"),
        20_000
    );
    check.close().await.ok();
    assert!(
        client
            .post(url)
            .json(&json!({ "query": "{ customers { totalCount } }" }))
            .send()
            .await
            .is_err()
    );
}

/// Random bytes, mangled documents and odd headers: no panic, no 500, no
/// change to the data, and every error carries a code.
#[tokio::test]
async fn random_and_malformed_requests_never_break_the_server() {
    let app = spawn_app().await;
    let ids = app.seed_customers(3).await;
    app.seed_order(ids[0], 1234, "2025-01-01T00:00:00Z").await;
    let snapshot = (
        app.count_rows("customers").await,
        app.count_rows("orders").await,
    );
    let valid = [
        "{ customers(first: 5) { nodes { id name orders(first: 2) { nodes { total } } orderCount totalSpent } } }",
        "query($id: ID!) { customer(id: $id) { name email } }",
        "mutation { createCustomer(input: { name: \"X\", email: \"x@example.com\" }) { id } }",
        "mutation { deleteCustomer(id: \"1\") }",
        "{ orders(filter: { minTotal: \"1.00\" }) { totalCount } }",
        "{ topCustomers(limit: 3) { totalSpent } }",
    ];
    let junk_tokens = [
        "",
        "Bearer",
        "Bearer x.y.z",
        "Basic Zm9v",
        "Bearer \u{7f}",
        &"A".repeat(5000),
    ];
    let mut rng = StdRng::seed_from_u64(20261124);
    for round in 0..400 {
        let base = valid[rng.random_range(0..valid.len())];
        let mut doc: Vec<u8> = base.as_bytes().to_vec();
        match rng.random_range(0..6) {
            0 => {
                let cut = rng.random_range(0..doc.len());
                doc.truncate(cut);
            }
            1 => {
                for _ in 0..rng.random_range(1..6) {
                    let i = rng.random_range(0..doc.len());
                    doc[i] = rng.random();
                }
            }
            2 => {
                let i = rng.random_range(0..doc.len());
                let junk: Vec<u8> = (0..rng.random_range(1..20))
                    .map(|_| rng.random_range(32..127))
                    .collect();
                doc.splice(i..i, junk);
            }
            3 => doc = "{ a".repeat(rng.random_range(10..3000)).into_bytes(),
            4 => {
                doc = (0..rng.random_range(0..300))
                    .map(|_| rng.random())
                    .collect()
            }
            _ => {}
        }
        let variables = match rng.random_range(0..5) {
            0 => json!({ "id": "abc" }),
            1 => json!({ "id": [1, 2, {"x": null}] }),
            2 => json!("not an object"),
            3 => json!({ "id": ids[1].to_string(), "extra": "x".repeat(1000) }),
            _ => Value::Null,
        };
        let body = match rng.random_range(0..4) {
            0 => serde_json::to_vec(&json!({ "query": String::from_utf8_lossy(&doc), "variables": variables })).unwrap_or_default(),
            1 => doc.clone(),
            2 => serde_json::to_vec(&json!([{ "query": String::from_utf8_lossy(&doc) }, { "query": base }])).unwrap_or_default(),
            _ => serde_json::to_vec(&json!({ "query": base, "variables": variables, "operationName": String::from_utf8_lossy(&doc) })).unwrap_or_default(),
        };
        let mut req = app
            .client
            .post(format!("{}/graphql", app.address))
            .body(body);
        if rng.random_bool(0.7) {
            req = req.header("content-type", "application/json");
        }
        let t = junk_tokens[rng.random_range(0..junk_tokens.len())];
        if let Ok(v) = reqwest::header::HeaderValue::from_str(t) {
            req = req.header("authorization", v);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status().as_u16();
        assert!(
            matches!(status, 200 | 400 | 405 | 413 | 415),
            "round {round}: status {status}"
        );
        let text = resp.text().await.expect("body");
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("round {round}: not JSON ({e}): {text}"));
        let responses = if json.is_array() {
            json.as_array().cloned().unwrap_or_default()
        } else {
            vec![json]
        };
        for r in responses {
            for err in r["errors"].as_array().cloned().unwrap_or_default() {
                assert!(
                    err["extensions"]["code"].is_string(),
                    "round {round}: error without a code: {err}"
                );
            }
        }
    }
    assert_eq!(
        (
            app.count_rows("customers").await,
            app.count_rows("orders").await
        ),
        snapshot,
        "no data changed"
    );
    // Still healthy.
    assert_eq!(
        data(&app.query("{ customers { totalCount } }", json!({})).await)["customers"]["totalCount"],
        3
    );
}
