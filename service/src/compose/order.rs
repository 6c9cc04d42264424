//! Sort orders and keyset positions for every order a client may ask.
//!
//! A [`Sort`] is normalized once: keys in the order given, a key repeated
//! (in either direction) refused, and the primary key appended in the
//! direction of the last key unless it is already there, so every order is
//! total. A position is the values of every sort key of one row, read in the
//! same statement that sorted it; the rows after it are those whose keys
//! compare after it, key by key (`k1 > p1 OR (k1 = p1 AND k2 > p2) …`, with
//! `<` for descending keys), written as one row comparison when every key
//! runs the same way, which PostgreSQL serves with an index seek. So a walk
//! over pages returns each row whose keys do not change during the walk
//! exactly once, in order, whatever else is inserted, changed or deleted.

use chrono::{DateTime, Utc};
use entity::{customer, customer_stats, order};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use serde::{Deserialize, Serialize};

use super::sql::customer_stat;
use crate::model::{Customer, CustomerStats, Order};

/// A key's direction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dir {
    Asc,
    Desc,
}

/// What customers sort by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CustomerKey {
    Id,
    Name,
    Email,
    CreatedAt,
    TotalSpent,
    OrderCount,
}

/// What orders sort by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderSortKey {
    Id,
    CreatedAt,
    Total,
    Status,
}

/// A sortable field of some rows.
pub trait SortKey: Copy + Eq + std::fmt::Debug {
    /// The primary key, the tie-breaker of every order.
    const PRIMARY: Self;
    /// The expression the statement sorts by (on the unaliased table).
    fn expr(self) -> Expr;
    /// Whether `value` is a value this key can have (a cursor is opaque,
    /// not unforgeable: a position is checked before it reaches SQL).
    fn admits(self, value: &KeyValue) -> bool;
}

/// Text a database stores (no NUL) and instants of the years 1 to 9999.
fn storable(value: &KeyValue) -> bool {
    use chrono::Datelike;
    match value {
        KeyValue::Int(_) => true,
        KeyValue::Text(t) => !t.contains('\0'),
        KeyValue::Time(t) => (1..=9999).contains(&t.year()),
    }
}

impl SortKey for CustomerKey {
    const PRIMARY: Self = CustomerKey::Id;

    fn expr(self) -> Expr {
        let col = |c: customer::Column| Expr::col(("customers", c));
        match self {
            CustomerKey::Id => col(customer::Column::Id),
            CustomerKey::Name => col(customer::Column::Name),
            CustomerKey::Email => col(customer::Column::Email),
            CustomerKey::CreatedAt => col(customer::Column::CreatedAt),
            CustomerKey::TotalSpent => customer_stat(customer_stats::Column::TotalCents),
            CustomerKey::OrderCount => customer_stat(customer_stats::Column::OrderCount),
        }
    }

    fn admits(self, value: &KeyValue) -> bool {
        storable(value)
            && match self {
                CustomerKey::Id | CustomerKey::TotalSpent | CustomerKey::OrderCount => {
                    matches!(value, KeyValue::Int(_))
                }
                CustomerKey::Name | CustomerKey::Email => matches!(value, KeyValue::Text(_)),
                CustomerKey::CreatedAt => matches!(value, KeyValue::Time(_)),
            }
    }
}

impl SortKey for OrderSortKey {
    const PRIMARY: Self = OrderSortKey::Id;

    fn expr(self) -> Expr {
        let col = |c: order::Column| Expr::col(("orders", c));
        match self {
            OrderSortKey::Id => col(order::Column::Id),
            OrderSortKey::CreatedAt => col(order::Column::CreatedAt),
            OrderSortKey::Total => col(order::Column::TotalCents),
            OrderSortKey::Status => col(order::Column::Status),
        }
    }

    fn admits(self, value: &KeyValue) -> bool {
        storable(value)
            && match self {
                OrderSortKey::Id | OrderSortKey::Total => matches!(value, KeyValue::Int(_)),
                OrderSortKey::Status => matches!(value, KeyValue::Text(_)),
                OrderSortKey::CreatedAt => matches!(value, KeyValue::Time(_)),
            }
    }
}

