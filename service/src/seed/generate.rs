//! The demo data itself: names and unique emails, orders spread over two
//! years with a skewed number per customer. Pure functions of the seed.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::Rng;
use rand::rngs::StdRng;

use crate::input::{NewCustomer, NewOrder};
use crate::model::OrderStatus;
use crate::money::Money;

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
