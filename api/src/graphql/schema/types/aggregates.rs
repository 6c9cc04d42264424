//! The contract's "Aggregates": `OrderAggregate`, `OrderGroup` and the
//! inputs of `ordersGrouped`, converted into the service's grouping
//! (`service::aggregates`), which checks the rules (keys, time zone,
//! `first`) before anything runs.

use async_graphql::{Context, Enum, InputObject, MaybeUndefined, Object};
use service::aggregates::{self, GroupKey, GroupOrder, Grouping, Having, Period, Totals};
use service::compose::order::Dir;
use service::money::Money;

use super::customer::Customer;
use super::filters::{CompareFilter, given, int, money};
use super::order::OrderStatus;
use crate::graphql::runtime::error::{ServiceResultExt, bad_input};
use crate::graphql::schema::loader;
use crate::graphql::schema::loaders::CustomerId;
use crate::graphql::schema::scalars::{DateTime, Decimal, to_int};

/// Count, sum, mean, minimum and maximum of the totals of some orders.
pub struct OrderAggregate(pub Totals);

fn cents(c: Option<i64>) -> Option<Decimal> {
    c.map(|c| Decimal(Money::from_cents(c)))
}

/// Count, sum, mean, minimum and maximum of the totals of some orders.
#[Object]
impl OrderAggregate {
    /// How many orders.
    async fn count(&self) -> async_graphql::Result<i32> {
        to_int(self.0.count)
    }

    /// Sum of their totals; "0.00" over no orders.
    async fn sum(&self) -> Decimal {
        Decimal(Money::from_cents(self.0.sum_cents))
    }

    /// The exact mean of their totals rounded half away from zero to two
    /// decimals; null over no orders.
    async fn avg(&self) -> Option<Decimal> {
        cents(self.0.avg_cents())
    }

    /// The smallest total; null over no orders.
    async fn min(&self) -> Option<Decimal> {
        cents(self.0.min_cents)
    }

    /// The largest total; null over no orders.
    async fn max(&self) -> Option<Decimal> {
        cents(self.0.max_cents)
    }
}

/// What `ordersGrouped` groups by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrderGroupKey {
    /// The order's status.
    Status,
    /// The order's customer.
    Customer,
    /// The local date in `timeZone`.
    Day,
    /// ISO week, starting Monday, in `timeZone`.
    Week,
    /// The local month in `timeZone`.
    Month,
    /// The local year in `timeZone`.
    Year,
}

impl From<OrderGroupKey> for GroupKey {
    fn from(k: OrderGroupKey) -> Self {
        match k {
            OrderGroupKey::Status => GroupKey::Status,
            OrderGroupKey::Customer => GroupKey::Customer,
            OrderGroupKey::Day => GroupKey::Period(Period::Day),
            OrderGroupKey::Week => GroupKey::Period(Period::Week),
            OrderGroupKey::Month => GroupKey::Period(Period::Month),
            OrderGroupKey::Year => GroupKey::Period(Period::Year),
        }
    }
}

/// How groups are sorted: by their keys, count, sum or rounded mean.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrderGroupOrderBy {
    /// The group keys in `groupBy` order, all ascending (CUSTOMER by id,
    /// STATUS by name, periods by time).
    KeyAsc,
    /// The group keys in `groupBy` order, all descending.
    KeyDesc,
    /// Fewest orders first.
    CountAsc,
    /// Most orders first.
    CountDesc,
    /// Smallest sum first.
    SumAsc,
    /// Largest sum first.
    SumDesc,
    /// Smallest rounded mean first.
    AvgAsc,
    /// Largest rounded mean first.
    AvgDesc,
}

impl From<OrderGroupOrderBy> for GroupOrder {
    fn from(o: OrderGroupOrderBy) -> Self {
        use OrderGroupOrderBy as O;
        match o {
            O::KeyAsc => GroupOrder::Key(Dir::Asc),
            O::KeyDesc => GroupOrder::Key(Dir::Desc),
            O::CountAsc => GroupOrder::Count(Dir::Asc),
            O::CountDesc => GroupOrder::Count(Dir::Desc),
            O::SumAsc => GroupOrder::Sum(Dir::Asc),
            O::SumDesc => GroupOrder::Sum(Dir::Desc),
            O::AvgAsc => GroupOrder::Avg(Dir::Asc),
            O::AvgDesc => GroupOrder::Avg(Dir::Desc),
        }
    }
}

