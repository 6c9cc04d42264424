//! A caller's view as a composed condition: a restricted view adds its own
//! condition to every filter it reads through (a customer's: its own id,
//! or its orders' `customerId`), so the statement, the row budget's
//! estimate and the cursor's fingerprint all see the same restricted
//! filter. This and `view` are the only places a [`Seen`] is made.

use super::budget::{Kept, Read};
use super::{CustomerField, Op, Ops, OrderField, Where};
use crate::view::{Seen, View};

/// `filter` and `own`, when the view has a condition of its own.
fn with<F>(own: Option<Where<F>>, filter: &Where<F>) -> Where<F>
where
    Where<F>: Clone,
{
    match own {
        None => filter.clone(),
        Some(own) => Where::And(vec![own, filter.clone()]),
    }
}

impl View {
    /// Customers `filter` selects, with this view's condition.
    pub fn customers(&self, filter: &Where<CustomerField>) -> Seen<Where<CustomerField>> {
        let own = self
            .customer_id()
            .map(|id| Where::Field(CustomerField::Id(Ops(vec![Op::Eq(id)]))));
        Seen::made(*self, with(own, filter))
    }

    /// Orders `filter` selects, with this view's condition.
    pub fn orders(&self, filter: &Where<OrderField>) -> Seen<Where<OrderField>> {
        let own = self
            .customer_id()
            .map(|id| Where::Field(OrderField::CustomerId(Ops(vec![Op::Eq(id)]))));
        Seen::made(*self, with(own, filter))
    }
}

impl Read {
    /// The read as `view` makes it, for the row budget: its filter with the
    /// view's condition, and nothing kept for all customers unless the
    /// view sees everything (a restricted view reads its orders).
    pub fn seen_by(&self, view: &View) -> Read {
        let orders = |filter: &Where<OrderField>| view.orders(filter).get().clone();
        match self {
            Read::Customers { filter, sort, rows } => Read::Customers {
                filter: view.customers(filter).get().clone(),
                sort: sort.clone(),
                rows: *rows,
            },
            Read::Orders { filter, sort, rows } => Read::Orders {
                filter: orders(filter),
                sort: sort.clone(),
                rows: *rows,
            },
            Read::OrdersPerCustomer {
                filter,
                sort,
                rows,
                customers,
            } => Read::OrdersPerCustomer {
                filter: orders(filter),
                sort: sort.clone(),
                rows: *rows,
                customers: *customers,
            },
            Read::CountCustomers { filter } => Read::CountCustomers {
                filter: view.customers(filter).get().clone(),
            },
            Read::CountOrders { filter } => Read::CountOrders {
                filter: orders(filter),
            },
            Read::CountOrdersPerCustomer { filter, customers } => Read::CountOrdersPerCustomer {
                filter: orders(filter),
                customers: *customers,
            },
            Read::AggregateOrders { filter, kept } => Read::AggregateOrders {
                filter: orders(filter),
                kept: if view.is_unrestricted() {
                    *kept
                } else {
                    Kept::Nothing
                },
            },
            Read::AggregateOrdersPerCustomer { filter, customers } => {
                Read::AggregateOrdersPerCustomer {
                    filter: orders(filter),
                    customers: *customers,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::name_is;

    #[test]
    fn the_unrestricted_view_leaves_filters_as_they_are() {
        let view = View::unrestricted();
        assert_eq!(view.customers(&name_is("a")).get(), &name_is("a"));
        let read = Read::AggregateOrders {
            filter: Where::And(vec![]),
            kept: Kept::Rollups,
        };
        assert_eq!(read.seen_by(&view), read);
    }

    #[test]
    fn a_customers_view_adds_its_own_id_to_every_filter_and_read() {
        let view = View::customer(7);
        assert_eq!(
            view.customers(&name_is("a")).get(),
            &Where::And(vec![
                Where::Field(CustomerField::Id(Ops(vec![Op::Eq(7)]))),
                name_is("a"),
            ])
        );
        let own_orders = Where::And(vec![
            Where::Field(OrderField::CustomerId(Ops(vec![Op::Eq(7)]))),
            Where::And(vec![]),
        ]);
        assert_eq!(view.orders(&Where::And(vec![])).get(), &own_orders);
        let read = Read::AggregateOrders {
            filter: Where::And(vec![]),
            kept: Kept::Rollups,
        };
        assert_eq!(
            read.seen_by(&view),
            Read::AggregateOrders {
                filter: own_orders,
                kept: Kept::Nothing,
            }
        );
    }
}
