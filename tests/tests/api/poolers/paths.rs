//! The paths that must hold behind the pooler: bad input, bulk all or
//! nothing, statement counts, the statement timeout, cache and events
//! across instances.

use super::*;

/// `statement_timeout` as `conn`'s statements see it.
async fn shown_timeout(conn: &impl ConnectionTrait) -> String {
    conn.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        "SHOW statement_timeout",
    ))
    .await
    .expect("show")
    .expect("a row")
    .try_get::<String>("", "statement_timeout")
    .expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL) and pgbouncer"]
async fn through_the_pooler_bad_input_is_bad_user_input_and_a_bulk_insert_all_or_nothing() {
    let bouncer = PgBouncer::start(2).await;
    let app = spawn_behind(&bouncer, DatabasePooler::Transaction, |_| {}).await;
    let ids = app.seed_customers(2).await;
    app.seed_order(ids[0], 500, "2025-01-01T00:00:00Z").await;
    let before = orders_in(&app.db).await;

    // One row names a customer that does not exist: the others are not kept.
    let rows = json!([
        { "customerId": ids[0].to_string(), "total": "1.00" },
        { "customerId": "999999", "total": "2.00" },
        { "customerId": ids[1].to_string(), "total": "3.00" },
    ]);
    let resp = app.mutate(CREATE_ORDERS, json!({ "i": rows })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
    assert!(resp.to_string().contains("input[1]"), "{resp}");
    assert_eq!(orders_in(&app.db).await, before);

    // A duplicate email in a bulk of customers (a transaction): CONFLICT,
    // none of them kept.
    let customers_before = app.count_rows("customers").await;
    let resp = app
        .mutate(
            "mutation($i: [CreateCustomerInput!]!) { createCustomers(input: $i) { id } }",
            json!({ "i": [
                { "name": "New", "email": "new@example.com" },
                { "name": "Taken", "email": "c0@example.com" },
            ] }),
        )
        .await;
    assert_eq!(error_code(&resp), "CONFLICT", "{resp}");
    assert_eq!(app.count_rows("customers").await, customers_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL) and pgbouncer"]
async fn through_the_pooler_a_nested_page_costs_the_same_statements_as_directly() {
    let bouncer = PgBouncer::start(2).await;
    let app = spawn_behind(&bouncer, DatabasePooler::Transaction, |_| {}).await;
    let ids = app.seed_customers(12).await;
    for id in &ids {
        app.seed_order(*id, 100, "2025-01-01T00:00:00Z").await;
    }
    let before = app.statements();
    let resp = app.query(PAGE, json!({})).await;
    assert_eq!(
        data(&resp)["customers"]["nodes"]
            .as_array()
            .expect("nodes")
            .len(),
        10
    );
    // The page, its orders, their customers, the counts: as directly
    // (`batching`), the transactions around them not counted.
    let n = app.statements() - before;
    assert!(
        n <= 4,
        "{n} statements: {:?}",
        app.state.statements.recent()
    );
    assert!(app.store().db.is_behind_pooler());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL) and pgbouncer"]
async fn through_the_pooler_the_statement_timeout_holds_for_the_servers_statements_alone() {
    let bouncer = PgBouncer::start(1).await;
    let app = spawn_behind(&bouncer, DatabasePooler::Transaction, |s| {
        s.database.statement_timeout_ms = 300;
    })
    .await;
    let db = &app.store().db;
    assert_eq!(shown_timeout(db).await, "300ms");
    let slow = db
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_sleep(2)",
        ))
        .await
        .expect_err("cancelled by the timeout");
    assert!(slow.to_string().contains("statement timeout"), "{slow}");
    // Another client of the same pooler (one server connection) keeps the
    // server's own setting: nothing was left on the session.
    let other = Database::connect(bouncer.url(&database_name(&app.db.url)))
        .await
        .expect("connect through the pooler");
    assert_eq!(shown_timeout(&other).await, "0");
    other.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL), pgbouncer and Redis (REDIS_URL)"]
