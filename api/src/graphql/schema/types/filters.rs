//! The query builder's operator filters (the contract's "Query builder"),
//! each converted into the operators of the service's one tree
//! (`service::compose`); the `where` objects that hold them and the
//! `orderBy` keys are in `wheres`. Not yet attached to a field: they become
//! arguments once the row budget guards them.
//!
//! Conversion refuses, with `BAD_USER_INPUT` and the path of the value
//! (`where.customer.email.eq`), an explicit `null` anywhere inside a `where`
//! and an operator object without an operator (`name: {}`, which is also
//! what `{eq: $v}` becomes when `$v` is omitted): neither ever means "no
//! condition".

use async_graphql::{ID, InputObject, MaybeUndefined};
use service::compose::{Op, Ops, TextOp, TextOps};
use service::money::Money;

use super::order::OrderStatus;
use crate::graphql::runtime::error::bad_input;
use crate::graphql::schema::scalars::{DateTime, Decimal, parse_id};

pub(super) type Result<T> = async_graphql::Result<T>;

/// A present value, or `None` when left out; an explicit `null` is refused.
pub(super) fn given<'a, T>(
    v: &'a MaybeUndefined<T>,
    path: &str,
    name: &str,
) -> Result<Option<&'a T>> {
    match v {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(bad_input(format!(
            "`{path}.{name}` is null: leave it out instead (null never means \"no condition\")"
        ))),
        MaybeUndefined::Value(v) => Ok(Some(v)),
    }
}

pub(super) fn no_operator(path: &str) -> async_graphql::Error {
    bad_input(format!(
        "`{path}` has no operator: give at least one (an omitted variable leaves it empty)"
    ))
}

/// Collects the operators of one operator object, converting each value.
struct Collect<'p, T> {
    path: &'p str,
    ops: Vec<Op<T>>,
}

impl<'p, T> Collect<'p, T> {
    fn new(path: &'p str) -> Self {
        Collect {
            path,
            ops: Vec::new(),
        }
    }

    fn one<V>(
        mut self,
        name: &str,
        v: &MaybeUndefined<V>,
        op: fn(T) -> Op<T>,
        convert: &impl Fn(&V, &str) -> Result<T>,
    ) -> Result<Self> {
        if let Some(v) = given(v, self.path, name)? {
            self.ops
                .push(op(convert(v, &format!("{}.{name}", self.path))?));
        }
        Ok(self)
    }

    fn list<V>(
        mut self,
        name: &str,
        v: &MaybeUndefined<Vec<V>>,
        op: fn(Vec<T>) -> Op<T>,
        convert: &impl Fn(&V, &str) -> Result<T>,
    ) -> Result<Self> {
        if let Some(items) = given(v, self.path, name)? {
            let path = format!("{}.{name}", self.path);
            let values = items
                .iter()
                .enumerate()
                .map(|(i, v)| convert(v, &format!("{path}[{i}]")))
                .collect::<Result<Vec<T>>>()?;
            self.ops.push(op(values));
        }
        Ok(self)
    }

    fn done(self) -> Result<Ops<T>> {
        if self.ops.is_empty() {
            return Err(no_operator(self.path));
        }
        Ok(Ops(self.ops))
    }
}

fn id(v: &ID, path: &str) -> Result<i64> {
    parse_id(v, "a").map_err(|_| {
        bad_input(format!(
            "`{path}`: {:?} is not an id (a positive integer in decimal)",
            v.as_str()
        ))
    })
}

pub(super) fn money(v: &Decimal, _path: &str) -> Result<Money> {
    Ok(v.0)
}

pub(super) fn int(v: &i32, _path: &str) -> Result<i64> {
    Ok(i64::from(*v))
}

fn instant(v: &DateTime, _path: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    Ok(v.0)
}

fn status(v: &OrderStatus, _path: &str) -> Result<service::model::OrderStatus> {
    Ok((*v).into())
}

