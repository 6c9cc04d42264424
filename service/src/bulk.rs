//! Multi-row writes inside a caller's transaction, chunked below the
//! backend's bind-parameter limit, with checks that name the offending input.
//! Used by the bulk mutations and by `import`.

use std::collections::{BTreeSet, HashMap};

use entity::{customer, order};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Set, Statement,
    Value,
};

use crate::db::rows_per_insert;
use crate::error::{Error, Result};
use crate::input::{NewCustomer, NewOrder, now};
use crate::model::{Customer, Order};

/// Columns written per customer and per order row.
const CUSTOMER_COLUMNS: usize = 4;
const ORDER_COLUMNS: usize = 4;

/// Whether `rows` orders go in one statement (atomic by itself, so no
/// explicit transaction, and two round trips fewer).
pub fn orders_fit_one_statement(backend: DbBackend, rows: usize) -> bool {
    rows <= rows_per_insert(backend, ORDER_COLUMNS)
}

/// An input refused by a check: which one, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub index: usize,
    /// `CONFLICT` rather than `BAD_USER_INPUT`.
    pub conflict: bool,
    pub message: String,
}

impl Rejected {
    /// The error, naming the input with `label` (`input[i]`, `line N`).
    pub fn into_error(self, label: impl Fn(usize) -> String) -> Error {
        let message = format!("{}: {}", label(self.index), self.message);
        if self.conflict {
            Error::Conflict(message)
        } else {
            Error::Validation(message)
        }
    }
}

/// Finds an email used twice in `news` or already taken in the database
/// (as seen by `conn`, so rows written earlier in the same transaction count).
pub async fn check_emails_free<C: ConnectionTrait>(
    conn: &C,
    news: &[NewCustomer],
) -> Result<Option<Rejected>> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(news.len());
    for (i, c) in news.iter().enumerate() {
        if let Some(first) = seen.insert(c.email.as_str(), i) {
            return Ok(Some(Rejected {
                index: i,
                conflict: true,
                message: format!(
                    "email {} is used twice (also by the row {first} before)",
                    c.email
                ),
            }));
        }
    }
    let emails: Vec<&str> = news.iter().map(|c| c.email.as_str()).collect();
    for chunk in emails.chunks(rows_per_insert(conn.get_database_backend(), 1) / 2) {
        let taken = customer::Entity::find()
            .select_only()
            .column(customer::Column::Email)
            .filter(customer::Column::Email.is_in(chunk.iter().copied()))
            .limit(1)
            .into_tuple::<String>()
            .one(conn)
            .await?;
        if let Some(email) = taken {
            let i = seen.get(email.as_str()).copied().unwrap_or_default();
            return Ok(Some(Rejected {
                index: i,
                conflict: true,
                message: format!("a customer with email {email} already exists"),
            }));
        }
    }
    Ok(None)
}

/// Finds the first order whose customer does not exist.
pub async fn check_customers_exist<C: ConnectionTrait>(
    conn: &C,
    news: &[NewOrder],
) -> Result<Option<Rejected>> {
    let ids: Vec<i64> = distinct_customers(news).into_iter().collect();
    let existing = crate::queries::existing_ids(conn, &ids).await?;
    Ok(news
        .iter()
        .enumerate()
        .find(|(_, o)| !existing.contains(&o.customer_id))
        .map(|(i, o)| missing_customer(i, o)))
}

/// The first order whose customer `view` does not see, refused exactly as
/// an order whose customer does not exist.
pub fn check_customers_seen(view: &crate::View, news: &[NewOrder]) -> Option<Rejected> {
    news.iter()
        .enumerate()
        .find(|(_, o)| !view.sees_customer(o.customer_id))
        .map(|(i, o)| missing_customer(i, o))
}

fn missing_customer(index: usize, order: &NewOrder) -> Rejected {
    Rejected {
        index,
        conflict: false,
        message: format!("customer {} does not exist", order.customer_id),
    }
}

pub fn distinct_customers(news: &[NewOrder]) -> BTreeSet<i64> {
    news.iter().map(|o| o.customer_id).collect()
}

/// Inserts customers with multi-row inserts; returns them in input order.
pub async fn insert_customers<C: ConnectionTrait>(
    conn: &C,
    news: &[NewCustomer],
) -> Result<Vec<Customer>> {
    let created_at = now();
    let mut created = Vec::with_capacity(news.len());
    for chunk in news.chunks(rows_per_insert(
        conn.get_database_backend(),
        CUSTOMER_COLUMNS,
    )) {
        let models = chunk.iter().map(|c| customer::ActiveModel {
            name: Set(c.name.clone()),
            email: Set(c.email.clone()),
            phone: Set(c.phone.clone()),
            created_at: Set(c.created_at.unwrap_or(created_at)),
            ..Default::default()
        });
        let mut rows = customer::Entity::insert_many(models)
            .exec_with_returning(conn)
            .await?;
        // Ids are assigned in input order within one statement.
        rows.sort_by_key(|m| m.id);
        created.extend(rows.into_iter().map(Customer::from));
    }
    Ok(created)
}

/// Inserts orders with multi-row inserts (`unnest` arrays on PostgreSQL, as
/// for customers); returns them in input order.
pub async fn insert_orders<C: ConnectionTrait>(conn: &C, news: &[NewOrder]) -> Result<Vec<Order>> {
    let backend = conn.get_database_backend();
    let mut created = Vec::with_capacity(news.len());
    for chunk in news.chunks(rows_per_insert(backend, ORDER_COLUMNS)) {
        if backend == DbBackend::Postgres {
            let stmt = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO orders (customer_id, total_cents, status, created_at) \
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[]) \
                 RETURNING id",
                [
                    Value::from(chunk.iter().map(|o| o.customer_id).collect::<Vec<_>>()),
                    Value::from(chunk.iter().map(|o| o.total.cents()).collect::<Vec<_>>()),
                    Value::from(
                        chunk
                            .iter()
                            .map(|o| o.status.as_str().to_owned())
                            .collect::<Vec<_>>(),
                    ),
                    Value::from(chunk.iter().map(|o| o.created_at).collect::<Vec<_>>()),
                ],
            );
            let ids = returned_ids(conn, stmt).await?;
            created.extend(chunk.iter().zip(ids).map(|(o, id)| Order {
                id,
                customer_id: o.customer_id,
                total: o.total,
                status: o.status,
                created_at: o.created_at,
            }));
            continue;
        }
        let models = chunk.iter().map(|o| order::ActiveModel {
            customer_id: Set(o.customer_id),
            total_cents: Set(o.total.cents()),
            status: Set(o.status),
            created_at: Set(o.created_at),
            ..Default::default()
        });
        let mut rows = order::Entity::insert_many(models)
            .exec_with_returning(conn)
            .await?;
        rows.sort_by_key(|m| m.id);
        created.extend(rows.into_iter().map(Order::from));
    }
    Ok(created)
}

/// The ids an `INSERT … RETURNING id` assigned, in input order (one
/// statement assigns them in the order of its rows).
async fn returned_ids<C: ConnectionTrait>(conn: &C, stmt: Statement) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> = conn
        .query_all_raw(stmt)
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<i64>(0))
        .collect::<std::result::Result<_, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// Names inputs of a request: `input[i]`, or `input` when there is one.
pub fn request_label(total: usize) -> impl Fn(usize) -> String {
    move |i| {
        if total == 1 {
            "input".to_owned()
        } else {
            format!("input[{i}]")
        }
    }
}
