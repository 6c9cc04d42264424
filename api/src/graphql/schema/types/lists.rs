//! The composed list a connection field reads: its `filter` and `where`
//! made one tree (both must hold), its `orderBy` one sort, its page with
//! the cursors decoded for exactly that list. The resolvers and the
//! engine's row budget (`graphql::engine::rows`) both build lists here, so
//! the SQL, the estimate and the cursor's fingerprint come from the same
//! tree.

use service::View;
use service::compose::order::{KeyValue, default_customer_sort};
use service::compose::{Where, both};
use service::model::PageRequest;

use crate::graphql::schema::keyset::{self, Scope};
use crate::graphql::schema::scalars::page_request;
use crate::graphql::schema::types::inputs::{CustomerFilter, OrderFilter};
use crate::graphql::schema::types::wheres::{
    CustomerOrderBy, CustomerWhere, OrderOrderBy, OrderWhere,
};

/// Rows of a `customers` or `orders` page when neither `first` nor `last`
/// is given.
pub const DEFAULT_ROOT_PAGE: u64 = 20;
/// Rows of a `Customer.orders` page when neither is given.
pub const DEFAULT_NESTED_PAGE: u64 = 10;

pub use service::compose::{CustomerList, OrderList};

/// The list of `customers(filter:, where:, orderBy:)`.
pub fn customers_list(
    filter: Option<CustomerFilter>,
    where_: Option<&CustomerWhere>,
    order_by: Option<&[CustomerOrderBy]>,
) -> async_graphql::Result<CustomerList> {
    let fixed = Where::from(&filter.unwrap_or_default().parse()?);
    let composed = where_.map(|w| w.tree("where")).transpose()?;
    let sort = match order_by.filter(|o| !o.is_empty()) {
        Some(given) => CustomerOrderBy::sort(given)?,
        None => default_customer_sort(),
    };
    Ok(CustomerList {
        filter: both(fixed, composed),
        sort,
    })
}

/// The scope of a customer list's cursors, as `view` reads it.
pub fn customers_scope(list: &CustomerList, view: &View) -> Scope {
    Scope::of("customers", None, view, &list.sort, &list.filter)
}

/// The list of `orders(filter:, where:, orderBy:)` or (without a `filter`)
/// `Customer.orders(where:, orderBy:)`.
pub fn orders_list(
    filter: Option<&OrderFilter>,
    where_: Option<&OrderWhere>,
    order_by: Option<&[OrderOrderBy]>,
) -> async_graphql::Result<OrderList> {
    let fixed = match filter {
        Some(f) => Where::from(&f.parse()?),
        None => Where::And(Vec::new()),
    };
    let composed = where_.map(|w| w.tree("where")).transpose()?;
    let sort = OrderOrderBy::sort(order_by.unwrap_or_default())?;
    Ok(OrderList {
        filter: both(fixed, composed),
        sort,
    })
}

/// The scope of an order list's cursors: `orders`, or one customer's
/// `orders` (`parent`).
pub fn orders_scope(list: &OrderList, view: &View, parent: Option<i64>) -> Scope {
    let field = if parent.is_some() {
        "Customer.orders"
    } else {
        "orders"
    };
    Scope::of(field, parent, view, &list.sort, &list.filter)
}

/// A page of a list: `first`/`last` checked, `after`/`before` decoded for
/// `scope` (computed only when a cursor is given).
pub fn page(
    first: Option<i32>,
    last: Option<i32>,
    after: Option<&str>,
    before: Option<&str>,
    default: u64,
    scope: impl Fn() -> Scope,
) -> async_graphql::Result<PageRequest<Vec<KeyValue>>> {
    let decode = |cursor: Option<&str>| cursor.map(|c| keyset::decode(c, scope())).transpose();
    page_request(first, last, decode(after)?, decode(before)?, default)
}

/// The cursor of customer `id` in `customers` without `filter`, `where`
/// or `orderBy`, as the unrestricted view reads it (benchmarks start their
/// pages anywhere with it).
pub fn default_customers_cursor(id: i64) -> String {
    let list = CustomerList {
        filter: Where::And(Vec::new()),
        sort: default_customer_sort(),
    };
    keyset::encode(
        customers_scope(&list, &View::unrestricted()),
        vec![KeyValue::Int(id)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cursor_belongs_to_the_list_customers_reads_without_arguments() {
        let list = customers_list(None, None, None).expect("the default list");
        let scope = customers_scope(&list, &View::unrestricted());
        assert_eq!(
            keyset::decode(&default_customers_cursor(42), scope).expect("its own list"),
            vec![KeyValue::Int(42)]
        );
        let other = customers_list(None, None, Some(&[CustomerOrderBy::NameAsc])).expect("a list");
        assert!(
            keyset::decode(
                &default_customers_cursor(42),
                customers_scope(&other, &View::unrestricted())
            )
            .is_err()
        );
    }
}
