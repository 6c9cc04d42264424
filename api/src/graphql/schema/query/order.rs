use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use crate::graphql::runtime::db_gate::gated;
use crate::graphql::runtime::error::ServiceResultExt;
use crate::graphql::schema::loaders::OrderId;
use crate::graphql::schema::scalars::parse_id;
use crate::graphql::schema::types::aggregates::{
    self, OrderAggregate, OrderGroup, OrderGroupHaving, OrderGroupKey, OrderGroupOrderBy,
};
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

    /// Count, sum, mean, minimum and maximum of the totals of the orders
    /// `where` selects (all orders without it), at one committed state.
    async fn orders_aggregate(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where", desc = "Only the orders matching this condition.")]
        where_: Option<Box<OrderWhere>>,
    ) -> async_graphql::Result<OrderAggregate> {
        Box::pin(async move {
            let list = lists::orders_list(None, where_.as_deref(), None)?;
            let totals = gated(
                ctx,
                store(ctx)
                    .orders(view(ctx))
                    .aggregate_where(&list.filter, wants_extremes(ctx)),
            )
            .await
            .gql()?;
            Ok(OrderAggregate(totals))
        })
        .await
    }

    /// The orders `where` selects in groups by status, customer and a
    /// calendar period of `timeZone`, with their aggregates; only groups
    /// with at least one order. `orderBy` keys apply in order, then every
    /// group key ascending; `first` (1 to 1000) returns the first groups
    /// of that order.
    #[allow(clippy::too_many_arguments)]
    async fn orders_grouped(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where", desc = "Only the orders matching this condition.")]
        where_: Option<Box<OrderWhere>>,
        #[graphql(
            desc = "1 to 3 distinct keys, at most one of DAY, WEEK, MONTH, YEAR."
        )]
        group_by: Vec<OrderGroupKey>,
        #[graphql(
            default = "UTC",
            desc = "A name of the IANA time zone database (`Europe/Berlin`; links such as `US/Eastern` too) whose calendar the periods follow."
        )]
        time_zone: String,
        #[graphql(desc = "Only groups whose aggregates match.")] having: Option<
            Box<OrderGroupHaving>,
        >,
        #[graphql(desc = "Sort keys in order, then every group key ascending.")] order_by: Option<
            Vec<OrderGroupOrderBy>,
        >,
        #[graphql(
            default_with = "service::aggregates::DEFAULT_GROUPS as i32",
            desc = "How many groups, 1 to 1000."
        )]
        first: i32,
    ) -> async_graphql::Result<Vec<OrderGroup>> {
        Box::pin(async move {
            let grouping = aggregates::grouping(
                &group_by,
                &time_zone,
                having.as_deref(),
                order_by.as_deref(),
                first,
            )?;
            let list = lists::orders_list(None, where_.as_deref(), None)?;
            let groups = gated(
                ctx,
                store(ctx).orders(view(ctx)).grouped_where(
                    &list.filter,
                    &grouping,
                    wants_extremes(ctx),
                ),
            )
            .await
            .gql()?;
            Ok(groups.into_iter().map(OrderGroup).collect())
        })
        .await
    }
}

/// Whether the selection asks for `min` or `max` (which only the orders
/// themselves answer).
fn wants_extremes(ctx: &Context<'_>) -> bool {
    let fields = ctx.look_ahead();
    fields.field("min").exists() || fields.field("max").exists()
}
