use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use service::model;

use crate::graphql::runtime::db_gate::gated;
use crate::graphql::runtime::error::{ServiceResultExt, bad_input};
use crate::graphql::schema::loaders::{CustomerId, StatsOf};
use crate::graphql::schema::scalars::parse_id;
use crate::graphql::schema::types::inputs::CustomerFilter;
use crate::graphql::schema::types::lists::{self, DEFAULT_ROOT_PAGE};
use crate::graphql::schema::types::wheres::{CustomerOrderBy, CustomerWhere};
use crate::graphql::schema::types::{Customer, CustomerConnection, CustomerSpending};
use crate::graphql::schema::{loader, store, view};

#[derive(Default)]
pub struct CustomerQuery;

/// Most rows `topCustomers` returns.
const MAX_TOP: i32 = 100;

/// The arguments of `topCustomers` (and `topCustomersChanged`), checked:
/// how many rows and the least number of orders.
pub fn ranking_arguments(limit: i32, min_orders: i32) -> async_graphql::Result<(u64, i64)> {
    if !(1..=MAX_TOP).contains(&limit) {
        return Err(bad_input(format!(
            "limit must be between 1 and {MAX_TOP} (got {limit})"
        )));
    }
    if min_orders < 0 {
        return Err(bad_input(format!(
            "minOrders must not be negative (got {min_orders})"
        )));
    }
    Ok((u64::try_from(limit).unwrap_or(10), i64::from(min_orders)))
}

#[Object]
impl CustomerQuery {
    /// One customer by id; null when absent.
    async fn customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer's id.")] id: ID,
    ) -> async_graphql::Result<Option<Customer>> {
        let id = parse_id(&id, "customer")?;
        Ok(loader(ctx)
            .load_one(CustomerId(id))
            .await
            .gql()?
            .map(Customer))
    }

    /// Customers matching `filter` and `where`, in `orderBy`'s order (by
    /// id ascending when it is not given), with keyset pagination:
    /// `first`/`after` for the next page, `last`/`before` for the previous
    /// one. A cursor is valid only for the list (`where`, `filter`,
    /// `orderBy`) it came from.
    #[allow(clippy::too_many_arguments)]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The first rows of the page, 0 to 100 (20 when neither `first` nor `last` is given)."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after the customer with this cursor (an `endCursor` or an edge's `cursor`)."
        )]
        after: Option<String>,
        #[graphql(
            desc = "The last rows of the page, 0 to 100: a previous page, with `before`. Not together with `first`."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "End before the customer with this cursor (a `startCursor` or an edge's `cursor`)."
        )]
        before: Option<String>,
        #[graphql(
            desc = "Only customers matching every given condition. `where` composes any condition; given together, both must hold."
        )]
        filter: Option<CustomerFilter>,
        #[graphql(
            name = "where",
            desc = "Only customers matching this condition (`and`, `or`, `not`, operators on every field, their orders)."
        )]
        where_: Option<Box<CustomerWhere>>,
        #[graphql(
            desc = "Sort keys in order; the id is appended as the last key. Default: `[ID_ASC]`."
        )]
        order_by: Option<Vec<CustomerOrderBy>>,
    ) -> async_graphql::Result<CustomerConnection> {
        // Boxed, so the futures of the other root fields stay small.
        Box::pin(async move {
            let list = lists::customers_list(filter, where_.as_deref(), order_by.as_deref())?;
            let page = lists::page(
                first,
                last,
                after.as_deref(),
                before.as_deref(),
                DEFAULT_ROOT_PAGE,
                || lists::customers_scope(&list, view(ctx)),
            )?;
            let page = gated(
                ctx,
                store(ctx)
                    .customers(view(ctx))
                    .page_where(&list.filter, &list.sort, &page),
            )
            .await
            .gql()?;
            // Later lookups of these customers (and of aggregates read with
            // them) in this request cost nothing.
            loader(ctx)
                .feed_many(
                    page.items
                        .iter()
                        .map(|(c, _)| (CustomerId(c.id), c.clone())),
                )
                .await;
            loader(ctx)
                .feed_many(
                    page.items
                        .iter()
                        .filter_map(|(c, s)| s.map(|s| (StatsOf(c.id), s))),
                )
                .await;
            Ok(CustomerConnection {
                page,
                list: Arc::new(list),
            })
        })
        .await
    }

    /// Customers with at least `minOrders` orders, by total spent descending,
    /// ties by id ascending.
    async fn top_customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, desc = "How many, 1 to 100.")] limit: i32,
        #[graphql(default = 1, desc = "Least number of orders, 0 or more.")] min_orders: i32,
    ) -> async_graphql::Result<Vec<CustomerSpending>> {
        let (limit, min_orders) = ranking_arguments(limit, min_orders)?;
        let ranking = gated(
            ctx,
            store(ctx)
                .orders(view(ctx))
                .top_customers(limit, min_orders),
        )
        .await
        .gql()?;
        // The ranking already holds each customer's aggregates.
        loader(ctx)
            .feed_many(ranking.iter().map(|s| {
                (
                    StatsOf(s.customer_id),
                    model::CustomerStats {
                        order_count: s.order_count,
                        total_spent: s.total_spent,
                    },
                )
            }))
            .await;
        Ok(ranking
            .into_iter()
            .map(|row| CustomerSpending(row, None))
            .collect())
    }
}
