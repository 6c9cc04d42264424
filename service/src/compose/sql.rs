//! A [`Where`] tree as one sea-query expression: composed, never
//! concatenated. Relation filters are `EXISTS` subqueries inside the same
//! statement; a customer's `totalSpent` and `orderCount` come from the
//! aggregates the server keeps (`customer_stats`).
//!
//! The expression is two-valued: a predicate on `phone` is guarded by
//! `phone IS NOT NULL`, so no predicate is ever NULL and `NOT` matches
//! exactly the rows its operand does not.
//!
//! Text: PostgreSQL matches `startsWith`/`endsWith`/`contains` with `LIKE`
//! and every `%`, `_` and `!` escaped (`ESCAPE '!'`) (so an index on the column, or on
//! `lower(column)`, can serve a prefix); SQLite's `LIKE` ignores ASCII case,
//! so there they are `substr`/`instr` comparisons.

use entity::{customer, customer_stats, order};
use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Func, Query, SubQueryStatement, Value};

use super::{CustomerField, Op, OrderField, TextOp, TextOps, Where};

fn always() -> Expr {
    Expr::cust("1 = 1")
}

fn never() -> Expr {
    Expr::cust("1 = 0")
}

fn all(items: impl IntoIterator<Item = Expr>) -> Expr {
    let mut items = items.into_iter();
    match items.next() {
        None => always(),
        Some(first) => items.fold(first, |acc, e| acc.and(e)),
    }
}

fn any(items: impl IntoIterator<Item = Expr>) -> Expr {
    let mut items = items.into_iter();
    match items.next() {
        None => never(),
        Some(first) => items.fold(first, |acc, e| acc.or(e)),
    }
}

/// Where a compiled condition stands: the backend, the alias of the table
/// whose rows it tests, and how deep in relation filters it is (each level
/// gets aliases of its own).
#[derive(Clone)]
struct At {
    backend: DbBackend,
    table: Alias,
    depth: usize,
    /// The statement joins the customers' aggregates under this alias
    /// (top level only): they are read from it, not by a subquery per row.
    stats: Option<Alias>,
}

pub use super::joined::{STATS, join_stats, uses_stats};

impl At {
    fn col(&self, column: impl sea_orm::sea_query::IntoIden) -> Expr {
        Expr::col((self.table.clone(), column))
    }

    fn nested(&self, prefix: &str) -> At {
        At {
            backend: self.backend,
            table: Alias::new(format!("{prefix}{}", self.depth + 1)),
            depth: self.depth + 1,
            stats: None,
        }
    }
}

/// The condition `w` on the rows of `customers` (as the statement's FROM
/// names the table, without an alias).
pub fn customer_condition(backend: DbBackend, w: &Where<CustomerField>) -> Expr {
    let at = At {
        backend,
        table: Alias::new("customers"),
        depth: 0,
        stats: None,
    };
    customers(&at, w)
}

/// The same condition for a statement that joins the aggregates
/// ([`join_stats`]): `totalSpent` and `orderCount` read the joined row.
pub fn customer_condition_joined(backend: DbBackend, w: &Where<CustomerField>) -> Expr {
    let at = At {
        backend,
        table: Alias::new("customers"),
        depth: 0,
        stats: Some(Alias::new(STATS)),
    };
    customers(&at, w)
}

/// The condition `w` on the rows of `orders` (unaliased).
pub fn order_condition(backend: DbBackend, w: &Where<OrderField>) -> Expr {
    let at = At {
        backend,
        table: Alias::new("orders"),
        depth: 0,
        stats: None,
    };
    orders(&at, w)
}

fn tree<F>(at: &At, w: &Where<F>, field: &impl Fn(&At, &F) -> Expr) -> Expr {
    match w {
        Where::And(items) => all(items.iter().map(|i| tree(at, i, field))),
        Where::Or(items) => any(items.iter().map(|i| tree(at, i, field))),
        Where::Not(inner) => tree(at, inner, field).not(),
        Where::Field(f) => field(at, f),
    }
}

fn customers(at: &At, w: &Where<CustomerField>) -> Expr {
    tree(at, w, &customer_field)
}

fn orders(at: &At, w: &Where<OrderField>) -> Expr {
    tree(at, w, &order_field)
}

