//! The order rollups PostgreSQL keeps: `stats check` finds a bucket edited
//! behind the triggers' back, `stats rebuild` repairs it. (That every kind
//! of write keeps them exact is checked with the customer aggregates, in
//! `aggregates`.)

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use super::{CREATE, app_without_cache};
use crate::helpers::{data, require_env};

#[tokio::test]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn a_bucket_edited_directly_is_found_and_rebuilt() {
    let _ = require_env("DATABASE_URL");
    let app = app_without_cache().await;
    let ids = app.seed_customers(1).await;
    let orders = json!([
        { "customerId": ids[0].to_string(), "total": "3.00", "createdAt": "2026-02-01T10:00:00Z" },
        { "customerId": ids[0].to_string(), "total": "4.00", "status": "PAID", "createdAt": "2026-02-02T10:00:00Z" },
    ]);
    data(&app.mutate(CREATE, json!({ "i": orders })).await);
    let clean = service::stats::check_rollups(app.store())
        .await
        .expect("check");
    assert!(clean.is_empty(), "{clean:?}");
    app.store()
        .db
        .execute_raw(Statement::from_string(
            app.db.backend,
            "UPDATE order_rollups SET total_cents = total_cents + 7 \
             WHERE grain = 2 AND status = 'PAID'"
                .to_owned(),
        ))
        .await
        .expect("corrupt the rollups");
    let found = service::stats::check_rollups(app.store())
        .await
        .expect("check the rollups");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].grain, found[0].status.as_str()), (2, "PAID"));
    assert_eq!(
        (found[0].maintained, found[0].recomputed),
        (Some((1, 407)), Some((1, 400)))
    );
    let cli = |action: &'static str| crate::aggregates::stats_cli(app.db.url.clone(), action);
    let err = cli("check").await.expect_err("differences make it fail");
    assert!(err.to_string().contains("1 rollup buckets"), "{err}");
    cli("rebuild").await.expect("rebuild");
    cli("check").await.expect("equal after the rebuild");
    let repaired = service::stats::check_rollups(app.store())
        .await
        .expect("check");
    assert!(repaired.is_empty(), "{repaired:?}");
}

/// Orders per UTC day (label, count) of an open range, and the
/// statements the request ran.
async fn days_since(app: &crate::helpers::TestApp, since: &str) -> (Vec<(String, i64)>, u64) {
    let query = format!(
        "{{ ordersGrouped(where: {{createdAt: {{gte: \"{since}\"}}}}, groupBy: [DAY]) {{ periodLabel count }} }}"
    );
    let before = app.statements();
    let reply = app.query(&query, json!({})).await;
    let body = data(&reply);
    let days = body["ordersGrouped"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            let label = g["periodLabel"].as_str().expect("label").to_owned();
            (label, g["count"].as_i64().expect("count"))
        })
        .collect();
    (days, app.statements() - before)
}

#[tokio::test]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn the_extent_a_read_remembers_is_checked_and_never_trusted() {
    let _ = require_env("DATABASE_URL");
    let app = app_without_cache().await;
    let ids = app.seed_customers(1).await;
    let order =
        |at: &str| json!({ "customerId": ids[0].to_string(), "total": "1.00", "createdAt": at });
    let create = |at: &[&str]| json!({ "i": at.iter().map(|a| order(a)).collect::<Vec<_>>() });
    data(
        &app.mutate(
            CREATE,
            create(&["2026-02-01T10:00:00Z", "2026-02-02T10:00:00Z"]),
        )
        .await,
    );
    let since = "2026-01-01T00:00:00Z";
    let feb = vec![("2026-02-01".to_owned(), 1), ("2026-02-02".to_owned(), 1)];
    // Nothing known yet: the extent, then the read (which reads it again).
    assert_eq!(days_since(&app, since).await, (feb.clone(), 2));
    // Known: the read alone.
    assert_eq!(days_since(&app, since).await, (feb.clone(), 1));
    // Orders after and before what the read saw: it finds them outside its
    // range and reads again in one transaction; answers stay exact.
    data(
        &app.mutate(
            CREATE,
            create(&["2026-03-05T08:00:00Z", "2026-01-10T08:00:00Z"]),
        )
        .await,
    );
    let (days, ran) = days_since(&app, since).await;
    let mut all = vec![("2026-01-10".to_owned(), 1)];
    all.extend(feb);
    all.push(("2026-03-05".to_owned(), 1));
    assert_eq!(days, all);
    assert!(ran > 2, "read again: {ran} statements");
    // What that read saw is known now: one statement again.
    assert_eq!(days_since(&app, since).await, (all.clone(), 1));
    // The last orders deleted: a range read past the data is still exact.
    app.store()
        .db
        .execute_raw(Statement::from_string(
            app.db.backend,
            "DELETE FROM orders WHERE created_at > '2026-02-15'".to_owned(),
        ))
        .await
        .expect("delete");
    all.pop();
    assert_eq!(days_since(&app, since).await, (all, 1));
}

#[tokio::test]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn ends_off_the_quarter_hour_are_read_from_the_orders_in_the_same_statement() {
    let _ = require_env("DATABASE_URL");
    let app = app_without_cache().await;
    let ids = app.seed_customers(1).await;
    let at = [
        "2026-02-01T10:05:00Z",
        "2026-02-01T10:07:13Z",
        "2026-02-01T10:10:00Z",
        "2026-02-01T11:00:00Z",
        "2026-02-01T12:52:29Z",
        "2026-02-01T12:52:30Z",
        "2026-02-01T13:00:00Z",
        // Berlin kept its local mean time (+00:53:28) until 1893: every
        // local day starts off the quarter-hour.
        "1890-06-01T23:00:00Z",
        "1890-06-01T23:10:00Z",
        "1890-06-02T00:00:00Z",
    ];
    let orders: Vec<_> = at
        .iter()
        .map(|a| json!({ "customerId": ids[0].to_string(), "total": "1.00", "createdAt": a }))
        .collect();
    data(&app.mutate(CREATE, json!({ "i": orders })).await);
    let app = &app;
    let count = |w: &str| {
        let query = format!("{{ ordersAggregate(where: {{createdAt: {w}}}) {{ count }} }}");
        async move {
            let before = app.statements();
            let reply = app.query(&query, json!({})).await;
            (
                data(&reply)["ordersAggregate"]["count"].as_i64(),
                app.statements() - before,
            )
        }
    };
    // One end off the quarter-hour, then two; each one statement.
    let closed = "{gte: \"2026-02-01T10:07:13Z\", lt: \"2026-02-03T00:00:00Z\"}";
    assert_eq!(count(closed).await, (Some(6), 1));
    let both = "{gte: \"2026-02-01T10:07:13Z\", lt: \"2026-02-01T12:52:30Z\"}";
    assert_eq!(count(both).await, (Some(4), 1));
    // Many ends: days of Berlin in 1890.
    let query = "{ ordersGrouped(where: {createdAt: {gte: \"1890-05-30T00:00:00Z\", lt: \"1890-06-04T00:00:00Z\"}}, groupBy: [DAY], timeZone: \"Europe/Berlin\") { periodLabel period count } }";
    let before = app.statements();
    let reply = app.query(query, json!({})).await;
    assert_eq!(app.statements() - before, 1);
    assert_eq!(
        data(&reply)["ordersGrouped"],
        json!([
            { "periodLabel": "1890-06-01", "period": "1890-05-31T23:06:32Z", "count": 1 },
            { "periodLabel": "1890-06-02", "period": "1890-06-01T23:06:32Z", "count": 2 },
        ])
    );
}
