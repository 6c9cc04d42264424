//! Random query-builder requests for `bench compose`: `where` trees over
//! every field and operator of customers and orders (relation filters,
//! `and`, `or` and `not` included, three levels at most), values drawn
//! from the ranges of `api seed`'s data, `orderBy` of one to three keys in
//! random directions, `first` or `last` of 1 to 50.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;

/// A random `customers` or `orders` request and the list's field name.
pub fn composition(rng: &mut StdRng) -> (String, &'static str) {
    let size = rng.random_range(1..=50);
    let page = if rng.random_bool(0.8) {
        "first"
    } else {
        "last"
    };
    if rng.random_bool(0.5) {
        let keys = [
            "ID",
            "NAME",
            "EMAIL",
            "CREATED_AT",
            "TOTAL_SPENT",
            "ORDER_COUNT",
        ];
        let order = order_by(rng, &keys);
        let w = customer_where(rng, 0);
        (
            format!(
                "{{ customers(where: {w}, orderBy: [{order}], {page}: {size}) {{ nodes {{ id name }} pageInfo {{ endCursor }} }} }}"
            ),
            "customers",
        )
    } else {
        let keys = ["ID", "CREATED_AT", "TOTAL", "STATUS"];
        let order = order_by(rng, &keys);
        let w = order_where(rng, 0);
        (
            format!(
                "{{ orders(where: {w}, orderBy: [{order}], {page}: {size}) {{ nodes {{ id total }} pageInfo {{ endCursor }} }} }}"
            ),
            "orders",
        )
    }
}

fn order_by(rng: &mut StdRng, keys: &[&str]) -> String {
    let n = rng.random_range(1..=3.min(keys.len()));
    let mut chosen: Vec<&str> = Vec::new();
    while chosen.len() < n {
        let k = *keys.choose(rng).unwrap_or(&"ID");
        if !chosen.contains(&k) {
            chosen.push(k);
        }
    }
    chosen
        .iter()
        .map(|k| format!("{k}_{}", if rng.random_bool(0.5) { "ASC" } else { "DESC" }))
        .collect::<Vec<_>>()
        .join(", ")
}

fn money(rng: &mut StdRng) -> String {
    format!(
        "\"{}.{:02}\"",
        rng.random_range(1..500),
        rng.random_range(0..100)
    )
}

fn instant(rng: &mut StdRng) -> String {
    let days = rng.random_range(0..730);
    format!(
        "\"{}\"",
        (service::seed::anchor() - chrono::Duration::days(days)).to_rfc3339()
    )
}

/// Operators of money and counts; instants have no `ne`.
const NUMBER_OPS: [&str; 6] = ["eq", "ne", "gt", "gte", "lt", "lte"];
const INSTANT_OPS: [&str; 5] = ["eq", "gt", "gte", "lt", "lte"];

fn compare(rng: &mut StdRng, ops: &[&str], value: &dyn Fn(&mut StdRng) -> String) -> String {
    let op = ops.choose(rng).copied().unwrap_or("gt");
    format!("{{{op}: {}}}", value(rng))
}

fn customer_where(rng: &mut StdRng, depth: u32) -> String {
    let fields = if depth < 2 { 10 } else { 7 };
    match rng.random_range(0..fields) {
        0 => format!(
            "{{id: {{in: [\"{}\", \"{}\"]}}}}",
            rng.random_range(1..10_000),
            rng.random_range(1..10_000)
        ),
        1 => {
            let part = ["ann", "Lo", "ing", "a", "Tur", "zz"]
                .choose(rng)
                .copied()
                .unwrap_or("a");
            format!(
                "{{name: {{contains: \"{part}\", caseInsensitive: {}}}}}",
                rng.random_bool(0.5)
            )
        }
        2 => "{email: {endsWith: \"example.org\"}}".to_owned(),
        3 => format!("{{phone: {{isNull: {}}}}}", rng.random_bool(0.5)),
        4 => format!("{{createdAt: {}}}", compare(rng, &INSTANT_OPS, &instant)),
        5 => format!("{{totalSpent: {}}}", compare(rng, &NUMBER_OPS, &money)),
        6 => format!("{{orderCount: {{gte: {}}}}}", rng.random_range(0..200)),
        7 => format!("{{orders: {{some: {}}}}}", order_where(rng, depth + 1)),
        8 => format!(
            "{{or: [{}, {}]}}",
            customer_where(rng, depth + 1),
            customer_where(rng, depth + 1)
        ),
        _ => format!("{{not: {}}}", customer_where(rng, depth + 1)),
    }
}

fn order_where(rng: &mut StdRng, depth: u32) -> String {
    let fields = if depth < 2 { 8 } else { 5 };
    match rng.random_range(0..fields) {
        0 => format!(
            "{{status: {{in: [{}]}}}}",
            ["PAID", "SHIPPED", "PENDING", "CANCELLED"]
                .choose(rng)
                .copied()
                .unwrap_or("PAID")
        ),
        1 => format!("{{total: {}}}", compare(rng, &NUMBER_OPS, &money)),
        2 => format!("{{createdAt: {}}}", compare(rng, &INSTANT_OPS, &instant)),
        3 => format!(
            "{{customerId: {{eq: \"{}\"}}}}",
            rng.random_range(1..10_000)
        ),
        4 => format!("{{status: {{eq: PAID}}, total: {{gte: {}}}}}", money(rng)),
        5 => format!("{{customer: {}}}", customer_where(rng, depth + 1)),
        6 => format!(
            "{{and: [{}, {}]}}",
            order_where(rng, depth + 1),
            order_where(rng, depth + 1)
        ),
        _ => format!("{{not: {}}}", order_where(rng, depth + 1)),
    }
}
