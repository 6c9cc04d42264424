//! The query builder's `where` objects and `orderBy` keys, converted into
//! the service's one tree and sort (`service::compose`); see `filters` for
//! the operator objects and the rules on `null` and empty objects.

use async_graphql::{Enum, InputObject, MaybeUndefined};
use service::compose::order::{CustomerKey, Dir, OrderSortKey, Sort};
use service::compose::{CustomerField, OrderField, Where};

use super::filters::{
    CompareFilter, DateTimeFilter, IdFilter, OrderStatusFilter, Result, StringFilter, given, int,
    money, no_operator,
};
use crate::graphql::runtime::error::bad_input;
use crate::graphql::schema::scalars::Decimal;

/// Whether the connectives of a `where` object hold.
fn connectives<F, W>(
    and: &MaybeUndefined<Vec<W>>,
    or: &MaybeUndefined<Vec<W>>,
    not: &MaybeUndefined<Box<W>>,
    path: &str,
    tree: impl Fn(&W, &str) -> Result<Where<F>>,
) -> Result<Vec<Where<F>>> {
    let mut items = Vec::new();
    if let Some(list) = given(and, path, "and")? {
        let all = list
            .iter()
            .enumerate()
            .map(|(i, w)| tree(w, &format!("{path}.and[{i}]")))
            .collect::<Result<Vec<_>>>()?;
        items.push(Where::And(all));
    }
    if let Some(list) = given(or, path, "or")? {
        let any = list
            .iter()
            .enumerate()
            .map(|(i, w)| tree(w, &format!("{path}.or[{i}]")))
            .collect::<Result<Vec<_>>>()?;
        items.push(Where::Or(any));
    }
    if let Some(w) = given(not, path, "not")? {
        items.push(Where::Not(Box::new(tree(w, &format!("{path}.not"))?)));
    }
    Ok(items)
}

/// Conditions on customers: every field given must hold.
#[derive(InputObject, Default)]
pub struct CustomerWhere {
    /// Every item holds (`[]`: every row).
    pub and: MaybeUndefined<Vec<CustomerWhere>>,
    /// At least one item holds (`[]`: no row).
    pub or: MaybeUndefined<Vec<CustomerWhere>>,
    /// Exactly the rows this condition does not match.
    pub not: MaybeUndefined<Box<CustomerWhere>>,
    /// The customer's id.
    pub id: MaybeUndefined<IdFilter>,
    /// The customer's name.
    pub name: MaybeUndefined<StringFilter>,
    /// The customer's email (stored lower-cased).
    pub email: MaybeUndefined<StringFilter>,
    /// The customer's phone, the only field that can be missing.
    pub phone: MaybeUndefined<StringFilter>,
    /// When the customer was created.
    pub created_at: MaybeUndefined<DateTimeFilter>,
    /// The sum of the customer's order totals.
    pub total_spent: MaybeUndefined<CompareFilter<Decimal>>,
    /// How many orders the customer has.
    pub order_count: MaybeUndefined<CompareFilter<i32>>,
    /// Conditions on the customer's orders.
    pub orders: MaybeUndefined<OrdersRelationFilter>,
}

/// Conditions on a customer's orders.
#[derive(InputObject, Default)]
pub struct OrdersRelationFilter {
    /// At least one of the customer's orders matches.
    pub some: MaybeUndefined<OrderWhere>,
    /// None of the customer's orders matches.
    pub none: MaybeUndefined<OrderWhere>,
}

