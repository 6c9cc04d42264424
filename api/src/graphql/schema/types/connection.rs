//! Relay-style connections: `edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`.

use async_graphql::{Context, Object, SimpleObject};
use service::model::{self, CustomerFilter, OrderFilter, Page};

use super::{Customer, Order};
use crate::graphql::runtime::db_gate::gated;
use crate::graphql::runtime::error::ServiceResultExt;
use crate::graphql::schema::loaders::StatsOf;
use crate::graphql::schema::scalars::{cursor, to_int};
use crate::graphql::schema::{loader, store, view};

/// Where a page stands in its list.
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    /// Whether more items follow this page.
    pub has_next_page: bool,
    /// Whether this page started after a cursor (items precede it).
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

/// An edge: one customer and its cursor.
#[derive(SimpleObject, Clone)]
pub struct CustomerEdge {
    /// Opaque position of this customer in the list; pass it as `after`.
    pub cursor: String,
    /// The customer.
    pub node: Customer,
}

/// A page of customers, by id ascending.
pub struct CustomerConnection {
    pub page: Page<model::Customer>,
    pub filter: CustomerFilter,
}

/// A page of customers, by id ascending, with where it stands in the list.
#[Object]
impl CustomerConnection {
    /// The customers of this page with their cursors.
    async fn edges(&self) -> Vec<CustomerEdge> {
        self.page
            .items
            .iter()
            .map(|c| CustomerEdge {
                cursor: cursor::customer(c.id),
                node: Customer(c.clone()),
            })
            .collect()
    }

    /// The customers of this page.
    async fn nodes(&self) -> Vec<Customer> {
        self.page.items.iter().cloned().map(Customer).collect()
    }

    /// Where this page stands in the list.
    async fn page_info(&self) -> PageInfo {
        page_info(&self.page, |c| cursor::customer(c.id))
    }

    /// How many customers match the filter, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let n = gated(ctx, store(ctx).customers(view(ctx)).count(&self.filter))
            .await
            .gql()?;
        to_int(i64::try_from(n).unwrap_or(i64::MAX))
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

/// What `totalCount` counts.
pub enum OrderTotal {
    /// All orders of one customer (its `orderCount`).
    OfCustomer(i64),
    /// All orders matching a filter.
    Matching(OrderFilter),
}

/// A page of orders, newest first.
pub struct OrderConnection {
    pub page: Page<model::Order>,
    pub total: OrderTotal,
}

/// A page of orders, newest first, with where it stands in the list.
#[Object]
impl OrderConnection {
    /// The orders of this page with their cursors.
    async fn edges(&self) -> Vec<OrderEdge> {
        self.page
            .items
            .iter()
            .map(|o| OrderEdge {
                cursor: cursor::order(o.key()),
                node: Order(o.clone()),
            })
            .collect()
    }

    /// The orders of this page.
    async fn nodes(&self) -> Vec<Order> {
        self.page.items.iter().cloned().map(Order).collect()
    }

    /// Where this page stands in the list.
    async fn page_info(&self) -> PageInfo {
        page_info(&self.page, |o| cursor::order(o.key()))
    }

    /// How many orders the whole list holds, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        match &self.total {
            OrderTotal::OfCustomer(id) => {
                let stats = loader(ctx).load_one(StatsOf(*id)).await.gql()?;
                to_int(stats.map(|s| s.order_count).unwrap_or_default())
            }
            OrderTotal::Matching(filter) => {
                let n = gated(ctx, store(ctx).orders(view(ctx)).count(filter))
                    .await
                    .gql()?;
                to_int(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
    }
}
