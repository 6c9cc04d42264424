use async_graphql::{Context, ID, Object};

use super::parse_all;
use crate::graphql::runtime::error::{ServiceResultExt, bad_input};
use crate::graphql::schema::guard::{MutationGuard, customer_sets};
use crate::graphql::schema::scalars::parse_id;
use crate::graphql::schema::types::Customer;
use crate::graphql::schema::types::inputs::{CreateCustomerInput, UpdateCustomerInput};
use crate::graphql::schema::{store, view};

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    /// Creates a customer. `CONFLICT` when the email is taken.
    #[graphql(guard = "MutationGuard::writers()")]
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer to create.")] input: CreateCustomerInput,
    ) -> async_graphql::Result<Customer> {
        let new = input.parse().map_err(bad_input)?;
        Ok(Customer(
            store(ctx).customers(view(ctx)).create(new).await.gql()?,
        ))
    }

    /// Creates many customers in one transaction: all or nothing. Errors
    /// name the offending `input[i]`. Returns them in input order.
    #[graphql(guard = "MutationGuard::writers()")]
    async fn create_customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customers to create, at most MAX_BULK_ROWS (20,000 by default).")]
        input: Vec<CreateCustomerInput>,
    ) -> async_graphql::Result<Vec<Customer>> {
        let store = store(ctx);
        let news = parse_all(ctx, &input, store.limits.max_bulk_rows, "customers", |c| {
            c.parse().map_err(bad_input)
        })?;
        let created = store.customers(view(ctx)).create_many(news).await.gql()?;
        Ok(created.into_iter().map(Customer).collect())
    }

    /// Changes the given fields. `NOT_FOUND` when no customer has this id.
    /// A customer changes its own `name` and `phone` only.
    #[graphql(guard = "MutationGuard::writers_and_customers()")]
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer to change.")] id: ID,
        #[graphql(desc = "The fields to change.")] input: UpdateCustomerInput,
    ) -> async_graphql::Result<Customer> {
        customer_sets(
            ctx,
            input.email.is_none(),
            "a customer may change its own `name` and `phone` only",
        )?;
        let id = parse_id(&id, "customer")?;
        let patch = input.parse()?;
        Ok(Customer(
            store(ctx)
                .customers(view(ctx))
                .update(id, patch)
                .await
                .gql()?,
        ))
    }

    /// Deletes a customer and its orders. `NOT_FOUND` when absent.
    #[graphql(guard = "MutationGuard::writers()")]
    async fn delete_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer to delete.")] id: ID,
    ) -> async_graphql::Result<bool> {
        let id = parse_id(&id, "customer")?;
        store(ctx).customers(view(ctx)).delete(id).await.gql()?;
        Ok(true)
    }
}