impl CustomerWhere {
    /// The tree of this `where`, its values named from `path` in errors.
    pub fn tree(&self, path: &str) -> Result<Where<CustomerField>> {
        let mut items = connectives(&self.and, &self.or, &self.not, path, |w, p| w.tree(p))?;
        let at = |name: &str| format!("{path}.{name}");
        let mut field = |f: CustomerField| items.push(Where::Field(f));
        if let Some(f) = given(&self.id, path, "id")? {
            field(CustomerField::Id(f.ops(&at("id"))?));
        }
        if let Some(f) = given(&self.name, path, "name")? {
            field(CustomerField::Name(f.ops(&at("name"))?));
        }
        if let Some(f) = given(&self.email, path, "email")? {
            field(CustomerField::Email(f.ops(&at("email"))?));
        }
        if let Some(f) = given(&self.phone, path, "phone")? {
            field(CustomerField::Phone(f.ops(&at("phone"))?));
        }
        if let Some(f) = given(&self.created_at, path, "createdAt")? {
            field(CustomerField::CreatedAt(f.ops(&at("createdAt"))?));
        }
        if let Some(f) = given(&self.total_spent, path, "totalSpent")? {
            field(CustomerField::TotalSpent(f.ops(&at("totalSpent"), money)?));
        }
        if let Some(f) = given(&self.order_count, path, "orderCount")? {
            field(CustomerField::OrderCount(f.ops(&at("orderCount"), int)?));
        }
        if let Some(rel) = given(&self.orders, path, "orders")? {
            let path = at("orders");
            let mut any = false;
            if let Some(w) = given(&rel.some, &path, "some")? {
                field(CustomerField::OrdersSome(Box::new(
                    w.tree(&format!("{path}.some"))?,
                )));
                any = true;
            }
            if let Some(w) = given(&rel.none, &path, "none")? {
                field(CustomerField::OrdersNone(Box::new(
                    w.tree(&format!("{path}.none"))?,
                )));
                any = true;
            }
            if !any {
                return Err(no_operator(&path));
            }
        }
        Ok(one_or_all(items))
    }
}

/// Conditions on orders: every field given must hold.
#[derive(InputObject, Default)]
pub struct OrderWhere {
    /// Every item holds (`[]`: every row).
    pub and: MaybeUndefined<Vec<OrderWhere>>,
    /// At least one item holds (`[]`: no row).
    pub or: MaybeUndefined<Vec<OrderWhere>>,
    /// Exactly the rows this condition does not match.
    pub not: MaybeUndefined<Box<OrderWhere>>,
    /// The order's id.
    pub id: MaybeUndefined<IdFilter>,
    /// The id of the order's customer.
    pub customer_id: MaybeUndefined<IdFilter>,
    /// The order's total.
    pub total: MaybeUndefined<CompareFilter<Decimal>>,
    /// The order's status (compared by its name).
    pub status: MaybeUndefined<OrderStatusFilter>,
    /// When the order was placed.
    pub created_at: MaybeUndefined<DateTimeFilter>,
    /// Conditions on the order's customer.
    pub customer: MaybeUndefined<Box<CustomerWhere>>,
}

impl OrderWhere {
    /// The tree of this `where`, its values named from `path` in errors.
    pub fn tree(&self, path: &str) -> Result<Where<OrderField>> {
        let mut items = connectives(&self.and, &self.or, &self.not, path, |w, p| w.tree(p))?;
        let at = |name: &str| format!("{path}.{name}");
        let mut field = |f: OrderField| items.push(Where::Field(f));
        if let Some(f) = given(&self.id, path, "id")? {
            field(OrderField::Id(f.ops(&at("id"))?));
        }
        if let Some(f) = given(&self.customer_id, path, "customerId")? {
            field(OrderField::CustomerId(f.ops(&at("customerId"))?));
        }
        if let Some(f) = given(&self.total, path, "total")? {
            field(OrderField::Total(f.ops(&at("total"), money)?));
        }
        if let Some(f) = given(&self.status, path, "status")? {
            field(OrderField::Status(f.ops(&at("status"))?));
        }
        if let Some(f) = given(&self.created_at, path, "createdAt")? {
            field(OrderField::CreatedAt(f.ops(&at("createdAt"))?));
        }
        if let Some(w) = given(&self.customer, path, "customer")? {
            field(OrderField::Customer(Box::new(w.tree(&at("customer"))?)));
        }
        Ok(one_or_all(items))
    }
}

/// One item stands for itself; several (or none: `{}`) must all hold.
fn one_or_all<F>(mut items: Vec<Where<F>>) -> Where<F> {
    if items.len() == 1 {
        items.pop().unwrap_or(Where::And(Vec::new()))
    } else {
        Where::And(items)
    }
}

