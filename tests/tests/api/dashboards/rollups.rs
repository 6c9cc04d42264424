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
