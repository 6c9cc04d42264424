//! Composed filters: the query builder's tree (issue "Clients compose their
//! own queries"). A client's `where` becomes one [`Where`] tree, normalized
//! once, and the same tree feeds everything that must agree about it: the
//! SQL ([`sql`]), the shape the row budget judges ([`shape`]), and the
//! cursor's fingerprint (a digest of its serialization, with the order and
//! the view: `api`'s `schema::keyset`).
//!
//! Semantics (the contract's "Query builder"): every predicate of an
//! [`Ops`] must hold; `And` needs all its items (`And([])` matches every
//! row), `Or` at least one (`Or([])` none); `Not` matches exactly the rows
//! its condition does not. An operator applied to a NULL value is false
//! (only `phone` can be NULL; only [`TextOp::IsNull`] tests it), so the SQL
//! is two-valued and `Not` never loses a row to NULL. `In([])` matches no
//! row, `NotIn([])` every row (whose value is not NULL). Text compares
//! exactly unless the filter is case-insensitive, which lower-cases both
//! sides with the database's `lower()`; `StartsWith`, `EndsWith` and
//! `Contains` match the text literally (`%` and `_` are ordinary).
//!
//! Nothing here parses client input: `api` builds the tree from the GraphQL
//! input objects (refusing explicit nulls and empty operator objects there)
//! and measures it with [`Where::size`] before anything runs.

pub mod budget;
pub mod columns;
pub mod counts;
pub mod joined;
pub mod order;
pub mod pages;
pub mod restrict;
pub mod shape;
pub mod sql;

use chrono::{DateTime, Utc};
use entity::order::OrderStatus;
use serde::Serialize;

use crate::money::Money;

impl From<&crate::model::CustomerFilter> for Where<CustomerField> {
    /// The fixed `filter` of `customers` as a tree: `nameContains` is a
    /// case-insensitive `contains`, `email` an exact match of the
    /// lower-cased address (emails are stored lower-cased).
    fn from(f: &crate::model::CustomerFilter) -> Self {
        let mut items = Vec::new();
        if let Some(part) = f.name_contains.as_deref().filter(|p| !p.is_empty()) {
            items.push(Where::Field(CustomerField::Name(TextOps {
                ops: vec![TextOp::Contains(part.to_owned())],
                case_insensitive: true,
            })));
        }
        if let Some(email) = f.email.as_deref() {
            items.push(Where::Field(CustomerField::Email(TextOps {
                ops: vec![TextOp::Eq(email.trim().to_lowercase())],
                case_insensitive: false,
            })));
        }
        Where::And(items)
    }
}

impl From<&crate::model::OrderFilter> for Where<OrderField> {
    /// The fixed `filter` of `orders` as a tree (`createdAfter` and the
    /// totals inclusive, `createdBefore` exclusive).
    fn from(f: &crate::model::OrderFilter) -> Self {
        let mut items = Vec::new();
        let mut push = |field| items.push(Where::Field(field));
        if let Some(id) = f.customer_id {
            push(OrderField::CustomerId(Ops(vec![Op::Eq(id)])));
        }
        if let Some(status) = f.status {
            push(OrderField::Status(Ops(vec![Op::Eq(status)])));
        }
        let mut created = Vec::new();
        created.extend(f.created_after.map(Op::Gte));
        created.extend(f.created_before.map(Op::Lt));
        if !created.is_empty() {
            push(OrderField::CreatedAt(Ops(created)));
        }
        let mut total = Vec::new();
        total.extend(f.min_total.map(Op::Gte));
        total.extend(f.max_total.map(Op::Lte));
        if !total.is_empty() {
            push(OrderField::Total(Ops(total)));
        }
        Where::And(items)
    }
}

/// A filtered, sorted list: what one connection reads. The same value
/// feeds the SQL, the row budget and the cursor's fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct List<F, K> {
    pub filter: Where<F>,
    pub sort: order::Sort<K>,
}

pub type CustomerList = List<CustomerField, order::CustomerKey>;
pub type OrderList = List<OrderField, order::OrderSortKey>;

/// Both conditions: `filter` and `where` given together must both hold
/// (either may be absent: no condition).
pub fn both<F>(a: Where<F>, b: Option<Where<F>>) -> Where<F> {
    match b {
        None => a,
        Some(b) if matches!(&a, Where::And(items) if items.is_empty()) => b,
        Some(b) => Where::And(vec![a, b]),
    }
}

/// Whether a count of the orders `w` selects is answered from the
/// aggregates the server keeps (`customer_stats`) instead of the orders:
/// when `w` has no condition at all.
pub fn answered_by_stats(w: &Where<OrderField>) -> bool {
    shape::conjuncts(w).is_empty()
}

/// A composed condition over rows whose fields are `F`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Where<F> {
    /// Every item holds (the fields of one input object, or `and`).
    And(Vec<Where<F>>),
    /// At least one item holds.
    Or(Vec<Where<F>>),
    /// The condition does not hold.
    Not(Box<Where<F>>),
    /// A condition on one field.
    Field(F),
}

