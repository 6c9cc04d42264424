//! The spending ranking as SQL: a walk down `customer_stats`' ranking index
//! (total descending, id ascending), skipping customers with fewer orders
//! than asked, until `limit` rows. The aggregates are kept by triggers (the
//! fourth migration), so this reads `limit` rows or little more, instead of
//! grouping every order.

use entity::customer_stats;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::error::Result;
use crate::model::Spending;
use crate::money::Money;
use crate::view::Everything;

/// The customers with at least `min_orders` orders (all of them, at 0, with
/// `min_orders <= 0`), by total spent descending, ties by id ascending.
pub async fn ranking<C: ConnectionTrait>(
    conn: &C,
    _: Everything,
    limit: u64,
    min_orders: i64,
) -> Result<Vec<Spending>> {
    let mut query = customer_stats::Entity::find();
    if min_orders > 0 {
        query = query.filter(customer_stats::Column::OrderCount.gte(min_orders));
    }
    let rows = query
        .order_by_desc(customer_stats::Column::TotalCents)
        .order_by_asc(customer_stats::Column::CustomerId)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Spending {
            customer_id: r.customer_id,
            order_count: r.order_count,
            total_spent: Money::from_cents(r.total_cents),
        })
        .collect())
}
