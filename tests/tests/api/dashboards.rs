//! Aggregates clients compose (the contract's "Aggregates"):
//! `ordersAggregate`, `Customer.ordersAggregate` (one statement for a page
//! of customers) and `ordersGrouped`, checked against an independent
//! computation over every row (plain Rust with chrono-tz, written here
//! without the server's code), with writes between the questions; and bad
//! input refused before anything runs.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code, error_message, spawn_app_with};

async fn app_without_cache() -> TestApp {
    spawn_app_with(|s| s.cache.disabled = true).await
}

/// An order as stored: (id, customer, status, cents, created at).
type Row = (i64, i64, String, i64, DateTime<Utc>);

/// One condition of a random `where`, as the plain computation tests it.
type Predicate = Box<dyn Fn(&Row) -> bool>;

/// Every order as stored.
async fn all_orders(app: &TestApp) -> Vec<Row> {
    let rows = app
        .store()
        .db
        .query_all_raw(Statement::from_string(
            app.db.backend,
            "SELECT id, customer_id, status, total_cents, created_at FROM orders".to_owned(),
        ))
        .await
        .expect("orders");
    rows.iter()
        .map(|r| {
            (
                r.try_get("", "id").expect("id"),
                r.try_get("", "customer_id").expect("customer"),
                r.try_get("", "status").expect("status"),
                r.try_get("", "total_cents").expect("total"),
                r.try_get("", "created_at").expect("created"),
            )
        })
        .collect()
}

fn money(cents: i64) -> String {
    service::money::Money::from_cents(cents).to_string()
}

/// Half away from zero, written out separately from the server's.
fn mean(sum: i64, n: i64) -> i64 {
    let q = sum as f64 / n as f64;
    // Exact for the small sums of these tests.
    let r = (q * 1.0).abs();
    let whole = r.floor();
    let rounded = if r - whole >= 0.5 { whole + 1.0 } else { whole };
    (rounded as i64) * if q < 0.0 { -1 } else { 1 }
}

const CREATE: &str = "mutation($i: [CreateOrderInput!]!) { createOrders(input: $i) { id } }";
const STATUSES: [&str; 4] = ["PENDING", "PAID", "SHIPPED", "CANCELLED"];

