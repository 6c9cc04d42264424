use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use crate::graphql::runtime::db_gate::gated;
use crate::graphql::runtime::error::ServiceResultExt;
use crate::graphql::schema::loaders::OrderId;
use crate::graphql::schema::scalars::parse_id;
use crate::graphql::schema::types::inputs::OrderFilter;
use crate::graphql::schema::types::lists::{self, DEFAULT_ROOT_PAGE};
use crate::graphql::schema::types::wheres::{OrderOrderBy, OrderWhere};
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

    /// Orders matching `filter` and `where`, in `orderBy`'s order (newest
    /// first when it is not given: `createdAt` descending, then `id`
    /// descending), with keyset pagination: `first`/`after` for the next
    /// page, `last`/`before` for the previous one. A cursor is valid only
    /// for the list (`where`, `filter`, `orderBy`) it came from.
    #[allow(clippy::too_many_arguments)]
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
        #[graphql(
            desc = "Only orders matching every given condition. `where` composes any condition; given together, both must hold."
        )]
        filter: Option<OrderFilter>,
        #[graphql(
            name = "where",
            desc = "Only orders matching this condition (`and`, `or`, `not`, operators on every field, their customer)."
        )]
        where_: Option<Box<OrderWhere>>,
        #[graphql(
            desc = "Sort keys in order; the id is appended as the last key. Default: `[CREATED_AT_DESC, ID_DESC]`."
        )]
        order_by: Option<Vec<OrderOrderBy>>,
    ) -> async_graphql::Result<OrderConnection> {
        // Boxed, so the futures of the other root fields stay small.
        Box::pin(async move {
            let list = lists::orders_list(filter.as_ref(), where_.as_deref(), order_by.as_deref())?;
            let page = lists::page(
                first,
                last,
                after.as_deref(),
                before.as_deref(),
                DEFAULT_ROOT_PAGE,
                || lists::orders_scope(&list, view(ctx), None),
            )?;
            let page = gated(
                ctx,
                store(ctx)
                    .orders(view(ctx))
                    .page_where(&list.filter, &list.sort, &page),
            )
            .await
            .gql()?;
            Ok(OrderConnection {
                page,
                list: Arc::new(list),
                parent: None,
            })
        })
        .await
    }
}
