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
