//! The property: every request a customer makes is answered exactly as an
//! unrestricted caller's same request over only the rows that customer may
//! see. Random customers and orders go into one database; for each token
//! (every customer, and one whose customer does not exist) a second
//! database holds only that customer's row and orders, with the same ids;
//! random requests (lookups, lists with filters and sorts, relation
//! filters, nested fields, cursor walks, aggregates and groups) must get
//! the same response from both. Runs on whichever backend the suite uses
//! (SQLite, or PostgreSQL in CI).

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sea_orm::{EntityTrait as _, Set};
use serde_json::{Value, json};

use crate::helpers::{TestApp, customer_token, spawn_app};

const STATUSES: [&str; 4] = ["PENDING", "PAID", "SHIPPED", "CANCELLED"];
const NAMES: [&str; 4] = ["Ada", "Bea", "Cy", "Dana"];

struct Data {
    customers: Vec<entity::customer::Model>,
    orders: Vec<entity::order::Model>,
}

fn instant(rng: &mut StdRng) -> DateTime<Utc> {
    let start = Utc
        .with_ymd_and_hms(2025, 11, 1, 0, 0, 0)
        .single()
        .expect("time");
    start + Duration::minutes(rng.random_range(0..(200 * 24 * 60)))
}

/// Random customers and orders, written to `app` through the service.
async fn populate(app: &TestApp, rng: &mut StdRng) -> Data {
    let n = rng.random_range(4..7);
    let news = (0..n)
        .map(|i| {
            let name = format!("{} {i}", NAMES[rng.random_range(0..NAMES.len())]);
            let phone = rng.random_bool(0.5).then(|| format!("+49 {i}"));
            service::input::NewCustomer::parse(
                &name,
                &format!("p{i}@example.com"),
                phone.as_deref(),
            )
            .expect("customer")
        })
        .collect();
    let all = service::View::unrestricted();
    app.store()
        .customers(&all)
        .create_many(news)
        .await
        .expect("customers");
    let customers = entity::customer::Entity::find()
        .all(&app.store().db)
        .await
        .expect("customers");
    let mut news = Vec::new();
    for c in &customers {
        for _ in 0..rng.random_range(0..9) {
            let status = STATUSES[rng.random_range(0..STATUSES.len())];
            news.push(
                service::input::NewOrder::parse(
                    c.id,
                    service::money::Money::from_cents(rng.random_range(0..5000) * 5),
                    service::model::OrderStatus::from_name(status),
                    Some(instant(rng)),
                )
                .expect("order"),
            );
        }
    }
    app.store()
        .orders(&all)
        .create_many(news)
        .await
        .expect("orders");
    let orders = entity::order::Entity::find()
        .all(&app.store().db)
        .await
        .expect("orders");
    Data { customers, orders }
}

