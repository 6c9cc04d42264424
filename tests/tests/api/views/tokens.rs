//! Customer tokens that fail a check are `UNAUTHENTICATED` for every
//! operation (and close a WebSocket with 4403); a valid one whose customer
//! does not exist sees nothing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};

use super::shop;
use crate::helpers::{JWT_SECRET, data, error_code};
use crate::ws_client::open;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs()
}

fn signed(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("sign")
}

/// A token with `alg: none`: the claims, unsigned.
fn unsigned(claims: &Value) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(claims)
    )
}

/// Tokens that must fail, each with what is wrong with it.
fn bad_tokens(customer: i64) -> Vec<(&'static str, String)> {
    let id = customer.to_string();
    let exp = now() + 600;
    let claims = |extra: Value| {
        let mut c = json!({ "sub": "customer", "exp": exp, "role": "customer", "customer_id": id });
        for (k, v) in extra.as_object().expect("object") {
            if v.is_null() && k != "customer_id" {
                c.as_object_mut().expect("object").remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let mut missing_id = claims(json!({}));
    missing_id
        .as_object_mut()
        .expect("object")
        .remove("customer_id");
    vec![
        ("customer_id missing", signed(&missing_id)),
        (
            "customer_id null",
            signed(&claims(json!({ "customer_id": null }))),
        ),
        (
            "customer_id a number",
            signed(&claims(json!({ "customer_id": customer }))),
        ),
        (
            "customer_id a list",
            signed(&claims(json!({ "customer_id": [id] }))),
        ),
        (
            "customer_id not an id",
            signed(&claims(json!({ "customer_id": "1 OR 1=1" }))),
        ),
        (
            "customer_id empty",
            signed(&claims(json!({ "customer_id": "" }))),
        ),
        ("role missing", signed(&claims(json!({ "role": null })))),
        ("role unknown", signed(&claims(json!({ "role": "admin" })))),
        (
            "role of another type",
            signed(&claims(json!({ "role": 1 }))),
        ),
        ("alg none", unsigned(&claims(json!({})))),
        ("expired", signed(&claims(json!({ "exp": now() - 3600 })))),
        (
            "not valid yet",
            signed(&claims(json!({ "nbf": now() + 3600 }))),
        ),
        (
            "issued in the future",
            signed(&claims(json!({ "iat": now() + 3600 }))),
        ),
    ]
}

#[tokio::test]
async fn customer_tokens_that_fail_a_check_are_unauthenticated_for_every_operation() {
    let shop = shop().await;
    let count_before = shop.app.count_rows("orders").await;
    for (what, token) in bad_tokens(shop.a) {
        for doc in [
            "{ customers { totalCount } }",
            "{ ordersAggregate { count } }",
            "mutation($a: ID!) { createOrder(input: {customerId: $a, total: \"1.00\"}) { id } }",
        ] {
            let resp = shop
                .app
                .graphql(doc, json!({ "a": shop.a.to_string() }), Some(&token))
                .await;
            assert_eq!(
                error_code(&resp),
                "UNAUTHENTICATED",
                "{what}: {doc}: {resp}"
            );
            assert!(
                resp.get("data").is_none_or(Value::is_null),
                "{what}: {resp}"
            );
        }
    }
    assert_eq!(shop.app.count_rows("orders").await, count_before);
    // The same claims, well formed, read.
    let good = signed(&json!({
        "sub": "customer", "exp": now() + 600, "role": "customer",
        "customer_id": shop.a.to_string()
    }));
    let resp = shop
        .app
        .graphql("{ customers { totalCount } }", json!({}), Some(&good))
        .await;
    assert_eq!(data(&resp)["customers"]["totalCount"], 1);
}

#[tokio::test]
async fn a_websocket_with_a_failing_customer_token_closes_with_4403() {
    let shop = shop().await;
    for (what, token) in bad_tokens(shop.a).into_iter().take(4) {
        let mut ws = open(&shop.app.address, Some("graphql-transport-ws"))
            .await
            .expect("upgrade");
        ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        let (code, _) = ws.closed().await;
        assert_eq!(code, 4403, "{what}");
    }
}

#[test]
fn the_cli_prints_customer_tokens_only_with_an_id() {
    use api::auth::Role;
    let jwt = api::auth::Jwt::new(JWT_SECRET.as_bytes());
    let ttl = Duration::from_secs(60);
    let token = api::cli::token(&jwt, Role::Customer, Some(42), None, ttl).expect("token");
    let claims = jwt.verify(&token).expect("valid");
    assert_eq!(claims.customer(), Some(42));
    assert_eq!(claims.customer_id, Some(json!("42")));
    assert_eq!(claims.sub, "customer:42");
    let named = api::cli::token(&jwt, Role::Customer, Some(42), Some("shop-app".into()), ttl)
        .expect("token");
    assert_eq!(jwt.verify(&named).expect("valid").sub, "shop-app");
    for (role, id) in [
        (Role::Customer, None),
        (Role::Customer, Some(0)),
        (Role::Reader, Some(42)),
    ] {
        assert!(
            api::cli::token(&jwt, role, id, None, ttl).is_err(),
            "{role:?} {id:?}"
        );
    }
    let staff = api::cli::token(&jwt, Role::Reader, None, None, ttl).expect("token");
    let claims = jwt.verify(&staff).expect("valid");
    assert_eq!((claims.sub.as_str(), claims.customer_id), ("cli", None));
}
