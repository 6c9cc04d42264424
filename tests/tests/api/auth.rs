use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api::auth::Role;
use serde_json::json;

use crate::helpers::{JWT_SECRET, data, error_code, spawn_app, token};

const CREATE: &str =
    "mutation { createCustomer(input: { name: \"Eve\", email: \"eve@example.com\" }) { id } }";

fn signed(secret: &str, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

fn in_an_hour() -> u64 {
    (SystemTime::now().duration_since(UNIX_EPOCH).expect("time") + Duration::from_secs(3600))
        .as_secs()
}

#[tokio::test]
async fn queries_are_open_to_anonymous_callers() {
    let app = spawn_app().await;
    app.seed_customers(1).await;
    let resp = app.query("{ customers { totalCount } }", json!({})).await;
    assert_eq!(data(&resp)["customers"]["totalCount"], 1);
}

#[tokio::test]
async fn mutations_without_a_valid_token_are_unauthenticated_and_write_nothing() {
    let app = spawn_app().await;
    let expired = signed(
        JWT_SECRET,
        json!({ "sub": "x", "role": "writer", "exp": 1_000_000 }),
    );
    let wrong_secret = signed(
        "another-secret",
        json!({ "sub": "x", "role": "writer", "exp": in_an_hour() }),
    );
    let unknown_role = signed(
        JWT_SECRET,
        json!({ "sub": "x", "role": "admin", "exp": in_an_hour() }),
    );
    for t in [
        None,
        Some("garbage"),
        Some(expired.as_str()),
        Some(wrong_secret.as_str()),
        Some(unknown_role.as_str()),
    ] {
        let resp = app.graphql(CREATE, json!({}), t).await;
        assert_eq!(error_code(&resp), "UNAUTHENTICATED", "{t:?}: {resp}");
    }
    // Not a bearer scheme at all.
    let resp: serde_json::Value = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({ "query": CREATE }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert_eq!(error_code(&resp), "UNAUTHENTICATED");
    assert_eq!(app.count_rows("customers").await, 0);
}

#[tokio::test]
async fn a_reader_token_is_forbidden_to_mutate() {
    let app = spawn_app().await;
    let resp = app
        .graphql(CREATE, json!({}), Some(&token(Role::Reader)))
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    assert_eq!(app.count_rows("customers").await, 0);

    // A reader may still query.
    let resp = app
        .graphql(
            "{ customers { totalCount } }",
            json!({}),
            Some(&token(Role::Reader)),
        )
        .await;
    assert_eq!(data(&resp)["customers"]["totalCount"], 0);
}

#[tokio::test]
async fn a_writer_token_may_mutate() {
    let app = spawn_app().await;
    let resp = app
        .graphql(CREATE, json!({}), Some(&token(Role::Writer)))
        .await;
    assert!(data(&resp)["createCustomer"]["id"].is_string());
    assert_eq!(app.count_rows("customers").await, 1);
}

#[tokio::test]
async fn a_token_that_fails_a_check_is_unauthenticated_for_queries_too() {
    let app = spawn_app().await;
    app.seed_customers(1).await;
    let query = "{ customers { totalCount } }";
    let expired = signed(
        JWT_SECRET,
        json!({ "sub": "x", "role": "reader", "exp": 1_000_000 }),
    );
    let wrong_secret = signed(
        "another-secret",
        json!({ "sub": "x", "role": "reader", "exp": in_an_hour() }),
    );
    let no_role = signed(JWT_SECRET, json!({ "sub": "x", "exp": in_an_hour() }));
    let post = |body: serde_json::Value, token: &str, accept: &'static str| {
        app.client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(token)
            .header("accept", accept)
            .json(&body)
            .send()
    };
    for t in ["garbage", &expired, &wrong_secret, &no_role] {
        // A query, as application/json (200) and graphql-response+json (401).
        for (accept, status) in [
            ("application/json", 200),
            ("application/graphql-response+json", 401),
        ] {
            let resp = post(json!({ "query": query }), t, accept)
                .await
                .expect("request");
            assert_eq!(resp.status(), status, "{t}: {accept}");
            let body: serde_json::Value = resp.json().await.expect("JSON");
            assert_eq!(error_code(&body), "UNAUTHENTICATED", "{t}: {body}");
            assert!(body["data"].is_null(), "{body}");
        }
        // A batch: refused whole.
        let resp = post(
            json!([{ "query": query }, { "query": query }]),
            t,
            "application/json",
        )
        .await
        .expect("request");
        let body: serde_json::Value = resp.json().await.expect("JSON");
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{t}: {body}");
        // Over GET.
        let resp = app
            .client
            .get(format!("{}/graphql", app.address))
            .query(&[("query", query)])
            .bearer_auth(t)
            .header("accept", "application/json")
            .send()
            .await
            .expect("request");
        let body: serde_json::Value = resp.json().await.expect("JSON");
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{t}: {body}");
    }
    // Without a token the same query reads; with a valid one too.
    let resp = app.query(query, json!({})).await;
    assert_eq!(data(&resp)["customers"]["totalCount"], 1);
    let resp = app
        .graphql(query, json!({}), Some(&token(Role::Reader)))
        .await;
    assert_eq!(data(&resp)["customers"]["totalCount"], 1);
}

#[tokio::test]
async fn with_anonymous_access_none_only_callers_with_a_token_get_answers() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.auth.anonymous_access = api::settings::AnonymousAccess::None;
    })
    .await;
    app.seed_customers(1).await;
    let query = "{ customers { totalCount } }";
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.expect("JSON");
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert!(body["data"].is_null(), "{body}");
    let resp = app.query(query, json!({})).await;
    assert_eq!(error_code(&resp), "UNAUTHENTICATED", "{resp}");
    // A reader's token reads.
    let resp = app
        .graphql(query, json!({}), Some(&token(Role::Reader)))
        .await;
    assert_eq!(data(&resp)["customers"]["totalCount"], 1);
    // A WebSocket without a token closes with 4401; with one it is acknowledged.
    let mut ws = crate::ws_client::open(&app.address, Some("graphql-transport-ws"))
        .await
        .expect("open");
    ws.send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4401, "{reason}");
    crate::ws_client::Ws::connect(
        &app.address,
        json!({ "Authorization": format!("Bearer {}", token(Role::Reader)) }),
    )
    .await;
}
