//! Keyset pages of orders as SQL: the conditions of a cursor, the filters of
//! the order and customer lists, and one statement for a page of many
//! customers' orders.

use entity::{customer, order};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, DbBackend, Statement, Value};

use crate::model::{CustomerFilter, OrderFilter, OrderKey, PageRequest};

/// Rows after `key` in newest-first order: `(created_at, id) < key`.
pub fn older_than(key: OrderKey) -> SimpleExpr {
    Expr::tuple([
        Expr::col((order::Entity, order::Column::CreatedAt)),
        Expr::col((order::Entity, order::Column::Id)),
    ])
    .lt(Expr::tuple([Expr::val(key.created_at), Expr::val(key.id)]))
}

/// Rows before `key` in newest-first order: `(created_at, id) > key`.
pub fn newer_than(key: OrderKey) -> SimpleExpr {
    Expr::tuple([
        Expr::col((order::Entity, order::Column::CreatedAt)),
        Expr::col((order::Entity, order::Column::Id)),
    ])
    .gt(Expr::tuple([Expr::val(key.created_at), Expr::val(key.id)]))
}

/// The conditions of an order filter.
pub fn order_filter(filter: &OrderFilter) -> Condition {
    let mut cond = Condition::all();
    if let Some(id) = filter.customer_id {
        cond = cond.add(order::Column::CustomerId.eq(id));
    }
    if let Some(status) = filter.status {
        cond = cond.add(order::Column::Status.eq(status));
    }
    if let Some(t) = filter.created_after {
        cond = cond.add(order::Column::CreatedAt.gte(t));
    }
    if let Some(t) = filter.created_before {
        cond = cond.add(order::Column::CreatedAt.lt(t));
    }
    if let Some(m) = filter.min_total {
        cond = cond.add(order::Column::TotalCents.gte(m.cents()));
    }
    if let Some(m) = filter.max_total {
        cond = cond.add(order::Column::TotalCents.lte(m.cents()));
    }
    cond
}

/// The conditions of a customer filter.
pub fn customer_filter(filter: &CustomerFilter) -> Condition {
    let mut cond = Condition::all();
    if let Some(part) = filter.name_contains.as_deref().filter(|p| !p.is_empty()) {
        let pattern = format!("%{}%", escape_like(&part.to_lowercase()));
        cond = cond.add(
            Expr::expr(Func::lower(Expr::col((
                customer::Entity,
                customer::Column::Name,
            ))))
            .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    if let Some(email) = filter.email.as_deref() {
        // Stored lower-cased, so an exact comparison is case-insensitive.
        cond = cond.add(customer::Column::Email.eq(email.trim().to_ascii_lowercase()));
    }
    cond
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

const ORDER_COLUMNS: &str = "id, customer_id, total_cents, status, created_at";

/// The keyset conditions and direction of a per-customer page; `n` numbers
/// the placeholders (`$n` on PostgreSQL, `?` elsewhere).
fn keyset_sql(
    page: &PageRequest<OrderKey>,
    values: &mut Vec<Value>,
    prefix: &str,
    mut placeholder: impl FnMut() -> String,
) -> (String, &'static str) {
    let mut sql = String::new();
    for (key, op) in [(page.after, "<"), (page.before, ">")] {
        if let Some(k) = key {
            values.push(Value::from(k.created_at));
            values.push(Value::from(k.id));
            let (a, b) = (placeholder(), placeholder());
            sql.push_str(&format!(
                " AND ({prefix}created_at, {prefix}id) {op} ({a}, {b})"
            ));
        }
    }
    let direction = if page.from_end { "ASC" } else { "DESC" };
    (sql, direction)
}

/// A page of each customer's orders: `unnest` of the ids and a `LATERAL`
/// subquery over the `(customer_id, created_at, id)` index (PostgreSQL).
/// One customer's page is the subquery alone: PostgreSQL re-plans a
/// statement over `unnest($1)` on every execution (see
/// `lookups::by_keys`), and planning costs more than the page itself.
pub fn lateral_page_statement(ids: &[i64], page: &PageRequest<OrderKey>) -> Statement {
    let limit = i64::try_from(page.limit()).unwrap_or(i64::MAX);
    let parents = match ids {
        [one] => Value::from(*one),
        _ => Value::from(ids.to_vec()),
    };
    let mut values: Vec<Value> = vec![parents, Value::from(limit)];
    let mut n = 2;
    let (keyset, dir) = keyset_sql(page, &mut values, "o.", || {
        n += 1;
        format!("${n}")
    });
    if ids.len() == 1 {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders o \
             WHERE o.customer_id = $1{keyset} \
             ORDER BY o.created_at {dir}, o.id {dir} LIMIT $2"
        );
        return Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    }
    let sql = format!(
        "SELECT o.id, o.customer_id, o.total_cents, o.status, o.created_at \
         FROM unnest($1::bigint[]) AS p(cid) \
         CROSS JOIN LATERAL ( \
           SELECT {ORDER_COLUMNS} FROM orders o \
           WHERE o.customer_id = p.cid{keyset} \
           ORDER BY o.created_at {dir}, o.id {dir} LIMIT $2 \
         ) o"
    );
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// A page of each customer's orders with a `row_number()` window (SQLite).
pub fn window_page_statement(
    backend: DbBackend,
    ids: &[i64],
    page: &PageRequest<OrderKey>,
) -> Statement {
    let placeholders = vec!["?"; ids.len()].join(", ");
    let mut values: Vec<Value> = ids.iter().map(|id| Value::from(*id)).collect();
    let (keyset, dir) = keyset_sql(page, &mut values, "", || "?".to_owned());
    values.push(Value::from(i64::try_from(page.limit()).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM ( \
           SELECT {ORDER_COLUMNS}, row_number() OVER ( \
             PARTITION BY customer_id ORDER BY created_at {dir}, id {dir}) AS rn \
           FROM orders WHERE customer_id IN ({placeholders}){keyset} \
         ) AS ranked WHERE rn <= ? ORDER BY customer_id, created_at {dir}, id {dir}"
    );
    Statement::from_sql_and_values(backend, sql, values)
}
