//! The connections the server keeps for single statements (PostgreSQL):
//! one round trip per lookup, room left for transactions, and nothing left
//! over from a statement that was cancelled.

use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::faults::behind_proxy;
use crate::helpers::{TestApp, data, spawn_app_with};
use crate::proxy::FaultProxy;

const LOOKUP: &str = "query($id: ID!) { customer(id: $id) { id name } }";

/// Waits until no round trip has gone through the proxy for 200 ms (a
/// connection sqlx takes back is pinged by a task of its own, after the
/// answer), and returns how many went through.
async fn settled(proxy: &FaultProxy) -> u64 {
    let mut last = proxy.round_trips();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = proxy.round_trips();
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("round trips did not settle: {last}");
}

/// Looks `id` up and returns its name.
async fn name_of(app: &TestApp, id: i64) -> String {
    let resp = app.query(LOOKUP, json!({ "id": id.to_string() })).await;
    assert_eq!(data(&resp)["customer"]["id"], id.to_string(), "{resp}");
    data(&resp)["customer"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn a_lookup_costs_one_round_trip_to_the_database() {
    let (app, proxy) = behind_proxy(|s| {
        s.cache.disabled = true;
        s.database.max_connections = 2;
    })
    .await;
    let ids = app.seed_customers(3).await;
    // The first lookup prepares the statement on its connection.
    assert_eq!(name_of(&app, ids[0]).await, "Customer 0");
    let (before, statements) = (settled(&proxy).await, app.statements());
    for i in 0..20 {
        assert_eq!(
            name_of(&app, ids[i % 3]).await,
            format!("Customer {}", i % 3)
        );
    }
    let trips = settled(&proxy).await - before;
    assert_eq!(
        app.statements() - statements,
        20,
        "one statement per lookup"
    );
    assert_eq!(
        trips, 20,
        "one round trip per lookup (a connection returned to sqlx's pool is pinged: two)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn kept_connections_leave_a_connection_to_transactions() {
    // Four connections, of which at most three are kept for lookups; the
    // acquire timeout is one second.
    let (app, proxy) = behind_proxy(|s| {
        s.cache.disabled = true;
        s.database.max_connections = 4;
        s.database.min_connections = 4;
    })
    .await;
    let ids = app.seed_customers(8).await;
    // Eight lookups at once, each answer held back: all four connections
    // are busy, then three are kept and one goes back to sqlx.
    proxy.set_latency(Duration::from_millis(100));
    let names = futures::future::join_all(ids.iter().map(|id| name_of(&app, *id))).await;
    proxy.set_latency(Duration::ZERO);
    for (i, name) in names.iter().enumerate() {
        assert_eq!(name, &format!("Customer {i}"));
    }
    settled(&proxy).await;
    assert_eq!(
        app.store().db.pool_usage(),
        (4, 4),
        "four connections open, all idle (kept ones count as idle)"
    );
    // A transaction gets the connection sqlx still has, at once.
    let resp = app
        .mutate(
            "mutation($id: ID!) { updateCustomer(id: $id, input: { name: \"Renamed\" }) { name } }",
            json!({ "id": ids[0].to_string() }),
        )
        .await;
    assert_eq!(data(&resp)["updateCustomer"]["name"], "Renamed", "{resp}");
    assert_eq!(name_of(&app, ids[0]).await, "Renamed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn a_lookup_cancelled_mid_statement_leaves_nothing_for_the_next() {
    let (app, proxy) = behind_proxy(|s| {
        s.cache.disabled = true;
        s.database.max_connections = 3;
    })
    .await;
    let ids = app.seed_customers(6).await;
    for id in &ids {
        name_of(&app, *id).await;
    }
    // Clients that give up while their statements' answers are held back:
    // the server drops those requests mid-statement.
    proxy.set_latency(Duration::from_millis(400));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    for id in &ids[..3] {
        let sent = impatient
            .post(format!("{}/graphql", app.address))
            .json(&json!({ "query": LOOKUP, "variables": { "id": id.to_string() } }))
            .send()
            .await;
        assert!(sent.is_err(), "the client gave up before the answer");
    }
    proxy.set_latency(Duration::ZERO);
    // Every later lookup reads its own customer, never a row left over.
    for round in 0..3 {
        for (i, id) in ids.iter().enumerate().rev() {
            assert_eq!(
                name_of(&app, *id).await,
                format!("Customer {i}"),
                "round {round}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn a_kept_connection_goes_to_callers_queued_in_the_pool() {
    // Two connections, one of which may be kept; the acquire timeout is one second.
    let (app, _proxy) = behind_proxy(|s| {
        s.cache.disabled = true;
        s.database.max_connections = 2;
        s.database.min_connections = 0;
    })
    .await;
    let ids = app.seed_customers(2).await;
    assert_eq!(name_of(&app, ids[0]).await, "Customer 0");
    // The lookup's connection is kept; a transaction holds the other one,
    // and another caller queues in sqlx's pool for a connection.
    let pool = app.store().db.get_postgres_connection_pool().clone();
    let busy = pool.acquire().await.expect("the second connection");
    let queued = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.map(drop) }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The next lookup runs on the kept connection, which then goes to the
    // queued caller instead of back to the kept list.
    assert_eq!(name_of(&app, ids[1]).await, "Customer 1");
    let served = queued.await.expect("the queued caller");
    assert!(
        served.is_ok(),
        "the queued caller got a connection within the acquire timeout: {served:?}"
    );
    drop(busy);
    assert_eq!(name_of(&app, ids[0]).await, "Customer 0");
}

/// The prepared statements on the server's one connection whose text
/// contains `needle`: `(generic plans, custom plans)` PostgreSQL made.
async fn plans_of(app: &TestApp, needle: &str) -> (i64, i64) {
    let pool = app.store().db.get_postgres_connection_pool().clone();
    let mut conn = pool.acquire().await.expect("the connection");
    let rows: Vec<(String, i64, i64)> = sea_orm::sqlx::query_as(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("pg_prepared_statements");
    let found: Vec<_> = rows.iter().filter(|(s, ..)| s.contains(needle)).collect();
    assert_eq!(found.len(), 1, "one statement with {needle:?} in {rows:?}");
    (found[0].1, found[0].2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
async fn single_key_statements_run_on_the_plan_prepared_once() {
    // One connection, none kept: every statement runs on it.
    let app = spawn_app_with(|s| {
        s.cache.disabled = true;
        s.database.max_connections = 1;
        s.database.min_connections = 1;
    })
    .await;
    // Enough rows, analysed, that PostgreSQL's estimates are a real table's.
    let ids = app.seed_customers(2000).await;
    app.seed_order(ids[0], 1250, "2026-01-02T03:04:05Z").await;
    app.store()
        .db
        .execute_unprepared("ANALYZE")
        .await
        .expect("analyze");
    for _ in 0..12 {
        let resp = app
            .query(
                "query($id: ID!) { customer(id: $id) { name orderCount orders(first: 2) { nodes { total } } } }",
                json!({ "id": ids[0].to_string() }),
            )
            .await;
        assert_eq!(
            data(&resp)["customer"],
            json!({ "name": "Customer 0", "orderCount": 1, "orders": { "nodes": [{ "total": "12.50" }] } }),
            "{resp}"
        );
        let resp = app
            .query(
                "query($a: ID!, $b: ID!) { a: customer(id: $a) { name } b: customer(id: $b) { name } }",
                json!({ "a": ids[0].to_string(), "b": ids[1].to_string() }),
            )
            .await;
        assert_eq!(data(&resp)["b"]["name"], "Customer 1", "{resp}");
    }
    // PostgreSQL plans a statement for its first five executions, then
    // keeps its generic plan if that looks no dearer.
    for needle in [
        "FROM customers WHERE id = $1",
        "FROM customer_stats WHERE customer_id = $1",
        "\"orders\".\"customer_id\" = $1 ORDER BY",
    ] {
        let (generic, custom) = plans_of(&app, needle).await;
        assert!(
            generic >= 7 && custom <= 5,
            "{needle}: {generic} generic and {custom} custom plans"
        );
    }
    // Two ids are one `= ANY($1)` statement, planned again every time.
    let (generic, custom) = plans_of(&app, "FROM customers WHERE id = ANY($1)").await;
    assert_eq!((generic, custom), (0, 12));
}

/// Rows are read by position; on PostgreSQL only the first row of a
/// result has its column types checked (the others share them), so a
/// wrong type must still fail there. Runs on either backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_read_with_a_wrong_type_fails_on_its_first_row() {
    use service::queries::columns::decode_all;
    let app = crate::helpers::spawn_app().await;
    let ids = app.seed_customers(3).await;
    let rows = app
        .store()
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.store().db.get_database_backend(),
            "SELECT id, name FROM customers ORDER BY id",
        ))
        .await
        .expect("rows");
    let read = decode_all(&rows, |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)))
        .expect("the right types");
    assert_eq!(
        read,
        ids.iter()
            .enumerate()
            .map(|(i, id)| (*id, format!("Customer {i}")))
            .collect::<Vec<_>>()
    );
    let wrong = decode_all(&rows, |r| r.get::<i64>(1));
    assert!(wrong.is_err(), "a name read as a number: {wrong:?}");
    // Unchecked, an 8-byte id reads as a (NUL-filled) string without
    // complaint: only the check on the first row refuses it.
    let wrong = decode_all(&rows, |r| r.get::<String>(0));
    assert!(wrong.is_err(), "an id read as a string: {wrong:?}");
}
