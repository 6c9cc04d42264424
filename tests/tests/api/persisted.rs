//! Persisted queries as Apollo's `PersistedQueryLink` sends them (POST, and
//! GET with `useGETForHashedQueries`), and the manifest as a safelist.

use reqwest::header::{ACCEPT, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code, spawn_app, spawn_app_with, temp_path};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const QUERY: &str = "query Names($first: Int) { customers(first: $first) { nodes { name } } }";

fn sha256(text: &str) -> String {
    api::graphql::engine::persisted::sha256_hex(text)
}

fn extensions(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, GRAPHQL_RESPONSE)
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    (resp.status().as_u16(), resp.json().await.expect("JSON"))
}

#[tokio::test]
async fn an_unknown_hash_is_not_found_then_registered_once_then_enough() {
    let app = spawn_app().await;
    app.seed_customers(2).await;
    let hash = sha256(QUERY);
    let vars = json!({ "first": 1 });
    // 1. The hash alone: unknown. 200, so the link sends the document.
    let (status, body) = post(
        &app,
        json!({ "operationName": "Names", "variables": vars, "extensions": extensions(&hash) }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    // 2. The document with its hash: runs, and registers it.
    let (status, body) = post(
        &app,
        json!({ "query": QUERY, "operationName": "Names", "variables": vars, "extensions": extensions(&hash) }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        data(&body)["customers"]["nodes"],
        json!([{ "name": "Customer 0" }])
    );
    // 3. From now on the hash is enough.
    let (status, body) = post(
        &app,
        json!({ "operationName": "Names", "variables": { "first": 2 }, "extensions": extensions(&hash.to_uppercase()) }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        data(&body)["customers"]["nodes"],
        json!([{ "name": "Customer 0" }, { "name": "Customer 1" }])
    );
}

#[tokio::test]
async fn a_hash_that_is_not_the_documents_is_refused_and_registers_nothing() {
    let app = spawn_app().await;
    let wrong = sha256("{ __typename }");
    let (status, body) = post(
        &app,
        json!({ "query": QUERY, "extensions": extensions(&wrong) }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let (_, body) = post(&app, json!({ "extensions": extensions(&wrong) })).await;
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND");
    for bad in [
        json!({ "persistedQuery": { "version": 2, "sha256Hash": wrong } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
        json!({ "persistedQuery": "yes" }),
    ] {
        let (status, body) = post(&app, json!({ "query": QUERY, "extensions": bad })).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "BAD_USER_INPUT".to_owned())
        );
    }
}

#[tokio::test]
async fn a_document_that_fails_its_checks_is_not_registered() {
    let app = spawn_app().await;
    let broken = "{ customers { nodes { id }";
    let hash = sha256(broken);
    let (status, _) = post(
        &app,
        json!({ "query": broken, "extensions": extensions(&hash) }),
    )
    .await;
    assert_eq!(status, 400);
    let (_, body) = post(&app, json!({ "extensions": extensions(&hash) })).await;
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND");
}

#[tokio::test]
async fn a_persisted_get_is_revalidated_by_etag_and_never_stale() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let query = "query One($id: ID!) { customer(id: $id) { name } }";
    let hash = sha256(query);
    let get = |etag: Option<String>| {
        let mut req = app
            .client
            .get(format!("{}/graphql", app.address))
            .query(&[
                ("operationName", "One".to_owned()),
                ("variables", json!({ "id": ids[0].to_string() }).to_string()),
                ("extensions", extensions(&hash).to_string()),
            ])
            .header(ACCEPT, GRAPHQL_RESPONSE);
        if let Some(tag) = etag {
            req = req.header(IF_NONE_MATCH, tag);
        }
        req.send()
    };
    let resp = get(None).await.expect("get");
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND");
    // The link falls back to POST with the document, which registers it.
    let (_, body) = post(&app, json!({ "query": query, "variables": { "id": ids[0].to_string() }, "extensions": extensions(&hash) })).await;
    data(&body);

    let resp = get(None).await.expect("get");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("cache-control").map(|v| v.as_bytes()),
        Some(&b"private, no-cache"[..])
    );
    let etag = resp
        .headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("an ETag");
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(data(&body)["customer"]["name"], "Customer 0");

    let resp = get(Some(etag.clone())).await.expect("get");
    assert_eq!(resp.status(), 304);
    assert!(resp.bytes().await.expect("body").is_empty());

    // A write changes the answer: the old tag no longer matches.
    data(
        &app.mutate(
            "mutation($id: ID!) { updateCustomer(id: $id, input: { name: \"Renamed\" }) { id } }",
            json!({ "id": ids[0].to_string() }),
        )
        .await,
    );
    let resp = get(Some(etag.clone())).await.expect("get");
    assert_eq!(resp.status(), 200);
    assert_ne!(
        resp.headers().get(ETAG).and_then(|v| v.to_str().ok()),
        Some(etag.as_str())
    );
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(data(&body)["customer"]["name"], "Renamed");
}

fn apollo_manifest(ops: &[(&str, &str)]) -> Value {
    json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": ops.iter().map(|(name, body)| json!({
            "id": sha256(body), "name": name, "type": "query", "body": body
        })).collect::<Vec<_>>()
    })
}

