//! Lookups several services and writers share: which customers exist, and
//! each customer's order count and total.

use std::collections::{HashMap, HashSet};

use entity::{customer, customer_stats};
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

/// Order count and total per customer, read from `customer_stats` (kept by
/// triggers) in one statement per bind-limit chunk. Customers without a row
/// are left out.
pub async fn stats_for_customers<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<HashMap<i64, CustomerStats>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_insert(conn.get_database_backend(), 1) / 2) {
        let rows = customer_stats::Entity::find()
            .filter(customer_stats::Column::CustomerId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        for r in rows {
            out.insert(
                r.customer_id,
                CustomerStats {
                    order_count: r.order_count,
                    total_spent: Money::from_cents(r.total_cents),
                },
            );
        }
    }
    Ok(out)
}