#[tokio::test]
async fn an_aggregate_covers_exactly_what_where_selects() {
    let app = app_without_cache().await;
    let ids = app.seed_customers(3).await;
    let orders = json!([
        { "customerId": ids[0].to_string(), "total": "10.00", "status": "PAID", "createdAt": "2026-01-01T00:00:00Z" },
        { "customerId": ids[0].to_string(), "total": "20.01", "status": "PAID", "createdAt": "2026-01-02T00:00:00Z" },
        { "customerId": ids[1].to_string(), "total": "5.00", "status": "PENDING", "createdAt": "2026-01-03T00:00:00Z" },
    ]);
    data(&app.mutate(CREATE, json!({ "i": orders })).await);
    let q = "query($w: OrderWhere) { ordersAggregate(where: $w) { count sum avg min max } }";
    let all = app.query(q, json!({})).await;
    assert_eq!(
        data(&all)["ordersAggregate"],
        json!({ "count": 3, "sum": "35.01", "avg": "11.67", "min": "5.00", "max": "20.01" })
    );
    let paid = app
        .query(q, json!({ "w": { "status": { "eq": "PAID" } } }))
        .await;
    // 30.01 / 2 = 15.005: half away from zero.
    assert_eq!(
        data(&paid)["ordersAggregate"],
        json!({ "count": 2, "sum": "30.01", "avg": "15.01", "min": "10.00", "max": "20.01" })
    );
    let none = app
        .query(q, json!({ "w": { "total": { "gt": "100" } } }))
        .await;
    assert_eq!(
        data(&none)["ordersAggregate"],
        json!({ "count": 0, "sum": "0.00", "avg": null, "min": null, "max": null })
    );

    // A page of customers with theirs: one statement for all of them.
    let page = "{ customers(first: 10) { nodes { id ordersAggregate(where: {status: {eq: PAID}}) { count sum max } } } }";
    app.query(page, json!({})).await; // warm
    let before = app.statements();
    let resp = app.query(page, json!({})).await;
    let used = app.statements() - before;
    let nodes = data(&resp)["customers"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    let got: Vec<Value> = nodes.iter().map(|n| n["ordersAggregate"].clone()).collect();
    assert_eq!(
        got,
        vec![
            json!({ "count": 2, "sum": "30.01", "max": "20.01" }),
            json!({ "count": 0, "sum": "0.00", "max": null }),
            json!({ "count": 0, "sum": "0.00", "max": null }),
        ]
    );
    assert_eq!(
        used, 2,
        "the page, then one statement for every customer's aggregate"
    );
}

#[tokio::test]
async fn groups_follow_the_time_zones_calendar() {
    let app = app_without_cache().await;
    let ids = app.seed_customers(2).await;
    let c = ids[0].to_string();
    let orders = json!([
        // 22:30 UTC on March 31 is April 1 in Berlin (summer time, +02).
        { "customerId": c, "total": "1.00", "status": "PAID", "createdAt": "2026-03-31T22:30:00Z" },
        { "customerId": c, "total": "2.00", "status": "PAID", "createdAt": "2026-03-31T21:30:00Z" },
        // 18:14 UTC on Dec 31 is still 2025 in Kathmandu (+05:45): 23:59.
        { "customerId": c, "total": "4.00", "status": "SHIPPED", "createdAt": "2025-12-31T18:14:00Z" },
        { "customerId": c, "total": "8.00", "status": "SHIPPED", "createdAt": "2025-12-31T18:15:00Z" },
    ]);
    data(&app.mutate(CREATE, json!({ "i": orders })).await);
    let q = "query($g: [OrderGroupKey!]!, $tz: String) { ordersGrouped(groupBy: $g, timeZone: $tz, orderBy: [KEY_ASC]) { period periodLabel count sum } }";
    let berlin = app
        .query(q, json!({ "g": ["MONTH"], "tz": "Europe/Berlin" }))
        .await;
    assert_eq!(
        normalize_periods(&data(&berlin)["ordersGrouped"]),
        normalize_periods(&json!([
            { "period": "2025-12-01T00:00:00+01:00", "periodLabel": "2025-12", "count": 2, "sum": "12.00" },
            { "period": "2026-03-01T00:00:00+01:00", "periodLabel": "2026-03", "count": 1, "sum": "2.00" },
            { "period": "2026-04-01T00:00:00+02:00", "periodLabel": "2026-04", "count": 1, "sum": "1.00" },
        ])),
        "{berlin}"
    );
    let kathmandu = app
        .query(q, json!({ "g": ["YEAR"], "tz": "Asia/Kathmandu" }))
        .await;
    let labels: Vec<(&str, i64)> = data(&kathmandu)["ordersGrouped"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["periodLabel"].as_str().expect("a value"),
                g["count"].as_i64().expect("a value"),
            )
        })
        .collect();
    assert_eq!(labels, vec![("2025", 1), ("2026", 3)]);
    let week = app
        .query(q, json!({ "g": ["WEEK", "STATUS"], "tz": "US/Eastern" }))
        .await;
    let first = &data(&week)["ordersGrouped"][0];
    assert_eq!(first["periodLabel"], "2026-W01", "{week}");
}

/// Periods as instants in one notation.
fn normalize_periods(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(groups) = v.as_array_mut() {
        for g in groups {
            if let Some(p) = g["period"].as_str() {
                let at = DateTime::parse_from_rfc3339(p)
                    .expect("a value")
                    .with_timezone(&Utc);
                g["period"] = json!(at.to_rfc3339());
            }
        }
    }
    v
}

#[tokio::test]
async fn the_articles_query_and_bad_input() {
    let app = app_without_cache().await;
    let ids = app.seed_customers(3).await;
    let mut orders = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        for k in 0..(4 + 2 * i) {
            orders.push(json!({ "customerId": id.to_string(), "total": format!("{}.00", 10 * (i + 1) + k) }));
        }
    }
    data(&app.mutate(CREATE, json!({ "i": orders })).await);
    let article = "{ ordersGrouped(groupBy: [CUSTOMER], having: {count: {gt: 5}}, orderBy: [SUM_DESC], first: 10) { customer { id } sum count } }";
    let resp = app.query(article, json!({})).await;
    assert_eq!(
        data(&resp)["ordersGrouped"],
        json!([
            { "customer": { "id": ids[2].to_string() }, "sum": "268.00", "count": 8 },
            { "customer": { "id": ids[1].to_string() }, "sum": "135.00", "count": 6 },
        ])
    );

    let bad = [
        (
            "{ ordersGrouped(groupBy: [STATUS], timeZone: \"Mars/Olympus\") { count } }",
            "timeZone",
        ),
        (
            "{ ordersGrouped(groupBy: [DAY], timeZone: \"UTC+3\") { count } }",
            "timeZone",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS, STATUS]) { count } }",
            "twice",
        ),
        (
            "{ ordersGrouped(groupBy: [DAY, MONTH]) { count } }",
            "more than one",
        ),
        ("{ ordersGrouped(groupBy: []) { count } }", "1 to 3"),
        (
            "{ ordersGrouped(groupBy: [STATUS, CUSTOMER, DAY, STATUS]) { count } }",
            "1 to 3",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS], first: 0) { count } }",
            "first",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS], first: 1001) { count } }",
            "first",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS], orderBy: [SUM_ASC, SUM_DESC]) { count } }",
            "twice",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS], having: {count: null}) { count } }",
            "having.count",
        ),
        (
            "{ ordersGrouped(groupBy: [STATUS], having: {sum: {}}) { count } }",
            "having.sum",
        ),
        (
            "{ ordersAggregate(where: {total: {eq: null}}) { count } }",
            "where.total.eq",
        ),
    ];
    for (query, says) in bad {
        let before = app.statements();
        let resp = app.query(query, json!({})).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{query}: {resp}");
        assert!(error_message(&resp).contains(says), "{query}: {resp}");
        assert_eq!(app.statements(), before, "{query}: nothing ran");
    }
}

