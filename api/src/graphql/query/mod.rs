mod customer;
mod order;

pub use customer::CustomerQuery;
pub use order::OrderQuery;

/// The query root, split by domain.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(CustomerQuery, OrderQuery);
