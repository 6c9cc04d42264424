//! Behind PgBouncer in transaction mode: with `DATABASE_POOLER=transaction`,
//! and found without it.

use api::settings::{DatabasePooler, Settings};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestDb, data, error_code, post_graphql, spawn_on, test_settings, writer,
};
use crate::pgbouncer::PgBouncer;
use crate::ws_client::Ws;

/// The database's name in its URL.
fn database_name(url: &str) -> String {
    let url = reqwest::Url::parse(url).expect("a database URL");
    url.path().trim_start_matches('/').to_owned()
}

/// An instance on a database of its own, migrated directly (migrations
/// take a session), then served through `bouncer` with `pooler`.
async fn spawn_behind(
    bouncer: &PgBouncer,
    pooler: DatabasePooler,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let db = TestDb::create().await;
    let direct = Database::connect(db.url.as_str()).await.expect("connect");
    Migrator::up(&direct, None).await.expect("migrate directly");
    direct.close().await.ok();
    let (mut settings, prefix) = test_settings(&db);
    settings.database.url = Some(bouncer.url(&database_name(&db.url)));
    settings.database.pooler = pooler;
    configure(&mut settings);
    spawn_on(db, settings, prefix).await
}

/// The orders' count and total in cents, straight from the database
/// (not through the pooler).
async fn orders_in(db: &TestDb) -> (i64, i64) {
    let direct = Database::connect(db.url.as_str()).await.expect("connect");
    let row = direct
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT COUNT(*) AS n, COALESCE(SUM(total_cents), 0)::int8 AS s FROM orders",
        ))
        .await
        .expect("count")
        .expect("a row");
    direct.close().await.ok();
    (
        row.try_get::<i64>("", "n").expect("n"),
        row.try_get::<i64>("", "s").expect("s"),
    )
}

const LOOKUP: &str = "query($id: ID!) { customer(id: $id) { id name orderCount totalSpent } }";
const PAGE: &str = "{ customers(first: 10) { nodes { id orders(first: 3) { nodes { total customer { name } } } orderCount } } }";
const RANKING: &str = "{ topCustomers(limit: 5) { totalSpent customer { id name } } }";
const CREATE_ORDER: &str =
    "mutation($c: ID!, $t: Decimal!) { createOrder(input: {customerId: $c, total: $t}) { id } }";
const CREATE_ORDERS: &str = "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }";
const RENAME: &str =
    "mutation($id: ID!, $n: String!) { updateCustomer(id: $id, input: {name: $n}) { name } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL) and pgbouncer"]
