//! GraphQL over HTTP as its specification and real clients expect: media
//! types, status codes, request errors without `data`, 415/405/406, a
//! readable parse error, compression, the root redirect and the JSON hint.

use std::io::Read;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(app: &TestApp, accept: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut req = app
        .client
        .post(format!("{}/graphql", app.address))
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string());
    if let Some(a) = accept {
        req = req.header(ACCEPT, a);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let json = resp.json().await.expect("JSON body");
    (status, ct, json)
}

#[tokio::test]
async fn the_response_media_type_follows_accept() {
    let app = spawn_app().await;
    let q = json!({ "query": "{ __typename }" });
    for (accept, expected) in [
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GRAPHQL_RESPONSE,
        ),
    ] {
        let (status, ct, body) = post(&app, accept, q.clone()).await;
        assert_eq!(status, 200, "{accept:?}");
        assert!(ct.starts_with(expected), "{accept:?}: {ct}");
        assert_eq!(body, json!({ "data": { "__typename": "Query" } }));
    }
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "text/html")
        .body(q.to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 406);
}

#[tokio::test]
async fn request_errors_are_400_without_data_for_graphql_response_json() {
    let app = spawn_app().await;
    let cases = [
        // parse, validation, variable coercion, our own argument check
        json!({ "query": "{" }),
        json!({ "query": "{ noSuchField }" }),
        json!({ "query": "query Q($id: ID!) { customer(id: $id) { id } }", "variables": { "id": null } }),
        json!({ "query": "query Q($n: Int) { customers(first: $n) { totalCount } }", "variables": { "n": "ten" } }),
    ];
    for case in cases {
        let (status, _, body) = post(&app, Some(GRAPHQL_RESPONSE), case.clone()).await;
        assert_eq!(status, 400, "{case}: {body}");
        assert!(body.get("data").is_none(), "{case}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        // application/json: 200, and still no `data` (execution never started).
        let (status, _, body) = post(&app, Some("application/json"), case.clone()).await;
        assert_eq!(status, 200, "{case}: {body}");
        assert!(body.get("data").is_none(), "{case}: {body}");
    }
    // A field error is not a request error: 200 with data.
    let (status, _, body) = post(
        &app,
        Some(GRAPHQL_RESPONSE),
        json!({ "query": "{ customer(id: \"abc\") { id } }" }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!({ "customer": null }));
}

#[tokio::test]
async fn a_parse_error_is_one_readable_line_with_its_location() {
    let app = spawn_app().await;
    let (_, _, body) = post(
        &app,
        None,
        json!({ "query": "{ customers(first: 2) { nodes { id }" }),
    )
    .await;
    let err = &body["errors"][0];
    let message = err["message"].as_str().expect("message");
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.starts_with("syntax error at line 1, column"),
        "{message}"
    );
    assert_eq!(err["locations"][0]["line"], 1);
    assert!(err["locations"][0]["column"].as_u64().is_some());
}

#[tokio::test]
async fn bodies_that_are_not_json_requests_are_refused() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    // A form post or plain text never executes: 415.
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut req = app.client.post(&url).body(r#"{"query":"{ __typename }"}"#);
        if let Some(ct) = ct {
            req = req.header(CONTENT_TYPE, ct);
        }
        let resp = req.send().await.expect("request");
        assert_eq!(resp.status(), 415, "{ct:?}");
        let body: Value = resp.json().await.expect("JSON");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
    // Malformed JSON, wrong member types, no query: 400 whatever the media type.
    for body in [
        "{ \"not json",
        r#"{"query": {"obj": "ect"}}"#,
        r#"{"query": "{ __typename }", "variables": "string"}"#,
        r#"{"query": "{ __typename }", "extensions": ["array"]}"#,
        r#"{"query": "{ __typename }", "operationName": 0}"#,
        r#"{"qeury": "{ __typename }"}"#,
        "",
    ] {
        for accept in ["application/json", GRAPHQL_RESPONSE] {
            let resp = app
                .client
                .post(&url)
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, accept)
                .body(body)
                .send()
                .await
                .expect("request");
            assert_eq!(resp.status(), 400, "{body} ({accept})");
        }
    }
    // null members are as good as absent.
    let (status, _, body) = post(
        &app,
        None,
        json!({ "query": "{ __typename }", "variables": null, "operationName": null, "extensions": null }),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({ "data": { "__typename": "Query" } }))
    );
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let app = spawn_app().await;
    let resp = app
        .client
        .put(format!("{}/graphql", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 405);
    let allow = resp
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

    // A mutation over GET: 405, only POST allowed for it.
    let resp = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "mutation { deleteOrder(id: \"1\") }")])
        .header(ACCEPT, GRAPHQL_RESPONSE)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 405);
    assert_eq!(
        resp.headers().get("allow").map(|v| v.as_bytes()),
        Some(&b"POST"[..])
    );
}

#[tokio::test]
async fn get_runs_queries_with_variables_and_operation_name() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let resp = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[
            (
                "query",
                "query A { __typename } query B($id: ID!) { customer(id: $id) { name } }",
            ),
            ("operationName", "B"),
            (
                "variables",
                &json!({ "id": ids[1].to_string() }).to_string(),
            ),
        ])
        .header(ACCEPT, GRAPHQL_RESPONSE)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({ "data": { "customer": { "name": "Customer 1" } } })
    );
}

#[tokio::test]
async fn a_non_browser_get_without_a_query_gets_a_json_hint_and_the_root_redirects() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/graphql", app.address))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("a JSON hint, not HTML");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("query"), "{message}");

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = no_redirects
        .get(format!("{}/", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 307);
    assert_eq!(
        resp.headers().get("location").map(|v| v.as_bytes()),
        Some(&b"/graphql"[..])
    );
}

#[tokio::test]
async fn large_responses_are_compressed_when_the_client_accepts_it() {
    let app = spawn_app().await;
    app.seed_customers(60).await;
    let body = json!({ "query": "{ customers(first: 60) { nodes { id name email createdAt } } }" });
    for (encoding, decode) in [
        ("gzip", decode_gzip as fn(&[u8]) -> Vec<u8>),
        ("br", decode_brotli as fn(&[u8]) -> Vec<u8>),
    ] {
        // reqwest here decodes nothing: the bytes are what went over the wire.
        let resp = app
            .client
            .post(format!("{}/graphql", app.address))
            .header(CONTENT_TYPE, "application/json")
            .header("accept-encoding", encoding)
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        assert_eq!(
            resp.headers().get("content-encoding").map(|v| v.as_bytes()),
            Some(encoding.as_bytes())
        );
        let wire = resp.bytes().await.expect("bytes");
        let plain = decode(&wire);
        assert!(
            wire.len() * 2 < plain.len(),
            "{} vs {}",
            wire.len(),
            plain.len()
        );
        let v: Value = serde_json::from_slice(&plain).expect("JSON");
        assert_eq!(
            v["data"]["customers"]["nodes"].as_array().map(Vec::len),
            Some(60)
        );
    }
    // Small answers are not worth it.
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header(CONTENT_TYPE, "application/json")
        .header("accept-encoding", "gzip")
        .body(json!({ "query": "{ __typename }" }).to_string())
        .send()
        .await
        .expect("request");
    assert!(resp.headers().get("content-encoding").is_none());
}

fn decode_gzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

fn decode_brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("brotli");
    out
}
