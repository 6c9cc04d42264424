//! The statements behind the aggregates: one for an answer, one grouped
//! statement for a page of customers, one reading what a grouping needs of
//! every matching order.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::order;
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Func};
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{Group, GroupId, GroupOrder, Grouping, OrderFacts, Totals, group};
use crate::compose::counts::{each_parent, grouped_by_customer};
use crate::compose::order::Dir;
use crate::compose::sql::order_condition;
use crate::compose::{Op, Ops};
use crate::compose::{OrderField, Where};
use crate::error::Result;
use crate::model::OrderStatus;
use crate::money::Money;
use crate::view::{Everything, Seen};

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

/// The aggregates of the orders `filter` selects (under its view).
pub async fn aggregate<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<OrderField>>,
) -> Result<Totals> {
    let row = totals_columns(order::Entity::find().select_only())
        .filter(order_condition(db.get_database_backend(), filter.get()))
        .into_tuple::<TotalsRow>()
        .one(db)
        .await?;
    Ok(row.map(totals).unwrap_or_default())
}

/// The aggregates of each customer's orders that `filter` selects, in one
/// grouped statement for all of them (zeros for a customer without any).
pub async fn aggregates_of_customers<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<OrderField>>,
    parents: &[i64],
) -> Result<HashMap<i64, Totals>> {
    let Some((ids, mut out)) = each_parent(parents, Totals::default()) else {
        return Ok(HashMap::new());
    };
    let select = totals_columns(
        order::Entity::find()
            .select_only()
            .column(order::Column::CustomerId),
    );
    let rows: Vec<CustomerTotalsRow> = grouped_by_customer(db, filter, ids, select)
        .into_tuple()
        .all(db)
        .await?;
    for (id, n, sum, lo, hi) in rows {
        out.insert(id, totals((n, sum, lo, hi)));
    }
    Ok(out)
}

/// The groups of the orders `filter` selects (under its view): one
/// statement reads what the grouping needs of each matching order.
pub async fn grouped<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<OrderField>>,
    grouping: &Grouping,
) -> Result<Vec<Group>> {
    let rows: Vec<(OrderStatus, i64, i64, DateTime<Utc>)> = order::Entity::find()
        .select_only()
        .column(order::Column::Status)
        .column(order::Column::CustomerId)
        .column(order::Column::TotalCents)
        .column(order::Column::CreatedAt)
        .filter(order_condition(db.get_database_backend(), filter.get()))
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

/// The customers' groups from the kept per-customer aggregates, `having`,
/// order and `first` applied in the statement: the article's query
/// (`count > 5`, by sum descending, first 10) walks the ranking index and
/// stops after its page.
pub(crate) async fn by_customer<C: ConnectionTrait>(
    db: &C,
    _: Everything,
    grouping: &Grouping,
) -> Result<HashMap<GroupId, Totals>> {
    use entity::customer_stats::{Column, Entity};
    use sea_orm::sea_query::{Expr, ExprTrait as _, Order, Query, SimpleExpr};

    let n = || Expr::col(Column::OrderCount);
    let t = || Expr::col(Column::TotalCents);
    // The rounded mean of non-negative totals, in integers on both backends.
    let avg = || -> Expr { t().mul(2).add(n()).div(n().mul(2)) };
    fn ops<V: Clone + Into<sea_orm::Value>>(e: &dyn Fn() -> Expr, ops: &Ops<V>) -> Vec<SimpleExpr> {
        ops.0
            .iter()
            .map(|op| match op {
                Op::Eq(v) => e().eq(v.clone()),
                Op::Ne(v) => e().ne(v.clone()),
                Op::Gt(v) => e().gt(v.clone()),
                Op::Gte(v) => e().gte(v.clone()),
                Op::Lt(v) => e().lt(v.clone()),
                Op::Lte(v) => e().lte(v.clone()),
                Op::In(vs) => e().is_in(vs.iter().cloned()),
                Op::NotIn(vs) => e().is_not_in(vs.iter().cloned()),
            })
            .collect()
    }
    let mut q = Query::select();
    q.columns([Column::CustomerId, Column::OrderCount, Column::TotalCents])
        .from(Entity)
        .and_where(n().gt(0));
    let having = &grouping.having;
    let cents = |o: &Ops<Money>| -> Ops<i64> {
        let c = |m: &Money| m.cents();
        Ops(o
            .0
            .iter()
            .map(|op| match op {
                Op::Eq(v) => Op::Eq(c(v)),
                Op::Ne(v) => Op::Ne(c(v)),
                Op::Gt(v) => Op::Gt(c(v)),
                Op::Gte(v) => Op::Gte(c(v)),
                Op::Lt(v) => Op::Lt(c(v)),
                Op::Lte(v) => Op::Lte(c(v)),
                Op::In(vs) => Op::In(vs.iter().map(c).collect()),
                Op::NotIn(vs) => Op::NotIn(vs.iter().map(c).collect()),
            })
            .collect())
    };
    let mut conditions = Vec::new();
    if let Some(o) = &having.count {
        conditions.extend(ops(&n, o));
    }
    if let Some(o) = &having.sum {
        conditions.extend(ops(&t, &cents(o)));
    }
    if let Some(o) = &having.avg {
        conditions.extend(ops(&avg, &cents(o)));
    }
    for c in conditions {
        q.and_where(c);
    }
    let dir = |d: Dir| match d {
        Dir::Asc => Order::Asc,
        Dir::Desc => Order::Desc,
    };
    for o in &grouping.order {
        let (e, d) = match *o {
            GroupOrder::Key(d) => (Expr::col(Column::CustomerId), d),
            GroupOrder::Count(d) => (n(), d),
            GroupOrder::Sum(d) => (t(), d),
            GroupOrder::Avg(d) => (avg(), d),
        };
        q.order_by_expr(e, dir(d));
    }
    q.order_by(Column::CustomerId, Order::Asc)
        .limit(grouping.first());
    let rows = db.query_all(&q).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get("", "customer_id")?;
        out.insert(
            GroupId {
                status: None,
                customer: Some(id),
                period: None,
            },
            Totals {
                count: row.try_get("", "order_count")?,
                sum_cents: row.try_get("", "total_cents")?,
                min_cents: None,
                max_cents: None,
            },
        );
    }
    Ok(out)
}
