//! Aggregates of orders (the contract's "Aggregates"): `count`, `sum`,
//! `avg`, `min`, `max` over the orders a composed filter selects, as one
//! answer, one per customer (one statement for a page of customers), or in
//! groups by status, customer and a calendar period of an IANA time zone.
//!
//! Every answer comes from one statement, so it shows one committed state
//! (never part of a bulk insert). Grouping, `having`, the order of groups
//! and `first` are applied here, in Rust, over the statement's rows, the
//! same way on PostgreSQL and SQLite: periods follow `chrono-tz`'s copy of
//! the time zone database on both. What a request may read is bounded
//! before it runs by the query builder's row budget.

mod extent;
mod kept;
pub mod periods;
mod pieces;
mod probes;
mod rollup_sql;
pub mod rollups;
mod statements;

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use self::periods::Period;
pub(crate) use self::statements::by_customer;
pub use self::statements::{aggregate, aggregates_of_customers, grouped};
use crate::compose::order::Dir;
use crate::compose::{Op, Ops};
use crate::model::OrderStatus;
use crate::money::Money;

/// What groups are keyed by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum GroupKey {
    Status,
    Customer,
    Period(Period),
}

/// One sort key of groups.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum GroupOrder {
    /// The group keys in `groupBy` order, all in this direction.
    Key(Dir),
    Count(Dir),
    Sum(Dir),
    /// The rounded mean, as returned.
    Avg(Dir),
}

/// Conditions on a group's aggregates: all must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Having {
    pub count: Option<Ops<i64>>,
    pub sum: Option<Ops<Money>>,
    pub avg: Option<Ops<Money>>,
}

/// The most groups one request may ask for.
pub const MAX_GROUPS: u64 = 1000;

/// Groups `ordersGrouped` returns when `first` is not given.
pub const DEFAULT_GROUPS: u64 = 100;

/// A validated grouping: keys, time zone, `having`, order and `first`.
#[derive(Clone, Debug, PartialEq)]
pub struct Grouping {
    keys: Vec<GroupKey>,
    time_zone: Tz,
    having: Having,
    order: Vec<GroupOrder>,
    first: u64,
}

impl Grouping {
    /// Checks the contract's rules; the message names what is wrong.
    pub fn new(
        keys: Vec<GroupKey>,
        time_zone: &str,
        having: Having,
        order: Vec<GroupOrder>,
        first: i64,
    ) -> std::result::Result<Self, String> {
        if keys.is_empty() || keys.len() > 3 {
            return Err(format!("`groupBy` holds {} keys: give 1 to 3", keys.len()));
        }
        let distinct: BTreeSet<String> = keys.iter().map(|k| format!("{k:?}")).collect();
        if distinct.len() != keys.len() {
            return Err("`groupBy` names a key twice".to_owned());
        }
        if keys
            .iter()
            .filter(|k| matches!(k, GroupKey::Period(_)))
            .count()
            > 1
        {
            return Err("`groupBy` holds more than one of DAY, WEEK, MONTH, YEAR".to_owned());
        }
        let Some(time_zone) = periods::time_zone(time_zone) else {
            return Err(format!(
                "`timeZone`: {time_zone:?} is not a name of the IANA time zone database (such as \"Europe/Berlin\")"
            ));
        };
        let mut seen = BTreeSet::new();
        for o in &order {
            let kind = match o {
                GroupOrder::Key(_) => 0,
                GroupOrder::Count(_) => 1,
                GroupOrder::Sum(_) => 2,
                GroupOrder::Avg(_) => 3,
            };
            if !seen.insert(kind) {
                return Err("`orderBy` sorts by the same thing twice".to_owned());
            }
        }
        let Some(first) = u64::try_from(first)
            .ok()
            .filter(|n| (1..=MAX_GROUPS).contains(n))
        else {
            return Err(format!("`first` is {first}: give 1 to {MAX_GROUPS}"));
        };
        Ok(Grouping {
            keys,
            time_zone,
            having,
            order,
            first,
        })
    }

    pub fn keys(&self) -> &[GroupKey] {
        &self.keys
    }

    pub fn first(&self) -> u64 {
        self.first
    }

    fn period(&self) -> Option<Period> {
        self.keys.iter().find_map(|k| match k {
            GroupKey::Period(p) => Some(*p),
            _ => None,
        })
    }
}

/// Count, sum, minimum and maximum of some orders' totals, in cents.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub count: i64,
    pub sum_cents: i64,
    pub min_cents: Option<i64>,
    pub max_cents: Option<i64>,
}

impl Totals {
    fn add(&mut self, cents: i64) {
        self.count += 1;
        self.sum_cents = self.sum_cents.saturating_add(cents);
        self.min_cents = Some(self.min_cents.map_or(cents, |m| Ord::min(m, cents)));
        self.max_cents = Some(self.max_cents.map_or(cents, |m| Ord::max(m, cents)));
    }