/// A database holding only `customer`'s row and orders, ids kept.
async fn only(data: &Data, customer: i64) -> TestApp {
    let app = spawn_app().await;
    let db = &app.store().db;
    for c in data.customers.iter().filter(|c| c.id == customer) {
        entity::customer::Entity::insert(entity::customer::ActiveModel {
            id: Set(c.id),
            name: Set(c.name.clone()),
            email: Set(c.email.clone()),
            phone: Set(c.phone.clone()),
            created_at: Set(c.created_at),
        })
        .exec(db)
        .await
        .expect("customer");
    }
    for o in data.orders.iter().filter(|o| o.customer_id == customer) {
        entity::order::Entity::insert(entity::order::ActiveModel {
            id: Set(o.id),
            customer_id: Set(o.customer_id),
            total_cents: Set(o.total_cents),
            status: Set(o.status),
            created_at: Set(o.created_at),
        })
        .exec(db)
        .await
        .expect("order");
    }
    app.store().read_catalog().await.expect("catalog");
    app
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn money(rng: &mut StdRng) -> String {
    format!(
        "{}.{:02}",
        rng.random_range(0..250),
        rng.random_range(0..4) * 25
    )
}

/// A random `OrderWhere` over the known ids.
fn order_where(rng: &mut StdRng, data: &Data) -> Value {
    let customer = pick(rng, &data.customers).id.to_string();
    let some_orders: Vec<String> = if data.orders.is_empty() {
        Vec::new()
    } else {
        (0..3)
            .map(|_| pick(rng, &data.orders).id.to_string())
            .collect()
    };
    match rng.random_range(0..9) {
        0 => json!({}),
        1 => json!({ "status": { "eq": pick(rng, &STATUSES) } }),
        2 => json!({ "total": { "gte": money(rng) } }),
        3 => json!({ "createdAt": { "gte": instant(rng).to_rfc3339() } }),
        4 => json!({ "customerId": { "eq": customer } }),
        5 => {
            json!({ "or": [{ "status": { "eq": pick(rng, &STATUSES) } }, { "total": { "lt": money(rng) } }] })
        }
        6 => json!({ "not": { "status": { "in": [pick(rng, &STATUSES), pick(rng, &STATUSES)] } } }),
        7 => json!({ "id": { "in": some_orders } }),
        _ => {
            json!({ "customer": { "name": { "contains": pick(rng, &NAMES).to_lowercase(), "caseInsensitive": true } } })
        }
    }
}

/// A random `CustomerWhere`.
fn customer_where(rng: &mut StdRng, data: &Data) -> Value {
    match rng.random_range(0..6) {
        0 => json!({}),
        1 => json!({ "name": { "startsWith": pick(rng, &NAMES) } }),
        2 => json!({ "id": { "eq": pick(rng, &data.customers).id.to_string() } }),
        3 => json!({ "orderCount": { "gte": rng.random_range(0..5) } }),
        4 => json!({ "phone": { "isNull": rng.random_bool(0.5) } }),
        _ => json!({ "orders": { "some": order_where(rng, data) } }),
    }
}

const CUSTOMER_SORTS: [&str; 6] = [
    "ID_ASC",
    "NAME_DESC",
    "CREATED_AT_ASC",
    "TOTAL_SPENT_DESC",
    "ORDER_COUNT_ASC",
    "EMAIL_ASC",
];
const ORDER_SORTS: [&str; 6] = [
    "CREATED_AT_DESC",
    "TOTAL_ASC",
    "TOTAL_DESC",
    "STATUS_ASC",
    "ID_DESC",
    "CREATED_AT_ASC",
];
const GROUPINGS: [&str; 5] = [
    "[STATUS]",
    "[CUSTOMER]",
    "[MONTH]",
    "[STATUS, WEEK]",
    "[DAY]",
];
const ZONES: [&str; 3] = ["UTC", "Asia/Kathmandu", "America/New_York"];

/// One random request: a document and its variables. `Walk` requests
/// follow cursors, so they are compared page by page.
enum Request {
    One(String, Value),
    Walk {
        sort: String,
        filter: Value,
        size: u64,
    },
}

fn request(rng: &mut StdRng, data: &Data) -> Request {
    let any_customer = pick(rng, &data.customers).id.to_string();
    let any_order = if data.orders.is_empty() {
        "1".to_owned()
    } else {
        pick(rng, &data.orders).id.to_string()
    };
    let first = rng.random_range(0..12);
    match rng.random_range(0..8) {
        0 => Request::One(
            "query($w: CustomerWhere, $o: [CustomerOrderBy!], $f: Int) { customers(where: $w, orderBy: $o, first: $f) { totalCount nodes { id name email phone createdAt orderCount totalSpent } pageInfo { hasNextPage hasPreviousPage } } }".into(),
            json!({ "w": customer_where(rng, data), "o": [pick(rng, &CUSTOMER_SORTS)], "f": first }),
        ),
        1 => Request::One(
            "query($w: OrderWhere, $o: [OrderOrderBy!], $f: Int) { orders(where: $w, orderBy: $o, first: $f) { totalCount nodes { id total status createdAt customer { id name } } pageInfo { hasNextPage } } }".into(),
            json!({ "w": order_where(rng, data), "o": [pick(rng, &ORDER_SORTS)], "f": first }),
        ),
        2 => Request::One(
            "query($c: ID!, $o: ID!, $w: OrderWhere) { customer(id: $c) { id name orderCount orders(first: 3, orderBy: [TOTAL_DESC]) { totalCount nodes { id total } } ordersAggregate(where: $w) { count sum avg min max } } order(id: $o) { id total status customer { id email } } }".into(),
            json!({ "c": any_customer, "o": any_order, "w": order_where(rng, data) }),
        ),
        3 => Request::One(
            "query($w: OrderWhere) { ordersAggregate(where: $w) { count sum avg min max } }".into(),
            json!({ "w": order_where(rng, data) }),
        ),
        4 => Request::One(
            format!(
                "query($w: OrderWhere, $z: String) {{ ordersGrouped(groupBy: {}, where: $w, timeZone: $z, orderBy: [SUM_DESC]) {{ status customer {{ id }} period periodLabel count sum avg min max }} }}",
                pick(rng, &GROUPINGS)
            ),
            json!({ "w": if rng.random_bool(0.5) { json!({}) } else { order_where(rng, data) }, "z": pick(rng, &ZONES) }),
        ),
        5 => Request::One(
            "query($w: OrderWhere, $cw: CustomerWhere) { customers(where: $cw) { nodes { id orders(first: 2, where: $w) { totalCount nodes { id total } } ordersAggregate(where: $w) { count sum } } } }".into(),
            json!({ "w": order_where(rng, data), "cw": customer_where(rng, data) }),
        ),
        6 => Request::One(
            "query($cw: CustomerWhere) { orders(where: {customer: $cw}) { totalCount nodes { id } } }".into(),
            json!({ "cw": customer_where(rng, data) }),
        ),
        _ => Request::Walk {
            sort: pick(rng, &ORDER_SORTS).to_string(),
            filter: order_where(rng, data),
            size: rng.random_range(1..4),
        },
    }
}

/// Every page of a walk, following the app's own cursors.
async fn walk(
    app: &TestApp,
    token: Option<&str>,
    sort: &str,
    filter: &Value,
    size: u64,
) -> Vec<Value> {
    let q = "query($w: OrderWhere, $o: [OrderOrderBy!], $f: Int, $a: String) { orders(where: $w, orderBy: $o, first: $f, after: $a) { nodes { id total status } pageInfo { hasNextPage endCursor } } }";
    let mut pages = Vec::new();
    let mut after = Value::Null;
    for _ in 0..50 {
        let resp = app
            .graphql(
                q,
                json!({ "w": filter, "o": [sort], "f": size, "a": after }),
                token,
            )
            .await;
        let conn = resp["data"]["orders"].clone();
        assert!(conn.is_object(), "{resp}");
        pages.push(conn["nodes"].clone());
        if conn["pageInfo"]["hasNextPage"] != json!(true) {
            return pages;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    panic!("the walk did not end");
}

#[tokio::test]
async fn every_answer_to_a_customer_equals_an_unrestricted_answer_over_its_rows_alone() {
    let seed = std::env::var("VIEWS_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let mut rng = StdRng::seed_from_u64(seed);
    let full = spawn_app().await;
    let data = populate(&full, &mut rng).await;
    let ghost = data.customers.iter().map(|c| c.id).max().unwrap_or(0) + 1000;
    let mut callers: Vec<i64> = data.customers.iter().map(|c| c.id).collect();
    callers.push(ghost);
    let mut compared = 0;
    for customer in callers {
        let alone = only(&data, customer).await;
        let token = customer_token(customer);
        for _ in 0..12 {
            match request(&mut rng, &data) {
                Request::One(doc, vars) => {
                    let seen = full.graphql(&doc, vars.clone(), Some(&token)).await;
                    let expected = alone.graphql(&doc, vars.clone(), None).await;
                    assert!(
                        seen.get("errors").is_none(),
                        "seed {seed}: {doc} {vars}: {seen}"
                    );
                    assert_eq!(
                        seen, expected,
                        "seed {seed} (VIEWS_PROPERTY_SEED), customer {customer}: {doc} {vars}"
                    );
                }
                Request::Walk { sort, filter, size } => {
                    let seen = walk(&full, Some(&token), &sort, &filter, size).await;
                    let expected = walk(&alone, None, &sort, &filter, size).await;
                    assert_eq!(
                        seen, expected,
                        "seed {seed}, customer {customer}: walk {sort} {filter} by {size}"
                    );
                }
            }
            compared += 1;
        }
    }
    assert!(compared >= 60);
}
