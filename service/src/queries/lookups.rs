//! Lookups several services and writers share: which customers exist, and
//! each customer's order count and total.

use std::collections::{HashMap, HashSet};

use entity::customer;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use sea_orm::{DbBackend, Statement, Value};

use super::columns::{Row, decode_all};

use crate::db::rows_per_insert;
use crate::error::Result;
use crate::model::{Customer, CustomerStats, Order, OrderStatus};
use crate::money::Money;
use crate::view::{OrderIds, Seen};

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
/// triggers). Customers without a row, or not seen, are left out.
pub async fn stats_for_customers<C: ConnectionTrait>(
    conn: &C,
    ids: &Seen<Vec<i64>>,
) -> Result<HashMap<i64, CustomerStats>> {
    let rows = rows_by_keys(
        conn,
        "SELECT customer_id, order_count, total_cents FROM customer_stats",
        "customer_id",
        ids.get(),
        |r| {
            Ok((
                r.get::<i64>(0)?,
                CustomerStats {
                    order_count: r.get(1)?,
                    total_spent: Money::from_cents(r.get(2)?),
                },
            ))
        },
    )
    .await?;
    Ok(rows.into_iter().collect())
}

/// `SELECT <columns> FROM <table> WHERE <key> IN <ids>` as one statement per
/// bind-limit chunk: an array parameter on PostgreSQL (`= ANY($1)`, the
/// same text whatever the number of ids), a list of placeholders elsewhere.
/// The SQL is written here, not built by the query builder on every call:
/// these run for every loader batch.
///
/// One id on PostgreSQL is `<key> = $1`: PostgreSQL re-plans `= ANY($1)` on
/// every execution (its generic plan, estimated for an array of unknown
/// length, never looks cheaper than a plan for the actual array), which
/// doubles the database's work for a single-row lookup; `= $1` runs on the
/// plan prepared once.
fn by_keys(backend: DbBackend, select: &str, key: &str, ids: &[i64]) -> Vec<Statement> {
    match backend {
        DbBackend::Postgres if ids.len() == 1 => vec![Statement::from_sql_and_values(
            backend,
            format!("{select} WHERE {key} = $1"),
            [Value::from(ids[0])],
        )],
        DbBackend::Postgres => vec![Statement::from_sql_and_values(
            backend,
            format!("{select} WHERE {key} = ANY($1)"),
            [Value::from(ids.to_vec())],
        )],
        _ => ids
            .chunks(rows_per_insert(backend, 1) / 2)
            .map(|chunk| {
                let marks = vec!["?"; chunk.len()].join(", ");
                Statement::from_sql_and_values(
                    backend,
                    format!("{select} WHERE {key} IN ({marks})"),
                    chunk.iter().map(|id| Value::from(*id)),
                )
            })
            .collect(),
    }
}

/// Runs [`by_keys`]' statements and decodes each row with `decode`.
async fn rows_by_keys<C: ConnectionTrait, T>(
    conn: &C,
    select: &str,
    key: &str,
    ids: &[i64],
    decode: impl Fn(&Row<'_>) -> std::result::Result<T, sea_orm::DbErr>,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    for stmt in by_keys(conn.get_database_backend(), select, key, ids) {
        let rows = conn.query_all_raw(stmt).await?;
        out.extend(decode_all(&rows, &decode)?);
    }
    Ok(out)
}

/// Customers by id (absent or unseen ids are left out), decoded by column
/// position.
pub async fn customers_by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &Seen<Vec<i64>>,
) -> Result<Vec<Customer>> {
    rows_by_keys(
        conn,
        "SELECT id, name, email, phone, created_at FROM customers",
        "id",
        ids.get(),
        |r| {
            Ok(Customer {
                id: r.get(0)?,
                name: r.get(1)?,
                email: r.get(2)?,
                phone: r.get(3)?,
                created_at: r.get(4)?,
            })
        },
    )
    .await
}

/// Orders by id (absent ids, and orders the view does not see, are left
/// out), decoded by column position. The statement is the same for every
/// view (one prepared plan): the view's rule applies to the rows found.
pub async fn orders_by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &Seen<OrderIds>,
) -> Result<Vec<Order>> {
    let rows = rows_by_keys(
        conn,
        "SELECT id, customer_id, total_cents, status, created_at FROM orders",
        "id",
        &ids.get().0,
        decode_order,
    )
    .await?;
    Ok(ids.keep(rows))
}

/// An `orders` row selected as `id, customer_id, total_cents, status, created_at`.
pub fn decode_order(r: &Row<'_>) -> std::result::Result<Order, sea_orm::DbErr> {
    let status: String = r.get(3)?;
    Ok(Order {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        total: Money::from_cents(r.get(2)?),
        status: OrderStatus::from_name(&status)
            .ok_or_else(|| sea_orm::DbErr::Type(format!("unknown order status {status:?}")))?,
        created_at: r.get(4)?,
    })
}
