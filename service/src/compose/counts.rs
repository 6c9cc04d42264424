//! Counts of composed queries (`totalCount`): of one list, and of each
//! parent customer's orders in one grouped statement.

use std::collections::{BTreeSet, HashMap};

use entity::{customer_stats, order};
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Func};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Select};

use super::joined::customers_where;
use super::sql::order_condition;
use super::{CustomerField, OrderField, Where};
use crate::error::Result;
use crate::view::Seen;

/// How many customers `filter` selects (under its view).
pub async fn count_customers<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<CustomerField>>,
) -> Result<u64> {
    Ok(customers_where(db.get_database_backend(), filter, false)
        .count(db)
        .await?)
}

/// How many orders `filter` selects (under its view): from the kept
/// aggregates when the view sees everything and the filter has no
/// condition (see [`super::answered_by_stats`]).
pub async fn count_orders<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<OrderField>>,
) -> Result<u64> {
    if filter.everything().is_some() && super::answered_by_stats(filter.get()) {
        let total = customer_stats::Entity::find()
            .select_only()
            .column_as(
                // SUM of a bigint is numeric on PostgreSQL: back to bigint.
                Expr::from(Func::cast_as(
                    Func::coalesce([
                        Expr::col(customer_stats::Column::OrderCount).sum(),
                        Expr::val(0i64),
                    ]),
                    Alias::new("BIGINT"),
                )),
                "n",
            )
            .into_tuple::<i64>()
            .one(db)
            .await?
            .unwrap_or(0);
        return Ok(u64::try_from(total).unwrap_or(0));
    }
    Ok(order::Entity::find()
        .filter(order_condition(db.get_database_backend(), filter.get()))
        .count(db)
        .await?)
}

/// How many of each customer's orders `filter` selects (under its view),
/// in one grouped statement for all of them.
pub async fn count_orders_of_customers<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<OrderField>>,
    parents: &[i64],
) -> Result<HashMap<i64, u64>> {
    let Some((ids, mut out)) = each_parent(parents, 0) else {
        return Ok(HashMap::new());
    };
    let select = order::Entity::find()
        .select_only()
        .column(order::Column::CustomerId)
        .column_as(Expr::col((order::Entity, order::Column::Id)).count(), "n");
    let rows: Vec<(i64, i64)> = grouped_by_customer(db, filter, ids, select)
        .into_tuple()
        .all(db)
        .await?;
    for (id, n) in rows {
        out.insert(id, u64::try_from(n).unwrap_or(0));
    }
    Ok(out)
}

/// The distinct `parents`, and each with `zero`; `None` when there are none.
pub(crate) fn each_parent<T: Clone>(
    parents: &[i64],
    zero: T,
) -> Option<(BTreeSet<i64>, HashMap<i64, T>)> {
    let ids: BTreeSet<i64> = parents.iter().copied().collect();
    let out = ids.iter().map(|id| (*id, zero.clone())).collect();
    (!ids.is_empty()).then_some((ids, out))
}

/// `select` over the orders of the customers `ids` that `filter` selects
/// (under its view), grouped by customer (its first column).
pub(crate) fn grouped_by_customer<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<OrderField>>,
    ids: BTreeSet<i64>,
    select: Select<order::Entity>,
) -> Select<order::Entity> {
    select
        .filter(order_condition(db.get_database_backend(), filter.get()))
        .filter(Expr::col((order::Entity, order::Column::CustomerId)).is_in(ids))
        .group_by(order::Column::CustomerId)
}
