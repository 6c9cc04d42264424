mod customer;
mod order;

pub use customer::CustomerMutation;
pub use order::OrderMutation;

/// The mutation root, split by domain. Every mutation needs a `writer` token.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(CustomerMutation, OrderMutation);

/// Parses every item of a bulk input first; the error names the index.
pub(crate) fn parse_all<T, U>(
    items: &[T],
    max: usize,
    what: &str,
    parse: impl Fn(&T) -> async_graphql::Result<U>,
) -> async_graphql::Result<Vec<U>> {
    if items.len() > max {
        return Err(crate::graphql::error::bad_input(format!(
            "at most {max} {what} per request (got {}); split the input into several requests",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            parse(item).map_err(|e| {
                let mut e = e;
                e.message = format!("input[{i}]: {}", e.message);
                e
            })
        })
        .collect()
}