const ZONES: [&str; 8] = [
    "UTC",
    "Europe/Berlin",
    "Asia/Kathmandu",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
    "US/Eastern",
];

/// The local date's period start and label, written out here.
fn period_of(kind: &str, tz: Tz, at: DateTime<Utc>) -> (NaiveDate, String) {
    let d = at.with_timezone(&tz).date_naive();
    match kind {
        "DAY" => (
            d,
            format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        ),
        "WEEK" => {
            let monday = d - Duration::days(d.weekday().num_days_from_monday() as i64);
            let w = monday.iso_week();
            (monday, format!("{:04}-W{:02}", w.year(), w.week()))
        }
        "MONTH" => (
            NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("a value"),
            format!("{:04}-{:02}", d.year(), d.month()),
        ),
        _ => (
            NaiveDate::from_ymd_opt(d.year(), 1, 1).expect("a value"),
            format!("{:04}", d.year()),
        ),
    }
}

/// The first instant of local date `d`: bisection over whole seconds
/// around UTC midnight for the first instant whose local date is `d`
/// (independent of the server's).
fn first_instant(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    let midnight = Utc
        .from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("a value"))
        .timestamp();
    let (mut lo, mut hi) = (midnight - 15 * 3600, midnight + 15 * 3600);
    let date_at = |t: i64| {
        Utc.timestamp_opt(t, 0)
            .single()
            .expect("a value")
            .with_timezone(&tz)
            .date_naive()
    };
    // Local dates only move forward over these 30 hours for these zones.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if date_at(mid) >= d {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Utc.timestamp_opt(hi, 0).single().expect("a value")
}