/// Conditions on an id.
#[derive(InputObject, Default)]
#[graphql(name = "IDFilter")]
pub struct IdFilter {
    /// Equal to.
    pub eq: MaybeUndefined<ID>,
    /// Not equal to.
    pub ne: MaybeUndefined<ID>,
    /// One of these (none: no row).
    #[graphql(name = "in")]
    pub is_in: MaybeUndefined<Vec<ID>>,
    /// None of these (none: every row).
    pub not_in: MaybeUndefined<Vec<ID>>,
}

impl IdFilter {
    pub(super) fn ops(&self, path: &str) -> Result<Ops<i64>> {
        Collect::new(path)
            .one("eq", &self.eq, Op::Eq, &id)?
            .one("ne", &self.ne, Op::Ne, &id)?
            .list("in", &self.is_in, Op::In, &id)?
            .list("notIn", &self.not_in, Op::NotIn, &id)?
            .done()
    }
}

/// Comparisons of a value (`IntFilter`, `DecimalFilter`).
#[derive(InputObject)]
#[graphql(concrete(name = "IntFilter", params(i32)))]
#[graphql(concrete(name = "DecimalFilter", params(Decimal)))]
pub struct CompareFilter<T: async_graphql::InputType> {
    /// Equal to.
    pub eq: MaybeUndefined<T>,
    /// Not equal to.
    pub ne: MaybeUndefined<T>,
    /// Greater than.
    pub gt: MaybeUndefined<T>,
    /// Greater than or equal to.
    pub gte: MaybeUndefined<T>,
    /// Less than.
    pub lt: MaybeUndefined<T>,
    /// Less than or equal to.
    pub lte: MaybeUndefined<T>,
    /// One of these (none: no row).
    #[graphql(name = "in")]
    pub is_in: MaybeUndefined<Vec<T>>,
    /// None of these (none: every row).
    pub not_in: MaybeUndefined<Vec<T>>,
}

impl<T: async_graphql::InputType> CompareFilter<T> {
    pub(super) fn ops<U>(
        &self,
        path: &str,
        convert: impl Fn(&T, &str) -> Result<U>,
    ) -> Result<Ops<U>> {
        Collect::new(path)
            .one("eq", &self.eq, Op::Eq, &convert)?
            .one("ne", &self.ne, Op::Ne, &convert)?
            .one("gt", &self.gt, Op::Gt, &convert)?
            .one("gte", &self.gte, Op::Gte, &convert)?
            .one("lt", &self.lt, Op::Lt, &convert)?
            .one("lte", &self.lte, Op::Lte, &convert)?
            .list("in", &self.is_in, Op::In, &convert)?
            .list("notIn", &self.not_in, Op::NotIn, &convert)?
            .done()
    }
}

/// Conditions on an instant.
#[derive(InputObject, Default)]
pub struct DateTimeFilter {
    /// Equal to.
    pub eq: MaybeUndefined<DateTime>,
    /// Later than.
    pub gt: MaybeUndefined<DateTime>,
    /// At or later than.
    pub gte: MaybeUndefined<DateTime>,
    /// Earlier than.
    pub lt: MaybeUndefined<DateTime>,
    /// At or earlier than.
    pub lte: MaybeUndefined<DateTime>,
}

impl DateTimeFilter {
    pub(super) fn ops(&self, path: &str) -> Result<Ops<chrono::DateTime<chrono::Utc>>> {
        Collect::new(path)
            .one("eq", &self.eq, Op::Eq, &instant)?
            .one("gt", &self.gt, Op::Gt, &instant)?
            .one("gte", &self.gte, Op::Gte, &instant)?
            .one("lt", &self.lt, Op::Lt, &instant)?
            .one("lte", &self.lte, Op::Lte, &instant)?
            .done()
    }
}

/// Conditions on an order's status.
#[derive(InputObject, Default)]
pub struct OrderStatusFilter {
    /// Equal to.
    pub eq: MaybeUndefined<OrderStatus>,
    /// Not equal to.
    pub ne: MaybeUndefined<OrderStatus>,
    /// One of these (none: no row).
    #[graphql(name = "in")]
    pub is_in: MaybeUndefined<Vec<OrderStatus>>,
    /// None of these (none: every row).
    pub not_in: MaybeUndefined<Vec<OrderStatus>>,
}

