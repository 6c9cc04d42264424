//! Bulk writes, imports and seeding.

use std::io::Write as _;

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code, error_message, spawn_app, spawn_app_with};

const CREATE_ORDERS: &str = "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id total status createdAt customer { id } } }";

fn order_inputs(customer: i64, n: usize) -> Vec<Value> {
    let statuses = ["PENDING", "PAID", "SHIPPED", "CANCELLED"];
    (0..n)
        .map(|i| {
            json!({
                "customerId": customer.to_string(),
                "total": format!("{}.{:02}", i * 7 % 1000, i % 100),
                "status": statuses[i % 4],
                "createdAt": format!("2025-{:02}-{:02}T{:02}:00:00Z", 1 + i % 12, 1 + i % 28, i % 24),
            })
        })
        .collect()
}

/// Everything but the id and customer of each order, in input order.
fn essence(orders: &[Value]) -> Vec<(Value, Value, Value)> {
    orders
        .iter()
        .map(|o| {
            (
                o["total"].clone(),
                o["status"].clone(),
                o["createdAt"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn bulk_results_equal_row_by_row_results() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let (bulk_customer, single_customer) = (ids[0], ids[1]);

    let resp = app
        .mutate(
            CREATE_ORDERS,
            json!({ "i": order_inputs(bulk_customer, 60) }),
        )
        .await;
    let bulk: Vec<Value> = data(&resp)["createOrders"]
        .as_array()
        .expect("list")
        .clone();

    let mut single = Vec::new();
    for input in order_inputs(single_customer, 60) {
        let resp = app
            .mutate(
                "mutation($i: CreateOrderInput!) { createOrder(input: $i) { id total status createdAt customer { id } } }",
                json!({ "i": input }),
            )
            .await;
        single.push(data(&resp)["createOrder"].clone());
    }
    assert_eq!(essence(&bulk), essence(&single));
    let owner = json!(bulk_customer.to_string());
    assert!(bulk.iter().all(|o| o["customer"]["id"] == owner));

    // The stored rows and aggregates agree too.
    let q = "query($id: ID!) { customer(id: $id) { orderCount totalSpent orders(first: 100) { nodes { total status createdAt } } } }";
    let a = app
        .query(q, json!({ "id": bulk_customer.to_string() }))
        .await;
    let b = app
        .query(q, json!({ "id": single_customer.to_string() }))
        .await;
    assert_eq!(data(&a)["customer"], data(&b)["customer"]);
    assert_eq!(data(&a)["customer"]["orderCount"], 60);
}

#[tokio::test]
async fn a_bad_row_in_the_middle_of_a_large_batch_writes_nothing() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let mut input = order_inputs(ids[0], 5_000);
    input[2_500]["customerId"] = json!("987654");
    let resp = app.mutate(CREATE_ORDERS, json!({ "i": input })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert!(error_message(&resp).contains("input[2500]"), "{resp}");
    assert_eq!(app.count_rows("orders").await, 0);

    let mut input = order_inputs(ids[0], 5_000);
    input[4_999]["total"] = json!("-0.01");
    let resp = app.mutate(CREATE_ORDERS, json!({ "i": input })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert!(error_message(&resp).contains("input[4999]"), "{resp}");
    assert_eq!(app.count_rows("orders").await, 0);
}

#[tokio::test]
async fn a_batch_bigger_than_one_insert_is_chunked_and_returned_in_order() {
    let app = spawn_app_with(|s| s.max_bulk_rows = 20_000).await;
    let ids = app.seed_customers(1).await;
    // Above the rows one statement can carry on either backend (16,383 on
    // PostgreSQL, 8,191 on SQLite, at four columns per order).
    let n = 17_000;
    let before = app.statements();
    let resp = app
        .mutate(CREATE_ORDERS, json!({ "i": order_inputs(ids[0], n) }))
        .await;
    let created = data(&resp)["createOrders"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(created.len(), n);
    // Inputs carry totals with two decimals, so they read back verbatim.
    assert_eq!(essence(&created), essence(&order_inputs(ids[0], n)));
    let mut last = 0i64;
    for o in &created {
        let id: i64 = o["id"].as_str().expect("id").parse().expect("numeric");
        assert!(id > last, "input order");
        last = id;
    }
    assert_eq!(app.count_rows("orders").await, n as i64);
    let n_statements = usize::try_from(app.statements() - before).expect("small");
    let recent = app.state.statements.recent();
    let inserts = recent[recent.len().saturating_sub(n_statements)..]
        .iter()
        .filter(|sql| sql.trim_start().to_uppercase().starts_with("INSERT"))
        .count();
    assert!(inserts >= 2, "{inserts} insert statements");
    assert!(inserts <= 3, "{inserts} insert statements");
}

#[tokio::test]
async fn more_rows_than_the_limit_are_refused_with_the_limit_named() {
    let app = spawn_app_with(|s| s.max_bulk_rows = 5).await;
    let input: Vec<Value> = (0..6)
        .map(|i| json!({ "name": format!("N{i}"), "email": format!("n{i}@example.com") }))
        .collect();
    let resp = app
        .mutate(
            "mutation($i: [CreateCustomerInput!]!) { createCustomers(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    assert!(error_message(&resp).contains("at most 5"), "{resp}");
    assert_eq!(app.count_rows("customers").await, 0);

    let resp = app
        .mutate(
            "mutation($i: [CreateCustomerInput!]!) { createCustomers(input: $i) { id } }",
            json!({ "i": input[..5] }),
        )
        .await;
    assert_eq!(
        data(&resp)["createCustomers"].as_array().map(Vec::len),
        Some(5)
    );
}

fn messages(resp: &Value) -> Vec<String> {
    resp["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_bad_row_is_named_even_when_its_value_cannot_be_parsed() {
    let app = spawn_app().await;
    let ids = app.seed_customers(1).await;
    let good = json!({ "customerId": ids[0].to_string(), "total": "10.00" });
    let mut rows: Vec<Value> = vec![good; 20];
    rows[3] = json!({ "total": "1.00" });
    rows[7] = json!({ "customerId": ids[0].to_string(), "total": "1.00", "status": "BOGUS" });
    rows[12] = json!({ "customerId": ids[0].to_string(), "total": "12.345" });
    rows[15] = json!({ "customerId": ids[0].to_string(), "total": true, "createdAt": "yesterday" });
    let resp = app
        .mutate(
            "mutation($rows: [CreateOrderInput!]!) { createOrders(input: $rows) { id } }",
            json!({ "rows": rows }),
        )
        .await;
    let m = messages(&resp);
    assert!(resp.get("data").is_none(), "refused before running: {resp}");
    for (prefix, words) in [
        ("input[3].customerId:", "required"),
        ("input[7].status:", "PENDING"),
        ("input[12].total:", "two decimals"),
        ("input[15].total:", "money"),
        ("input[15].createdAt:", "RFC 3339"),
    ] {
        assert!(
            m.iter().any(|e| e.starts_with(prefix) && e.contains(words)),
            "{prefix} … {words} in {m:#?}"
        );
    }
    assert_eq!(m.len(), 5, "{m:#?}");
    assert!(
        resp["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| e["extensions"]["code"] == "BAD_USER_INPUT")
    );

    // Rows whose values parse but break a rule: each named, with its index.
    let mut rows: Vec<Value> = (0..10)
        .map(|_| json!({ "customerId": ids[0].to_string(), "total": "5.00" }))
        .collect();
    rows[2]["total"] = json!("-1.00");
    rows[9]["total"] = json!("2000000000.00");
    let resp = app
        .mutate(
            "mutation($rows: [CreateOrderInput!]!) { createOrders(input: $rows) { id } }",
            json!({ "rows": rows }),
        )
        .await;
    let errors = resp["errors"].as_array().cloned().unwrap_or_default();
    let indices: Vec<u64> = errors
        .iter()
        .filter_map(|e| e["extensions"]["index"].as_u64())
        .collect();
    assert_eq!(indices, [2, 9], "{resp}");
    assert!(
        messages(&resp)[0].starts_with("input[2]: total must not be negative"),
        "{resp}"
    );
    assert_eq!(app.count_rows("orders").await, 0, "nothing written");
}

#[tokio::test]
async fn at_most_a_hundred_bad_rows_are_listed_and_the_rest_counted() {
    let app = spawn_app().await;
    let rows: Vec<Value> = (0..150)
        .map(|_| json!({ "customerId": "1", "total": "0.001" }))
        .collect();
    let resp = app
        .mutate(
            "mutation($rows: [CreateOrderInput!]!) { createOrders(input: $rows) { id } }",
            json!({ "rows": rows }),
        )
        .await;
    let m = messages(&resp);
    assert_eq!(m.len(), 101, "{m:?}");
    assert!(m[99].starts_with("input[99].total:"));
    assert!(m[100].contains("50 more"), "{}", m[100]);
}

fn temp_file(stem: &str, extension: &str, contents: &str) -> std::path::PathBuf {
    // The name starts with `stem`, so the command can tell the kind from it.
    let path =
        std::env::temp_dir().join(format!("{}{extension}", crate::helpers::unique_name(stem)));
    let mut f = std::fs::File::create(&path).expect("create temp file");
    f.write_all(contents.as_bytes()).expect("write temp file");
    path
}

async fn import(
    app: &TestApp,
    kind: service::import::Kind,
    format: service::import::Format,
    contents: &str,
) -> service::import::ImportReport {
    service::import::import(
        app.store(),
        kind,
        format,
        std::io::Cursor::new(contents.to_owned()),
        &mut |_| {},
    )
    .await
    .expect("import runs")
}

#[tokio::test]
async fn importing_a_file_with_bad_lines_reports_them_and_writes_nothing() {
    use service::import::{Format, Kind};
    let app = spawn_app().await;
    let csv = "name,email,phone\nAda,ada@example.com,\nAlan,not-an-email,\n\"Grace, Rear Admiral\",grace@example.com,+1 555 0100\n,blank@example.com,\nLinus,ADA@example.com,\n";
    let report = import(&app, Kind::Customers, Format::Csv, csv).await;
    assert!(!report.committed);
    assert_eq!(report.records, 5);
    let lines: Vec<u64> = report.bad.iter().map(|b| b.line).collect();
    assert_eq!(lines, [3, 5, 6], "{:?}", report.bad);
    assert!(report.bad[0].message.contains("not a valid address"));
    assert!(
        report.bad[2].message.contains("used twice"),
        "{:?}",
        report.bad[2]
    );
    assert_eq!(app.count_rows("customers").await, 0);

    // The fixed file imports completely.
    let fixed = "name,email,phone\nAda,ada@example.com,\nAlan,alan@example.com,\n\"Grace, Rear Admiral\",grace@example.com,+1 555 0100\n";
    let report = import(&app, Kind::Customers, Format::Csv, fixed).await;
    assert!(report.committed, "{report:?}");
    assert_eq!(report.written, 3);
    let resp = app
        .query("{ customers { nodes { name email phone } } }", json!({}))
        .await;
    assert_eq!(
        data(&resp)["customers"]["nodes"][2],
        json!({ "name": "Grace, Rear Admiral", "email": "grace@example.com", "phone": "+1 555 0100" })
    );

    // Orders as JSON Lines, one referencing a missing customer on line 3.
    let jsonl = "{\"customerId\": 1, \"total\": \"10.50\", \"status\": \"PAID\"}\n\n{\"customer_id\": 99, \"total\": 1}\n{\"customerId\": 2, \"total\": \"abc\"}\n";
    let report = import(&app, Kind::Orders, Format::JsonLines, jsonl).await;
    assert!(!report.committed);
    let bad: Vec<(u64, bool)> = report
        .bad
        .iter()
        .map(|b| {
            (
                b.line,
                b.message.contains("customer 99 does not exist") || b.message.contains("total"),
            )
        })
        .collect();
    assert_eq!(bad, [(3, true), (4, true)], "{:?}", report.bad);
    assert_eq!(app.count_rows("orders").await, 0);

    let jsonl = "{\"customerId\": 1, \"total\": \"10.50\", \"status\": \"PAID\", \"createdAt\": \"2025-01-01T00:00:00Z\"}\n{\"customer_id\": 2, \"total\": 1}\n";
    let report = import(&app, Kind::Orders, Format::JsonLines, jsonl).await;
    assert!(report.committed, "{report:?}");
    let resp = app
        .query(
            "{ customer(id: \"1\") { orderCount totalSpent } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&resp)["customer"],
        json!({ "orderCount": 1, "totalSpent": "10.50" })
    );
}

#[tokio::test]
async fn the_import_command_reads_a_file_and_fails_on_bad_records() {
    use clap::Parser;
    let app = spawn_app().await;
    let good = temp_file(
        "customers",
        ".csv",
        "name,email\nAda,ada@example.com\nAlan,alan@example.com\n",
    );
    let bad = temp_file(
        "customers",
        ".jsonl",
        "{\"name\": \"Eve\", \"email\": \"eve@example.com\"}\n{\"name\": \"\", \"email\": \"x@example.com\"}\n",
    );
    let run = |file: &std::path::Path| {
        let argv = vec![
            "api".to_owned(),
            "--database-url".to_owned(),
            app.db.url.clone(),
            // The in-process cache: the environment's REDIS_URL is not this test's.
            "--redis-url=".to_owned(),
            "import".to_owned(),
            file.display().to_string(),
        ];
        api::cli::run(api::cli::Cli::try_parse_from(argv).expect("valid command line"))
    };
    run(&good).await.expect("a good file imports");
    assert_eq!(app.count_rows("customers").await, 2);
    let err = run(&bad).await.expect_err("a bad file is refused");
    assert!(err.to_string().contains("1 of 2 records are bad"), "{err}");
    assert_eq!(app.count_rows("customers").await, 2);
    let _ = std::fs::remove_file(good);
    let _ = std::fs::remove_file(bad);
}

async fn dump(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT id, name, email, phone, created_at FROM customers ORDER BY id",
        "SELECT id, customer_id, total_cents, status, created_at FROM orders ORDER BY id",
    ] {
        let rows = app
            .state
            .store
            .db
            .query_all_raw(Statement::from_string(app.db.backend, sql.to_owned()))
            .await
            .expect("dump");
        for row in rows {
            let id: i64 = row.try_get("", "id").expect("id");
            let created: chrono::DateTime<chrono::Utc> =
                row.try_get("", "created_at").expect("created_at");
            let rest = if sql.contains("email") {
                let name: String = row.try_get("", "name").expect("name");
                let email: String = row.try_get("", "email").expect("email");
                let phone: Option<String> = row.try_get("", "phone").expect("phone");
                format!("{name}|{email}|{phone:?}")
            } else {
                let c: i64 = row.try_get("", "customer_id").expect("customer");
                let t: i64 = row.try_get("", "total_cents").expect("total");
                let s: String = row.try_get("", "status").expect("status");
                format!("{c}|{t}|{s}")
            };
            out.push(format!("{id}|{rest}|{}", created.timestamp_micros()));
        }
    }
    out
}

#[tokio::test]
async fn seeding_twice_with_the_same_seed_gives_the_same_data() {
    let a = spawn_app().await;
    let b = spawn_app().await;
    let c = spawn_app().await;
    for (app, seed) in [(&a, 7), (&b, 7), (&c, 8)] {
        let summary = service::seed::seed(app.store(), 300, 4_000, seed, &mut |_| {})
            .await
            .expect("seed");
        assert_eq!((summary.customers, summary.orders), (300, 4_000));
    }
    let (da, db, dc) = (dump(&a).await, dump(&b).await, dump(&c).await);
    assert_eq!(da.len(), 4_300);
    assert!(da == db, "same seed, same rows");
    assert!(da != dc, "another seed, other rows");

    // Emails are unique and the spread is skewed: the busiest customer has
    // many times the median number of orders.
    let resp = a
        .query("{ topCustomers(limit: 1) { orderCount } }", json!({}))
        .await;
    let top = data(&resp)["topCustomers"][0]["orderCount"]
        .as_i64()
        .expect("count");
    assert!(top >= 40, "the busiest customer has {top} orders");
    let row = a
        .state
        .store
        .db
        .query_one_raw(Statement::from_string(
            a.db.backend,
            "SELECT COUNT(DISTINCT email) AS n FROM customers".to_owned(),
        ))
        .await
        .expect("distinct")
        .expect("row");
    assert_eq!(row.try_get::<i64>("", "n").expect("n"), 300);
}
