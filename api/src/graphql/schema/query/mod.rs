mod customer;
mod order;

pub use customer::{CustomerQuery, ranking_arguments};
pub use order::OrderQuery;

/// Reads: open to anonymous callers. Customers, orders and the spending ranking.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(CustomerQuery, OrderQuery);
