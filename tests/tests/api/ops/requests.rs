//! What every request meets: request ids, body limit, rate limit, introspection and playground switches.

use super::*;

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
    let app = spawn_app_with(|s| s.http.max_body_bytes = 10_000).await;
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
        s.http.rate_limit_per_second = Some(1);
        s.http.rate_limit_burst = Some(3);
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
        s.graphql.introspection = false;
        s.http.graphiql = false;
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