async fn through_the_pooler_two_instances_share_cache_invalidation_and_events() {
    crate::helpers::require_env("REDIS_URL");
    let bouncer = PgBouncer::start(2).await;
    let a = spawn_behind(&bouncer, DatabasePooler::Transaction, |_| {}).await;
    let b = a.spawn_sibling().await;
    let client = reqwest::Client::new();
    let ids = a.seed_customers(1).await;
    let id = ids[0].to_string();

    // B caches the customer; a rename through A reaches B's readers.
    let first = b.query(&client, LOOKUP, json!({ "id": id })).await;
    assert_eq!(data(&first)["customer"]["name"], "Customer 0");
    let renamed = a
        .mutate(RENAME, json!({ "id": id, "n": "Through the pooler" }))
        .await;
    data(&renamed);
    let again = b.query(&client, LOOKUP, json!({ "id": id })).await;
    assert_eq!(data(&again)["customer"]["name"], "Through the pooler");

    // An order committed through A (and the pooler) is heard on B.
    let mut ws = Ws::connect(&b.address, json!({})).await;
    ws.subscribe(
        "s",
        "subscription($c: ID) { orderCreated(customerId: $c) { id total } }",
        json!({ "c": id }),
    )
    .await;
    crate::subscriptions::listening(&b.state, 1).await;
    let created = a
        .mutate(CREATE_ORDER, json!({ "c": id, "t": "4.50" }))
        .await;
    let order = data(&created)["createOrder"]["id"].clone();
    let heard = ws.next_of("s").await;
    assert_eq!(heard["data"]["orderCreated"]["id"], order);
    assert_eq!(heard["data"]["orderCreated"]["total"], "4.50");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL) and pgbouncer"]
async fn through_the_pooler_seed_import_and_stats_run_as_they_do_directly() {
    use service::import::{Format, Kind};
    let bouncer = PgBouncer::start(2).await;
    let app = spawn_behind(&bouncer, DatabasePooler::Transaction, |_| {}).await;
    // `seed`: its COPY in one transaction.
    let summary = service::seed::seed(app.store(), 50, 400, 7, &mut |_| {})
        .await
        .expect("seed through the pooler");
    assert_eq!((summary.customers, summary.orders), (50, 400));
    // `import`: every record in one transaction, or none.
    let csv = "name,email,phone\nAda,ada@pooler.example,\nAlan,alan@pooler.example,\n";
    let report = service::import::import(
        app.store(),
        Kind::Customers,
        Format::Csv,
        std::io::Cursor::new(csv.to_owned()),
        &mut |_| {},
    )
    .await
    .expect("import through the pooler");
    assert!(report.committed, "{report:?}");
    let bad = "name,email,phone\nGrace,grace@pooler.example,\nLinus,not-an-email,\n";
    let report = service::import::import(
        app.store(),
        Kind::Customers,
        Format::Csv,
        std::io::Cursor::new(bad.to_owned()),
        &mut |_| {},
    )
    .await
    .expect("import runs");
    assert!(!report.committed);
    let sql = "SELECT COUNT(*) AS n FROM customers";
    let row = row_at(&app.db.url, sql, vec![]).await;
    assert_eq!(row.try_get::<i64>("", "n").expect("n"), 52);
    assert_eq!(orders_in(&app.db).await.0, 400);
    // `stats rebuild` (tables locked in its transaction) and `check`.
    let store = app.store();
    assert!(
        service::stats::rebuild(store)
            .await
            .expect("rebuild")
            .is_empty()
    );
    assert!(
        service::stats::rebuild_rollups(store)
            .await
            .expect("rebuild rollups")
            .is_empty()
    );
    assert!(
        service::stats::check(store)
            .await
            .expect("check")
            .is_empty()
    );
    assert!(
        service::stats::check_rollups(store)
            .await
            .expect("check rollups")
            .is_empty()
    );
    assert!(store.db.is_behind_pooler());
}