/// A normalized order: the keys as given, then the primary key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Sort<K> {
    keys: Vec<(K, Dir)>,
}

impl<K: SortKey> Sort<K> {
    /// `given` normalized; `Err` names a key given twice. An empty `given`
    /// is the primary key ascending (callers pass their default instead).
    pub fn new(given: &[(K, Dir)]) -> Result<Self, K> {
        let mut keys: Vec<(K, Dir)> = Vec::with_capacity(given.len() + 1);
        for (key, dir) in given {
            if keys.iter().any(|(k, _)| k == key) {
                return Err(*key);
            }
            keys.push((*key, *dir));
        }
        if !keys.iter().any(|(k, _)| *k == K::PRIMARY) {
            let dir = keys.last().map_or(Dir::Asc, |(_, d)| *d);
            keys.push((K::PRIMARY, dir));
        }
        Ok(Sort { keys })
    }

    pub fn keys(&self) -> &[(K, Dir)] {
        &self.keys
    }

    /// The keys in the direction a read goes: reversed for a read from the
    /// end (`last`/`before`), whose rows are then put back in order.
    pub fn read_order(&self, from_end: bool) -> Vec<(Expr, sea_orm::Order)> {
        self.keys
            .iter()
            .map(|(k, d)| {
                let asc = (*d == Dir::Asc) != from_end;
                (
                    k.expr(),
                    if asc {
                        sea_orm::Order::Asc
                    } else {
                        sea_orm::Order::Desc
                    },
                )
            })
            .collect()
    }

    /// Rows strictly after `position` in this order (`forward`), or strictly
    /// before it. `None` when the position does not fit the order (a cursor
    /// of another order: the caller refuses it).
    pub fn beyond(&self, position: &[KeyValue], forward: bool) -> Option<Expr> {
        if position.len() != self.keys.len()
            || !self
                .keys
                .iter()
                .zip(position)
                .all(|((k, _), v)| k.admits(v))
        {
            return None;
        }
        let exprs: Vec<(Expr, Dir, Expr)> = self
            .keys
            .iter()
            .zip(position)
            .map(|((k, d), v)| (k.expr(), *d, v.expr()))
            .collect();
        // Does "after" mean "greater" for this key?
        let greater = |d: Dir| (d == Dir::Asc) == forward;
        let first = exprs[0].1;
        if exprs.iter().all(|(_, d, _)| *d == first) {
            let left = Expr::tuple(exprs.iter().map(|(e, _, _)| e.clone()));
            let right = Expr::tuple(exprs.iter().map(|(_, _, v)| v.clone()));
            return Some(if greater(first) {
                left.gt(right)
            } else {
                left.lt(right)
            });
        }
        let mut any: Option<Expr> = None;
        for i in 0..exprs.len() {
            let mut term: Option<Expr> = None;
            for (e, _, v) in &exprs[..i] {
                let eq = e.clone().eq(v.clone());
                term = Some(match term {
                    Some(t) => t.and(eq),
                    None => eq,
                });
            }
            let (e, d, v) = &exprs[i];
            let step = if greater(*d) {
                e.clone().gt(v.clone())
            } else {
                e.clone().lt(v.clone())
            };
            let term = match term {
                Some(t) => t.and(step),
                None => step,
            };
            any = Some(match any {
                Some(a) => a.or(term),
                None => term,
            });
        }
        any
    }
}

/// The value of one sort key of a row, as a cursor carries it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyValue {
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

impl KeyValue {
    fn expr(&self) -> Expr {
        match self {
            KeyValue::Int(v) => Expr::val(*v),
            KeyValue::Text(v) => Expr::val(v.clone()),
            KeyValue::Time(v) => Expr::val(*v),
        }
    }
}

