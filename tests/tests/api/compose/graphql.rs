//! The query builder through GraphQL, as a frontend uses it: the three
//! screens of the README, composed filters on nested pages (one statement
//! per level), and the contract's errors for bad input.

use serde_json::{Value, json};

use super::*;
use crate::helpers::{data, error_code, error_message, spawn_app_with};

/// An order: total, status, days before the anchor.
type Placed = (&'static str, &'static str, i64);

/// Customers and their orders for the screens.
const PEOPLE: [(&str, &[Placed]); 5] = [
    (
        "Ann Lee",
        &[
            ("450.00", "PAID", 1),
            ("20.00", "PENDING", 40),
            ("460.00", "PENDING", 3),
        ],
    ),
    (
        "Joanna Brook",
        &[("499.99", "SHIPPED", 10), ("451.00", "PENDING", 2)],
    ),
    (
        "Bob Stone",
        &[
            ("400.00", "PAID", 29),
            ("401.00", "CANCELLED", 1),
            ("300.00", "PAID", 5),
        ],
    ),
    (
        "Hannah Fox",
        &[("399.99", "SHIPPED", 1), ("500.00", "PAID", 31)],
    ),
    (
        "Zoe Park",
        &[("470.00", "PAID", 0), ("455.00", "PENDING", 60)],
    ),
];

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .expect("a date")
}

