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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    pub total: Money,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
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

/// Which slice of a keyset-ordered list to read: rows strictly between
/// `after` and `before` (in list order), the first `size` of them, or with
/// `from_end` the last `size` (a "previous page").
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest<K> {
    pub size: u64,
    pub after: Option<K>,
    pub before: Option<K>,
    pub from_end: bool,
}

impl<K> PageRequest<K> {
    /// The first `size` rows after `after`.
    pub fn first(size: u64, after: Option<K>) -> Self {
        PageRequest {
            size,
            after,
            before: None,
            from_end: false,
        }
    }

    /// Rows to read: one more than wanted, to learn whether more exist.
    pub fn limit(&self) -> u64 {
        self.size.saturating_add(1)
    }
}

/// One page of a keyset-paginated list: `items` in list order, and whether
/// rows precede and follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `size + 1` rows read in the request's
    /// direction (backwards for `from_end`): the extra row only says that
    /// more exist on that side. The other side has rows when the request
    /// started from a cursor there.
    pub fn from_rows<K>(mut rows: Vec<T>, request: &PageRequest<K>) -> Self {
        let more = rows.len() as u64 > request.size;
        rows.truncate(usize::try_from(request.size).unwrap_or(usize::MAX));
        if request.from_end {
            rows.reverse();
            Page {
                items: rows,
                has_next_page: request.before.is_some(),
                has_previous_page: more,
            }
        } else {
            Page {
                items: rows,
                has_next_page: more,
                has_previous_page: request.after.is_some(),
            }
        }
    }
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
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
