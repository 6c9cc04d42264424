//! The subscription root. Events come from the instance's event bus (see
//! `service::events`): each field takes the items of each committed write
//! that match its arguments. `topCustomersChanged` reads a watcher shared
//! by every subscriber with the same arguments (see [`ranking`]).

mod feed;
pub mod ranking;

use std::sync::Arc;

use async_graphql::{Context, ID, Subscription};
use futures::Stream;
use service::events::Event;
use service::model;

use self::feed::Feed;
use self::ranking::{Rankings, WatchError};
use super::loaders::{CustomerId, StatsOf};
use super::query::ranking_arguments;
use super::scalars::parse_id;
use super::types::{Customer, CustomerSpending, Order};
use super::{loader, store, view};
use crate::graphql::runtime::Listening;
use crate::graphql::runtime::error::{Code, gql_error};

fn feed<'a>(ctx: &Context<'a>, field: &'static str) -> async_graphql::Result<Feed<'a>> {
    let events = store(ctx)
        .events
        .subscribe()
        .map_err(|e| gql_error(Code::ServiceUnavailable, e.to_string()))?;
    let listening = ctx.data_opt::<Listening>().cloned();
    if let Some(listening) = &listening {
        listening.set();
    }
    let traces = ctx
        .data_opt::<Arc<crate::telemetry::traces::Traces>>()
        .cloned();
    Ok(Feed::new(field, events, *view(ctx), loader(ctx), listening).traced(traces))
}

/// The items `pick` takes from the feed, as a stream.
fn items<'a, T: Send + 'a>(
    feed: Feed<'a>,
    pick: impl Fn(&Event, usize) -> Option<T> + Send + Sync + 'a,
) -> impl Stream<Item = async_graphql::Result<T>> + 'a {
    futures::stream::unfold((feed, pick), |(mut feed, pick)| async move {
        let item = feed.next(&pick).await?;
        Some((item, (feed, pick)))
    })
}

fn wanted(filter: Option<i64>, id: i64) -> bool {
    filter.is_none_or(|f| f == id)
}

#[derive(Default)]
pub struct SubscriptionRoot;

/// Live updates, over the WebSocket at `/graphql` (subprotocol
/// `graphql-transport-ws`). Events leave after their transaction commits and
/// carry the committed state; delivery is at most once: after a reconnect,
/// query the current state again.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Each order committed from now on (of that customer, when given), one
    /// message per order: a bulk insert's orders arrive in input order.
    async fn order_created<'a>(
        &self,
        ctx: &Context<'a>,
        #[graphql(desc = "Only this customer's orders.")] customer_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Order>> + 'a> {
        let customer = customer_id
            .map(|id| parse_id(&id, "customerId"))
            .transpose()?;
        Ok(items(
            feed(ctx, "orderCreated")?,
            move |event, i| match event {
                Event::OrdersCreated { orders } => orders
                    .get(i)
                    .filter(|o| wanted(customer, o.customer_id))
                    .map(|o| Order(o.clone())),
                _ => None,
            },
        ))
    }

    /// Each committed change of an order's total or status (of that
    /// customer's orders, when given).
    async fn order_updated<'a>(
        &self,
        ctx: &Context<'a>,
        #[graphql(desc = "Only this customer's orders.")] customer_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Order>> + 'a> {
        let customer = customer_id
            .map(|id| parse_id(&id, "customerId"))
            .transpose()?;
        Ok(items(
            feed(ctx, "orderUpdated")?,
            move |event, _| match event {
                Event::OrderUpdated { order } if wanted(customer, order.customer_id) => {
                    Some(Order(order.clone()))
                }
                _ => None,
            },
        ))
    }

    /// Each committed change of a customer's name, email or phone (of that
    /// customer, when given).
    async fn customer_updated<'a>(
        &self,
        ctx: &Context<'a>,
        #[graphql(desc = "Only this customer.")] id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Customer>> + 'a> {
        let only = id.map(|id| parse_id(&id, "id")).transpose()?;
        Ok(items(
            feed(ctx, "customerUpdated")?,
            move |event, _| match event {
                Event::CustomerUpdated { customer } if wanted(only, customer.id) => {
                    Some(Customer(customer.clone()))
                }
                _ => None,
            },
        ))
    }

    /// The ranking of `topCustomers` with these arguments at once, then
    /// again whenever any value in it changed (a renamed customer counts),
    /// at most once a second. Computed once per server instance for every
    /// subscriber with the same arguments.
    async fn top_customers_changed<'a>(
        &self,
        ctx: &Context<'a>,
        #[graphql(default = 10, desc = "How many, 1 to 100.")] limit: i32,
        #[graphql(default = 1, desc = "Least number of orders, 0 or more.")] min_orders: i32,
    ) -> async_graphql::Result<impl Stream<Item = Vec<CustomerSpending>> + 'a> {
        if !view(ctx).is_unrestricted() {
            return Err(gql_error(
                Code::Forbidden,
                "the spending ranking is not available to customers",
            ));
        }
        let (limit, min_orders) = ranking_arguments(limit, min_orders)?;
        let rankings = ctx.data_unchecked::<Arc<Rankings>>();
        let receiver = rankings.watch(limit, min_orders).map_err(|e| match e {
            WatchError::TooMany(_) => gql_error(Code::QueryTooComplex, e.to_string()),
            WatchError::Unavailable(_) => gql_error(Code::ServiceUnavailable, e.to_string()),
        })?;
        if let Some(listening) = ctx.data_opt::<Listening>() {
            listening.set();
        }
        let loader = loader(ctx);
        let active = feed::Active::new("topCustomersChanged");
        Ok(futures::stream::unfold(
            (receiver, true, active),
            move |(mut receiver, first, active)| async move {
                if first {
                    receiver.wait_for(Option::is_some).await.ok()?;
                } else {
                    receiver.changed().await.ok()?;
                }
                let ranked = receiver.borrow_and_update().clone()?;
                feed::forget(loader);
                loader
                    .feed_many(ranked.iter().map(|(_, c)| (CustomerId(c.id), c.clone())))
                    .await;
                loader
                    .feed_many(ranked.iter().map(|(s, _)| {
                        (
                            StatsOf(s.customer_id),
                            model::CustomerStats {
                                order_count: s.order_count,
                                total_spent: s.total_spent,
                            },
                        )
                    }))
                    .await;
                metrics::counter!("subscription_events_delivered_total", "field" => "topCustomersChanged")
                    .increment(1);
                let rows = ranked
                    .iter()
                    .map(|(s, c)| CustomerSpending(*s, Some(c.clone())))
                    .collect();
                Some((rows, (receiver, false, active)))
            },
        ))
    }
}
