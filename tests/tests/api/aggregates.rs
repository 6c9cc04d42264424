//! The per-customer aggregates (and, on PostgreSQL, the order rollups)
//! kept by the database: exact after every
//! kind of write (the server's, `import`, `seed`, and writes made outside
//! the server), equal to a full recompute under concurrent writers, and a
//! ranking equal to the plain aggregate it replaced, ties included.

use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, spawn_app};

/// Fails the test unless the maintained aggregates equal a full recompute.
async fn assert_exact(app: &TestApp, after: &str) {
    let differences = service::stats::check(app.store()).await.expect("check");
    assert!(differences.is_empty(), "after {after}: {differences:?}");
    // The order rollups too (PostgreSQL keeps them; SQLite has none).
    let rollups = service::stats::check_rollups(app.store())
        .await
        .expect("check the rollups");
    assert!(rollups.is_empty(), "after {after}: {rollups:?}");
}

/// The ranking as the plain aggregate over `orders` computes it (what
/// `topCustomers` read before the aggregates were kept).
async fn plain_ranking(app: &TestApp, limit: u64, min_orders: i64) -> Vec<Value> {
    let sql = format!(
        "SELECT c.id AS id, COUNT(o.id) AS n, CAST(COALESCE(SUM(o.total_cents), 0) AS BIGINT) AS t \
         FROM customers c LEFT JOIN orders o ON o.customer_id = c.id \
         GROUP BY c.id HAVING COUNT(o.id) >= {min_orders} \
         ORDER BY t DESC, c.id ASC LIMIT {limit}"
    );
    app.store()
        .db
        .query_all_raw(Statement::from_string(app.db.backend, sql))
        .await
        .expect("plain aggregate")
        .iter()
        .map(|r| {
            let id: i64 = r.try_get("", "id").expect("id");
            let n: i64 = r.try_get("", "n").expect("n");
            let t: i64 = r.try_get("", "t").expect("t");
            json!({
                "customer": { "id": id.to_string() },
                "orderCount": n,
                "totalSpent": service::money::Money::from_cents(t).to_string(),
            })
        })
        .collect()
}

const RANKING: &str = "query($l: Int!, $m: Int!) { topCustomers(limit: $l, minOrders: $m) { customer { id } orderCount totalSpent } }";

#[tokio::test]
async fn the_ranking_equals_the_plain_aggregate_on_random_data_with_ties() {
    let app = spawn_app_without_cache().await;
    let ids = app.seed_customers(60).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut rows = Vec::new();
    for _ in 0..600 {
        let c = ids[rng.random_range(0..40)];
        // Few distinct totals: many customers tie on their sums.
        let cents = [100, 200, 300, 500][rng.random_range(0..4)];
        rows.push(json!({ "customerId": c.to_string(), "total": service::money::Money::from_cents(cents).to_string() }));
    }
    data(
        &app.mutate(
            "mutation($r: [CreateOrderInput!]!) { createOrders(input: $r) { id } }",
            json!({ "r": rows }),
        )
        .await,
    );
    for (limit, min_orders) in [(10, 1), (100, 0), (25, 12), (5, 20), (100, 1000), (3, 0)] {
        let resp = app
            .query(RANKING, json!({ "l": limit, "m": min_orders }))
            .await;
        assert_eq!(
            data(&resp)["topCustomers"],
            Value::Array(plain_ranking(&app, limit, min_orders).await),
            "limit {limit}, minOrders {min_orders}"
        );
    }
    assert_exact(&app, "a random bulk insert").await;
}

async fn spawn_app_without_cache() -> TestApp {
    crate::helpers::spawn_app_with(|s| s.cache.disabled = true).await
}

