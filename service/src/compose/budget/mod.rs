//! The row budget (`QUERY_ROW_BUDGET`): how many rows a request's composed
//! reads may make the database read, estimated before they run.
//!
//! A request's reads ([`Read`]: pages, pages per parent, counts) go through
//! the cost model (`model`) over the catalog (`catalog`: rows and indexes
//! of both tables, cached). On PostgreSQL the model first runs without the
//! planner: its result is then an upper bound, and a request within the
//! budget on that bound costs no round trip (every hot path). Otherwise
//! every question the model asks (how many rows meet this condition, for
//! the request as it is and for each index that would serve a part of it)
//! goes to the planner in one `EXPLAIN` of one statement, one round trip
//! (answers are kept until the catalog is read again: see `catalog`), and
//! the model runs again on the answers. Over the budget, the catalog
//! is read again first (an index created a moment ago counts at once).
//!
//! SQLite has no planner estimates, so the contract's rule there is
//! structural: a read is within the budget when an index serves its shape
//! (its equality conditions, then its order, as a prefix: see the module
//! `shape`), or when the table it scans has at most the budget's rows.

pub mod catalog;
mod explain;
mod model;
mod structural;

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use self::catalog::{Catalog, CatalogCache};
use self::explain::explain;
use self::model::{Model, Question};
use self::structural::structural;
pub use self::structural::structural_check;
use super::order::{CustomerKey, OrderSortKey, Sort};
use super::{CustomerField, OrderField, Where};

/// What the server keeps that can answer an aggregate instead of the
/// orders themselves.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kept {
    /// Nothing: the orders are read.
    Nothing,
    /// The order rollups (where the database keeps them).
    Rollups,
    /// The per-customer aggregates: grouped by CUSTOMER alone, no `where`.
    CustomerStats,
}

/// One read a request will make, as the budget prices it. `rows` is what
/// a page reads at most (its size and one more, to tell whether more
/// follow); `customers` is how many parents a page per parent may have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    Customers {
        filter: Where<CustomerField>,
        sort: Sort<CustomerKey>,
        rows: u64,
    },
    Orders {
        filter: Where<OrderField>,
        sort: Sort<OrderSortKey>,
        rows: u64,
    },
    /// A page of each customer's orders (`Customer.orders`).
    OrdersPerCustomer {
        filter: Where<OrderField>,
        sort: Sort<OrderSortKey>,
        rows: u64,
        customers: u64,
    },
    /// `totalCount` of customers.
    CountCustomers { filter: Where<CustomerField> },
    /// `totalCount` of orders.
    CountOrders { filter: Where<OrderField> },
    /// `totalCount` of each customer's orders.
    CountOrdersPerCustomer {
        filter: Where<OrderField>,
        customers: u64,
    },
    /// `ordersAggregate` or `ordersGrouped`: every matching order read,
    /// or what is kept (`kept`): a few rollup rows per period where the
    /// database keeps rollups, or the per-customer aggregates.
    AggregateOrders {
        filter: Where<OrderField>,
        kept: Kept,
    },
    /// `Customer.ordersAggregate`: each customer's matching orders read.
    AggregateOrdersPerCustomer {
        filter: Where<OrderField>,
        customers: u64,
    },
}

/// Why a request is over the budget, for the refusal a caller sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverBudget {
    /// The rows the request would make the database read, as estimated.
    pub estimated_rows: u64,
    pub budget: u64,
    /// A runnable `CREATE INDEX` that would bring it under the budget.
    pub suggested_index: Option<String>,
}

/// Within the budget: the estimate (an upper bound when no planner
/// answer was used), and whether it took a planning round trip.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Within {
    pub estimated_rows: u64,
    pub planned: bool,
}

pub(crate) fn whole(rows: f64) -> u64 {
    // A float estimate, non-negative and far below u64::MAX.
    if rows.is_finite() && rows > 0.0 {
        rows.ceil() as u64
    } else {
        0
    }
}

/// Checks a request's `reads` against `budget` (see the module's comment).
pub async fn check(
    db: &crate::db::Db,
    cache: &CatalogCache,
    reads: &[Read],
    budget: u64,
) -> Result<Result<Within, OverBudget>, DbErr> {
    if reads.is_empty() {
        return Ok(Ok(Within {
            estimated_rows: 0,
            planned: false,
        }));
    }
    let catalog = cache.get(db).await?;
    let first = judge(db, cache, &catalog, reads, budget).await?;
    if first.is_ok() {
        return Ok(first);
    }
    let (fresh, changed) = cache.recheck(db, &catalog).await?;
    if !changed {
        return Ok(first);
    }
    judge(db, cache, &fresh, reads, budget).await
}

async fn judge<C: ConnectionTrait>(
    db: &C,
    cache: &CatalogCache,
    catalog: &Catalog,
    reads: &[Read],
    budget: u64,
) -> Result<Result<Within, OverBudget>, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => planned(db, cache, catalog, reads, budget).await,
        _ => Ok(structural(catalog, reads, budget)),
    }
}

fn total<'a>(
    catalog: &'a Catalog,
    answers: Option<&'a HashMap<Question, f64>>,
    reads: &[Read],
) -> (f64, Model<'a>) {
    let mut model = Model::new(catalog, answers);
    let rows = reads.iter().map(|r| model.read(r)).sum();
    (rows, model)
}

/// PostgreSQL: the model, bounded without the planner, then with it.
async fn planned<C: ConnectionTrait>(
    db: &C,
    cache: &CatalogCache,
    catalog: &Catalog,
    reads: &[Read],
    budget: u64,
) -> Result<Result<Within, OverBudget>, DbErr> {
    let (bound, model) = total(catalog, None, reads);
    if bound <= budget as f64 {
        return Ok(Ok(Within {
            estimated_rows: whole(bound),
            planned: false,
        }));
    }
    // The indexes that would serve a part of the request, and everything
    // the model would ask with each of them.
    let candidates: Vec<(Catalog, String)> = model
        .wanted
        .iter()
        .filter(|(table, columns)| {
            let existing = if *table == "customers" {
                &catalog.customers.indexes
            } else {
                &catalog.orders.indexes
            };
            !existing
                .iter()
                .any(|index| index.len() >= columns.len() && index[..columns.len()] == **columns)
        })
        .map(|(table, columns)| {
            (
                catalog.with_index(table, columns),
                format!("CREATE INDEX ON {table} ({})", columns.join(", ")),
            )
        })
        .collect();
    let mut questions = model.asked;
    for (with, _) in &candidates {
        for q in total(with, None, reads).1.asked {
            if !questions.contains(&q) {
                questions.push(q);
            }
        }
    }
    let mut answers = cache.known(&questions);
    let missing: Vec<Question> = questions
        .into_iter()
        .filter(|q| !answers.contains_key(q))
        .collect();
    let asked_planner = !missing.is_empty();
    if asked_planner {
        let new = explain(db, &missing).await?;
        cache.remember(&new);
        answers.extend(new);
    }
    let (rows, _) = total(catalog, Some(&answers), reads);
    if rows <= budget as f64 {
        return Ok(Ok(Within {
            estimated_rows: whole(rows),
            planned: asked_planner,
        }));
    }
    let suggested_index = candidates
        .iter()
        .map(|(with, sql)| (total(with, Some(&answers), reads).0, sql))
        .filter(|(rows, _)| *rows <= budget as f64)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, sql)| sql.clone());
    Ok(Err(OverBudget {
        estimated_rows: whole(rows),
        budget,
        suggested_index,
    }))
}