#[tokio::test]
async fn with_the_safelist_only_the_manifests_operations_run() {
    let path = temp_path("manifest", "json");
    std::fs::write(&path, apollo_manifest(&[("Names", QUERY)]).to_string())
        .expect("write manifest");
    let app = spawn_app_with(|s| {
        s.persisted.file = Some(path.clone());
        s.persisted.only = true;
    })
    .await;
    app.seed_customers(1).await;
    // By hash alone, and as the identical document.
    let (status, body) = post(&app, json!({ "extensions": extensions(&sha256(QUERY)) })).await;
    assert_eq!(status, 200);
    assert_eq!(
        data(&body)["customers"]["nodes"],
        json!([{ "name": "Customer 0" }])
    );
    let (status, _) = post(&app, json!({ "query": QUERY })).await;
    assert_eq!(status, 200);
    // Anything else, and any new registration, is forbidden.
    let other = "{ customers { totalCount } }";
    let (status, body) = post(&app, json!({ "query": other })).await;
    assert_eq!((status, error_code(&body)), (403, "FORBIDDEN".to_owned()));
    let (status, body) = post(
        &app,
        json!({ "query": other, "extensions": extensions(&sha256(other)) }),
    )
    .await;
    assert_eq!((status, error_code(&body)), (403, "FORBIDDEN".to_owned()));
    let (_, body) = post(&app, json!({ "extensions": extensions(&sha256(other)) })).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_plain_hash_map_manifest_works_and_names_label_metrics() {
    let path = temp_path("manifest-map", "json");
    let doc = "query ManifestListedOp { __typename }";
    std::fs::write(&path, json!({ sha256(doc): doc }).to_string()).expect("write manifest");
    let app = spawn_app_with(|s| s.persisted.file = Some(path.clone())).await;
    let (_, body) = post(&app, json!({ "extensions": extensions(&sha256(doc)) })).await;
    assert_eq!(data(&body)["__typename"], "Query");
    // Without the safelist, other documents still run.
    let (status, _) = post(&app, json!({ "query": "{ __typename }" })).await;
    assert_eq!(status, 200);
    let text = app.metrics().await;
    assert!(text.contains("operation=\"ManifestListedOp\""), "{text}");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_manifest_whose_hash_is_wrong_stops_the_server_from_starting() {
    let path = temp_path("manifest-bad", "json");
    std::fs::write(&path, json!({ sha256("{ a }"): "{ b }" }).to_string()).expect("write");
    let db = crate::helpers::TestDb::create().await;
    let (mut settings, _) = crate::helpers::test_settings(&db);
    settings.persisted.file = Some(path.clone());
    let built = api::startup::Application::build(
        settings,
        api::startup::BuildOptions {
            migrate: true,
            record_sql: false,
        },
    )
    .await;
    let err = built.err().expect("refused").to_string();
    assert!(err.contains("SHA-256"), "{err}");
    let _ = std::fs::remove_file(&path);
}

/// Needs Redis: `.ci/run` runs it with `REDIS_URL` set.
#[tokio::test]
#[ignore = "needs Redis (REDIS_URL)"]
async fn a_registration_reaches_every_instance_sharing_redis() {
    crate::helpers::require_env("REDIS_URL");
    let app = spawn_app().await;
    let sibling = app.spawn_sibling().await;
    let hash = sha256(QUERY);
    let (_, body) = post(
        &app,
        json!({ "query": QUERY, "extensions": extensions(&hash) }),
    )
    .await;
    data(&body);
    let resp: Value = app
        .client
        .post(format!("{}/graphql", sibling.address))
        .json(&json!({ "extensions": extensions(&hash) }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert!(resp["data"]["customers"]["nodes"].is_array(), "{resp}");
}
