//! Pages of composed queries: the rows a [`Where`] selects, in a [`Sort`]'s
//! order, between keyset positions, each row with the values of its sort
//! keys read in the same statement (a cursor then holds exactly what the
//! row was sorted by).

use std::collections::{BTreeSet, HashMap};

use entity::{customer_stats, order};
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait as _, Func, PostgresQueryBuilder, Query, WindowStatement,
};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Statement,
};

use super::joined::customers_where;
use super::order::{CustomerKey, KeyValue, OrderSortKey, Sort, needs_stats};
use super::sql::{customer_stat, order_condition};
use super::{CustomerField, OrderField, Where};
use crate::error::{Error, Result};
use crate::model::{Customer, CustomerStats, Order, Page, PageRequest};
use crate::money::Money;
use crate::queries::columns::decode_all;
use crate::queries::lookups::decode_order;
use crate::view::Seen;

/// What a cursor that does not fit the order it is used with gets.
const FOREIGN_CURSOR: &str =
    "this cursor belongs to another order or filter: start again from the first page";

#[derive(FromQueryResult)]
struct CustomerRow {
    id: i64,
    name: String,
    email: String,
    phone: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    order_count: i64,
    total_cents: i64,
}

/// The keyset bounds of `page` in `sort`: `Err` for a position that does
/// not fit it.
fn bounds<K: super::order::SortKey>(
    sort: &Sort<K>,
    page: &PageRequest<Vec<KeyValue>>,
) -> Result<Vec<Expr>> {
    let mut out = Vec::new();
    for (position, forward) in [(&page.after, true), (&page.before, false)] {
        if let Some(p) = position {
            out.push(
                sort.beyond(p, forward)
                    .ok_or_else(|| Error::Validation(FOREIGN_CURSOR.to_owned()))?,
            );
        }
    }
    Ok(out)
}

/// One page of the customers `filter` selects (under its view), in
/// `sort`'s order; each with its aggregates when `sort` has them (else
/// `None`).
pub async fn customers<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<CustomerField>>,
    sort: &Sort<CustomerKey>,
    page: &PageRequest<Vec<KeyValue>>,
) -> Result<Page<(Customer, Option<CustomerStats>)>> {
    // The aggregates are joined once when the page sorts or filters on them.
    let stats = needs_stats(sort);
    let mut query = customers_where(db.get_database_backend(), filter, stats);
    for bound in bounds(sort, page)? {
        query = query.filter(bound);
    }
    for (expr, order) in sort.read_order(page.from_end) {
        query = query.order_by(expr, order);
    }
    let query = query.limit(page.limit());
    let rows: Vec<(Customer, Option<CustomerStats>)> = if stats {
        query
            .column_as(
                customer_stat(customer_stats::Column::OrderCount),
                "order_count",
            )
            .column_as(
                customer_stat(customer_stats::Column::TotalCents),
                "total_cents",
            )
            .into_model::<CustomerRow>()
            .all(db)
            .await?
            .into_iter()
            .map(|r| {
                (
                    Customer {
                        id: r.id,
                        name: r.name,
                        email: r.email,
                        phone: r.phone,
                        created_at: r.created_at,
                    },
                    Some(CustomerStats {
                        order_count: r.order_count,
                        total_spent: Money::from_cents(r.total_cents),
                    }),
                )
            })
            .collect()
    } else {
        query
            .all(db)
            .await?
            .into_iter()
            .map(|c| (Customer::from(c), None))
            .collect()
    };
    Ok(Page::from_rows(rows, page))
}

/// One page of the orders `filter` selects (under its view), in `sort`'s
/// order.
pub async fn orders<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<OrderField>>,
    sort: &Sort<OrderSortKey>,
    page: &PageRequest<Vec<KeyValue>>,
) -> Result<Page<Order>> {
    let mut query = order_select(db, filter, sort, page)?;
    for (expr, order) in sort.read_order(page.from_end) {
        query = query.order_by(expr, order);
    }
    let stmt = query.limit(page.limit()).build(db.get_database_backend());
    let rows = db.query_all_raw(stmt).await?;
    Ok(Page::from_rows(decode_all(&rows, decode_order)?, page))
}