/// Creates the people through the API; returns their ids in order.
pub(super) async fn seed(app: &crate::helpers::TestApp) -> Vec<String> {
    let customers: Vec<Value> = PEOPLE
        .iter()
        .enumerate()
        .map(|(i, (name, _))| json!({ "name": name, "email": format!("p{i}@example.com") }))
        .collect();
    let resp = app
        .mutate(
            "mutation($in: [CreateCustomerInput!]!) { createCustomers(input: $in) { id } }",
            json!({ "in": customers }),
        )
        .await;
    let ids: Vec<String> = data(&resp)["createCustomers"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    let mut orders = Vec::new();
    for (id, (_, theirs)) in ids.iter().zip(PEOPLE) {
        for (total, status, days) in theirs {
            let at = anchor() - Duration::days(*days);
            orders.push(json!({ "customerId": id, "total": total, "status": status, "createdAt": at.to_rfc3339() }));
        }
    }
    let resp = app
        .mutate(
            "mutation($in: [CreateOrderInput!]!) { createOrders(input: $in) { id } }",
            json!({ "in": orders }),
        )
        .await;
    data(&resp);
    ids
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|n| n["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn the_readme_screens_select_and_sort_as_the_contract_says() {
    let app = spawn_app_with(|_| {}).await;
    seed(&app).await;
    let since = (anchor() - Duration::days(30)).to_rfc3339();

    // (a) Paid or shipped orders of at least 400.00 in the last 30 days,
    // largest first, walked two at a time.
    let screen_a = "query($since: DateTime!, $after: String) {
        orders(where: {status: {in: [PAID, SHIPPED]}, total: {gte: \"400\"}, createdAt: {gte: $since}},
               orderBy: [TOTAL_DESC], first: 2, after: $after) {
          totalCount nodes { total status } pageInfo { hasNextPage endCursor } } }";
    let mut totals = Vec::new();
    let mut after = Value::Null;
    loop {
        let resp = app
            .query(screen_a, json!({ "since": since, "after": after }))
            .await;
        let page = &data(&resp)["orders"];
        assert_eq!(page["totalCount"], 4, "{page}");
        for n in page["nodes"].as_array().expect("nodes") {
            assert!(["PAID", "SHIPPED"].contains(&n["status"].as_str().expect("status")));
            totals.push(n["total"].as_str().expect("total").to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(totals, ["499.99", "470.00", "450.00", "400.00"]);

    // (b) Customers whose name contains "ann", any case, by total spent.
    let resp = app
        .query(
            "{ customers(where: {name: {contains: \"ANN\", caseInsensitive: true}}, orderBy: [TOTAL_SPENT_DESC]) {
                 totalCount nodes { name totalSpent } } }",
            json!({}),
        )
        .await;
    let b = &data(&resp)["customers"];
    assert_eq!(b["totalCount"], 3);
    assert_eq!(
        names(&b["nodes"]),
        ["Joanna Brook", "Ann Lee", "Hannah Fox"]
    );
    assert_eq!(b["nodes"][0]["totalSpent"], "950.99");

    // (c) Customers with some PENDING order over 450.00, by name; `filter`
    // and `where` together must both hold.
    let screen_c = "query($f: CustomerFilter) { customers(filter: $f,
        where: {orders: {some: {status: {eq: PENDING}, total: {gt: \"450\"}}}}, orderBy: [NAME_ASC]) {
          nodes { name } } }";
    let resp = app.query(screen_c, json!({})).await;
    assert_eq!(
        names(&data(&resp)["customers"]["nodes"]),
        ["Ann Lee", "Joanna Brook", "Zoe Park"]
    );
    let resp = app
        .query(screen_c, json!({ "f": { "nameContains": "o" } }))
        .await;
    assert_eq!(
        names(&data(&resp)["customers"]["nodes"]),
        ["Joanna Brook", "Zoe Park"]
    );
    // `none`: customers none of whose orders is PENDING.
    let resp = app
        .query(
            "{ customers(where: {orders: {none: {status: {eq: PENDING}}}}, orderBy: [NAME_DESC]) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        names(&data(&resp)["customers"]["nodes"]),
        ["Hannah Fox", "Bob Stone"]
    );
}

#[tokio::test]
async fn composed_nested_pages_stay_one_statement_per_level() {
    let app = spawn_app_with(|_| {}).await;
    seed(&app).await;
    let query = "{ customers(where: {name: {startsWith: \"Z\", not: null}} ) { nodes { name } } }";
    // (An explicit null is refused; the real query follows.)
    assert_eq!(
        error_code(&app.query(query, json!({})).await),
        "BAD_USER_INPUT"
    );
    let before = app.statements();
    let resp = app
        .query(
            "{ customers(orderBy: [NAME_ASC], first: 5) { nodes { name
                 orders(where: {status: {ne: CANCELLED}}, orderBy: [TOTAL_ASC], first: 2) {
                   totalCount nodes { total } } } } }",
            json!({}),
        )
        .await;
    let nodes = data(&resp)["customers"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    // Customers, their pages, their counts: one statement each.
    assert_eq!(app.statements() - before, 3);
    let bob = nodes
        .iter()
        .find(|n| n["name"] == "Bob Stone")
        .expect("Bob");
    assert_eq!(bob["orders"]["totalCount"], 2);
    assert_eq!(
        bob["orders"]["nodes"],
        json!([{ "total": "300.00" }, { "total": "400.00" }])
    );
    // Backwards from the end of one customer's list.
    let resp = app
        .query(
            "{ customers(where: {name: {eq: \"Ann Lee\"}}) { nodes {
                 orders(orderBy: [TOTAL_ASC], last: 2) { nodes { total } pageInfo { hasPreviousPage hasNextPage } } } } }",
            json!({}),
        )
        .await;
    let page = &data(&resp)["customers"]["nodes"][0]["orders"];
    assert_eq!(
        page["nodes"],
        json!([{ "total": "450.00" }, { "total": "460.00" }])
    );
    assert_eq!(
        page["pageInfo"],
        json!({ "hasPreviousPage": true, "hasNextPage": false })
    );
}

#[tokio::test]
async fn bad_input_gets_the_contracts_errors_before_anything_runs() {
    let app = spawn_app_with(|_| {}).await;
    seed(&app).await;
    let refused: Vec<(&str, Value, &str, &str)> = vec![
        (
            "{ orders(where: {customer: {email: {eq: null}}}) { totalCount } }",
            json!({}),
            "BAD_USER_INPUT",
            "where.customer.email.eq",
        ),
        (
            "query($v: String) { customers(where: {name: {eq: $v}}) { totalCount } }",
            json!({}),
            "BAD_USER_INPUT",
            "where.name",
        ),
        (
            "{ orders(orderBy: [TOTAL_ASC, TOTAL_DESC]) { totalCount } }",
            json!({}),
            "BAD_USER_INPUT",
            "TOTAL",
        ),
        (
            "{ customers(where: {name: {contains: \"a\\u0000b\"}}) { totalCount } }",
            json!({}),
            "BAD_USER_INPUT",
            "where.name.contains",
        ),
        (
            "{ orders(where: {total: {gt: \"1e400\"}}) { totalCount } }",
            json!({}),
            "BAD_USER_INPUT",
            "",
        ),
        (
            "{ customers(where: {id: {eq: \"99999999999999999999999\"}}) { totalCount } }",
            json!({}),
            "BAD_USER_INPUT",
            "",
        ),
        (
            "query($ids: [ID!]) { orders(where: {id: {in: $ids}}) { totalCount } }",
            json!({ "ids": (1..=1001).map(|i| i.to_string()).collect::<Vec<_>>() }),
            "QUERY_TOO_COMPLEX",
            "1001 items",
        ),
        (
            "{ customers(where: {not: {not: {not: {not: {not: {not: {not: {not: {not: {id: {eq: 1}}}}}}}}}}}) { totalCount } }",
            json!({}),
            "QUERY_TOO_COMPLEX",
            "9 levels",
        ),
    ];
    for (query, variables, code, says) in refused {
        let before = app.statements();
        let resp = app.query(query, variables).await;
        assert_eq!(error_code(&resp), code, "{query}: {resp}");
        assert!(error_message(&resp).contains(says), "{query}: {resp}");
        assert_eq!(app.statements(), before, "{query} ran a statement");
    }
    // A cursor is valid only for the order and filter it came from.
    let page = app
        .query(
            "{ orders(orderBy: [TOTAL_ASC], first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = data(&page)["orders"]["pageInfo"]["endCursor"].clone();
    for other in [
        "query($c: String) { orders(orderBy: [TOTAL_DESC], after: $c) { totalCount } }",
        "query($c: String) { orders(orderBy: [TOTAL_ASC], where: {status: {eq: PAID}}, after: $c) { totalCount } }",
        "query($c: String) { orders(after: $c) { totalCount } }",
    ] {
        let resp = app.query(other, json!({ "c": cursor })).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{other}: {resp}");
    }
    let resp = app
        .query(
            "query($c: String) { orders(orderBy: [TOTAL_ASC], first: 1, after: $c) { nodes { total } } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(data(&resp)["orders"]["nodes"][0]["total"], "300.00");
}
