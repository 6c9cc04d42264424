//! The PostgreSQL path: `COPY … FROM STDIN` in one transaction, with rows
//! generated while earlier ones stream.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::SecondsFormat;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sea_orm::sqlx;

use super::generate::{customer, order};
use super::{SeedProgress, SeedSummary};
use crate::Store;
use crate::error::{Error, Result};
use crate::input::{NewCustomer, NewOrder};

/// Bytes sent to the server per `COPY` message.
const COPY_CHUNK: usize = 1 << 20;

pub(super) fn sqlx_error(e: sqlx::Error) -> Error {
    Error::from_db(sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(
        Arc::new(e),
    )))
}

pub(super) async fn seed(
    store: &Store,
    customers: usize,
    orders: usize,
    seed: u64,
    progress: &mut (dyn FnMut(SeedProgress) + Send),
) -> Result<SeedSummary> {
    let pool = store.db.get_postgres_connection_pool();
    let mut tx = pool.begin().await.map_err(sqlx_error)?;
    // Reserve the ids so orders can reference customers without RETURNING.
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('customers', 'id')) FROM generate_series(1, $1)",
    )
    .bind(i64::try_from(customers).unwrap_or(i64::MAX))
    // Unnamed: it runs once, and a transaction pooler keeps no names.
    .persistent(false)
    .fetch_all(&mut *tx)
    .await
    .map_err(sqlx_error)?;

    let mut rng = StdRng::seed_from_u64(seed);
    let mut copy = tx
        .copy_in_raw("COPY customers (id, name, email, phone, created_at) FROM STDIN")
        .await
        .map_err(sqlx_error)?;
    let mut buf = String::with_capacity(COPY_CHUNK + 4096);
    for (i, id) in ids.iter().enumerate() {
        customer_row(&mut buf, *id, &customer(&mut rng, seed, i));
        if buf.len() >= COPY_CHUNK {
            send(&mut copy, &mut buf).await?;
            progress(SeedProgress::Customers(i + 1));
        }
    }
    send(&mut copy, &mut buf).await?;
    copy.finish().await.map_err(sqlx_error)?;
    progress(SeedProgress::Customers(ids.len()));

    let mut written = 0;
    if !ids.is_empty() && orders > 0 {
        let mut copy = tx
            .copy_in_raw("COPY orders (customer_id, total_cents, status, created_at) FROM STDIN")
            .await
            .map_err(sqlx_error)?;
        while written < orders {
            order_row(&mut buf, &order(&mut rng, &ids));
            written += 1;
            if buf.len() >= COPY_CHUNK {
                send(&mut copy, &mut buf).await?;
                progress(SeedProgress::Orders(written));
            }
        }
        send(&mut copy, &mut buf).await?;
        copy.finish().await.map_err(sqlx_error)?;
        progress(SeedProgress::Orders(written));
    }
    tx.commit().await.map_err(sqlx_error)?;
    Ok(SeedSummary {
        customers: ids.len(),
        orders: written,
    })
}

/// Sends what `buf` holds (if anything) and empties it.
async fn send<C>(copy: &mut sqlx::postgres::PgCopyIn<C>, buf: &mut String) -> Result<()>
where
    C: std::ops::DerefMut<Target = sqlx::PgConnection>,
{
    if !buf.is_empty() {
        copy.send(std::mem::take(buf).into_bytes())
            .await
            .map_err(sqlx_error)?;
    }
    Ok(())
}

/// `COPY customers (id, name, email, phone, created_at)` text row.
pub fn customer_row(buf: &mut String, id: i64, c: &NewCustomer) {
    let _ = write!(buf, "{id}\t");
    escape(buf, &c.name);
    buf.push('\t');
    escape(buf, &c.email);
    buf.push('\t');
    match &c.phone {
        Some(p) => escape(buf, p),
        None => buf.push_str("\\N"),
    }
    let created_at = c.created_at.unwrap_or_default();
    let _ = writeln!(
        buf,
        "\t{}",
        created_at.to_rfc3339_opts(SecondsFormat::Micros, true)
    );
}

/// `COPY orders (customer_id, total_cents, status, created_at)` text row.
pub fn order_row(buf: &mut String, o: &NewOrder) {
    let _ = writeln!(
        buf,
        "{}\t{}\t{}\t{}",
        o.customer_id,
        o.total.cents(),
        o.status.as_str(),
        o.created_at.to_rfc3339_opts(SecondsFormat::Micros, true)
    );
}

/// The rows `seed` writes for customers `1..=customers` on a fresh
/// database, rendered for `COPY` (customers, orders): the benchmark's
/// reference for the physical limit.
pub fn render(customers: usize, orders: usize, seed: u64) -> (String, String) {
    let mut rng = StdRng::seed_from_u64(seed);
    let ids: Vec<i64> = (1..=i64::try_from(customers).unwrap_or(i64::MAX)).collect();
    let mut c = String::new();
    for (i, id) in ids.iter().enumerate() {
        customer_row(&mut c, *id, &customer(&mut rng, seed, i));
    }
    let mut o = String::new();
    if !ids.is_empty() {
        for _ in 0..orders {
            order_row(&mut o, &order(&mut rng, &ids));
        }
    }
    (c, o)
}

/// Escapes a value for `COPY`'s text format.
pub(crate) fn escape(buf: &mut String, value: &str) {
    for ch in value.chars() {
        match ch {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}
