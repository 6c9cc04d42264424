//! Operating the server: request ids, limits, switches, shutdown, and
//! malformed input thrown at it.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::faults::behind_proxy;
use crate::helpers::{
    TestDb, data, error_code, spawn_app, spawn_app_with, test_settings, token, writer,
};

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("x-request-id", "trace-me-42")
        .json(&json!({ "query": "{ customers { totalCount } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.headers()["x-request-id"], "trace-me-42");
    let resp = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("request");
    let id = resp.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(id.len(), 16);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = spawn_app_with(|s| s.max_body_bytes = 10_000).await;
    let input: Vec<Value> = (0..500)
        .map(|i| json!({ "name": format!("N{i}"), "email": format!("n{i}@example.com") }))
        .collect();
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(writer())
        .json(&json!({ "query": "mutation($i: [CreateCustomerInput!]!) { createCustomers(input: $i) { id } }", "variables": { "i": input } }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("MAX_BODY_BYTES"))
    );
    assert_eq!(app.count_rows("customers").await, 0);
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_and_others_do_not() {
    let app = spawn_app_with(|s| {
        s.rate_limit_per_second = Some(1);
        s.rate_limit_burst = Some(3);
    })
    .await;
    let q = "{ customers { totalCount } }";
    let reader = token(api::auth::Role::Reader);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let resp = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&reader)
            .json(&json!({ "query": q }))
            .send()
            .await
            .expect("request");
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 {
            assert!(resp.headers().contains_key("retry-after"));
            let body: Value = resp.json().await.expect("JSON");
            assert!(
                body["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("per second"))
            );
        }
    }
    assert_eq!(&statuses[..3], [200, 200, 200]);
    assert_eq!(statuses[4], 429, "{statuses:?}");
    // Another subject has its own budget.
    let other = api::auth::Jwt::new(crate::helpers::JWT_SECRET.as_bytes())
        .issue(
            "someone-else",
            api::auth::Role::Reader,
            Duration::from_secs(60),
        )
        .expect("token");
    let resp = app.graphql(q, json!({}), Some(&other)).await;
    assert_eq!(data(&resp)["customers"]["totalCount"], 0);
}

#[tokio::test]
async fn introspection_and_graphiql_can_be_turned_off() {
    let app = spawn_app_with(|s| {
        s.graphql_introspection = false;
        s.graphiql = false;
    })
    .await;
    let resp = app
        .query("{ __schema { types { name } } }", json!({}))
        .await;
    assert_eq!(resp["data"]["__schema"], Value::Null, "{resp}");
    let resp = app
        .query("{ __type(name: \"Customer\") { name } }", json!({}))
        .await;
    assert_eq!(resp["data"]["__type"], Value::Null, "{resp}");
    let resp = app
        .client
        .get(format!("{}/graphql", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404);
    // Ordinary queries still work.
    assert_eq!(
        data(&app.query("{ customers { totalCount } }", json!({})).await)["customers"]["totalCount"],
        0
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn a_request_over_the_timeout_is_cancelled_with_408_and_writes_nothing() {
    let (app, proxy) = behind_proxy(|s| s.request_timeout_secs = 1).await;
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
    settings.max_bulk_rows = 20_000;
    // Not about the cache, and this app is not a TestApp that would clean Redis up.
    settings.redis_url = None;
    let (address, state, stop, server) = crate::helpers::start_stoppable(settings).await;
    let store = state.store.clone();
    let customer = store
        .customers()
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