/// How customers are sorted.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub enum CustomerOrderBy {
    /// By id, smallest first.
    IdAsc,
    /// By id, largest first.
    IdDesc,
    /// By name, as the database collates text (A to Z).
    NameAsc,
    /// By name, Z to A.
    NameDesc,
    /// By email, A to Z.
    EmailAsc,
    /// By email, Z to A.
    EmailDesc,
    /// Oldest customers first.
    CreatedAtAsc,
    /// Newest customers first.
    CreatedAtDesc,
    /// Who spent least first.
    TotalSpentAsc,
    /// Who spent most first.
    TotalSpentDesc,
    /// Fewest orders first.
    OrderCountAsc,
    /// Most orders first.
    OrderCountDesc,
}

impl CustomerOrderBy {
    fn key(self) -> (CustomerKey, Dir) {
        use CustomerOrderBy as O;
        match self {
            O::IdAsc => (CustomerKey::Id, Dir::Asc),
            O::IdDesc => (CustomerKey::Id, Dir::Desc),
            O::NameAsc => (CustomerKey::Name, Dir::Asc),
            O::NameDesc => (CustomerKey::Name, Dir::Desc),
            O::EmailAsc => (CustomerKey::Email, Dir::Asc),
            O::EmailDesc => (CustomerKey::Email, Dir::Desc),
            O::CreatedAtAsc => (CustomerKey::CreatedAt, Dir::Asc),
            O::CreatedAtDesc => (CustomerKey::CreatedAt, Dir::Desc),
            O::TotalSpentAsc => (CustomerKey::TotalSpent, Dir::Asc),
            O::TotalSpentDesc => (CustomerKey::TotalSpent, Dir::Desc),
            O::OrderCountAsc => (CustomerKey::OrderCount, Dir::Asc),
            O::OrderCountDesc => (CustomerKey::OrderCount, Dir::Desc),
        }
    }

    /// The normalized order; empty means the default (id ascending).
    pub fn sort(given: &[CustomerOrderBy]) -> Result<Sort<CustomerKey>> {
        let keys: Vec<(CustomerKey, Dir)> = given.iter().map(|o| o.key()).collect();
        Sort::new(&keys).map_err(|k| repeated(&format!("{k:?}")))
    }
}

/// How orders are sorted.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub enum OrderOrderBy {
    /// By id, smallest first.
    IdAsc,
    /// By id, largest first.
    IdDesc,
    /// Oldest orders first.
    CreatedAtAsc,
    /// Newest orders first.
    CreatedAtDesc,
    /// Smallest total first.
    TotalAsc,
    /// Largest total first.
    TotalDesc,
    /// By the status's name, alphabetically.
    StatusAsc,
    /// By the status's name, reverse alphabetically.
    StatusDesc,
}

impl OrderOrderBy {
    fn key(self) -> (OrderSortKey, Dir) {
        use OrderOrderBy as O;
        match self {
            O::IdAsc => (OrderSortKey::Id, Dir::Asc),
            O::IdDesc => (OrderSortKey::Id, Dir::Desc),
            O::CreatedAtAsc => (OrderSortKey::CreatedAt, Dir::Asc),
            O::CreatedAtDesc => (OrderSortKey::CreatedAt, Dir::Desc),
            O::TotalAsc => (OrderSortKey::Total, Dir::Asc),
            O::TotalDesc => (OrderSortKey::Total, Dir::Desc),
            O::StatusAsc => (OrderSortKey::Status, Dir::Asc),
            O::StatusDesc => (OrderSortKey::Status, Dir::Desc),
        }
    }

    /// The normalized order; empty means newest first.
    pub fn sort(given: &[OrderOrderBy]) -> Result<Sort<OrderSortKey>> {
        if given.is_empty() {
            return Ok(service::compose::order::default_order_sort());
        }
        let keys: Vec<(OrderSortKey, Dir)> = given.iter().map(|o| o.key()).collect();
        Sort::new(&keys).map_err(|k| repeated(&format!("{k:?}")))
    }
}

