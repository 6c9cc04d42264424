//! Five hundred random groupings (where, keys, time zone, having, order,
//! first) against a plain computation over every row, written here without
//! the server's code, with new, changed and deleted orders between them.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{CREATE, Predicate, STATUSES, all_orders, app_without_cache, money, normalize_periods};
use crate::helpers::data;

/// Half away from zero, written out separately from the server's.
fn mean(sum: i64, n: i64) -> i64 {
    let q = sum as f64 / n as f64;
    // Exact for the small sums of these tests.
    let r = (q * 1.0).abs();
    let whole = r.floor();
    let rounded = if r - whole >= 0.5 { whole + 1.0 } else { whole };
    (rounded as i64) * if q < 0.0 { -1 } else { 1 }
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
    // With `min`/`max` the orders answer; without them, on PostgreSQL, the
    // rollups do when the `where` is on statuses and instants only.
    let q = |extremes: bool| {
        format!(
            "query($w: OrderWhere, $g: [OrderGroupKey!]!, $tz: String, $h: OrderGroupHaving, $o: [OrderGroupOrderBy!], $f: Int) {{ ordersGrouped(where: $w, groupBy: $g, timeZone: $tz, having: $h, orderBy: $o, first: $f) {{ status customer {{ id }} period periodLabel count sum avg {} }} }}",
            if extremes { "min max" } else { "" }
        )
    };
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

        let extremes = rng.random_bool(0.5);
        let expected: Vec<Value> = expected
            .into_iter()
            .map(|mut g| {
                if !extremes && let Some(o) = g.as_object_mut() {
                    o.remove("min");
                    o.remove("max");
                }
                g
            })
            .collect();
        let vars = json!({ "w": w, "g": keys, "tz": zone, "h": having, "o": order, "f": first });
        let resp = app.query(&q(extremes), vars.clone()).await;
        let got = normalize_periods(&data(&resp)["ordersGrouped"]);
        assert_eq!(got, Value::Array(expected), "round {round}: {vars}");
    }
}