#[tokio::test]
async fn five_hundred_random_groupings_equal_a_plain_computation_with_writes_between() {
    let app = app_without_cache().await;
    let ids = app.seed_customers(6).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let start = Utc
        .with_ymd_and_hms(2024, 12, 20, 0, 0, 0)
        .single()
        .expect("a value");
    let make = |rng: &mut rand::rngs::StdRng, n: usize| -> Vec<Value> {
        (0..n)
            .map(|_| {
                // Around year, month and DST edges: within ~14 months.
                let at = start + Duration::minutes(rng.random_range(0..(60 * 24 * 420)));
                json!({
                    "customerId": ids[rng.random_range(0..ids.len())].to_string(),
                    "total": money(rng.random_range(1..5000)),
                    "status": STATUSES[rng.random_range(0..4)],
                    "createdAt": at.to_rfc3339(),
                })
            })
            .collect()
    };
    let first_batch = make(&mut rng, 250);
    data(&app.mutate(CREATE, json!({ "i": first_batch })).await);
    let q = "query($w: OrderWhere, $g: [OrderGroupKey!]!, $tz: String, $h: OrderGroupHaving, $o: [OrderGroupOrderBy!], $f: Int) { ordersGrouped(where: $w, groupBy: $g, timeZone: $tz, having: $h, orderBy: $o, first: $f) { status customer { id } period periodLabel count sum avg min max } }";
    let mut rows = all_orders(&app).await;
    for round in 0..500 {
        if round % 100 == 99 {
            // Writes between the questions: new orders, changed totals and
            // statuses, deletions.
            let more = make(&mut rng, 20);
            data(&app.mutate(CREATE, json!({ "i": more })).await);
            let picked = rand::seq::index::sample(&mut rng, rows.len(), 10).into_vec();
            for pair in picked.chunks(2) {
                let (id, ..) = rows[pair[0]].clone();
                let u = "mutation($id: ID!, $t: Decimal!, $s: OrderStatus!) { updateOrder(id: $id, input: {total: $t, status: $s}) { id } }";
                data(&app.mutate(u, json!({ "id": id.to_string(), "t": money(rng.random_range(1..5000)), "s": STATUSES[rng.random_range(0..4)] })).await);
                let (gone, ..) = rows[pair[1]].clone();
                let d = "mutation($id: ID!) { deleteOrder(id: $id) }";
                data(&app.mutate(d, json!({ "id": gone.to_string() })).await);
            }
            rows = all_orders(&app).await;
        }
        // A random where: status set, total range, time range, customer.
        let mut w = serde_json::Map::new();
        let mut pred: Vec<Predicate> = Vec::new();
        if rng.random_bool(0.4) {
            let picked: Vec<&str> = STATUSES
                .iter()
                .copied()
                .filter(|_| rng.random_bool(0.5))
                .collect();
            w.insert("status".into(), json!({ "in": picked }));
            let picked: Vec<String> = picked.iter().map(|s| s.to_string()).collect();
            pred.push(Box::new(move |o| picked.contains(&o.2)));
        }
        if rng.random_bool(0.3) {
            let lo = rng.random_range(0..3000);
            w.insert("total".into(), json!({ "gte": money(lo) }));
            pred.push(Box::new(move |o| o.3 >= lo));
        }
        if rng.random_bool(0.3) {
            let from = start + Duration::days(rng.random_range(0..300));
            w.insert("createdAt".into(), json!({ "lt": from.to_rfc3339() }));
            pred.push(Box::new(move |o| o.4 < from));
        }
        if rng.random_bool(0.2) {
            let c = ids[rng.random_range(0..ids.len())];
            w.insert("customerId".into(), json!({ "eq": c.to_string() }));
            pred.push(Box::new(move |o| o.1 == c));
        }
        // Keys: 1 to 3, distinct, at most one period.
        let mut keys: Vec<&str> = Vec::new();
        let period = ["DAY", "WEEK", "MONTH", "YEAR"][rng.random_range(0..4)];
        for k in ["STATUS", "CUSTOMER", period] {
            if rng.random_bool(0.5) {
                keys.push(k);
            }
        }
        if keys.is_empty() {
            keys.push(period);
        }
        if rng.random_bool(0.5) {
            keys.reverse();
        }
        let zone = ZONES[rng.random_range(0..ZONES.len())];
        let tz: Tz = zone.parse().expect("a value");
        let mut having = serde_json::Map::new();
        let (mut min_count, mut min_sum, mut max_avg) = (None, None, None);
        if rng.random_bool(0.3) {
            let n = rng.random_range(0..4);
            having.insert("count".into(), json!({ "gt": n }));
            min_count = Some(n);
        }
        if rng.random_bool(0.2) {
            let s = rng.random_range(0..10000);
            having.insert("sum".into(), json!({ "gte": money(s) }));
            min_sum = Some(s);
        }
        if rng.random_bool(0.2) {
            let a = rng.random_range(500..4500);
            having.insert("avg".into(), json!({ "lt": money(a) }));
            max_avg = Some(a);
        }
        let mut order: Vec<&str> = Vec::new();
        for pair in [
            ["KEY_ASC", "KEY_DESC"],
            ["COUNT_ASC", "COUNT_DESC"],
            ["SUM_ASC", "SUM_DESC"],
            ["AVG_ASC", "AVG_DESC"],
        ] {
            if rng.random_bool(0.3) {
                order.push(pair[rng.random_range(0..2)]);
            }
        }
        if rng.random_bool(0.5) {
            order.reverse();
        }
        let first = rng.random_range(1..25);

        // The plain computation.
        type Key = (Option<String>, Option<i64>, Option<(NaiveDate, String)>);
        let mut groups: HashMap<Key, Vec<i64>> = HashMap::new();
        for o in rows.iter().filter(|o| pred.iter().all(|p| p(o))) {
            let key: Key = (
                keys.contains(&"STATUS").then(|| o.2.clone()),
                keys.contains(&"CUSTOMER").then_some(o.1),
                keys.iter()
                    .find(|k| ["DAY", "WEEK", "MONTH", "YEAR"].contains(k))
                    .map(|k| period_of(k, tz, o.4)),
            );
            groups.entry(key).or_default().push(o.3);
        }
        let mut expected: Vec<(Key, i64, i64, i64, i64, i64)> = groups
            .into_iter()
            .map(|(k, v)| {
                let n = v.len() as i64;
                let s: i64 = v.iter().sum();
                (
                    k,
                    n,
                    s,
                    mean(s, n),
                    *v.iter().min().expect("a value"),
                    *v.iter().max().expect("a value"),
                )
            })
            .filter(|g| min_count.is_none_or(|m| g.1 > m))
            .filter(|g| min_sum.is_none_or(|m| g.2 >= m))
            .filter(|g| max_avg.is_none_or(|m| g.3 < m))
            .collect();
        let key_cmp = |a: &Key, b: &Key, k: &str| match k {
            "STATUS" => a.0.cmp(&b.0),
            "CUSTOMER" => a.1.cmp(&b.1),
            _ => a.2.as_ref().map(|p| p.0).cmp(&b.2.as_ref().map(|p| p.0)),
        };
        expected.sort_by(|a, b| {
            for o in &order {
                let c = match *o {
                    "KEY_ASC" => keys
                        .iter()
                        .map(|k| key_cmp(&a.0, &b.0, k))
                        .find(|c| c.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal),
                    "KEY_DESC" => keys
                        .iter()
                        .map(|k| key_cmp(&a.0, &b.0, k).reverse())
                        .find(|c| c.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal),
                    "COUNT_ASC" => a.1.cmp(&b.1),
                    "COUNT_DESC" => b.1.cmp(&a.1),
                    "SUM_ASC" => a.2.cmp(&b.2),
                    "SUM_DESC" => b.2.cmp(&a.2),
                    "AVG_ASC" => a.3.cmp(&b.3),
                    _ => b.3.cmp(&a.3),
                };
                if c.is_ne() {
                    return c;
                }
            }
            keys.iter()
                .map(|k| key_cmp(&a.0, &b.0, k))
                .find(|c| c.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        expected.truncate(first as usize);
        let expected: Vec<Value> = expected
            .into_iter()
            .map(|(k, n, s, a, lo, hi)| {
                json!({
                    "status": k.0,
                    "customer": k.1.map(|id| json!({ "id": id.to_string() })),
                    "period": k.2.as_ref().map(|p| first_instant(tz, p.0).to_rfc3339()),
                    "periodLabel": k.2.as_ref().map(|p| p.1.clone()),
                    "count": n, "sum": money(s), "avg": money(a), "min": money(lo), "max": money(hi),
                })
            })
            .collect();

        let vars = json!({ "w": w, "g": keys, "tz": zone, "h": having, "o": order, "f": first });
        let resp = app.query(q, vars.clone()).await;
        let got = normalize_periods(&data(&resp)["ordersGrouped"]);
        assert_eq!(got, Value::Array(expected), "round {round}: {vars}");
    }
}

#[tokio::test]
async fn aggregates_obey_the_row_budget() {
    // Every matching order is read: over the budget, refused before it runs.
    let app = spawn_app_with(|s| {
        s.cache.disabled = true;
        s.graphql.row_budget = 6;
    })
    .await;
    let ids = app.seed_customers(2).await;
    let orders: Vec<Value> = (0..10)
        .map(|i| json!({ "customerId": ids[i % 2].to_string(), "total": "1.00" }))
        .collect();
    data(&app.mutate(CREATE, json!({ "i": orders })).await);
    crate::compose::budget::analyze(&app).await;
    for query in [
        "{ ordersAggregate { count } }",
        "{ ordersGrouped(groupBy: [STATUS]) { count } }",
        "{ customers(first: 2) { nodes { ordersAggregate(where: {status: {eq: PAID}}) { count } } } }",
    ] {
        let before = app.statements();
        let resp = app.query(query, json!({})).await;
        assert_eq!(error_code(&resp), "QUERY_TOO_EXPENSIVE", "{query}: {resp}");
        assert!(
            app.statements() - before <= 2,
            "{query}: at most the estimate ran"
        );
    }
    // One customer's orders through the per-customer index: within it.
    let one = app
        .query(
            "query($c: ID!) { ordersAggregate(where: {customerId: {eq: $c}, createdAt: {gte: \"2000-01-01T00:00:00Z\"}}) { count } }",
            json!({ "c": ids[0].to_string() }),
        )
        .await;
    assert_eq!(data(&one)["ordersAggregate"]["count"], 5, "{one}");
}
