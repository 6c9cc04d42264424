use serde_json::{Value, json};

use api::auth::Role;

use crate::helpers::{data, error_code, spawn_app, token};

#[tokio::test]
async fn liveness_and_readiness_report_the_backends() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("healthz");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("body"), "ok");

    let (status, body) = app.readiness().await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "up");
    let expected_cache = if app.redis_prefix.is_some() {
        "up"
    } else {
        "in-process"
    };
    assert_eq!(body["cache"], expected_cache);
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_request_and_sql_counters() {
    let app = spawn_app().await;
    // A caller with a token names its operations; a stranger's names are
    // not labels (anyone could fill the label set with junk).
    data(
        &app.graphql(
            "query Probe { customers { totalCount } }",
            json!({}),
            Some(&token(Role::Reader)),
        )
        .await,
    );
    data(
        &app.query(
            "query StrangersJunkName7 { customers { totalCount } }",
            json!({}),
        )
        .await,
    );
    let text = app.metrics().await;
    assert!(text.contains("sql_statements_total"), "{text}");
    assert!(
        text.contains("graphql_requests_total{operation=\"Probe\""),
        "{text}"
    );
    assert!(text.contains("db_pool_connections"), "{text}");
    assert!(!text.contains("StrangersJunkName7"), "{text}");
    assert!(
        text.contains("graphql_requests_total{operation=\"unlisted\""),
        "{text}"
    );
}

#[tokio::test]
async fn get_serves_graphiql_or_runs_a_query_but_never_a_mutation() {
    let app = spawn_app().await;
    app.seed_customers(2).await;
    let page = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("graphiql");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.to_lowercase().contains("graphiql"), "GraphiQL page");

    let resp: Value = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ customers { totalCount } }")])
        .send()
        .await
        .expect("get query")
        .json()
        .await
        .expect("JSON");
    assert_eq!(data(&resp)["customers"]["totalCount"], 2);

    let resp = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "mutation { deleteCustomer(id: \"1\") }")])
        .bearer_auth(crate::helpers::writer())
        .send()
        .await
        .expect("get mutation");
    assert_eq!(resp.status(), 405);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(app.count_rows("customers").await, 2);
}

#[tokio::test]
async fn introspection_works_for_the_playground() {
    let app = spawn_app().await;
    // The depth of GraphiQL's introspection query (nine levels of ofType).
    let q = "query { __schema { queryType { name } types { name fields { name args { name type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } } type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } } } } }";
    let resp = app.query(q, json!({})).await;
    assert_eq!(data(&resp)["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn batched_operations_each_get_an_answer() {
    let app = spawn_app().await;
    app.seed_customers(3).await;
    let resp: Value = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!([
            { "query": "{ customers { totalCount } }" },
            { "query": "{ customer(id: \"2\") { name } }" }
        ]))
        .send()
        .await
        .expect("batch")
        .json()
        .await
        .expect("JSON");
    assert_eq!(resp[0]["data"]["customers"]["totalCount"], 3);
    assert_eq!(resp[1]["data"]["customer"]["name"], "Customer 1");
}