/// The sort-key values of a customer in `sort` (its aggregates are read
/// with it when `sort` has them: see [`needs_stats`]).
pub fn customer_position(
    sort: &Sort<CustomerKey>,
    c: &Customer,
    s: Option<&CustomerStats>,
) -> Vec<KeyValue> {
    let s = s.copied().unwrap_or_default();
    sort.keys()
        .iter()
        .map(|(k, _)| match k {
            CustomerKey::Id => KeyValue::Int(c.id),
            CustomerKey::Name => KeyValue::Text(c.name.clone()),
            CustomerKey::Email => KeyValue::Text(c.email.clone()),
            CustomerKey::CreatedAt => KeyValue::Time(c.created_at),
            CustomerKey::TotalSpent => KeyValue::Int(s.total_spent.cents()),
            CustomerKey::OrderCount => KeyValue::Int(s.order_count),
        })
        .collect()
}

/// Whether `sort` sorts customers by their aggregates, which a page then
/// reads with them.
pub fn needs_stats(sort: &Sort<CustomerKey>) -> bool {
    sort.keys()
        .iter()
        .any(|(k, _)| matches!(k, CustomerKey::TotalSpent | CustomerKey::OrderCount))
}

/// The sort-key values of an order in `sort`.
pub fn order_position(sort: &Sort<OrderSortKey>, o: &Order) -> Vec<KeyValue> {
    sort.keys()
        .iter()
        .map(|(k, _)| match k {
            OrderSortKey::Id => KeyValue::Int(o.id),
            OrderSortKey::CreatedAt => KeyValue::Time(o.created_at),
            OrderSortKey::Total => KeyValue::Int(o.total.cents()),
            OrderSortKey::Status => KeyValue::Text(o.status.as_str().to_owned()),
        })
        .collect()
}

/// The default orders of the contract: customers by id ascending, orders
/// newest first.
pub fn default_customer_sort() -> Sort<CustomerKey> {
    Sort::new(&[(CustomerKey::Id, Dir::Asc)]).expect("BUG: one key")
}

pub fn default_order_sort() -> Sort<OrderSortKey> {
    Sort::new(&[
        (OrderSortKey::CreatedAt, Dir::Desc),
        (OrderSortKey::Id, Dir::Desc),
    ])
    .expect("BUG: distinct keys")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_key_ends_every_order_in_the_last_keys_direction() {
        let sort = Sort::new(&[(CustomerKey::Name, Dir::Desc)]).expect("valid");
        assert_eq!(
            sort.keys(),
            &[(CustomerKey::Name, Dir::Desc), (CustomerKey::Id, Dir::Desc)]
        );
        let sort = Sort::new(&[(CustomerKey::Id, Dir::Desc), (CustomerKey::Name, Dir::Asc)])
            .expect("valid");
        assert_eq!(sort.keys().len(), 2, "the primary key is not added twice");
        assert_eq!(
            Sort::<CustomerKey>::new(&[]).expect("valid").keys(),
            &[(CustomerKey::Id, Dir::Asc)]
        );
    }

    #[test]
    fn a_key_given_twice_is_refused_whatever_its_direction() {
        assert_eq!(
            Sort::new(&[
                (OrderSortKey::Total, Dir::Asc),
                (OrderSortKey::Total, Dir::Desc)
            ]),
            Err(OrderSortKey::Total)
        );
    }

    #[test]
    fn a_position_of_another_length_fits_no_order() {
        let sort = Sort::new(&[(OrderSortKey::Total, Dir::Asc)]).expect("valid");
        assert!(sort.beyond(&[KeyValue::Int(1)], true).is_none());
        assert!(
            sort.beyond(&[KeyValue::Int(1), KeyValue::Int(2)], true)
                .is_some()
        );
        // Values of another kind, or that no database stores, fit none.
        assert!(
            sort.beyond(&[KeyValue::Text("1".into()), KeyValue::Int(2)], true)
                .is_none()
        );
        let by_status = Sort::new(&[(OrderSortKey::Status, Dir::Asc)]).expect("valid");
        assert!(
            by_status
                .beyond(&[KeyValue::Text("PAID\0".into()), KeyValue::Int(2)], true)
                .is_none()
        );
    }
}
