//! Deterministic demo data: the same seed gives the same rows on a fresh
//! database. Names and unique emails, orders spread over two years with a
//! skewed number per customer, written through the bulk path.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use sea_orm::{DbBackend, TransactionTrait};

use crate::cache::Scope;
use crate::error::Result;
use crate::input::{NewCustomer, NewOrder};
use crate::model::OrderStatus;
use crate::money::Money;
use crate::{Store, bulk};

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Barbara",
    "Brian",
    "Claude",
    "Dennis",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "Ivan",
    "Jean",
    "John",
    "Ken",
    "Leslie",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Robin",
    "Shafi",
    "Sophie",
    "Tim",
    "Tony",
    "Vint",
    "Whitfield",
    "Yukihiro",
    "Zhang",
    "Anita",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Liskov",
    "Kernighan",
    "Shannon",
    "Ritchie",
    "Knuth",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Lamarr",
    "Sutherland",
    "Sammet",
    "Backus",
    "Thompson",
    "Lamport",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Milner",
    "Goldwasser",
    "Wilson",
    "Berners-Lee",
    "Hoare",
    "Cerf",
    "Diffie",
    "Matsumoto",
    "Yun",
    "Borg",
];
const DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];

/// Rows per bulk write while seeding.
pub const SEED_BATCH: usize = 5_000;

/// The fixed end of the two years that seeded data spans, so a seed gives
/// the same timestamps whenever it runs.
pub fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

const TWO_YEARS_MICROS: i64 = 2 * 365 * 24 * 3600 * 1_000_000;

/// Generates customer `i` of the stream for `seed`.
pub fn customer(rng: &mut StdRng, seed: u64, i: usize) -> NewCustomer {
    let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
    let domain = DOMAINS[rng.random_range(0..DOMAINS.len())];
    let phone = rng.random_bool(0.7).then(|| {
        format!(
            "+1 555 {:04} {:04}",
            rng.random_range(0..10_000),
            rng.random_range(0..10_000)
        )
    });
    let age = rng.random_range(0..TWO_YEARS_MICROS);
    NewCustomer {
        name: format!("{first} {last}"),
        email: format!(
            "{}.{}.{seed}.{i}@{domain}",
            first.to_lowercase(),
            last.to_lowercase()
        ),
        phone,
        created_at: Some(anchor() - Duration::microseconds(age)),
    }
}

/// Generates one order for one of `customer_ids`: a few customers get many
/// orders, most get few.
pub fn order(rng: &mut StdRng, customer_ids: &[i64]) -> NewOrder {
    let u: f64 = rng.random();
    let idx = ((u.powf(2.5)) * customer_ids.len() as f64) as usize;
    let customer_id = customer_ids[idx.min(customer_ids.len().saturating_sub(1))];
    let v: f64 = rng.random();
    let cents = 100 + (v * v * 49_900.0) as i64;
    let status = match rng.random_range(0..100) {
        0..50 => OrderStatus::Paid,
        50..80 => OrderStatus::Shipped,
        80..95 => OrderStatus::Pending,
        _ => OrderStatus::Cancelled,
    };
    let age = rng.random_range(0..TWO_YEARS_MICROS);
    NewOrder {
        customer_id,
        total: Money::from_cents(cents),
        status,
        created_at: anchor() - Duration::microseconds(age),
    }
}

/// What a seed run wrote.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SeedSummary {
    pub customers: usize,
    pub orders: usize,
}

/// Progress of a seed run, reported after every batch.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SeedProgress {
    Customers(usize),
    Orders(usize),
}

/// Writes `customers` customers and `orders` orders for `seed` through the
/// fastest path of the backend (`COPY` on PostgreSQL, multi-row inserts
/// elsewhere), calling `progress` as rows are written. All or nothing.
pub async fn seed(
    store: &Store,
    customers: usize,
    orders: usize,
    seed: u64,
    progress: &mut (dyn FnMut(SeedProgress) + Send),
) -> Result<SeedSummary> {
    let summary = if store.db.get_database_backend() == DbBackend::Postgres {
        copy::seed(store, customers, orders, seed, progress).await?
    } else {
        seed_with_inserts(store, customers, orders, seed, progress).await?
    };
    // New rows change the ranking; per-customer entries of new ids cannot exist yet.
    store.cache.invalidate(&[Scope::Ranking]).await;
    Ok(summary)
}

/// The portable path: the bulk inserts of `createCustomers`/`createOrders`,
/// in one transaction.
async fn seed_with_inserts(
    store: &Store,
    customers: usize,
    orders: usize,
    seed: u64,
    progress: &mut (dyn FnMut(SeedProgress) + Send),
) -> Result<SeedSummary> {
    let txn = store.db.begin().await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ids = Vec::with_capacity(customers);
    let mut i = 0;
    while i < customers {
        let n = SEED_BATCH.min(customers - i);
        let batch: Vec<NewCustomer> = (i..i + n).map(|k| customer(&mut rng, seed, k)).collect();
        if let Some(rejected) = bulk::check_emails_free(&txn, &batch).await? {
            return Err(rejected.into_error(|k| format!("seeded customer {}", i + k)));
        }
        let created = bulk::insert_customers(&txn, &batch).await?;
        ids.extend(created.iter().map(|c| c.id));
        i += n;
        progress(SeedProgress::Customers(i));
    }
    let mut written = 0;
    while written < orders && !ids.is_empty() {
        let n = SEED_BATCH.min(orders - written);
        let batch: Vec<NewOrder> = (0..n).map(|_| order(&mut rng, &ids)).collect();
        bulk::insert_orders(&txn, &batch).await?;
        written += n;
        progress(SeedProgress::Orders(written));
    }
    txn.commit().await?;
    Ok(SeedSummary {
        customers: ids.len(),
        orders: written,
    })
}

/// The PostgreSQL path: `COPY … FROM STDIN` in one transaction, with rows
/// generated while earlier ones stream.
pub mod copy {
    use std::fmt::Write as _;
    use std::sync::Arc;

    use chrono::SecondsFormat;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use sea_orm::sqlx;

    use super::{SeedProgress, SeedSummary, customer, order};
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
                .copy_in_raw(
                    "COPY orders (customer_id, total_cents, status, created_at) FROM STDIN",
                )
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
            status_name(o.status),
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

    pub(crate) fn status_name(s: crate::model::OrderStatus) -> &'static str {
        use crate::model::OrderStatus as S;
        match s {
            S::Pending => "PENDING",
            S::Paid => "PAID",
            S::Shipped => "SHIPPED",
            S::Cancelled => "CANCELLED",
        }
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
}
