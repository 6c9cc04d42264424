//! The row budget's rule where no planner estimates exist (SQLite), and
//! for one shape read from the catalog now.

use sea_orm::{ConnectionTrait, DbErr};

use super::super::Where;
use super::super::shape::Shape;
use super::catalog::Catalog;
use super::{OverBudget, Read, Within, whole};

/// SQLite: each read within the budget when an index serves its shape or
/// its table has at most the budget's rows.
pub(super) fn structural(
    catalog: &Catalog,
    reads: &[Read],
    budget: u64,
) -> Result<Within, OverBudget> {
    let mut most = 0u64;
    for read in reads {
        let (shape, count) = match read {
            Read::Customers { filter, sort, .. } => (Shape::of_customers(filter, sort), false),
            Read::Orders { filter, sort, .. } => (Shape::of_orders(filter, sort, false), false),
            Read::OrdersPerCustomer { filter, sort, .. } => {
                (Shape::of_orders(filter, sort, true), false)
            }
            Read::CountCustomers { filter } => (Shape::of_customers_count(filter), true),
            Read::CountOrders { filter } if !super::super::answered_by_stats(filter) => {
                (Shape::of_orders_count(filter, false), true)
            }
            Read::AggregateOrders {
                kept: super::Kept::CustomerStats,
                ..
            } => (Shape::of_customers_count(&Where::And(Vec::new())), true),
            Read::AggregateOrders { filter, .. } => (Shape::of_orders_count(filter, false), true),
            Read::CountOrdersPerCustomer { filter, .. }
                if !super::super::answered_by_stats(filter) =>
            {
                (Shape::of_orders_count(filter, true), true)
            }
            Read::AggregateOrdersPerCustomer { filter, .. } => {
                (Shape::of_orders_count(filter, true), true)
            }
            Read::CountOrders { .. } | Read::CountOrdersPerCustomer { .. } => continue,
        };
        let table = if shape.table == "customers" {
            &catalog.customers
        } else {
            &catalog.orders
        };
        let rows = whole(table.rows);
        let served = table.indexes.iter().any(|index| {
            if count {
                shape.seeks(index)
            } else {
                shape.served_by(index)
            }
        });
        if !served && rows > budget {
            return Err(OverBudget {
                estimated_rows: rows,
                budget,
                suggested_index: shape.suggested_index(),
            });
        }
        most = Ord::max(most, if served { 0 } else { rows });
    }
    Ok(Within {
        estimated_rows: most,
        planned: false,
    })
}

/// The structural rule for one shape, read from the catalog now: `Ok(())`
/// when an index serves it or its table has at most `budget` rows.
pub async fn structural_check<C: ConnectionTrait>(
    db: &C,
    shape: &Shape,
    budget: u64,
) -> Result<Result<(), OverBudget>, DbErr> {
    let catalog = Catalog::read(db).await?;
    let table = if shape.table == "customers" {
        &catalog.customers
    } else {
        &catalog.orders
    };
    if table.indexes.iter().any(|index| shape.served_by(index)) {
        return Ok(Ok(()));
    }
    let rows = whole(table.rows);
    if rows <= budget {
        return Ok(Ok(()));
    }
    Ok(Err(OverBudget {
        estimated_rows: rows,
        budget,
        suggested_index: shape.suggested_index(),
    }))
}
