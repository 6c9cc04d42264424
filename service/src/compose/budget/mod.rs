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
//! goes to the planner in one `EXPLAIN` of one statement, one round trip,
//! and the model runs again on the answers. Over the budget, the catalog
//! is read again first (an index created a moment ago counts at once).
//!
//! SQLite has no planner estimates, so the contract's rule there is
//! structural: a read is within the budget when an index serves its shape
//! (its equality conditions, then its order, as a prefix: see the module
//! `shape`), or when the table it scans has at most the budget's rows.

pub mod catalog;
mod model;

use std::collections::HashMap;

use entity::{customer, order};
use sea_orm::sea_query::{Expr, ExprTrait as _, PostgresQueryBuilder, Query, SubQueryStatement};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use self::catalog::{Catalog, CatalogCache};
use self::model::{Model, Question};
use super::order::{CustomerKey, OrderSortKey, Sort};
use super::shape::{Shape, indexes};
use super::sql::{customer_condition, order_condition};
use super::{CustomerField, OrderField, Where};

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

/// Within the budget: the estimate (an upper bound when no planner was
/// asked) and how many planning round trips it took.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Within {
    pub estimated_rows: u64,
    pub planned: bool,
}

fn whole(rows: f64) -> u64 {
    // A float estimate, non-negative and far below u64::MAX.
    if rows.is_finite() && rows > 0.0 {
        rows.ceil() as u64
    } else {
        0
    }
}

/// Checks a request's `reads` against `budget` (see the module's comment).
pub async fn check<C: ConnectionTrait>(
    db: &C,
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
    let first = judge(db, &catalog, reads, budget).await?;
    if first.is_ok() {
        return Ok(first);
    }
    let fresh = cache.refresh(db).await?;
    let same = fresh.customers.indexes == catalog.customers.indexes
        && fresh.orders.indexes == catalog.orders.indexes;
    if same {
        return Ok(first);
    }
    judge(db, &fresh, reads, budget).await
}

async fn judge<C: ConnectionTrait>(
    db: &C,
    catalog: &Catalog,
    reads: &[Read],
    budget: u64,
) -> Result<Result<Within, OverBudget>, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => planned(db, catalog, reads, budget).await,
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
    let answers = explain(db, &questions).await?;
    let (rows, _) = total(catalog, Some(&answers), reads);
    if rows <= budget as f64 {
        return Ok(Ok(Within {
            estimated_rows: whole(rows),
            planned: true,
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

/// The planner's estimate for every question, in one `EXPLAIN` of one
/// statement: each question is a scalar subquery of its own (an
/// `InitPlan`, whose row estimate the plan shows).
async fn explain<C: ConnectionTrait>(
    db: &C,
    questions: &[Question],
) -> Result<HashMap<Question, f64>, DbErr> {
    let backend = DbBackend::Postgres;
    let mut select = Query::select();
    for q in questions {
        let sub = match q {
            Question::Customers(w) => Query::select()
                .expr(Expr::val(1i32))
                .from(customer::Entity)
                .and_where(customer_condition(backend, w))
                .take(),
            Question::Orders(w, per_parent) => {
                let mut s = Query::select()
                    .expr(Expr::val(1i32))
                    .from(order::Entity)
                    .and_where(order_condition(backend, w))
                    .take();
                if *per_parent {
                    // Any one customer: a value the planner cannot see.
                    s.and_where(
                        Expr::col((order::Entity, order::Column::CustomerId))
                            .eq(Expr::cust("(SELECT NULL::bigint)")),
                    );
                }
                s
            }
        };
        select.expr(Expr::SubQuery(
            None,
            Box::new(SubQueryStatement::SelectStatement(sub)),
        ));
    }
    let (sql, values) = select.build(PostgresQueryBuilder);
    let stmt = Statement::from_sql_and_values(backend, format!("EXPLAIN {sql}"), values);
    let lines: Vec<String> = db
        .query_all_raw(stmt)
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    let estimates = initplan_rows(&lines);
    if estimates.len() != questions.len() {
        return Err(DbErr::Custom(format!(
            "the plan of {} estimates showed {} of them",
            questions.len(),
            estimates.len()
        )));
    }
    Ok(questions.iter().cloned().zip(estimates).collect())
}

/// The estimated rows of each top-level `InitPlan` of a text plan, in
/// order: the `rows=` of the node under each `  InitPlan` line.
fn initplan_rows(lines: &[String]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut in_initplan = false;
    for line in lines {
        if line.starts_with("  InitPlan ") {
            in_initplan = true;
            continue;
        }
        if in_initplan && let Some(at) = line.find("rows=") {
            let digits: String = line[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            out.push(digits.parse().unwrap_or(0.0));
            in_initplan = false;
        }
    }
    out
}

/// SQLite: each read within the budget when an index serves its shape or
/// its table has at most the budget's rows.
fn structural(catalog: &Catalog, reads: &[Read], budget: u64) -> Result<Within, OverBudget> {
    let mut most = 0u64;
    for read in reads {
        let (shape, count) = match read {
            Read::Customers { filter, sort, .. } => (Shape::of_customers(filter, sort), false),
            Read::Orders { filter, sort, .. } => (Shape::of_orders(filter, sort, false), false),
            Read::OrdersPerCustomer { filter, sort, .. } => {
                (Shape::of_orders(filter, sort, true), false)
            }
            Read::CountCustomers { filter } => (Shape::of_customers_count(filter), true),
            Read::CountOrders { filter } if !super::answered_by_stats(filter) => {
                (Shape::of_orders_count(filter, false), true)
            }
            Read::CountOrdersPerCustomer { filter, .. } if !super::answered_by_stats(filter) => {
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
    let all = indexes(db, shape.table).await?;
    if all.iter().any(|index| shape.served_by(index)) {
        return Ok(Ok(()));
    }
    let catalog = Catalog::read(db).await?;
    let rows = whole(if shape.table == "customers" {
        catalog.customers.rows
    } else {
        catalog.orders.rows
    });
    if rows <= budget {
        return Ok(Ok(()));
    }
    Ok(Err(OverBudget {
        estimated_rows: rows,
        budget,
        suggested_index: shape.suggested_index(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimates_of_the_top_level_initplans_are_read_in_order() {
        let plan = [
            "Result  (cost=7270.76..7270.77 rows=1 width=12)",
            "  InitPlan 1 (returns $0)",
            "    ->  Seq Scan on t  (cost=0.00..1693.00 rows=9950 width=4)",
            "          Filter: (b = 3)",
            "  InitPlan 3 (returns $2)",
            "    ->  Hash Semi Join  (cost=1818.01..3634.76 rows=10000 width=4)",
            "          InitPlan 2 (returns $1)",
            "            ->  Result  (cost=0.00..0.01 rows=1 width=4)",
            "  InitPlan 4",
            "    ->  Index Scan using i on t  (cost=0.00..1943.00 rows=47 width=4)",
        ]
        .map(str::to_owned);
        assert_eq!(initplan_rows(&plan), vec![9950.0, 10000.0, 47.0]);
    }
}
