use async_graphql::{Context, ID, Object};

use crate::graphql::error::ServiceResultExt;
use crate::graphql::loaders::OrderId;
use crate::graphql::scalars::{cursor, page_complexity, page_size, parse_id};
use crate::graphql::types::connection::OrderTotal;
use crate::graphql::types::inputs::OrderFilter;
use crate::graphql::types::{Order, OrderConnection};
use crate::graphql::{loader, store};

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// One order by id; null when absent.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Order>> {
        let id = parse_id(&id, "order")?;
        Ok(loader(ctx).load_one(OrderId(id)).await.gql()?.map(Order))
    }

    /// Orders newest first (`createdAt` descending, then `id` descending),
    /// with keyset pagination.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "Page size, 0 to 100.")] first: i32,
        #[graphql(desc = "Cursor of the order after which the page starts.")] after: Option<String>,
        filter: Option<OrderFilter>,
    ) -> async_graphql::Result<OrderConnection> {
        let first = page_size(first)?;
        let after_key = after.as_deref().map(cursor::parse_order).transpose()?;
        let filter = filter.unwrap_or_default().parse()?;
        let page = store(ctx)
            .orders()
            .list(&filter, first, after_key)
            .await
            .gql()?;
        Ok(OrderConnection {
            page,
            has_previous_page: after_key.is_some(),
            total: OrderTotal::Matching(filter),
        })
    }
}