#[tokio::test]
async fn every_kind_of_write_keeps_the_aggregates_exact() {
    let app = spawn_app().await;
    let stats = "query($id: ID!) { customer(id: $id) { orderCount totalSpent } }";
    let created = app
        .mutate(
            "mutation { createCustomers(input: [{ name: \"A\", email: \"a@x.io\" }, { name: \"B\", email: \"b@x.io\" }]) { id } }",
            json!({}),
        )
        .await;
    let a = data(&created)["createCustomers"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let b = data(&created)["createCustomers"][1]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_exact(&app, "createCustomers").await;
    // A customer without orders ranks with minOrders: 0, at zero.
    let zero = app.query(RANKING, json!({ "l": 10, "m": 0 })).await;
    assert!(
        data(&zero)["topCustomers"]
            .as_array()
            .expect("list")
            .iter()
            .any(|r| r["customer"]["id"] == b.as_str() && r["totalSpent"] == "0.00")
    );

    let one = app
        .mutate(
            "mutation($c: ID!) { createOrder(input: { customerId: $c, total: \"10.00\" }) { id } }",
            json!({ "c": a }),
        )
        .await;
    let order = data(&one)["createOrder"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_exact(&app, "createOrder").await;
    let bulk: Vec<Value> = (0..50)
        .map(|i| json!({ "customerId": if i % 2 == 0 { &a } else { &b }, "total": "1.25" }))
        .collect();
    data(
        &app.mutate(
            "mutation($r: [CreateOrderInput!]!) { createOrders(input: $r) { id } }",
            json!({ "r": bulk }),
        )
        .await,
    );
    assert_exact(&app, "createOrders").await;
    data(
        &app.mutate(
            "mutation($id: ID!) { updateOrder(id: $id, input: { total: \"99.99\" }) { id } }",
            json!({ "id": order }),
        )
        .await,
    );
    assert_exact(&app, "updateOrder (total)").await;
    data(
        &app.mutate(
            "mutation($id: ID!) { updateOrder(id: $id, input: { status: SHIPPED }) { id } }",
            json!({ "id": order }),
        )
        .await,
    );
    assert_exact(&app, "updateOrder (status)").await;
    assert_eq!(
        data(&app.query(stats, json!({ "id": a })).await)["customer"],
        json!({ "orderCount": 26, "totalSpent": "131.24" })
    );
    data(
        &app.mutate(
            "mutation($id: ID!) { deleteOrder(id: $id) }",
            json!({ "id": order }),
        )
        .await,
    );
    assert_exact(&app, "deleteOrder").await;
    assert_eq!(
        data(&app.query(stats, json!({ "id": a })).await)["customer"],
        json!({ "orderCount": 25, "totalSpent": "31.25" })
    );
    data(
        &app.mutate(
            "mutation($id: ID!) { deleteCustomer(id: $id) }",
            json!({ "id": b }),
        )
        .await,
    );
    assert_exact(&app, "deleteCustomer").await;

    // import and seed
    let path = crate::helpers::temp_path("orders", "csv");
    std::fs::write(&path, format!("customer_id,total\n{a},2.00\n{a},3.00\n")).expect("write");
    let file = std::io::BufReader::new(std::fs::File::open(&path).expect("open"));
    let report = service::import::import(
        app.store(),
        service::import::Kind::Orders,
        service::import::Format::Csv,
        file,
        &mut |_| {},
    )
    .await
    .expect("import");
    assert!(report.committed);
    let _ = std::fs::remove_file(&path);
    assert_exact(&app, "import").await;
    service::seed::seed(app.store(), 20, 300, 3, &mut |_| {})
        .await
        .expect("seed");
    assert_exact(&app, "seed").await;
}

#[tokio::test]
async fn writes_made_outside_the_server_are_kept_and_the_rest_found_and_repaired() {
    let app = spawn_app().await;
    let ids = app.seed_customers(3).await;
    app.seed_order(ids[0], 500, "2026-01-01T00:00:00Z").await;
    let db = &app.store().db;
    let backend = app.db.backend;
    // A program writing SQL directly: the triggers still keep the aggregates.
    for sql in [
        format!(
            "INSERT INTO orders (customer_id, total_cents, status, created_at) VALUES ({}, 700, 'PAID', '2025-05-05T00:00:00+00:00')",
            ids[1]
        ),
        format!(
            "UPDATE orders SET customer_id = {} WHERE customer_id = {}",
            ids[2], ids[0]
        ),
        "DELETE FROM orders WHERE total_cents = 700".to_owned(),
    ] {
        db.execute_raw(Statement::from_string(backend, sql.clone()))
            .await
            .expect("write");
        assert_exact(&app, &sql).await;
    }
    // What no trigger sees: the aggregates edited directly.
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "UPDATE customer_stats SET total_cents = 1, order_count = 9 WHERE customer_id = {}",
            ids[2]
        ),
    ))
    .await
    .expect("corrupt");
    let stats = "query($id: ID!) { customer(id: $id) { orderCount totalSpent } }";
    assert_eq!(
        data(&app.query(stats, json!({ "id": ids[2].to_string() })).await)["customer"]["orderCount"],
        9
    );
    let found = service::stats::check(app.store()).await.expect("check");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].customer_id, ids[2]);
    assert_eq!(
        (found[0].maintained, found[0].recomputed),
        (Some((9, 1)), Some((1, 500)))
    );
    // The command says so with its exit status.
    let cli = |action: &'static str| stats_cli(app.db.url.clone(), action);
    let err = cli("check").await.expect_err("differences make it fail");
    assert!(err.to_string().contains("1 customers"), "{err}");
    let repaired = service::stats::rebuild(app.store()).await.expect("rebuild");
    assert_eq!(repaired.len(), 1);
    cli("check").await.expect("equal after the rebuild");
    // The server answers the repaired values (the rebuild invalidated the cache).
    assert_eq!(
        data(&app.query(stats, json!({ "id": ids[2].to_string() })).await)["customer"],
        json!({ "orderCount": 1, "totalSpent": "5.00" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_the_same_customers_leave_them_exact() {
    let app = spawn_app().await;
    let ids = app.seed_customers(3).await;
    let mut orders = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        for k in 0..10 {
            orders.push(
                app.seed_order(*id, 100 + (i * 10 + k) as i64, "2026-01-01T00:00:00Z")
                    .await,
            );
        }
    }
    let app = std::sync::Arc::new(app);
    let ids = std::sync::Arc::new(ids);
    let orders = std::sync::Arc::new(orders);
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (app, ids, orders) = (app.clone(), ids.clone(), orders.clone());
            tokio::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(w);
                for i in 0..25usize {
                    let c = ids[rng.random_range(0..ids.len())].to_string();
                    let resp = match (w + i as u64) % 4 {
                        0 => app.mutate("mutation($c: ID!) { createOrder(input: { customerId: $c, total: \"3.30\" }) { id } }", json!({ "c": c })).await,
                        1 => app.mutate(
                            "mutation($r: [CreateOrderInput!]!) { createOrders(input: $r) { id } }",
                            json!({ "r": (0..5).map(|_| json!({ "customerId": c, "total": "0.70" })).collect::<Vec<_>>() }),
                        ).await,
                        2 => app.mutate(
                            "mutation($id: ID!, $t: Decimal!) { updateOrder(id: $id, input: { total: $t }) { id } }",
                            json!({ "id": orders[rng.random_range(0..orders.len())].to_string(), "t": format!("{}.{:02}", rng.random_range(0..50), rng.random_range(0..100)) }),
                        ).await,
                        _ => app.mutate("mutation($id: ID!) { deleteOrder(id: $id) }", json!({ "id": orders[rng.random_range(0..orders.len())].to_string() })).await,
                    };
                    // A delete or update of an order another writer deleted is NOT_FOUND.
                    if let Some(errors) = resp.get("errors") {
                        assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{resp}");
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("writer");
    }
    assert_exact(&app, "concurrent writers").await;
}

/// `api stats <action>` against the database at `url`, as an operator runs
/// it; its error as text.
pub(crate) async fn stats_cli(url: String, action: &'static str) -> Result<(), String> {
    api::cli::run(
        <api::cli::Cli as clap::Parser>::try_parse_from([
            "api",
            "--redis-url=",
            "--cache-disabled",
            "--database-url",
            url.as_str(),
            "stats",
            action,
        ])
        .expect("valid command line"),
    )
    .await
    .map_err(|e| e.to_string())
}
