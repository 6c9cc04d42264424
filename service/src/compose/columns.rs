//! A field condition as an index sees it: the plain column it is on, and
//! whether it fixes that column or bounds a range of it.

use super::{CustomerField, Op, OrderField, TextOp};

/// A field condition as an index sees it: the plain column of the row's
/// table it is on, and how it bounds that column.
pub trait Columned {
    /// The column, when the condition is on a plain column of the table.
    fn column(&self) -> Option<&'static str>;
    /// Whether it fixes the column to one value (an index seeks it).
    fn fixes(&self) -> bool;
    /// Whether every operator bounds a range of the column (an index
    /// scans only that range).
    fn bounds(&self) -> bool;
}

fn fixes<T>(ops: &[Op<T>]) -> bool {
    ops.iter()
        .any(|op| matches!(op, Op::Eq(_)) || matches!(op, Op::In(v) if v.len() == 1))
}

fn bounds<T>(ops: &[Op<T>]) -> bool {
    !ops.is_empty()
        && ops.iter().all(|op| {
            matches!(
                op,
                Op::Eq(_) | Op::Gt(_) | Op::Gte(_) | Op::Lt(_) | Op::Lte(_)
            )
        })
}

fn fixes_text(t: &super::TextOps) -> bool {
    !t.case_insensitive
        && t.ops
            .iter()
            .any(|op| matches!(op, TextOp::Eq(_)) || matches!(op, TextOp::In(v) if v.len() == 1))
}

impl Columned for CustomerField {
    fn column(&self) -> Option<&'static str> {
        match self {
            CustomerField::Id(_) => Some("id"),
            CustomerField::Name(_) => Some("name"),
            CustomerField::Email(_) => Some("email"),
            CustomerField::Phone(_) => Some("phone"),
            CustomerField::CreatedAt(_) => Some("created_at"),
            CustomerField::TotalSpent(_)
            | CustomerField::OrderCount(_)
            | CustomerField::OrdersSome(_)
            | CustomerField::OrdersNone(_) => None,
        }
    }

    fn fixes(&self) -> bool {
        match self {
            CustomerField::Id(o) => fixes(&o.0),
            CustomerField::Name(t) | CustomerField::Email(t) | CustomerField::Phone(t) => {
                fixes_text(t)
            }
            CustomerField::CreatedAt(o) => fixes(&o.0),
            _ => false,
        }
    }

    fn bounds(&self) -> bool {
        match self {
            CustomerField::Id(o) => bounds(&o.0),
            CustomerField::CreatedAt(o) => bounds(&o.0),
            _ => self.fixes(),
        }
    }
}

impl Columned for OrderField {
    fn column(&self) -> Option<&'static str> {
        match self {
            OrderField::Id(_) => Some("id"),
            OrderField::CustomerId(_) => Some("customer_id"),
            OrderField::Total(_) => Some("total_cents"),
            OrderField::Status(_) => Some("status"),
            OrderField::CreatedAt(_) => Some("created_at"),
            OrderField::Customer(_) => None,
        }
    }

    fn fixes(&self) -> bool {
        match self {
            OrderField::Id(o) | OrderField::CustomerId(o) => fixes(&o.0),
            OrderField::Total(o) => fixes(&o.0),
            OrderField::Status(o) => fixes(&o.0),
            OrderField::CreatedAt(o) => fixes(&o.0),
            OrderField::Customer(_) => false,
        }
    }

    fn bounds(&self) -> bool {
        match self {
            OrderField::Id(o) | OrderField::CustomerId(o) => bounds(&o.0),
            OrderField::Total(o) => bounds(&o.0),
            OrderField::Status(o) => bounds(&o.0),
            OrderField::CreatedAt(o) => bounds(&o.0),
            OrderField::Customer(_) => false,
        }
    }
}