/// Conditions on a group's aggregates; all must hold.
#[derive(InputObject, Default)]
pub struct OrderGroupHaving {
    /// On the group's order count.
    pub count: MaybeUndefined<CompareFilter<i32>>,
    /// On the sum of its totals.
    pub sum: MaybeUndefined<CompareFilter<Decimal>>,
    /// On the mean of its totals, rounded as `avg` returns it.
    pub avg: MaybeUndefined<CompareFilter<Decimal>>,
}

impl OrderGroupHaving {
    fn having(&self) -> async_graphql::Result<Having> {
        let path = "having";
        Ok(Having {
            count: given(&self.count, path, "count")?
                .map(|f| f.ops("having.count", int))
                .transpose()?,
            sum: given(&self.sum, path, "sum")?
                .map(|f| f.ops("having.sum", money))
                .transpose()?,
            avg: given(&self.avg, path, "avg")?
                .map(|f| f.ops("having.avg", money))
                .transpose()?,
        })
    }
}

/// The grouping of `ordersGrouped`'s arguments, or `BAD_USER_INPUT`.
pub fn grouping(
    group_by: &[OrderGroupKey],
    time_zone: &str,
    having: Option<&OrderGroupHaving>,
    order_by: Option<&[OrderGroupOrderBy]>,
    first: i32,
) -> async_graphql::Result<Grouping> {
    let having = having
        .map(OrderGroupHaving::having)
        .transpose()?
        .unwrap_or_default();
    Grouping::new(
        group_by.iter().map(|k| GroupKey::from(*k)).collect(),
        time_zone,
        having,
        order_by
            .unwrap_or_default()
            .iter()
            .map(|o| GroupOrder::from(*o))
            .collect(),
        i64::from(first),
    )
    .map_err(bad_input)
}

/// One group of orders: its keys (null for keys not grouped by) and its
/// aggregates.
pub struct OrderGroup(pub aggregates::Group);

/// One group of orders: its keys (null for keys not grouped by) and its
/// aggregates.
#[Object]
impl OrderGroup {
    /// Set when grouped by STATUS.
    async fn status(&self) -> Option<OrderStatus> {
        self.0.status.map(OrderStatus::from)
    }

    /// Set when grouped by CUSTOMER.
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Customer>> {
        let Some(id) = self.0.customer_id else {
            return Ok(None);
        };
        Ok(loader(ctx)
            .load_one(CustomerId(id))
            .await
            .gql()?
            .map(Customer))
    }

    /// The first instant of the DAY/WEEK/MONTH/YEAR in the requested time
    /// zone (where local midnight is skipped, the first instant after the
    /// gap); null when not grouped by a period.
    async fn period(&self) -> Option<DateTime> {
        self.0.period.as_ref().map(|p| DateTime(p.instant))
    }

    /// "2026-11-24", "2026-W48" (ISO week-numbering year), "2026-11",
    /// "2026"; null when not grouped by a period.
    async fn period_label(&self) -> Option<&str> {
        self.0.period.as_ref().map(|p| p.label.as_str())
    }

    /// How many orders.
    async fn count(&self) -> async_graphql::Result<i32> {
        to_int(self.0.totals.count)
    }

    /// Sum of their totals.
    async fn sum(&self) -> Decimal {
        Decimal(Money::from_cents(self.0.totals.sum_cents))
    }

    /// The exact mean rounded half away from zero to two decimals.
    async fn avg(&self) -> Option<Decimal> {
        cents(self.0.totals.avg_cents())
    }

    /// The smallest total.
    async fn min(&self) -> Option<Decimal> {
        cents(self.0.totals.min_cents)
    }

    /// The largest total.
    async fn max(&self) -> Option<Decimal> {
        cents(self.0.totals.max_cents)
    }
}
