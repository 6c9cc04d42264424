//! Domain values the service returns. They are neither ORM rows nor GraphQL
//! objects; `api` wraps them for the schema.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use entity::order::OrderStatus;

use crate::money::Money;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<entity::customer::Model> for Customer {
    fn from(m: entity::customer::Model) -> Self {
        Customer {
            id: m.id,
            name: m.name,
            email: m.email,
            phone: m.phone,
            created_at: m.created_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    pub total: Money,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
}

impl Order {
    /// The order's position in "newest first" order.
    pub fn key(&self) -> OrderKey {
        OrderKey {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

impl From<entity::order::Model> for Order {
    fn from(m: entity::order::Model) -> Self {
        Order {
            id: m.id,
            customer_id: m.customer_id,
            total: Money::from_cents(m.total_cents),
            status: m.status,
            created_at: m.created_at,
        }
    }
}

/// A customer's aggregates over all its orders.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerStats {
    pub order_count: i64,
    pub total_spent: Money,
}

/// One row of the spending ranking.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spending {
    pub customer_id: i64,
    pub order_count: i64,
    pub total_spent: Money,
}

/// Sort key of "newest first": `created_at` descending, then `id` descending.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrderKey {
    pub created_at: DateTime<Utc>,
    pub id: i64,
}

/// One page of a keyset-paginated list: `items` in order, and whether more follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `first + 1` rows: the extra row only says
    /// that another page exists.
    pub fn from_overfetch(mut rows: Vec<T>, first: u64) -> Self {
        let has_next_page = rows.len() as u64 > first;
        rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
        Page {
            items: rows,
            has_next_page,
        }
    }
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            has_next_page: false,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// Exact email, case-insensitive.
    pub email: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub customer_id: Option<i64>,
    pub status: Option<OrderStatus>,
    /// Inclusive.
    pub created_after: Option<DateTime<Utc>>,
    /// Exclusive.
    pub created_before: Option<DateTime<Utc>>,
    /// Inclusive.
    pub min_total: Option<Money>,
    /// Inclusive.
    pub max_total: Option<Money>,
}
