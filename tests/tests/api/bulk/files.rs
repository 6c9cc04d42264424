//! `import` and `seed`: files with bad lines write nothing; the same seed gives the same data.

use super::*;

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
