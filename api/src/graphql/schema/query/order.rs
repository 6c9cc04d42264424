use async_graphql::{Context, ID, Object};

use crate::graphql::runtime::db_gate::gated;
use crate::graphql::runtime::error::ServiceResultExt;
use crate::graphql::schema::loaders::OrderId;
use crate::graphql::schema::scalars::{cursor, page_request, parse_id};

/// Orders in a page when neither `first` nor `last` is given.
const DEFAULT_ORDERS_PAGE: u64 = 20;
use crate::graphql::schema::types::connection::OrderTotal;
use crate::graphql::schema::types::inputs::OrderFilter;
use crate::graphql::schema::types::{Order, OrderConnection};
use crate::graphql::schema::{loader, store, view};

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// One order by id; null when absent.
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's id.")] id: ID,
    ) -> async_graphql::Result<Option<Order>> {
        let id = parse_id(&id, "order")?;
        Ok(loader(ctx).load_one(OrderId(id)).await.gql()?.map(Order))
    }

    /// Orders newest first (`createdAt` descending, then `id` descending),
    /// with keyset pagination: `first`/`after` for the next (older) page,
    /// `last`/`before` for the previous (newer) one.
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The first rows of the page, 0 to 100 (20 when neither `first` nor `last` is given)."
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
        #[graphql(desc = "Only orders matching every given condition.")] filter: Option<
            OrderFilter,
        >,
    ) -> async_graphql::Result<OrderConnection> {
        let after = after.as_deref().map(cursor::parse_order).transpose()?;
        let before = before.as_deref().map(cursor::parse_order).transpose()?;
        let request = page_request(first, last, after, before, DEFAULT_ORDERS_PAGE)?;
        let filter = filter.unwrap_or_default().parse()?;
        let page = gated(ctx, store(ctx).orders(view(ctx)).list(&filter, request))
            .await
            .gql()?;
        Ok(OrderConnection {
            page,
            total: OrderTotal::Matching(filter),
        })
    }
}
