//! Relay-style connections: `edges { cursor node }`, `nodes`, `pageInfo`,
//! `totalCount`. A connection holds its page and the list it was read from
//! (`schema::lists`); a cursor is the row's sort-key values bound to that
//! list (`schema::keyset`), computed only when a client asks for one.

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use service::compose::order::{customer_position, order_position};
use service::model::{self, CustomerStats, Page};

use super::{Customer, Order};
use crate::graphql::runtime::db_gate::gated;
use crate::graphql::runtime::error::ServiceResultExt;
use crate::graphql::schema::keyset::{self, Scope};
use crate::graphql::schema::loaders::{CountOf, Hashed, StatsOf};
use crate::graphql::schema::scalars::to_int;
use crate::graphql::schema::types::lists::{
    CustomerList, OrderList, customers_scope, orders_scope,
};
use crate::graphql::schema::{loader, store, view};

/// Where a page stands in its list.
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    /// Whether more items follow this page.
    pub has_next_page: bool,
    /// Whether items precede this page.
    pub has_previous_page: bool,
    /// Cursor of the first item of this page; null when the page is empty.
    pub start_cursor: Option<String>,
    /// Cursor of the last item; pass it as `after` to get the next page.
    pub end_cursor: Option<String>,
}

fn page_info<T>(page: &Page<T>, cursor_of: impl Fn(&T) -> String) -> PageInfo {
    PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start_cursor: page.items.first().map(&cursor_of),
        end_cursor: page.items.last().map(&cursor_of),
    }
}

fn count(n: u64) -> async_graphql::Result<i32> {
    to_int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// An edge: one customer and its cursor.
#[derive(SimpleObject, Clone)]
pub struct CustomerEdge {
    /// Opaque position of this customer in the list; pass it as `after`.
    pub cursor: String,
    /// The customer.
    pub node: Customer,
}

/// A page of customers.
pub struct CustomerConnection {
    /// The rows, each with its aggregates when the list sorts by them.
    pub page: Page<(model::Customer, Option<CustomerStats>)>,
    pub list: Arc<CustomerList>,
}

impl CustomerConnection {
    fn cursor(&self, scope: Scope, row: &(model::Customer, Option<CustomerStats>)) -> String {
        keyset::encode(
            scope,
            customer_position(&self.list.sort, &row.0, row.1.as_ref()),
        )
    }
}

/// A page of customers, with where it stands in the list.
#[Object]
impl CustomerConnection {
    /// The customers of this page with their cursors.
    async fn edges(&self, ctx: &Context<'_>) -> Vec<CustomerEdge> {
        let scope = customers_scope(&self.list, view(ctx));
        self.page
            .items
            .iter()
            .map(|row| CustomerEdge {
                cursor: self.cursor(scope, row),
                node: Customer(row.0.clone()),
            })
            .collect()
    }

    /// The customers of this page.
    async fn nodes(&self) -> Vec<Customer> {
        self.page
            .items
            .iter()
            .map(|(c, _)| Customer(c.clone()))
            .collect()
    }

    /// Where this page stands in the list.
    async fn page_info(&self, ctx: &Context<'_>) -> PageInfo {
        let scope = customers_scope(&self.list, view(ctx));
        page_info(&self.page, |row| self.cursor(scope, row))
    }

    /// How many customers the list holds, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let n = gated(
            ctx,
            store(ctx)
                .customers(view(ctx))
                .count_where(&self.list.filter),
        )
        .await
        .gql()?;
        count(n)
    }
}

/// An edge: one order and its cursor.
#[derive(SimpleObject, Clone)]
pub struct OrderEdge {
    /// Opaque position of this order in the list; pass it as `after`.
    pub cursor: String,
    /// The order.
    pub node: Order,
}

/// A page of orders: of `orders`, or of one customer's (`parent`).
pub struct OrderConnection {
    pub page: Page<model::Order>,
    pub list: Arc<OrderList>,
    pub parent: Option<i64>,
}

impl OrderConnection {
    fn cursor(&self, scope: Scope, order: &model::Order) -> String {
        keyset::encode(scope, order_position(&self.list.sort, order))
    }
}

/// A page of orders, with where it stands in the list.
#[Object]
impl OrderConnection {
    /// The orders of this page with their cursors.
    async fn edges(&self, ctx: &Context<'_>) -> Vec<OrderEdge> {
        let scope = orders_scope(&self.list, view(ctx), self.parent);
        self.page
            .items
            .iter()
            .map(|o| OrderEdge {
                cursor: self.cursor(scope, o),
                node: Order(o.clone()),
            })
            .collect()
    }

    /// The orders of this page.
    async fn nodes(&self) -> Vec<Order> {
        self.page.items.iter().cloned().map(Order).collect()
    }

    /// Where this page stands in the list.
    async fn page_info(&self, ctx: &Context<'_>) -> PageInfo {
        let scope = orders_scope(&self.list, view(ctx), self.parent);
        page_info(&self.page, |o| self.cursor(scope, o))
    }

    /// How many orders the list holds, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let filter = &self.list.filter;
        let unfiltered = service::compose::answered_by_stats(filter);
        match self.parent {
            Some(id) if unfiltered => {
                let stats = loader(ctx).load_one(StatsOf(id)).await.gql()?;
                to_int(stats.map(|s| s.order_count).unwrap_or_default())
            }
            Some(customer_id) => {
                let n = loader(ctx)
                    .load_one(CountOf {
                        customer_id,
                        list: Hashed::new(self.list.clone()),
                    })
                    .await
                    .gql()?;
                count(n.unwrap_or(0))
            }
            None => {
                let n = gated(ctx, store(ctx).orders(view(ctx)).count_where(filter))
                    .await
                    .gql()?;
                count(n)
            }
        }
    }
}
