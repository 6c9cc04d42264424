//! The planner's estimates for the cost model's questions, in one round
//! trip (PostgreSQL).

use std::collections::HashMap;

use entity::{customer, order};
use sea_orm::sea_query::{Expr, ExprTrait as _, PostgresQueryBuilder, Query, SubQueryStatement};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::super::sql::{customer_condition, order_condition};
use super::model::Question;

/// The planner's estimate for every question, in one `EXPLAIN` of one
/// statement: each question is a scalar subquery of its own (an
/// `InitPlan`, whose row estimate the plan shows).
pub(super) async fn explain<C: ConnectionTrait>(
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
