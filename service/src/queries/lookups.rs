//! Lookups several services and writers share: which customers exist, and
//! each customer's order count and total.

use std::collections::{HashMap, HashSet};

use entity::{customer, order};
use sea_orm::sea_query::{Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::db::rows_per_insert;
use crate::error::Result;
use crate::model::CustomerStats;
use crate::money::Money;

/// Which of `ids` exist (one statement per bind-limit chunk).
pub async fn existing_ids<C: ConnectionTrait>(conn: &C, ids: &[i64]) -> Result<HashSet<i64>> {
    let mut found = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_insert(conn.get_database_backend(), 1) / 2) {
        let rows: Vec<i64> = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Order count and total per customer in one grouped statement (per
/// bind-limit chunk). Customers without orders are left out.
pub async fn stats_for_customers<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<HashMap<i64, CustomerStats>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_insert(conn.get_database_backend(), 1) / 2) {
        let rows: Vec<(i64, i64, i64)> = order::Entity::find()
            .select_only()
            .column(order::Column::CustomerId)
            .column_as(order::Column::Id.count(), "order_count")
            .column_as(sum_cents(), "total_cents")
            .filter(order::Column::CustomerId.is_in(chunk.iter().copied()))
            .group_by(order::Column::CustomerId)
            .into_tuple()
            .all(conn)
            .await?;
        for (id, count, cents) in rows {
            out.insert(
                id,
                CustomerStats {
                    order_count: count,
                    total_spent: Money::from_cents(cents),
                },
            );
        }
    }
    Ok(out)
}

/// `COALESCE(SUM(total_cents), 0)` as a 64-bit integer on every backend
/// (PostgreSQL's `SUM(bigint)` is `numeric`).
pub(crate) fn sum_cents() -> SimpleExpr {
    Func::cast_as(
        Func::coalesce([
            Expr::col((order::Entity, order::Column::TotalCents)).sum(),
            Expr::val(0i64),
        ]),
        sea_orm::sea_query::Alias::new("BIGINT"),
    )
    .into()
}