/// `TotalSpent` as the schema spells its keys: `TOTAL_SPENT`.
fn screaming(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn repeated(key: &str) -> async_graphql::Error {
    bad_input(format!(
        "orderBy names {} more than once (in either direction): give each field once",
        screaming(key)
    ))
}

#[cfg(test)]
mod tests {
    use async_graphql::{InputType, value};
    use service::compose::{Op, Ops, TextOp, TextOps};
    use service::model::OrderStatus;

    use super::*;

    fn customer(v: async_graphql::Value) -> Result<Where<CustomerField>> {
        CustomerWhere::parse(Some(v))
            .map_err(|e| {
                async_graphql::Error::new(e.into_server_error(Default::default()).message)
            })?
            .tree("where")
    }

    fn message(r: Result<Where<CustomerField>>) -> String {
        match r {
            Err(e) => e.message,
            Ok(w) => panic!("expected a refusal, got {w:?}"),
        }
    }

    #[test]
    fn an_explicit_null_is_refused_with_its_path() {
        assert!(message(customer(value!({"name": {"eq": null}}))).contains("`where.name.eq`"));
        let err = OrderWhere::parse(Some(value!({"customer": {"email": {"eq": null}}})))
            .ok()
            .map(|w| w.tree("where"));
        match err {
            Some(Err(e)) => assert!(
                e.message.contains("`where.customer.email.eq`"),
                "{}",
                e.message
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(message(customer(value!({"and": null}))).contains("`where.and`"));
        assert!(
            message(customer(
                value!({"name": {"eq": "a", "caseInsensitive": null}})
            ))
            .contains("`where.name.caseInsensitive`")
        );
    }

    #[test]
    fn a_bad_id_is_refused_with_its_path() {
        assert!(message(customer(value!({"id": {"in": ["1", "x"]}}))).contains("`where.id.in[1]`"));
    }

    #[test]
    fn an_operator_object_without_an_operator_is_refused() {
        assert!(message(customer(value!({"name": {}}))).contains("`where.name` has no operator"));
        assert!(
            message(customer(value!({"orders": {}}))).contains("`where.orders` has no operator")
        );
        assert!(
            message(customer(value!({"or": [{"id": {}}]})))
                .contains("`where.or[0].id` has no operator")
        );
    }

    #[test]
    fn where_objects_become_the_services_tree() {
        assert_eq!(customer(value!({})).expect("valid"), Where::And(vec![]));
        assert_eq!(
            customer(value!({"and": [], "or": []})).expect("valid"),
            Where::And(vec![Where::And(vec![]), Where::Or(vec![])])
        );
        assert_eq!(
            customer(value!({"phone": {"isNull": true}})).expect("valid"),
            Where::Field(CustomerField::Phone(TextOps {
                ops: vec![TextOp::IsNull(true)],
                case_insensitive: false,
            }))
        );
        let w = customer(value!({
            "name": {"contains": "50%", "caseInsensitive": true},
            "orders": {"some": {"status": {"in": ["PENDING"]}, "total": {"gt": "450"}}},
        }))
        .expect("valid");
        assert_eq!(
            w,
            Where::And(vec![
                Where::Field(CustomerField::Name(TextOps {
                    ops: vec![TextOp::Contains("50%".into())],
                    case_insensitive: true,
                })),
                Where::Field(CustomerField::OrdersSome(Box::new(Where::And(vec![
                    Where::Field(OrderField::Total(Ops(vec![Op::Gt(
                        service::money::Money::from_cents(45_000)
                    )]))),
                    Where::Field(OrderField::Status(Ops(vec![Op::In(vec![
                        OrderStatus::Pending
                    ])]))),
                ])))),
            ])
        );
    }

    #[test]
    fn a_sort_key_given_twice_is_refused_by_its_schema_name() {
        let err = CustomerOrderBy::sort(&[
            CustomerOrderBy::TotalSpentAsc,
            CustomerOrderBy::TotalSpentDesc,
        ])
        .expect_err("repeated");
        assert!(err.message.contains("TOTAL_SPENT"), "{}", err.message);
        assert_eq!(
            OrderOrderBy::sort(&[]).expect("default"),
            service::compose::order::default_order_sort()
        );
    }
}
