//! Look-ahead prefetching. A list resolver that knows its rows loads, in one
//! batch per kind, what the rows' selected fields will ask for, before it
//! returns. The children then find everything in the request's loader cache,
//! so the statement count of a request depends only on its shape, not on how
//! the runtime happens to interleave the children.

use std::collections::HashSet;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Lookahead, Value};
use service::model::OrderKey;

use super::loader;
use super::loaders::{CustomerId, Loaders, OrdersOf, StatsOf};
use super::scalars::{cursor, page_size};

/// Prefetches for customer objects with ids `ids`, selected as `nodes`
/// (lookaheads on `Customer` selections), down through nested
/// `orders { nodes { customer { … } } }` (an order's customer is its parent).
pub fn customers<'a>(
    ctx: &'a Context<'_>,
    nodes: &'a [Lookahead<'_>],
    ids: &'a [i64],
) -> futures::future::BoxFuture<'a, ()> {
    Box::pin(customers_inner(ctx, nodes, ids))
}

async fn customers_inner(ctx: &Context<'_>, nodes: &[Lookahead<'_>], ids: &[i64]) {
    if ids.is_empty() || nodes.is_empty() {
        return;
    }
    let loader = loader(ctx);
    let wants_stats = nodes.iter().any(|n| {
        n.field("orderCount").exists()
            || n.field("totalSpent").exists()
            || n.field("orders").field("totalCount").exists()
    });
    let mut pages: HashSet<(u64, Option<OrderKey>)> = HashSet::new();
    for node in nodes {
        for field in node.field("orders").selection_fields() {
            if let Some(args) = page_args(field.arguments().ok(), 10) {
                pages.insert(args);
            }
        }
    }
    let stats = async {
        if wants_stats {
            let _ = loader.load_many(ids.iter().map(|id| StatsOf(*id))).await;
        }
    };
    let orders = futures::future::join_all(pages.into_iter().map(|(first, after)| {
        loader.load_many(ids.iter().map(move |id| OrdersOf {
            customer_id: *id,
            first,
            after,
        }))
    }));
    // Errors are not reported here: the fields that need the data load it
    // again and report them in place.
    let _ = futures::join!(stats, orders);

    let nested: Vec<Lookahead<'_>> = nodes
        .iter()
        .flat_map(|n| connection_nodes(&n.field("orders")))
        .map(|n| n.field("customer"))
        .filter(Lookahead::exists)
        .collect();
    customers(ctx, &nested, ids).await;
}

/// Prefetches the customers of orders (and what their selection needs).
pub async fn order_customers(ctx: &Context<'_>, nodes: &[Lookahead<'_>], customer_ids: &[i64]) {
    let customer_nodes: Vec<Lookahead<'_>> = nodes
        .iter()
        .map(|n| n.field("customer"))
        .filter(Lookahead::exists)
        .collect();
    if customer_nodes.is_empty() || customer_ids.is_empty() {
        return;
    }
    let unique: Vec<i64> = customer_ids
        .iter()
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if load_customers(ctx, &unique).await {
        customers(ctx, &customer_nodes, &unique).await;
    }
}

async fn load_customers(ctx: &Context<'_>, ids: &[i64]) -> bool {
    let result: Result<_, <Loaders as Loader<CustomerId>>::Error> = loader(ctx)
        .load_many(ids.iter().map(|id| CustomerId(*id)))
        .await;
    result.is_ok()
}

/// The item selections of a connection: `nodes` and `edges { node }`.
pub fn connection_nodes<'a>(connection: &Lookahead<'a>) -> Vec<Lookahead<'a>> {
    [
        connection.field("nodes"),
        connection.field("edges").field("node"),
    ]
    .into_iter()
    .filter(Lookahead::exists)
    .collect()
}

/// `first` and `after` of an `orders` field, if valid (invalid ones are
/// reported by the field itself).
fn page_args(
    args: Option<Vec<(async_graphql::Name, Value)>>,
    default_first: i32,
) -> Option<(u64, Option<OrderKey>)> {
    let args = args?;
    let mut first = default_first;
    let mut after = None;
    for (name, value) in args {
        match (name.as_str(), value) {
            ("first", Value::Number(n)) => first = i32::try_from(n.as_i64()?).ok()?,
            ("first", _) => return None,
            ("after", Value::String(s)) => after = Some(cursor::parse_order(&s).ok()?),
            ("after", Value::Null) => {}
            ("after", _) => return None,
            _ => {}
        }
    }
    Some((page_size(first).ok()?, after))
}