    /// The exact mean rounded half away from zero to a cent; `None` over
    /// no orders.
    pub fn avg_cents(&self) -> Option<i64> {
        rounded_mean(self.sum_cents, self.count)
    }
}

/// `sum / count` rounded half away from zero.
pub fn rounded_mean(sum: i64, count: i64) -> Option<i64> {
    if count <= 0 {
        return None;
    }
    let (sum, count) = (i128::from(sum), i128::from(count));
    let half_up = (2 * sum.abs() + count) / (2 * count);
    let mean = if sum < 0 { -half_up } else { half_up };
    i64::try_from(mean).ok()
}

/// The period of a group: its first local date, first instant and label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodStart {
    pub date: NaiveDate,
    pub instant: DateTime<Utc>,
    pub label: String,
}

/// One group of orders and its aggregates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub status: Option<OrderStatus>,
    pub customer_id: Option<i64>,
    pub period: Option<PeriodStart>,
    pub totals: Totals,
}

fn holds<T: Ord>(ops: &Ops<T>, v: &T) -> bool {
    ops.0.iter().all(|op| match op {
        Op::Eq(x) => v == x,
        Op::Ne(x) => v != x,
        Op::Gt(x) => v > x,
        Op::Gte(x) => v >= x,
        Op::Lt(x) => v < x,
        Op::Lte(x) => v <= x,
        Op::In(xs) => xs.contains(v),
        Op::NotIn(xs) => !xs.contains(v),
    })
}

impl Having {
    fn admits(&self, t: &Totals) -> bool {
        self.count.as_ref().is_none_or(|ops| holds(ops, &t.count))
            && self
                .sum
                .as_ref()
                .is_none_or(|ops| holds(ops, &Money::from_cents(t.sum_cents)))
            && self.avg.as_ref().is_none_or(|ops| {
                t.avg_cents()
                    .is_some_and(|a| holds(ops, &Money::from_cents(a)))
            })
    }
}

/// A group's keys while grouping.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GroupId {
    status: Option<OrderStatus>,
    customer: Option<i64>,
    period: Option<NaiveDate>,
}

impl GroupId {
    /// Compares by `key` (STATUS by name, CUSTOMER by id, periods by time).
    fn cmp_key(&self, other: &Self, key: GroupKey) -> Ordering {
        match key {
            GroupKey::Status => self
                .status
                .map(OrderStatus::as_str)
                .cmp(&other.status.map(OrderStatus::as_str)),
            GroupKey::Customer => self.customer.cmp(&other.customer),
            GroupKey::Period(_) => self.period.cmp(&other.period),
        }
    }
}

fn directed(o: Ordering, dir: Dir) -> Ordering {
    match dir {
        Dir::Asc => o,
        Dir::Desc => o.reverse(),
    }
}

/// One order as the grouping reads it.
#[derive(Copy, Clone, Debug)]
pub struct OrderFacts {
    pub status: OrderStatus,
    pub customer_id: i64,
    pub total_cents: i64,
    pub created_at: DateTime<Utc>,
}

/// Groups `orders` as `grouping` asks: keys, `having`, order, `first`.
pub fn group(orders: impl IntoIterator<Item = OrderFacts>, grouping: &Grouping) -> Vec<Group> {
    let period = grouping.period();
    let keyed = |k: GroupKey| grouping.keys.contains(&k);
    let (by_status, by_customer) = (keyed(GroupKey::Status), keyed(GroupKey::Customer));
    let mut groups: HashMap<GroupId, Totals> = HashMap::new();
    for o in orders {
        let id = GroupId {
            status: by_status.then_some(o.status),
            customer: by_customer.then_some(o.customer_id),
            period: period
                .map(|p| p.start_of(periods::local_date(grouping.time_zone, o.created_at))),
        };
        groups.entry(id).or_default().add(o.total_cents);
    }
    finish(groups, grouping)
}

