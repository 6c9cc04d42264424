//! The row budget through GraphQL: a request over it is refused before it
//! runs, with the index that would serve it, and runs as soon as that
//! index exists; a nested page counts per parent; refusals count against
//! the caller's rate limit. SQLite and PostgreSQL.

use serde_json::{Value, json};

use sea_orm::ConnectionTrait as _;

use super::graphql::seed;
use crate::helpers::{data, error_code, spawn_app_with};

/// Brings the statistics up to date, as PostgreSQL's autovacuum and the
/// server's periodic reading of the catalog do in time.
pub(crate) async fn analyze(app: &crate::helpers::TestApp) {
    let db = &app.store().db;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE customers; ANALYZE orders; ANALYZE customer_stats")
            .await
            .expect("analyze");
    }
    app.store().read_catalog().await.expect("the catalog");
}

/// Runs a suggested `CREATE INDEX` (SQLite needs a name).
async fn create(app: &crate::helpers::TestApp, suggestion: &str, name: &str) {
    let db = &app.store().db;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => suggestion.to_owned(),
        _ => suggestion.replace("CREATE INDEX ON", &format!("CREATE INDEX {name} ON")),
    };
    db.execute_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .expect("the suggested index");
    analyze(app).await;
}

#[tokio::test]
async fn a_request_over_the_row_budget_is_refused_until_its_index_exists() {
    let app = spawn_app_with(|s| s.graphql.row_budget = 8).await;
    seed(&app).await;
    analyze(&app).await;

    // The default orders and a customer by id fit any budget.
    let resp = app
        .query("{ orders(first: 3) { nodes { total } } }", json!({}))
        .await;
    assert_eq!(
        data(&resp)["orders"]["nodes"].as_array().map(Vec::len),
        Some(3)
    );

    // By status: no index serves it, and the table has more rows than the budget.
    let by_status = "{ orders(orderBy: [STATUS_ASC], first: 2) { nodes { status } } }";
    let before = app.statements();
    let resp = app.query(by_status, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_EXPENSIVE", "{resp}");
    let ext = &resp["errors"][0]["extensions"];
    assert_eq!(ext["budget"], 8);
    assert!(
        ext["estimatedRows"].as_u64().expect("an estimate") > 8,
        "{ext}"
    );
    assert_eq!(ext["suggestedIndex"], "CREATE INDEX ON orders (status, id)");
    assert!(resp["data"].is_null(), "nothing ran: {resp}");
    // At most one planning statement, and the catalog read again (two
    // statements per table) before refusing.
    assert!(
        app.statements() - before <= 5,
        "{}",
        app.statements() - before
    );

    create(
        &app,
        ext["suggestedIndex"].as_str().expect("sql"),
        "orders_by_status",
    )
    .await;
    let resp = app.query(by_status, json!({})).await;
    assert_eq!(
        data(&resp)["orders"]["nodes"],
        json!([{ "status": "CANCELLED" }, { "status": "PAID" }])
    );

    // A nested page counts per parent: each customer's orders by status,
    // once customers hold more orders than the budget.
    let ids = app
        .query("{ customers(first: 1) { nodes { id } } }", json!({}))
        .await;
    let first = data(&ids)["customers"]["nodes"][0]["id"].clone();
    let more: Vec<Value> = (0..30)
        .map(|i| json!({ "customerId": first, "total": format!("{i}.00"), "status": "PAID" }))
        .collect();
    let resp = app
        .mutate(
            "mutation($in: [CreateOrderInput!]!) { createOrders(input: $in) { id } }",
            json!({ "in": more }),
        )
        .await;
    data(&resp);
    analyze(&app).await;
    let nested = "{ customers(first: 1) { nodes { orders(orderBy: [STATUS_DESC], first: 1) { nodes { status } } } } }";
    let resp = app.query(nested, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_EXPENSIVE", "{resp}");
    let suggestion = resp["errors"][0]["extensions"]["suggestedIndex"].clone();
    assert_eq!(
        suggestion,
        "CREATE INDEX ON orders (customer_id, status, id)"
    );
    create(
        &app,
        suggestion.as_str().expect("sql"),
        "orders_by_customer_status",
    )
    .await;
    let resp = app.query(nested, json!({})).await;
    assert_eq!(
        data(&resp)["customers"]["nodes"][0]["orders"]["nodes"],
        json!([{ "status": "PENDING" }])
    );
}

#[tokio::test]
async fn refusals_count_against_the_callers_rate_limit() {
    let app = spawn_app_with(|s| {
        s.graphql.row_budget = 1;
        s.http.rate_limit_per_second = Some(1);
        s.http.rate_limit_burst = Some(2);
    })
    .await;
    seed(&app).await;
    analyze(&app).await;
    let post = || {
        app.client
            .post(format!("{}/graphql", app.address))
            .json(&json!({ "query": "{ orders(orderBy: [STATUS_ASC]) { totalCount } }" }))
            .send()
    };
    for _ in 0..2 {
        let resp = post().await.expect("request");
        let body: Value = resp.json().await.expect("JSON");
        assert_eq!(error_code(&body), "QUERY_TOO_EXPENSIVE", "{body}");
    }
    assert_eq!(post().await.expect("request").status(), 429);
}
