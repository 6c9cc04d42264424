//! Behind PgBouncer in transaction mode: with `DATABASE_POOLER=transaction`
//! (every kind of request from two instances at once, here; each path that
//! must hold behind it, in `paths`), and found without it (`found`).

use api::settings::{DatabasePooler, Settings};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DbBackend, QueryResult, Statement};
use serde_json::{Value, json};

mod found;
mod paths;

use crate::helpers::{
    TestApp, TestDb, data, error_code, post_graphql, spawn_on, test_settings, writer,
};
use crate::pgbouncer::PgBouncer;
use crate::ws_client::Ws;

/// The database's name in its URL.
pub(super) fn database_name(url: &str) -> String {
    let url = reqwest::Url::parse(url).expect("a database URL");
    url.path().trim_start_matches('/').to_owned()
}

/// An instance on a database of its own, migrated directly (migrations
/// take a session), then served through `bouncer` with `pooler`.
pub(super) async fn spawn_behind(
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

/// The one row `sql` (with `values`) gives on a connection of its own to
/// `url`: straight from the database when `url` is the test database's.
pub(super) async fn row_at(url: &str, sql: &str, values: Vec<sea_orm::Value>) -> QueryResult {
    let conn = Database::connect(url).await.expect("connect");
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
        .expect("a statement that runs")
        .expect("a row");
    conn.close().await.ok();
    row
}

/// The orders' count and total in cents, straight from the database
/// (not through the pooler).
pub(super) async fn orders_in(db: &TestDb) -> (i64, i64) {
    let sql = "SELECT COUNT(*) AS n, COALESCE(SUM(total_cents), 0)::int8 AS s FROM orders";
    let row = row_at(&db.url, sql, vec![]).await;
    (
        row.try_get::<i64>("", "n").expect("n"),
        row.try_get::<i64>("", "s").expect("s"),
    )
}

pub(super) const LOOKUP: &str =
    "query($id: ID!) { customer(id: $id) { id name orderCount totalSpent } }";
pub(super) const PAGE: &str = "{ customers(first: 10) { nodes { id orders(first: 3) { nodes { total customer { name } } } orderCount } } }";
pub(super) const RANKING: &str = "{ topCustomers(limit: 5) { totalSpent customer { id name } } }";
pub(super) const CREATE_ORDER: &str =
    "mutation($c: ID!, $t: Decimal!) { createOrder(input: {customerId: $c, total: $t}) { id } }";
pub(super) const CREATE_ORDERS: &str =
    "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }";
pub(super) const RENAME: &str =
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
        let sql = "SELECT COUNT(*) AS n FROM orders WHERE customer_id = $1";
        let row = row_at(&a.db.url, sql, vec![(*id).into()]).await;
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
