//! Input objects. Each converts into a validated service input, with errors
//! that name the field (and, in bulk, the input index).

use async_graphql::{ID, InputObject, MaybeUndefined};
use service::input::{CustomerPatch, NewCustomer, NewOrder, OrderPatch, parse_search_text};
use service::model;

use super::order::OrderStatus;
use crate::graphql::runtime::error::bad_input;
use crate::graphql::schema::scalars::{DateTime, Decimal, parse_id};

/// A new customer.
#[derive(InputObject)]
pub struct CreateCustomerInput {
    /// 1 to 100 characters (surrounding spaces are trimmed), with at least
    /// one visible character and no control or bidirectional control characters.
    pub name: String,
    /// A valid address (`local@domain.tld`), unique regardless of case;
    /// stored lower-cased.
    pub email: String,
    /// Optional phone number: digits with optional `+ - . ( )` and spaces,
    /// at most 32 characters.
    pub phone: Option<String>,
}

impl CreateCustomerInput {
    pub fn parse(&self) -> Result<NewCustomer, String> {
        NewCustomer::parse(&self.name, &self.email, self.phone.as_deref())
    }
}

/// Changes to a customer: fields left out stay as they are; `phone: null`
/// clears the phone.
#[derive(InputObject)]
pub struct UpdateCustomerInput {
    /// The new name (same rules as when creating).
    pub name: Option<String>,
    /// The new email (same rules as when creating; `CONFLICT` when taken).
    pub email: Option<String>,
    /// The new phone number; `null` clears it.
    pub phone: MaybeUndefined<String>,
}

impl UpdateCustomerInput {
    pub fn parse(&self) -> async_graphql::Result<CustomerPatch> {
        let phone = match &self.phone {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(p) => Some(Some(p.as_str())),
        };
        CustomerPatch::parse(self.name.as_deref(), self.email.as_deref(), phone).map_err(bad_input)
    }
}

/// A new order.
#[derive(InputObject)]
pub struct CreateOrderInput {
    /// The customer placing the order; must exist.
    pub customer_id: ID,
    /// 0 to 1000000000.00, at most two decimals.
    pub total: Decimal,
    /// Where the order starts; `PENDING` when left out.
    #[graphql(default_with = "Some(OrderStatus::Pending)")]
    pub status: Option<OrderStatus>,
    /// When the order was placed; now when left out.
    pub created_at: Option<DateTime>,
}

impl CreateOrderInput {
    pub fn parse(&self) -> async_graphql::Result<NewOrder> {
        let customer_id = parse_id(&self.customer_id, "customer")?;
        NewOrder::parse(
            customer_id,
            self.total.0,
            self.status.map(Into::into),
            self.created_at.map(|t| t.0),
        )
        .map_err(bad_input)
    }
}

/// Changes to an order: fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateOrderInput {
    /// The new total (same rules as when creating).
    pub total: Option<Decimal>,
    /// The new status.
    pub status: Option<OrderStatus>,
}

impl UpdateOrderInput {
    pub fn parse(&self) -> async_graphql::Result<OrderPatch> {
        OrderPatch::parse(self.total.map(|t| t.0), self.status.map(Into::into)).map_err(bad_input)
    }
}

/// Conditions on customers; every given one must hold.
#[derive(InputObject, Default)]
pub struct CustomerFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// Exact email, case-insensitive.
    pub email: Option<String>,
}

impl CustomerFilter {
    pub fn parse(self) -> async_graphql::Result<model::CustomerFilter> {
        let text = |what: &str, v: Option<String>| {
            v.map(|t| parse_search_text(what, &t).map_err(bad_input))
                .transpose()
        };
        Ok(model::CustomerFilter {
            name_contains: text("filter.nameContains", self.name_contains)?,
            email: text("filter.email", self.email)?,
        })
    }
}

/// Conditions on orders; every given one must hold.
#[derive(InputObject, Default)]
pub struct OrderFilter {
    /// Only the orders of this customer.
    pub customer_id: Option<ID>,
    /// Only orders with this status.
    pub status: Option<OrderStatus>,
    /// Inclusive: `createdAt >= createdAfter`.
    pub created_after: Option<DateTime>,
    /// Exclusive: `createdAt < createdBefore`.
    pub created_before: Option<DateTime>,
    /// Inclusive: `total >= minTotal`.
    pub min_total: Option<Decimal>,
    /// Inclusive: `total <= maxTotal`.
    pub max_total: Option<Decimal>,
}

impl OrderFilter {
    pub fn parse(&self) -> async_graphql::Result<model::OrderFilter> {
        Ok(model::OrderFilter {
            customer_id: self
                .customer_id
                .as_ref()
                .map(|id| parse_id(id, "customer"))
                .transpose()?,
            status: self.status.map(Into::into),
            created_after: self.created_after.map(|t| t.0),
            created_before: self.created_before.map(|t| t.0),
            min_total: self.min_total.map(|m| m.0),
            max_total: self.max_total.map(|m| m.0),
        })
    }
}
