use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use service::model;
use service::money::Money;

use super::aggregates::OrderAggregate;
use super::connection::OrderConnection;
use super::wheres::{OrderOrderBy, OrderWhere};
use crate::graphql::runtime::error::{Code, ServiceResultExt, gql_error};
use crate::graphql::schema::loaders::{AggregateOf, CustomerId, Hashed, Level, OrdersOf, StatsOf};
use crate::graphql::schema::scalars::{DateTime, Decimal, to_id, to_int};
use crate::graphql::schema::types::lists::{self, DEFAULT_NESTED_PAGE};
use crate::graphql::schema::{loader, view};

/// A customer of the shop.
#[derive(Clone, Debug)]
pub struct Customer(pub model::Customer);

/// A customer of the shop.
#[Object]
impl Customer {
    /// The primary key in decimal, e.g. "42".
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }

    /// 1 to 100 characters.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Unique; stored and returned lower-cased.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// Optional phone number.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    /// When the customer was created (UTC).
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// The customer's orders matching `where`, in `orderBy`'s order (newest
    /// first when it is not given: `createdAt` descending, then `id`
    /// descending). Loaded for all customers of a page in one statement.
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The first rows of the page, 0 to 100 (10 when neither `first` nor `last` is given)."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after the order with this cursor (an `endCursor` or an edge's `cursor`)."
        )]
        after: Option<String>,
        #[graphql(
            desc = "The last rows of the page, 0 to 100: a previous page, with `before`. Not together with `first`."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "End before the order with this cursor (a `startCursor` or an edge's `cursor`)."
        )]
        before: Option<String>,
        #[graphql(name = "where", desc = "Only the orders matching this condition.")]
        where_: Option<Box<OrderWhere>>,
        #[graphql(
            desc = "Sort keys in order; the id is appended as the last key. Default: `[CREATED_AT_DESC, ID_DESC]`."
        )]
        order_by: Option<Vec<OrderOrderBy>>,
    ) -> async_graphql::Result<OrderConnection> {
        // Boxed, so the future of every other field of a customer stays
        // small (async-graphql moves the largest field's future for each).
        let customer_id = self.0.id;
        Box::pin(async move {
            let list = lists::orders_list(None, where_.as_deref(), order_by.as_deref())?;
            let parent = Some(customer_id);
            let page = lists::page(
                first,
                last,
                after.as_deref(),
                before.as_deref(),
                DEFAULT_NESTED_PAGE,
                || lists::orders_scope(&list, view(ctx), parent),
            )?;
            let list = Arc::new(list);
            let page = loader(ctx)
                .load_one(OrdersOf {
                    customer_id,
                    level: Hashed::new(Level {
                        list: list.clone(),
                        page,
                    }),
                })
                .await
                .gql()?
                .unwrap_or_default();
            Ok(OrderConnection { page, list, parent })
        })
        .await
    }

    /// Count, sum, mean, minimum and maximum of the totals of the
    /// customer's orders that `where` selects (one statement for a page of
    /// customers).
    async fn orders_aggregate(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where", desc = "Only the orders matching this condition.")]
        where_: Option<Box<OrderWhere>>,
    ) -> async_graphql::Result<OrderAggregate> {
        let customer_id = self.0.id;
        Box::pin(async move {
            let list = lists::orders_list(None, where_.as_deref(), None)?;
            let totals = loader(ctx)
                .load_one(AggregateOf {
                    customer_id,
                    filter: Hashed::new(list.filter),
                })
                .await
                .gql()?
                .unwrap_or_default();
            Ok(OrderAggregate(totals))
        })
        .await
    }

    /// How many orders the customer has.
    async fn order_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let stats = loader(ctx).load_one(StatsOf(self.0.id)).await.gql()?;
        to_int(stats.map(|s| s.order_count).unwrap_or_default())
    }

    /// Sum of all its orders' totals; "0.00" when it has none.
    async fn total_spent(&self, ctx: &Context<'_>) -> async_graphql::Result<Decimal> {
        let stats = loader(ctx).load_one(StatsOf(self.0.id)).await.gql()?;
        Ok(Decimal(stats.map(|s| s.total_spent).unwrap_or(Money::ZERO)))
    }
}

/// One row of the spending ranking; the customer comes along when the row
/// was read with it (a live ranking), else through the request's loader.
pub struct CustomerSpending(pub model::Spending, pub Option<model::Customer>);

/// One row of the spending ranking: a customer and its aggregates.
#[Object]
impl CustomerSpending {
    /// The ranked customer.
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Customer> {
        match &self.1 {
            Some(customer) => Ok(Customer(customer.clone())),
            None => load_customer(ctx, self.0.customer_id).await,
        }
    }

    /// Sum of the customer's order totals.
    async fn total_spent(&self) -> Decimal {
        Decimal(self.0.total_spent)
    }

    /// Number of the customer's orders.
    async fn order_count(&self) -> async_graphql::Result<i32> {
        to_int(self.0.order_count)
    }
}

/// The customer a row refers to, through the request's loader (one batch
/// for the whole level). `NOT_FOUND` when it was deleted meanwhile.
pub async fn load_customer(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Customer> {
    loader(ctx)
        .load_one(CustomerId(id))
        .await
        .gql()?
        .map(Customer)
        .ok_or_else(|| gql_error(Code::NotFound, format!("customer {id} no longer exists")))
}