/// Conditions on a customer's fields.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum CustomerField {
    Id(Ops<i64>),
    Name(TextOps),
    Email(TextOps),
    Phone(TextOps),
    CreatedAt(Ops<DateTime<Utc>>),
    TotalSpent(Ops<Money>),
    OrderCount(Ops<i64>),
    /// At least one of the customer's orders matches.
    OrdersSome(Box<Where<OrderField>>),
    /// None of the customer's orders matches.
    OrdersNone(Box<Where<OrderField>>),
}

/// Conditions on an order's fields.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum OrderField {
    Id(Ops<i64>),
    CustomerId(Ops<i64>),
    Total(Ops<Money>),
    Status(Ops<OrderStatus>),
    CreatedAt(Ops<DateTime<Utc>>),
    /// The order's customer matches.
    Customer(Box<Where<CustomerField>>),
}

/// One comparison of a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Op<T> {
    Eq(T),
    Ne(T),
    Gt(T),
    Gte(T),
    Lt(T),
    Lte(T),
    In(Vec<T>),
    NotIn(Vec<T>),
}

/// The operators of one operator object: all of them must hold.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Ops<T>(pub Vec<Op<T>>);

/// One text comparison.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum TextOp {
    Eq(String),
    Ne(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    /// `true`: the value is NULL; `false`: it is not.
    IsNull(bool),
}

/// The operators of one text filter, all of which must hold, and whether
/// they compare lower-cased text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TextOps {
    pub ops: Vec<TextOp>,
    pub case_insensitive: bool,
}

/// How big a filter is, as the document limits count it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Size {
    /// Deepest nesting of `and`/`or`/`not` and relation filters.
    pub depth: u64,
    /// Operators, all told.
    pub operators: u64,
    /// Items of every `in`/`notIn` list, all told.
    pub list_items: u64,
}

impl Size {
    fn add(self, other: Size) -> Size {
        Size {
            depth: self.depth.max(other.depth),
            operators: self.operators.saturating_add(other.operators),
            list_items: self.list_items.saturating_add(other.list_items),
        }
    }

    fn deeper(self) -> Size {
        Size {
            depth: self.depth.saturating_add(1),
            ..self
        }
    }
}

/// What a field condition weighs in a [`Size`].
pub trait Measured {
    fn size(&self) -> Size;
}

impl<F: Measured> Where<F> {
    /// The filter's size (see [`Size`]).
    pub fn size(&self) -> Size {
        match self {
            Where::And(items) | Where::Or(items) => items
                .iter()
                .fold(Size::default(), |s, w| s.add(w.size()))
                .deeper(),
            Where::Not(inner) => inner.size().deeper(),
            Where::Field(f) => f.size(),
        }
    }
}

fn ops_size<T>(ops: &[Op<T>]) -> Size {
    Size {
        depth: 0,
        operators: ops.len() as u64,
        list_items: ops
            .iter()
            .map(|op| match op {
                Op::In(v) | Op::NotIn(v) => v.len() as u64,
                _ => 0,
            })
            .sum(),
    }
}

impl Measured for TextOps {
    fn size(&self) -> Size {
        Size {
            depth: 0,
            operators: self.ops.len() as u64,
            list_items: self
                .ops
                .iter()
                .map(|op| match op {
                    TextOp::In(v) | TextOp::NotIn(v) => v.len() as u64,
                    _ => 0,
                })
                .sum(),
        }
    }
}

impl Measured for CustomerField {
    fn size(&self) -> Size {
        match self {
            CustomerField::Id(o) | CustomerField::OrderCount(o) => ops_size(&o.0),
            CustomerField::Name(t) | CustomerField::Email(t) | CustomerField::Phone(t) => t.size(),
            CustomerField::CreatedAt(o) => ops_size(&o.0),
            CustomerField::TotalSpent(o) => ops_size(&o.0),
            CustomerField::OrdersSome(w) | CustomerField::OrdersNone(w) => w.size().deeper(),
        }
    }
}

impl Measured for OrderField {
    fn size(&self) -> Size {
        match self {
            OrderField::Id(o) | OrderField::CustomerId(o) => ops_size(&o.0),
            OrderField::Total(o) => ops_size(&o.0),
            OrderField::Status(o) => ops_size(&o.0),
            OrderField::CreatedAt(o) => ops_size(&o.0),
            OrderField::Customer(w) => w.size().deeper(),
        }
    }
}

/// A test's customer filter: the name is exactly `s`.
#[cfg(test)]
pub(crate) fn name_is(s: &str) -> Where<CustomerField> {
    Where::Field(CustomerField::Name(TextOps {
        ops: vec![TextOp::Eq(s.to_owned())],
        case_insensitive: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_nesting_operators_and_list_items() {
        let w = Where::And(vec![
            name_is("a"),
            Where::Not(Box::new(Where::Field(CustomerField::OrdersSome(Box::new(
                Where::Field(OrderField::Id(Ops(vec![Op::In(vec![1, 2, 3]), Op::Gt(0)]))),
            ))))),
        ]);
        assert_eq!(
            w.size(),
            Size {
                depth: 3,
                operators: 3,
                list_items: 3
            }
        );
    }
}
