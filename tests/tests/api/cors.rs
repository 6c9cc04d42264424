//! CORS for browser apps on other origins, as a browser sends it: the
//! preflight of a JSON POST with a bearer token, then the request itself.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

const APP_ORIGIN: &str = "http://localhost:3000";

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[tokio::test]
async fn an_allowed_origin_gets_its_preflight_and_its_answer() {
    let app = spawn_app_with(|s| {
        s.http.cors_allowed_origins = Some(format!("{APP_ORIGIN}, https://app.example.com"));
    })
    .await;
    let preflight = app
        .client
        .request(Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization,x-request-id",
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        APP_ORIGIN
    );
    let methods = header(&preflight, "access-control-allow-methods");
    assert!(
        methods.contains("post") && methods.contains("get"),
        "{methods}"
    );
    let headers = header(&preflight, "access-control-allow-headers");
    for h in ["content-type", "authorization", "x-request-id"] {
        assert!(headers.contains(h), "{h} in {headers}");
    }
    assert_eq!(header(&preflight, "access-control-max-age"), "600");

    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("origin", APP_ORIGIN)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin"), APP_ORIGIN);
    assert!(header(&resp, "access-control-expose-headers").contains("x-request-id"));
    assert!(header(&resp, "vary").contains("origin"));
}

#[tokio::test]
async fn other_origins_get_no_cors_headers() {
    let app = spawn_app_with(|s| s.http.cors_allowed_origins = Some(APP_ORIGIN.to_owned())).await;
    let preflight = app
        .client
        .request(Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(header(&preflight, "access-control-allow-origin"), "");
}

#[tokio::test]
async fn a_wildcard_allows_every_origin() {
    let app = spawn_app_with(|s| s.http.cors_allowed_origins = Some("*".to_owned())).await;
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("origin", "https://anywhere.example")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(header(&resp, "access-control-allow-origin"), "*");
}

#[tokio::test]
async fn without_the_setting_there_is_no_cors_at_all() {
    let app = spawn_app().await;
    let preflight = app
        .client
        .request(Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(header(&preflight, "access-control-allow-origin"), "");
    assert_ne!(preflight.status(), 204);
}