fn customer_field(at: &At, f: &CustomerField) -> Expr {
    match f {
        CustomerField::Id(ops) => compare(at.col(customer::Column::Id), &ops.0, |v| (*v).into()),
        CustomerField::Name(t) => text(at, at.col(customer::Column::Name), t, false),
        CustomerField::Email(t) => text(at, at.col(customer::Column::Email), t, false),
        CustomerField::Phone(t) => text(at, at.col(customer::Column::Phone), t, true),
        CustomerField::CreatedAt(ops) => {
            compare(at.col(customer::Column::CreatedAt), &ops.0, |v| (*v).into())
        }
        CustomerField::TotalSpent(ops) => {
            compare(stat(at, customer_stats::Column::TotalCents), &ops.0, |m| {
                m.cents().into()
            })
        }
        CustomerField::OrderCount(ops) => {
            compare(stat(at, customer_stats::Column::OrderCount), &ops.0, |v| {
                (*v).into()
            })
        }
        CustomerField::OrdersSome(w) => Expr::exists(orders_of(at, w)),
        CustomerField::OrdersNone(w) => Expr::exists(orders_of(at, w)).not(),
    }
}

/// A customer's kept aggregate `column` (0 when it has no row) in a
/// statement that joins them ([`join_stats`]): what sorts and pages read.
pub(super) fn customer_stat(column: customer_stats::Column) -> Expr {
    Func::coalesce([Expr::col((Alias::new(STATS), column)), Expr::val(0i64)]).into()
}

/// The customer's kept aggregate `column`, 0 when it has no row.
fn stat(at: &At, column: customer_stats::Column) -> Expr {
    if let Some(joined) = &at.stats {
        return Func::coalesce([Expr::col((joined.clone(), column)), Expr::val(0i64)]).into();
    }
    let s = Alias::new(format!("s{}", at.depth));
    let select = Query::select()
        .column((s.clone(), column))
        .from_as(customer_stats::Entity, s.clone())
        .and_where(
            Expr::col((s, customer_stats::Column::CustomerId)).eq(at.col(customer::Column::Id)),
        )
        .take();
    Func::coalesce([
        Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(select))),
        Expr::val(0i64),
    ])
    .into()
}

/// The customer's orders that match `w`.
fn orders_of(at: &At, w: &Where<OrderField>) -> sea_orm::sea_query::SelectStatement {
    let inner = at.nested("o");
    Query::select()
        .expr(Expr::val(1i32))
        .from_as(order::Entity, inner.table.clone())
        .and_where(
            inner
                .col(order::Column::CustomerId)
                .eq(at.col(customer::Column::Id)),
        )
        .and_where(orders(&inner, w))
        .take()
}

fn order_field(at: &At, f: &OrderField) -> Expr {
    match f {
        OrderField::Id(ops) => compare(at.col(order::Column::Id), &ops.0, |v| (*v).into()),
        OrderField::CustomerId(ops) => {
            compare(at.col(order::Column::CustomerId), &ops.0, |v| (*v).into())
        }
        OrderField::Total(ops) => compare(at.col(order::Column::TotalCents), &ops.0, |m| {
            m.cents().into()
        }),
        OrderField::Status(ops) => {
            compare(at.col(order::Column::Status), &ops.0, |s| s.as_str().into())
        }
        OrderField::CreatedAt(ops) => {
            compare(at.col(order::Column::CreatedAt), &ops.0, |v| (*v).into())
        }
        OrderField::Customer(w) => {
            let inner = at.nested("c");
            let select = Query::select()
                .expr(Expr::val(1i32))
                .from_as(customer::Entity, inner.table.clone())
                .and_where(
                    inner
                        .col(customer::Column::Id)
                        .eq(at.col(order::Column::CustomerId)),
                )
                .and_where(customers(&inner, w))
                .take();
            Expr::exists(select)
        }
    }
}

