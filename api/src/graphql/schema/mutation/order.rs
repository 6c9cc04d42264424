use async_graphql::{Context, ID, Object};

use super::parse_all;
use crate::graphql::runtime::error::ServiceResultExt;
use crate::graphql::schema::guard::{MutationGuard, customer_sets, is_customer};
use crate::graphql::schema::scalars::parse_id;
use crate::graphql::schema::types::Order;
use crate::graphql::schema::types::inputs::{CreateOrderInput, UpdateOrderInput};
use crate::graphql::schema::types::order::OrderStatus;
use crate::graphql::schema::{store, view};

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Creates an order. `BAD_USER_INPUT` when the customer does not exist.
    /// A customer creates its own orders, `PENDING` and without `createdAt`.
    #[graphql(guard = "MutationGuard::writers_and_customers()")]
    async fn create_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order to create.")] input: CreateOrderInput,
    ) -> async_graphql::Result<Order> {
        customer_sets(
            ctx,
            input.created_at.is_none() && input.status.is_none_or(|s| s == OrderStatus::Pending),
            "a customer's order starts PENDING and now: leave out `status` (or send PENDING) and `createdAt`",
        )?;
        let new = input.parse()?;
        Ok(Order(store(ctx).orders(view(ctx)).create(new).await.gql()?))
    }

    /// Creates many orders in one transaction: all or nothing. Errors name
    /// the offending `input[i]`. Returns them in input order.
    #[graphql(guard = "MutationGuard::writers()")]
    async fn create_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The orders to create, at most MAX_BULK_ROWS (20,000 by default).")]
        input: Vec<CreateOrderInput>,
    ) -> async_graphql::Result<Vec<Order>> {
        let store = store(ctx);
        let news = parse_all(ctx, &input, store.limits.max_bulk_rows, "orders", |o| {
            o.parse()
        })?;
        let created = store.orders(view(ctx)).create_many(news).await.gql()?;
        Ok(created.into_iter().map(Order).collect())
    }

    /// Changes the given fields. `NOT_FOUND` when no order has this id. A
    /// customer may only cancel its own order (`status: CANCELLED`, nothing
    /// else) while it is `PENDING` (else `FORBIDDEN`).
    #[graphql(guard = "MutationGuard::writers_and_customers()")]
    async fn update_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order to change.")] id: ID,
        #[graphql(desc = "The fields to change.")] input: UpdateOrderInput,
    ) -> async_graphql::Result<Order> {
        customer_sets(
            ctx,
            input.total.is_none() && input.status == Some(OrderStatus::Cancelled),
            "a customer may only cancel its order: send `status: CANCELLED` and nothing else",
        )?;
        let id = parse_id(&id, "order")?;
        let orders = store(ctx).orders(view(ctx));
        if is_customer(ctx) {
            return Ok(Order(orders.cancel(id).await.gql()?));
        }
        let patch = input.parse()?;
        Ok(Order(orders.update(id, patch).await.gql()?))
    }

    /// Deletes an order. `NOT_FOUND` when absent.
    #[graphql(guard = "MutationGuard::writers()")]
    async fn delete_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order to delete.")] id: ID,
    ) -> async_graphql::Result<bool> {
        let id = parse_id(&id, "order")?;
        store(ctx).orders(view(ctx)).delete(id).await.gql()?;
        Ok(true)
    }
}