impl OrderStatusFilter {
    pub(super) fn ops(&self, path: &str) -> Result<Ops<service::model::OrderStatus>> {
        Collect::new(path)
            .one("eq", &self.eq, Op::Eq, &status)?
            .one("ne", &self.ne, Op::Ne, &status)?
            .list("in", &self.is_in, Op::In, &status)?
            .list("notIn", &self.not_in, Op::NotIn, &status)?
            .done()
    }
}

/// Conditions on text. Every operator compares exactly unless
/// `caseInsensitive` is true; `startsWith`, `endsWith` and `contains` match
/// the text literally (`%` and `_` are ordinary characters).
#[derive(InputObject)]
pub struct StringFilter {
    /// Equal to.
    pub eq: MaybeUndefined<String>,
    /// Not equal to.
    pub ne: MaybeUndefined<String>,
    /// One of these (none: no row).
    #[graphql(name = "in")]
    pub is_in: MaybeUndefined<Vec<String>>,
    /// None of these (none: every row).
    pub not_in: MaybeUndefined<Vec<String>>,
    /// Begins with this text.
    pub starts_with: MaybeUndefined<String>,
    /// Ends with this text.
    pub ends_with: MaybeUndefined<String>,
    /// Holds this text.
    pub contains: MaybeUndefined<String>,
    /// Compare lower-cased text (every operator of this filter).
    #[graphql(default_with = "MaybeUndefined::Value(false)")]
    pub case_insensitive: MaybeUndefined<bool>,
    /// `true`: the value is missing; `false`: it is present. The only test
    /// of a missing value (every other operator is false on it).
    pub is_null: MaybeUndefined<bool>,
}

impl StringFilter {
    pub(super) fn ops(&self, path: &str) -> Result<TextOps> {
        let mut ops = Vec::new();
        // No database stores NUL in text: refused, never passed on.
        let storable = |s: &str, name: &str| -> Result<()> {
            if s.contains('\0') {
                return Err(bad_input(format!(
                    "{path}.{name}: text may not contain the NUL character"
                )));
            }
            Ok(())
        };
        let text = |v: &MaybeUndefined<String>, name: &str| -> Result<Option<String>> {
            let s = given(v, path, name)?.cloned();
            s.as_deref().map(|s| storable(s, name)).transpose()?;
            Ok(s)
        };
        let list = |v: &MaybeUndefined<Vec<String>>, name: &str| -> Result<Option<Vec<String>>> {
            let items = given(v, path, name)?.cloned();
            for s in items.iter().flatten() {
                storable(s, name)?;
            }
            Ok(items)
        };
        if let Some(s) = text(&self.eq, "eq")? {
            ops.push(TextOp::Eq(s));
        }
        if let Some(s) = text(&self.ne, "ne")? {
            ops.push(TextOp::Ne(s));
        }
        if let Some(v) = list(&self.is_in, "in")? {
            ops.push(TextOp::In(v));
        }
        if let Some(v) = list(&self.not_in, "notIn")? {
            ops.push(TextOp::NotIn(v));
        }
        if let Some(s) = text(&self.starts_with, "startsWith")? {
            ops.push(TextOp::StartsWith(s));
        }
        if let Some(s) = text(&self.ends_with, "endsWith")? {
            ops.push(TextOp::EndsWith(s));
        }
        if let Some(s) = text(&self.contains, "contains")? {
            ops.push(TextOp::Contains(s));
        }
        if let Some(b) = given(&self.is_null, path, "isNull")? {
            ops.push(TextOp::IsNull(*b));
        }
        if ops.is_empty() {
            return Err(no_operator(path));
        }
        let case_insensitive = given(&self.case_insensitive, path, "caseInsensitive")?
            .copied()
            .unwrap_or(false);
        Ok(TextOps {
            ops,
            case_insensitive,
        })
    }
}