/// Every operator holds on a value that is never NULL.
fn compare<T>(col: Expr, ops: &[Op<T>], value: impl Fn(&T) -> Value) -> Expr {
    all(ops.iter().map(|op| match op {
        Op::Eq(v) => col.clone().eq(Expr::val(value(v))),
        Op::Ne(v) => col.clone().ne(Expr::val(value(v))),
        Op::Gt(v) => col.clone().gt(Expr::val(value(v))),
        Op::Gte(v) => col.clone().gte(Expr::val(value(v))),
        Op::Lt(v) => col.clone().lt(Expr::val(value(v))),
        Op::Lte(v) => col.clone().lte(Expr::val(value(v))),
        Op::In(vs) if vs.is_empty() => never(),
        Op::In(vs) => col.clone().is_in(vs.iter().map(&value)),
        Op::NotIn(vs) if vs.is_empty() => always(),
        Op::NotIn(vs) => col.clone().is_not_in(vs.iter().map(&value)),
    }))
}

/// `!`, `%` and `_` as `LIKE … ESCAPE '!'` reads them literally (`!`
/// needs no quoting in any SQL string syntax).
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// Every text operator holds; `nullable` guards each (but `isNull`) with
/// `IS NOT NULL`.
fn text(at: &At, col: Expr, t: &TextOps, nullable: bool) -> Expr {
    let folded = |e: Expr| -> Expr {
        if t.case_insensitive {
            Func::lower(e).into()
        } else {
            e
        }
    };
    let c = folded(col.clone());
    let v = |s: &str| folded(Expr::val(s.to_owned()));
    all(t.ops.iter().map(|op| {
        let test = match op {
            TextOp::IsNull(true) => return col.clone().is_null(),
            TextOp::IsNull(false) => return col.clone().is_not_null(),
            TextOp::Eq(s) => c.clone().eq(v(s)),
            TextOp::Ne(s) => c.clone().ne(v(s)),
            TextOp::In(vs) if vs.is_empty() => never(),
            TextOp::In(vs) => any(vs.iter().map(|s| c.clone().eq(v(s)))),
            TextOp::NotIn(vs) => all(vs.iter().map(|s| c.clone().ne(v(s)))),
            TextOp::StartsWith(s) => affix(at, &c, s, t.case_insensitive, Affix::Start),
            TextOp::EndsWith(s) => affix(at, &c, s, t.case_insensitive, Affix::End),
            TextOp::Contains(s) => affix(at, &c, s, t.case_insensitive, Affix::Within),
        };
        if nullable {
            col.clone().is_not_null().and(test)
        } else {
            test
        }
    }))
}

#[derive(Copy, Clone)]
enum Affix {
    Start,
    End,
    Within,
}

/// `c` (already folded when case-insensitive) starts with, ends with or
/// contains `s`, literally.
fn affix(at: &At, c: &Expr, s: &str, fold: bool, affix: Affix) -> Expr {
    let value = |text: String| -> Expr {
        let e = Expr::val(text);
        if fold { Func::lower(e).into() } else { e }
    };
    match at.backend {
        DbBackend::Postgres => {
            let escaped = escape_like(s);
            let pattern = match affix {
                Affix::Start => format!("{escaped}%"),
                Affix::End => format!("%{escaped}"),
                Affix::Within => format!("%{escaped}%"),
            };
            // lower() of the pattern leaves `!`, `%` and `_` as they are.
            let pattern = value(pattern);
            Expr::cust_with_exprs("$1 LIKE $2 ESCAPE '!'", [c.clone(), pattern])
        }
        _ => {
            let length = |e: Expr| -> Expr { Func::cust(Alias::new("length")).arg(e).into() };
            let needle = value(s.to_owned());
            match affix {
                Affix::Start => Expr::from(
                    Func::cust(Alias::new("substr"))
                        .arg(c.clone())
                        .arg(Expr::val(1i32))
                        .arg(length(needle.clone())),
                )
                .eq(needle),
                Affix::End => length(c.clone()).gte(length(needle.clone())).and(
                    Expr::from(
                        Func::cust(Alias::new("substr")).arg(c.clone()).arg(
                            length(c.clone())
                                .sub(length(needle.clone()))
                                .add(Expr::val(1i32)),
                        ),
                    )
                    .eq(needle),
                ),
                Affix::Within => {
                    Expr::from(Func::cust(Alias::new("instr")).arg(c.clone()).arg(needle))
                        .gt(Expr::val(0i32))
                }
            }
        }
    }
}
