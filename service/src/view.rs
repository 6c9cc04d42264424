//! Which rows a caller may see: the one door every read goes through.
//!
//! [`Store::customers`](crate::Store::customers) and
//! [`Store::orders`](crate::Store::orders) take a [`View`], and the services
//! they return are the only way `api` reads customers and orders. Inside
//! the service layer, every function that builds a read of those tables
//! takes what it reads about as a [`Seen`] value (a filter, some ids),
//! which only a view makes: `View::customers` and `View::orders` (in
//! `compose::restrict`) add the view's own condition to a filter, [`View::customer_ids`] keeps the
//! ids the view may see, [`View::order_ids`] carries the view to the rows
//! found. Reads of what is kept for every customer at once (rollups, the
//! per-customer aggregates grouped, the ranking) take [`Everything`],
//! which only the unrestricted view gives. So a read that forgets the
//! caller's view does not compile, and a structure test
//! (`structure::views`) checks that every such function takes one.
//!
//! Operator commands (`seed`, `import`, `stats`) and the writes' own
//! checks are not callers' reads: they read and write everything.

use serde::Serialize;

use crate::model::Order;

/// What a caller may see. Serialized into what must tell views apart (a
/// cursor's fingerprint); its cache namespace keeps cached entries apart.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct View {
    visible: Visible,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
enum Visible {
    /// Every row.
    Everything,
    /// One customer's row and its orders (the `customer` role). An id that
    /// names no customer sees nothing.
    Customer(i64),
}

/// Proof that a read is made under the unrestricted view: reads of what
/// is kept for all customers at once take one.
#[derive(Copy, Clone, Debug)]
pub struct Everything(());

/// What a read is about (a filter, some ids), as one view sees it: made
/// only by a [`View`].
#[derive(Clone, Debug)]
pub struct Seen<T> {
    value: T,
    view: View,
}

impl<T> Seen<T> {
    /// `value` as `view` sees it: called only where the view's rule is
    /// applied to the value (here, and in `compose::restrict` for filters;
    /// `structure::views` checks it).
    pub(crate) fn made(view: View, value: T) -> Self {
        Seen { value, view }
    }

    /// The value as the view sees it (a filter with the view's condition).
    pub fn get(&self) -> &T {
        &self.value
    }

    /// The view it was seen under.
    pub fn view(&self) -> View {
        self.view
    }

    /// Whether the view sees every row: only then may a read use what is
    /// kept for all customers.
    pub fn everything(&self) -> Option<Everything> {
        self.view.everything()
    }
}

impl Seen<Vec<i64>> {
    /// The ids at `positions` (a part of what the view sees stays seen).
    pub fn part(&self, positions: &[usize]) -> Seen<Vec<i64>> {
        Seen {
            value: positions
                .iter()
                .filter_map(|i| self.value.get(*i).copied())
                .collect(),
            view: self.view,
        }
    }
}

/// Order ids to look up (their rows are kept only where the view sees them).
#[derive(Clone, Debug)]
pub struct OrderIds(pub Vec<i64>);

impl Seen<OrderIds> {
    /// The rows found, less those the view does not see.
    pub fn keep(&self, mut rows: Vec<Order>) -> Vec<Order> {
        rows.retain(|o| self.view.sees_orders_of(o.customer_id));
        rows
    }
}

impl View {
    /// Every row: staff callers, anonymous readers, and the live ranking
    /// shared by all subscribers.
    pub const fn unrestricted() -> Self {
        View {
            visible: Visible::Everything,
        }
    }

    /// One customer's row and its own orders.
    pub const fn customer(id: i64) -> Self {
        View {
            visible: Visible::Customer(id),
        }
    }

    /// Whether the caller sees every row.
    pub fn is_unrestricted(&self) -> bool {
        matches!(self.visible, Visible::Everything)
    }

    /// The proof reads of what is kept for all customers need (`None`
    /// under a restricted view).
    pub fn everything(&self) -> Option<Everything> {
        self.is_unrestricted().then_some(Everything(()))
    }

    /// The customer this view is restricted to, if any.
    pub fn customer_id(&self) -> Option<i64> {
        match self.visible {
            Visible::Everything => None,
            Visible::Customer(id) => Some(id),
        }
    }

    /// What the cache keys of this view's entries carry, so that an entry
    /// filled under one view is never read under another: nothing for the
    /// unrestricted view (its entries are shared by every staff caller),
    /// the customer's id for a customer's.
    pub fn cache_namespace(&self) -> Option<String> {
        self.customer_id().map(|id| format!("c{id}"))
    }

    /// Whether this view sees the customer `id`.
    pub fn sees_customer(&self, id: i64) -> bool {
        self.customer_id().is_none_or(|own| own == id)
    }

    /// Whether this view sees the orders of the customer `customer_id`.
    pub fn sees_orders_of(&self, customer_id: i64) -> bool {
        self.sees_customer(customer_id)
    }

    /// The customer ids among `ids` this view sees (in their order).
    pub fn customer_ids(&self, ids: &[i64]) -> Seen<Vec<i64>> {
        Seen {
            value: ids
                .iter()
                .copied()
                .filter(|id| self.sees_customer(*id))
                .collect(),
            view: *self,
        }
    }

    /// Order ids to look up under this view.
    pub fn order_ids(&self, ids: &[i64]) -> Seen<OrderIds> {
        Seen {
            value: OrderIds(ids.to_vec()),
            view: *self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(customer_id: i64) -> Order {
        Order {
            id: 1,
            customer_id,
            total: crate::money::Money::from_cents(100),
            status: crate::model::OrderStatus::Pending,
            created_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_unrestricted_view_sees_every_id_and_shares_its_cache_entries() {
        let view = View::unrestricted();
        assert!(view.everything().is_some() && view.cache_namespace().is_none());
        assert_eq!(view.customer_ids(&[3, 1, 2]).get(), &vec![3, 1, 2]);
        assert_eq!(view.order_ids(&[1]).keep(vec![order(8)]), vec![order(8)]);
    }

    #[test]
    fn a_customers_view_sees_its_own_ids_only_and_caches_apart() {
        let view = View::customer(7);
        assert!(view.everything().is_none());
        assert_eq!(view.cache_namespace().as_deref(), Some("c7"));
        let seen = view.customer_ids(&[3, 7, 9, 7]);
        assert_eq!(seen.get(), &vec![7, 7]);
        assert_eq!(seen.part(&[1, 5]).get(), &vec![7]);
        let kept = view.order_ids(&[1, 2]).keep(vec![order(7), order(8)]);
        assert_eq!(kept, vec![order(7)]);
    }
}