async fn two_instances_through_a_pool_of_two_serve_every_kind_of_request_without_error() {
    let bouncer = PgBouncer::start(2).await;
    let a = spawn_behind(&bouncer, DatabasePooler::Transaction, |_| {}).await;
    let b = a.spawn_sibling().await;
    let ids = a.seed_customers(20).await;
    let addresses = [a.address.clone(), b.address.clone()];
    let client = reqwest::Client::new();
    let token = writer();

    // 16 clients, each mixing lookups, pages, the ranking, single and bulk
    // inserts and renames, half on each instance.
    let mut tasks = Vec::new();
    for t in 0..16usize {
        let (client, token, ids) = (client.clone(), token.clone(), ids.clone());
        let address = addresses[t % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut written = (0i64, 0i64);
            for i in 0..24usize {
                let id = ids[(t * 7 + i) % ids.len()].to_string();
                let (query, variables, rows) = match (t + i) % 6 {
                    0 => (LOOKUP, json!({ "id": id }), 0),
                    1 => (PAGE, json!({}), 0),
                    2 => (RANKING, json!({}), 0),
                    3 => (CREATE_ORDER, json!({ "c": id, "t": "1.25" }), 1),
                    4 => {
                        let rows: Vec<Value> = (0..10)
                            .map(|_| json!({ "customerId": id, "total": "2.00" }))
                            .collect();
                        (CREATE_ORDERS, json!({ "i": rows }), 10)
                    }
                    _ => (
                        RENAME,
                        json!({ "id": id, "n": format!("Renamed {t}.{i}") }),
                        0,
                    ),
                };
                let body = json!({ "query": query, "variables": variables });
                let resp = post_graphql(&client, &address, &body, Some(&token)).await;
                if resp.get("errors").is_some() || resp["data"].is_null() {
                    failures.push(resp.to_string());
                } else if rows == 1 {
                    written = (written.0 + 1, written.1 + 125);
                } else if rows == 10 {
                    written = (written.0 + 10, written.1 + 2_000);
                }
            }
            (failures, written)
        }));
    }
    let mut failures = Vec::new();
    let mut acknowledged = (0, 0);
    for task in tasks {
        let (f, w) = task.await.expect("client task");
        failures.extend(f);
        acknowledged = (acknowledged.0 + w.0, acknowledged.1 + w.1);
    }
    assert!(
        failures.is_empty(),
        "{} failed, the first: {}",
        failures.len(),
        failures[0]
    );
    // Every acknowledged write stored, nothing else.
    assert!(acknowledged.0 > 0);
    assert_eq!(orders_in(&a.db).await, acknowledged);
    // Answers equal to SQL, through either instance.
    for id in &ids {
        let resp = b
            .query(&client, LOOKUP, json!({ "id": id.to_string() }))
            .await;
        let direct = Database::connect(a.db.url.as_str()).await.expect("connect");
        let row = direct
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT COUNT(*) AS n FROM orders WHERE customer_id = $1",
                [(*id).into()],
            ))
            .await
            .expect("count")
            .expect("a row");
        direct.close().await.ok();
        assert_eq!(
            data(&resp)["customer"]["orderCount"],
            json!(row.try_get::<i64>("", "n").expect("n")),
            "customer {id}"
        );
    }
    assert!(
        service::stats::check(a.store())
            .await
            .expect("stats check")
            .is_empty()
    );
    assert!(
        service::stats::check_rollups(a.store())
            .await
            .expect("rollups check")
            .is_empty()
    );
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
    let shown = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SHOW statement_timeout",
        ))
        .await
        .expect("show")
        .expect("a row");
    assert_eq!(
        shown
            .try_get::<String>("", "statement_timeout")
            .expect("text"),
        "300ms"
    );
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
    let row = other
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SHOW statement_timeout",
        ))
        .await
        .expect("show")
        .expect("a row");
    assert_eq!(
        row.try_get::<String>("", "statement_timeout")
            .expect("text"),
        "0"
    );
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
async fn without_the_setting_the_server_finds_the_pooler_says_so_and_still_answers() {
    let bouncer = PgBouncer::start(2).await;
    let app = spawn_behind(&bouncer, DatabasePooler::None, |_| {}).await;
    let (code, body) = app.readiness().await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    let said = body["pooler"].as_str().expect("what it found");
    assert!(said.contains("DATABASE_POOLER=transaction"), "{said}");
    assert!(app.store().db.is_behind_pooler());

    // Requests from many clients at once keep working.
    let ids = app.seed_customers(5).await;
    let client = reqwest::Client::new();
    let asks = ids.iter().cycle().take(40).map(|id| {
        let (client, address) = (client.clone(), app.address.clone());
        let body = json!({ "query": LOOKUP, "variables": { "id": id.to_string() } });
        async move { post_graphql(&client, &address, &body, None).await }
    });
    for resp in futures::future::join_all(asks).await {
        data(&resp);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL) and pgbouncer"]
async fn through_the_pooler_migrations_are_refused_with_the_direct_way_named() {
    let bouncer = PgBouncer::start(2).await;
    let db = TestDb::create().await;
    let (mut settings, _) = test_settings(&db);
    settings.database.url = Some(bouncer.url(&database_name(&db.url)));
    settings.database.pooler = DatabasePooler::Transaction;
    let refused = api::startup::Application::build(
        settings,
        api::startup::BuildOptions {
            migrate: true,
            record_sql: false,
        },
    )
    .await
    .err()
    .expect("refused to start with migrations pending");
    let message = format!("{refused:#}");
    assert!(message.contains("api migrate up"), "{message}");
    assert!(
        message.contains("DATABASE_URL set to PostgreSQL itself"),
        "{message}"
    );
    // Nothing of the schema was applied.
    let direct = Database::connect(db.url.as_str()).await.expect("connect");
    let row = direct
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT to_regclass('customers') IS NULL AS absent",
        ))
        .await
        .expect("look")
        .expect("a row");
    assert!(row.try_get::<bool>("", "absent").expect("absent"));
    direct.close().await.ok();
}