/// Groups already summed, kept, sorted and cut as `grouping` asks.
pub(crate) fn finish(groups: HashMap<GroupId, Totals>, grouping: &Grouping) -> Vec<Group> {
    let period = grouping.period();
    let mut kept: Vec<(GroupId, Totals)> = groups
        .into_iter()
        .filter(|(_, t)| grouping.having.admits(t))
        .collect();
    kept.sort_by(|(a, ta), (b, tb)| {
        for o in &grouping.order {
            let c = match *o {
                GroupOrder::Key(dir) => grouping
                    .keys
                    .iter()
                    .map(|k| directed(a.cmp_key(b, *k), dir))
                    .find(|c| c.is_ne())
                    .unwrap_or(Ordering::Equal),
                GroupOrder::Count(dir) => directed(ta.count.cmp(&tb.count), dir),
                GroupOrder::Sum(dir) => directed(ta.sum_cents.cmp(&tb.sum_cents), dir),
                GroupOrder::Avg(dir) => directed(ta.avg_cents().cmp(&tb.avg_cents()), dir),
            };
            if c.is_ne() {
                return c;
            }
        }
        grouping
            .keys
            .iter()
            .map(|k| a.cmp_key(b, *k))
            .find(|c| c.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    kept.truncate(usize::try_from(grouping.first).unwrap_or(usize::MAX));
    kept.into_iter()
        .map(|(id, totals)| Group {
            status: id.status,
            customer_id: id.customer,
            period: id.period.zip(period).map(|(date, p)| PeriodStart {
                date,
                instant: periods::first_instant(grouping.time_zone, date),
                label: p.label(date),
            }),
            totals,
        })
        .collect()
}

/// An RFC 3339 instant, for the tests of this module's files.
#[cfg(test)]
pub(super) fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::instant as at;
    use super::*;

    #[test]
    fn the_mean_rounds_half_away_from_zero() {
        assert_eq!(rounded_mean(0, 0), None);
        assert_eq!(rounded_mean(5, 2), Some(3)); // 2.5 -> 3
        assert_eq!(rounded_mean(-5, 2), Some(-3));
        assert_eq!(rounded_mean(4, 3), Some(1)); // 1.33 -> 1
        assert_eq!(rounded_mean(5, 3), Some(2)); // 1.67 -> 2
        assert_eq!(rounded_mean(i64::MAX, 1), Some(i64::MAX));
    }

    #[test]
    fn the_grouping_rules_are_checked() {
        let ok = |keys: Vec<GroupKey>, tz: &str, order: Vec<GroupOrder>, first: i64| {
            Grouping::new(keys, tz, Having::default(), order, first)
        };
        assert!(ok(vec![GroupKey::Status], "UTC", vec![], 100).is_ok());
        assert!(ok(vec![], "UTC", vec![], 100).is_err());
        assert!(ok(vec![GroupKey::Status, GroupKey::Status], "UTC", vec![], 100).is_err());
        assert!(
            ok(
                vec![
                    GroupKey::Period(Period::Day),
                    GroupKey::Period(Period::Month)
                ],
                "UTC",
                vec![],
                100
            )
            .is_err()
        );
        assert!(ok(vec![GroupKey::Status], "Mars/Base", vec![], 100).is_err());
        assert!(ok(vec![GroupKey::Status], "UTC", vec![], 0).is_err());
        assert!(ok(vec![GroupKey::Status], "UTC", vec![], 1001).is_err());
        assert!(
            ok(
                vec![GroupKey::Status],
                "UTC",
                vec![GroupOrder::Sum(Dir::Asc), GroupOrder::Sum(Dir::Desc)],
                10
            )
            .is_err()
        );
    }

    #[test]
    fn groups_follow_the_local_calendar_having_and_order() {
        let o = |status, customer_id, total_cents, created_at: &str| OrderFacts {
            status,
            customer_id,
            total_cents,
            created_at: at(created_at),
        };
        let orders = vec![
            // 23:30 UTC on the 1st is the 2nd in Berlin.
            o(OrderStatus::Paid, 1, 100, "2026-06-01T23:30:00Z"),
            o(OrderStatus::Paid, 2, 300, "2026-06-02T10:00:00Z"),
            o(OrderStatus::Pending, 1, 50, "2026-06-01T10:00:00Z"),
        ];
        let grouping = Grouping::new(
            vec![GroupKey::Period(Period::Day)],
            "Europe/Berlin",
            Having {
                count: Some(Ops(vec![Op::Gte(1)])),
                ..Having::default()
            },
            vec![GroupOrder::Sum(Dir::Desc)],
            10,
        )
        .expect("grouping");
        let groups = group(orders.clone(), &grouping);
        let got: Vec<(String, i64, i64, Option<i64>)> = groups
            .iter()
            .map(|g| {
                let p = g.period.as_ref().expect("period");
                (
                    p.label.clone(),
                    g.totals.count,
                    g.totals.sum_cents,
                    g.totals.avg_cents(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("2026-06-02".to_owned(), 2, 400, Some(200)),
                ("2026-06-01".to_owned(), 1, 50, Some(50)),
            ]
        );
        assert_eq!(
            groups[0].period.as_ref().map(|p| p.instant),
            Some(at("2026-06-01T22:00:00Z"))
        );
        // having on the rounded mean, then keys ascending as the tie-break.
        let grouping = Grouping::new(
            vec![GroupKey::Customer, GroupKey::Status],
            "UTC",
            Having {
                avg: Some(Ops(vec![Op::Gt(Money::from_cents(60))])),
                ..Having::default()
            },
            vec![],
            10,
        )
        .expect("grouping");
        let ids: Vec<(Option<i64>, Option<OrderStatus>)> = group(orders, &grouping)
            .iter()
            .map(|g| (g.customer_id, g.status))
            .collect();
        assert_eq!(
            ids,
            vec![
                (Some(1), Some(OrderStatus::Paid)),
                (Some(2), Some(OrderStatus::Paid))
            ]
        );
    }
}
