use async_graphql::{Context, Enum, ID, Object};
use service::model;

use super::customer::{Customer, load_customer};
use crate::graphql::schema::scalars::{DateTime, Decimal, to_id};

/// Lifecycle of an order.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "service::model::OrderStatus")]
pub enum OrderStatus {
    /// Placed, not yet paid.
    Pending,
    /// Paid, not yet shipped.
    Paid,
    /// On its way or delivered.
    Shipped,
    /// Called off; it still counts in the customer's totals.
    Cancelled,
}

/// An order placed by a customer.
#[derive(Clone, Debug)]
pub struct Order(pub model::Order);

/// An order placed by a customer.
#[Object]
impl Order {
    /// The primary key in decimal.
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// The customer who placed the order (batched across the whole level).
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Customer> {
        load_customer(ctx, self.0.customer_id).await
    }

    /// Order total: at least 0, at most two decimals.
    async fn total(&self) -> Decimal {
        Decimal(self.0.total)
    }

    /// Where the order stands.
    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }

    /// When the order was placed (UTC).
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}
