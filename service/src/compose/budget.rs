//! The row budget (`QUERY_ROW_BUDGET`): how many rows a composed read may
//! make the database read, checked before it runs.
//!
//! SQLite has no planner estimates, so the contract's rule there is
//! structural: a read is within the budget when an index serves its shape
//! (its equality conditions, then its order, as a prefix: see [`shape`]),
//! or when the table it scans has at most the budget's rows. PostgreSQL's
//! estimate from the planner builds on the same shape (see the module
//! `shape`) and is not written yet.
//!
//! [`shape`]: super::shape

use sea_orm::{ConnectionTrait, DbErr, Statement};

use super::shape::{Shape, indexes};

/// Why a read is over the budget, for the refusal a caller sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverBudget {
    /// The rows the read would make the database read, as estimated.
    pub estimated_rows: u64,
    pub budget: u64,
    /// A runnable `CREATE INDEX` that would bring it under the budget.
    pub suggested_index: Option<String>,
}

/// The structural rule (SQLite's, and computable on PostgreSQL from the
/// same catalog): `Ok(())` when an index serves `shape` now or its table
/// has at most `budget` rows.
pub async fn structural_check<C: ConnectionTrait>(
    db: &C,
    shape: &Shape,
    budget: u64,
) -> Result<Result<(), OverBudget>, DbErr> {
    let all = indexes(db, shape.table).await?;
    if all.iter().any(|index| shape.served_by(index)) {
        return Ok(Ok(()));
    }
    let backend = db.get_database_backend();
    // The table's name is one of the shape's own constants, never input.
    let count = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM {}", shape.table),
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    let rows = u64::try_from(count).unwrap_or(0);
    if rows <= budget {
        return Ok(Ok(()));
    }
    Ok(Err(OverBudget {
        estimated_rows: rows,
        budget,
        suggested_index: shape.suggested_index(),
    }))
}
