//! The statements behind the aggregates: one for an answer, one grouped
//! statement for a page of customers, one reading what a grouping needs of
//! every matching order.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::order;
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Func};
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use super::{Group, Grouping, OrderFacts, Totals, group};
use crate::compose::sql::order_condition;
use crate::compose::{OrderField, Where};
use crate::error::Result;
use crate::model::OrderStatus;
use crate::view::View;

/// `COUNT(*), SUM, MIN, MAX` of `total_cents`, the sum as a bigint on both
/// backends.
fn totals_columns<Q: QuerySelect>(q: Q) -> Q {
    let total = || Expr::col((order::Entity, order::Column::TotalCents));
    q.column_as(Expr::col((order::Entity, order::Column::Id)).count(), "n")
        .column_as(
            Expr::from(Func::cast_as(
                Func::coalesce([total().sum(), Expr::val(0i64)]),
                Alias::new("BIGINT"),
            )),
            "s",
        )
        .column_as(total().min(), "lo")
        .column_as(total().max(), "hi")
}

/// `COUNT`, `SUM`, `MIN`, `MAX` as a statement returns them.
type TotalsRow = (i64, i64, Option<i64>, Option<i64>);

/// The same, after the customer's id.
type CustomerTotalsRow = (i64, i64, i64, Option<i64>, Option<i64>);

fn totals((count, sum_cents, min_cents, max_cents): TotalsRow) -> Totals {
    Totals {
        count,
        sum_cents,
        min_cents,
        max_cents,
    }
}

/// The aggregates of the orders `filter` selects under `view`.
pub async fn aggregate<C: ConnectionTrait>(
    db: &C,
    view: &View,
    filter: &Where<OrderField>,
) -> Result<Totals> {
    let row = totals_columns(order::Entity::find().select_only())
        .apply_if(view.order_condition(), |q, c| q.filter(c))
        .filter(order_condition(db.get_database_backend(), filter))
        .into_tuple::<TotalsRow>()
        .one(db)
        .await?;
    Ok(row.map(totals).unwrap_or_default())
}

/// The aggregates of each customer's orders that `filter` selects, in one
/// grouped statement for all of them (zeros for a customer without any).
pub async fn aggregates_of_customers<C: ConnectionTrait>(
    db: &C,
    view: &View,
    filter: &Where<OrderField>,
    parents: &[i64],
) -> Result<HashMap<i64, Totals>> {
    let ids: BTreeSet<i64> = parents.iter().copied().collect();
    let mut out: HashMap<i64, Totals> = ids.iter().map(|id| (*id, Totals::default())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<CustomerTotalsRow> = totals_columns(
        order::Entity::find()
            .select_only()
            .column(order::Column::CustomerId),
    )
    .apply_if(view.order_condition(), |q, c| q.filter(c))
    .filter(order_condition(db.get_database_backend(), filter))
    .filter(Expr::col((order::Entity, order::Column::CustomerId)).is_in(ids))
    .group_by(order::Column::CustomerId)
    .into_tuple()
    .all(db)
    .await?;
    for (id, n, sum, lo, hi) in rows {
        out.insert(id, totals((n, sum, lo, hi)));
    }
    Ok(out)
}

/// The groups of the orders `filter` selects under `view`: one statement
/// reads what the grouping needs of each matching order.
pub async fn grouped<C: ConnectionTrait>(
    db: &C,
    view: &View,
    filter: &Where<OrderField>,
    grouping: &Grouping,
) -> Result<Vec<Group>> {
    let rows: Vec<(OrderStatus, i64, i64, DateTime<Utc>)> = order::Entity::find()
        .select_only()
        .column(order::Column::Status)
        .column(order::Column::CustomerId)
        .column(order::Column::TotalCents)
        .column(order::Column::CreatedAt)
        .apply_if(view.order_condition(), |q, c| q.filter(c))
        .filter(order_condition(db.get_database_backend(), filter))
        .into_tuple()
        .all(db)
        .await?;
    Ok(group(
        rows.into_iter().map(
            |(status, customer_id, total_cents, created_at)| OrderFacts {
                status,
                customer_id,
                total_cents,
                created_at,
            },
        ),
        grouping,
    ))
}
