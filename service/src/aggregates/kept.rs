//! What of a request what the server keeps can answer: a `where` on
//! statuses and creation instants for the rollups ([`RollupFilter`]), and
//! the one decision ([`kept`]) the row budget and the service both use.

use chrono::{DateTime, Duration, Timelike, Utc};

use super::GroupKey;
use super::pieces::MICRO;
pub use crate::compose::budget::Kept;
use crate::compose::{Op, OrderField, Where};
use crate::model::OrderStatus;

/// What of a `where` the rollups answer: some statuses, and creation
/// instants in `[from, until)` (open ends: all of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupFilter {
    pub(super) statuses: Vec<OrderStatus>,
    pub(super) from: Option<DateTime<Utc>>,
    pub(super) until: Option<DateTime<Utc>>,
}

/// To the microsecond, as PostgreSQL keeps instants (and as they are sent).
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// How far apart both ends of a range may be to be read without the
/// data's extent: a year (a few hundred periods at most).
const NEAR: Duration = Duration::days(400);

impl RollupFilter {
    /// The filter when `w` is a conjunction of conditions on the status and
    /// on the creation instant (ranges and equality); `None` otherwise.
    pub fn of(w: &Where<OrderField>) -> Option<RollupFilter> {
        let mut f = RollupFilter {
            statuses: OrderStatus::ALL.to_vec(),
            from: None,
            until: None,
        };
        f.add(w).then_some(f)
    }

    /// Both ends, when given and at most [`NEAR`] apart: the range is then
    /// read as it is, without first narrowing it to the data's extent.
    pub(super) fn near_ends(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let (a, b) = self.from.zip(self.until)?;
        (b - a <= NEAR).then_some((a, b))
    }

    fn add(&mut self, w: &Where<OrderField>) -> bool {
        match w {
            Where::And(items) => items.iter().all(|i| self.add(i)),
            Where::Field(OrderField::Status(ops)) => ops.0.iter().all(|op| {
                let keep: Box<dyn Fn(&OrderStatus) -> bool> = match op {
                    Op::Eq(s) => Box::new(move |x| x == s),
                    Op::Ne(s) => Box::new(move |x| x != s),
                    Op::In(v) => Box::new(move |x| v.contains(x)),
                    Op::NotIn(v) => Box::new(move |x| !v.contains(x)),
                    _ => return false,
                };
                self.statuses.retain(|s| keep(s));
                true
            }),
            Where::Field(OrderField::CreatedAt(ops)) => ops.0.iter().all(|op| {
                let (from, until) = match op {
                    Op::Eq(t) => (Some(micros(*t)), Some(micros(*t) + MICRO)),
                    Op::Gt(t) => (Some(micros(*t) + MICRO), None),
                    Op::Gte(t) => (Some(micros(*t)), None),
                    Op::Lt(t) => (None, Some(micros(*t))),
                    Op::Lte(t) => (None, Some(micros(*t) + MICRO)),
                    _ => return false,
                };
                if let Some(f) = from {
                    self.from = Some(self.from.map_or(f, |x| x.max(f)));
                }
                if let Some(u) = until {
                    self.until = Some(self.until.map_or(u, |x| x.min(u)));
                }
                true
            }),
            _ => false,
        }
    }
}

/// What can answer an aggregate over `filter` (grouped by `keys`, when
/// grouped), given whether the selection wants `min`/`max` (kept nowhere).
/// The engine's row budget and the service decide with this one function.
pub fn kept(filter: &Where<OrderField>, keys: Option<&[GroupKey]>, wants_extremes: bool) -> Kept {
    if wants_extremes {
        return Kept::Nothing;
    }
    let by_customer = keys.is_some_and(|k| k.contains(&GroupKey::Customer));
    let unfiltered = matches!(filter, Where::And(items) if items.is_empty());
    match keys {
        Some([GroupKey::Customer]) if unfiltered => Kept::CustomerStats,
        _ if by_customer => Kept::Nothing,
        _ if RollupFilter::of(filter).is_some() => Kept::Rollups,
        _ => Kept::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregates::instant as t;

    #[test]
    fn the_filter_takes_statuses_and_ranges_only() {
        use crate::compose::Ops;
        let paid_or_shipped = Where::And(vec![
            Where::Field(OrderField::Status(Ops(vec![Op::In(vec![
                OrderStatus::Paid,
                OrderStatus::Shipped,
            ])]))),
            Where::Field(OrderField::CreatedAt(Ops(vec![
                Op::Gte(t("2026-01-01T00:00:00Z")),
                Op::Lt(t("2026-04-01T00:00:00Z")),
            ]))),
        ]);
        let f = RollupFilter::of(&paid_or_shipped).expect("answerable");
        assert_eq!(f.statuses, vec![OrderStatus::Paid, OrderStatus::Shipped]);
        assert_eq!(
            (f.from, f.until),
            (
                Some(t("2026-01-01T00:00:00Z")),
                Some(t("2026-04-01T00:00:00Z"))
            )
        );
        let by_total = Where::Field(OrderField::Total(Ops(vec![Op::Gt(
            crate::money::Money::from_cents(1),
        )])));
        assert!(RollupFilter::of(&by_total).is_none());
    }
}
