//! Input objects. Each converts into a validated service input, with errors
//! that name the field (and, in bulk, the input index).

use async_graphql::{ID, InputObject, MaybeUndefined};
use service::input::{CustomerPatch, NewCustomer, NewOrder, OrderPatch};
use service::model;

use super::order::OrderStatus;
use crate::graphql::error::bad_input;
use crate::graphql::scalars::{DateTime, Decimal, parse_id};

#[derive(InputObject)]
pub struct CreateCustomerInput {
    /// 1 to 100 characters (surrounding spaces are trimmed).
    pub name: String,
    /// A valid address, unique regardless of case.
    pub email: String,
    /// Optional phone number: digits with optional `+ - . ( )` and spaces.
    pub phone: Option<String>,
}

impl CreateCustomerInput {
    pub fn parse(&self) -> Result<NewCustomer, String> {
        NewCustomer::parse(&self.name, &self.email, self.phone.as_deref())
    }
}

/// Fields left out stay as they are; `phone: null` clears the phone.
#[derive(InputObject)]
pub struct UpdateCustomerInput {
    pub name: Option<String>,
    pub email: Option<String>,
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

#[derive(InputObject)]
pub struct CreateOrderInput {
    /// The customer placing the order; must exist.
    pub customer_id: ID,
    /// At least 0, at most two decimals.
    pub total: Decimal,
    #[graphql(default_with = "Some(OrderStatus::Pending)")]
    pub status: Option<OrderStatus>,
    /// Defaults to now.
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

/// Fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateOrderInput {
    pub total: Option<Decimal>,
    pub status: Option<OrderStatus>,
}

impl UpdateOrderInput {
    pub fn parse(&self) -> async_graphql::Result<OrderPatch> {
        OrderPatch::parse(self.total.map(|t| t.0), self.status.map(Into::into)).map_err(bad_input)
    }
}

#[derive(InputObject, Default)]
pub struct CustomerFilter {
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    /// Exact email, case-insensitive.
    pub email: Option<String>,
}

impl From<CustomerFilter> for model::CustomerFilter {
    fn from(f: CustomerFilter) -> Self {
        model::CustomerFilter {
            name_contains: f.name_contains,
            email: f.email,
        }
    }
}

#[derive(InputObject, Default)]
pub struct OrderFilter {
    pub customer_id: Option<ID>,
    pub status: Option<OrderStatus>,
    /// Inclusive: `createdAt >= createdAfter`.
    pub created_after: Option<DateTime>,
    /// Exclusive: `createdAt < createdBefore`.
    pub created_before: Option<DateTime>,
    /// Inclusive.
    pub min_total: Option<Decimal>,
    /// Inclusive.
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
