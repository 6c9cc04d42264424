mod customer;
mod order;

pub use customer::CustomerMutation;
pub use order::OrderMutation;

/// Writes. Every mutation needs `Authorization: Bearer <token>` with the
/// `writer` role (`UNAUTHENTICATED` without a valid token, `FORBIDDEN` with a
/// `reader` token). A failed mutation changes nothing.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(CustomerMutation, OrderMutation);

/// Parses every item of a bulk input before anything is written. Each bad
/// row is reported as its own error naming it (`input[12]: …`, with
/// `extensions.index`), up to [`MAX_REPORTED`](crate::graphql::runtime::error::MAX_REPORTED).
pub(crate) fn parse_all<T, U>(
    ctx: &async_graphql::Context<'_>,
    items: &[T],
    max: usize,
    what: &str,
    parse: impl Fn(&T) -> async_graphql::Result<U>,
) -> async_graphql::Result<Vec<U>> {
    use async_graphql::ErrorExtensions;
    if items.len() > max {
        return Err(crate::graphql::runtime::error::bad_input(format!(
            "at most {max} {what} per request (got {}); split the input into several requests",
            items.len()
        )));
    }
    let mut parsed = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    let mut unreported = 0usize;
    for (i, item) in items.iter().enumerate() {
        match parse(item) {
            Ok(v) => parsed.push(v),
            Err(mut e) => {
                if errors.len() == crate::graphql::runtime::error::MAX_REPORTED {
                    unreported += 1;
                    continue;
                }
                e.message = format!("input[{i}]: {}", e.message);
                errors.push(e.extend_with(|_, ext| ext.set("index", i)));
            }
        }
    }
    if unreported > 0 {
        errors.push(crate::graphql::runtime::error::bad_input(format!(
            "… and {unreported} more bad rows not listed"
        )));
    }
    // All but the last are added here, the last is the field's own error:
    // the response lists them in row order.
    let Some(last) = errors.pop() else {
        return Ok(parsed);
    };
    for e in errors {
        ctx.add_error(ctx.set_error_path(e.into_server_error(ctx.item.pos)));
    }
    Err(last)
}