/// The filtered, bounded and ordered orders (under the filter's view), as
/// one select (no limit): what a page of one list and a page per parent
/// share.
fn order_select<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<OrderField>>,
    sort: &Sort<OrderSortKey>,
    page: &PageRequest<Vec<KeyValue>>,
) -> Result<sea_orm::Select<order::Entity>> {
    let mut query =
        order::Entity::find().filter(order_condition(db.get_database_backend(), filter.get()));
    for bound in bounds(sort, page)? {
        query = query.filter(bound);
    }
    Ok(query)
}

/// A page of each parent customer's orders that `filter` selects, in
/// `sort`'s order, in one statement for all parents: on PostgreSQL a
/// `LATERAL` subquery per parent over `unnest` of the ids (each stops at
/// its page), elsewhere a `row_number()` window partitioned by customer.
pub async fn orders_of_customers<C: ConnectionTrait>(
    db: &C,
    filter: &Seen<Where<OrderField>>,
    sort: &Sort<OrderSortKey>,
    page: &PageRequest<Vec<KeyValue>>,
    parents: &[i64],
) -> Result<HashMap<i64, Page<Order>>> {
    let ids: Vec<i64> = parents
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut pages = HashMap::new();
    if ids.is_empty() {
        return Ok(pages);
    }
    let backend = db.get_database_backend();
    let limit = page.limit();
    let mut select = order_select(db, filter, sort, page)?.into_query();
    let read_order = sort.read_order(page.from_end);
    let stmt = match backend {
        // One parent: the subquery alone, its id a plain parameter
        // (PostgreSQL plans `unnest` of an array afresh on every run).
        DbBackend::Postgres if ids.len() == 1 => {
            select
                .and_where(Expr::col((Alias::new("orders"), order::Column::CustomerId)).eq(ids[0]));
            for (expr, order) in read_order {
                select.order_by_expr(expr, order);
            }
            select.limit(limit);
            backend.build(&select)
        }
        DbBackend::Postgres => {
            select.and_where(
                Expr::col((Alias::new("orders"), order::Column::CustomerId))
                    .equals((Alias::new("p"), Alias::new("cid"))),
            );
            for (expr, order) in read_order {
                select.order_by_expr(expr, order);
            }
            select.limit(limit);
            let (inner, mut values) = select.build(PostgresQueryBuilder);
            values.0.push(sea_orm::Value::from(ids.clone()));
            let n = values.0.len();
            let sql = format!(
                "SELECT o.* FROM unnest(${n}::bigint[]) AS p(cid) CROSS JOIN LATERAL ({inner}) AS o"
            );
            Statement::from_sql_and_values(backend, sql, values)
        }
        _ => {
            let mut window =
                WindowStatement::partition_by((Alias::new("orders"), order::Column::CustomerId));
            for (expr, order) in read_order {
                window.order_by_expr(expr, order);
            }
            select
                .and_where(
                    Expr::col((Alias::new("orders"), order::Column::CustomerId))
                        .is_in(ids.iter().copied()),
                )
                .expr_window_as(
                    Func::cust(Alias::new("row_number")),
                    window,
                    Alias::new("rn"),
                );
            let outer = Query::select()
                .column(Asterisk)
                .from_subquery(select, Alias::new("ranked"))
                .and_where(
                    Expr::col(Alias::new("rn")).lte(i64::try_from(limit).unwrap_or(i64::MAX)),
                )
                .order_by(Alias::new("customer_id"), sea_orm::Order::Asc)
                .order_by(Alias::new("rn"), sea_orm::Order::Asc)
                .take();
            backend.build(&outer)
        }
    };
    // Decoded by position, the columns' types checked on the first row only.
    let rows = db.query_all_raw(stmt).await?;
    let mut grouped: HashMap<i64, Vec<Order>> = HashMap::new();
    for order in decode_all(&rows, decode_order)? {
        grouped.entry(order.customer_id).or_default().push(order);
    }
    for id in ids {
        let rows = grouped.remove(&id).unwrap_or_default();
        pages.insert(id, Page::from_rows(rows, page));
    }
    Ok(pages)
}
