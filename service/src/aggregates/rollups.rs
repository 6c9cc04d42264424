//! Aggregates answered from the rollups PostgreSQL keeps (`order_rollups`,
//! seventh migration): counts and sums per UTC quarter-hour, hour, day and
//! month and status. A `where` on statuses and a range of creation
//! instants, grouped by status and any calendar period of any time zone,
//! reads a few rollup rows per period instead of every order:
//!
//! - A period's instants `[a, b)` are cut at the quarter-hours: the whole
//!   quarters between come from the rollups, the ends (a period starting
//!   off the quarter-hour, a range bound to the microsecond) from `orders`
//!   through its `created_at` index, in the same statement.
//! - The whole quarters are a difference of two prefixes, each taken in as
//!   few rows as the calendar allows: the months between, and within a
//!   month, a day or an hour either the pieces before the point or the
//!   enclosing bucket minus the pieces after it. A day in Berlin is
//!   `day(D) − hour(D 23:00) + hour(D−1 23:00)`: three rows (a status each,
//!   a row per shard written).
//!
//! Everything is read in one read-only repeatable-read transaction (the
//! data's first and last instants when a range is open, then the rows), so
//! an answer shows one committed state. `min`/`max` are not kept: a
//! request that selects them reads the orders instead.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, Months, TimeZone, Timelike, Utc};
use sea_orm::{
    AccessMode, ConnectionTrait, DbBackend, IsolationLevel, Statement, TransactionTrait, Value,
};

use super::{GroupId, GroupKey, GroupOrder, Grouping, Period, Totals, periods};
use crate::compose::Ops;
use crate::compose::order::Dir;
use crate::compose::{Op, OrderField, Where};
use crate::db::Db;
use crate::error::Result;
use crate::model::OrderStatus;
use crate::money::Money;

/// What of a `where` the rollups answer: some statuses, and creation
/// instants in `[from, until)` (open ends: all of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupFilter {
    statuses: Vec<OrderStatus>,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

/// To the microsecond, as PostgreSQL keeps instants (and as they are sent).
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

const MICRO: Duration = Duration::microseconds(1);

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
    fn near_ends(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
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

/// What the server keeps that can answer an aggregate instead of the
/// orders themselves.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kept {
    /// Nothing: the orders are read.
    Nothing,
    /// The order rollups (where the database keeps them).
    Rollups,
    /// The per-customer aggregates: grouped by CUSTOMER alone, no `where`.
    CustomerStats,
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

const QUARTER: i64 = 900;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn floor_to(t: DateTime<Utc>, step: i64) -> DateTime<Utc> {
    at(t.timestamp().div_euclid(step) * step)
}

fn ceil_quarter(t: DateTime<Utc>) -> DateTime<Utc> {
    let f = floor_to(t, QUARTER);
    if f == t {
        f
    } else {
        f + Duration::seconds(QUARTER)
    }
}

fn floor_month(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(t)
}

/// Signed rollup rows `(grain, bucket) → sign`, and order ranges read
/// whole, per part of the answer (`k`: a period, or 0).
#[derive(Default)]
struct Pieces {
    rows: HashMap<(usize, i16, DateTime<Utc>), i32>,
    raw: Vec<(usize, DateTime<Utc>, DateTime<Utc>)>,
}

impl Pieces {
    fn add(&mut self, k: usize, grain: i16, bucket: DateTime<Utc>, sign: i32) {
        *self.rows.entry((k, grain, bucket)).or_insert(0) += sign;
    }

    /// Either the `count` pieces of `step` from `start` (forward), or the
    /// enclosing bucket minus the `total - count` pieces after them,
    /// whichever is fewer rows.
    #[allow(clippy::too_many_arguments)]
    fn before(
        &mut self,
        k: usize,
        sign: i32,
        (outer_grain, outer): (i16, DateTime<Utc>),
        grain: i16,
        starts: &[DateTime<Utc>],
        count: usize,
    ) {
        let total = starts.len();
        if count <= 1 + (total - count) {
            for s in &starts[..count] {
                self.add(k, grain, *s, sign);
            }
        } else {
            self.add(k, outer_grain, outer, sign);
            for s in &starts[count..] {
                self.add(k, grain, *s, -sign);
            }
        }
    }

    /// `sign` × the instants of `t`'s month before `t` (on a quarter-hour).
    fn prefix(&mut self, k: usize, t: DateTime<Utc>, sign: i32) {
        let month = floor_month(t);
        let next = month + Months::new(1);
        let day = floor_to(t, 86_400);
        let hour = floor_to(t, 3600);
        let days: Vec<_> = (0..(next - month).num_days())
            .map(|i| month + Duration::days(i))
            .collect();
        let d = usize::try_from((day - month).num_days()).unwrap_or(0);
        self.before(k, sign, (3, month), 2, &days, d);
        let hours: Vec<_> = (0..24).map(|i| day + Duration::hours(i)).collect();
        let h = usize::try_from((hour - day).num_hours()).unwrap_or(0);
        self.before(k, sign, (2, day), 1, &hours, h);
        let quarters: Vec<_> = (0..4).map(|i| hour + Duration::minutes(15 * i)).collect();
        let q = usize::try_from((t - hour).num_minutes() / 15).unwrap_or(0);
        self.before(k, sign, (1, hour), 0, &quarters, q);
    }

    /// The instants `[a, b)` as part `k`.
    fn interval(&mut self, k: usize, a: DateTime<Utc>, b: DateTime<Utc>) {
        if a >= b {
            return;
        }
        let (qa, qb) = (ceil_quarter(a), floor_to(b, QUARTER));
        if qa >= qb {
            self.raw.push((k, a, b));
            return;
        }
        if a < qa {
            self.raw.push((k, a, qa));
        }
        if qb < b {
            self.raw.push((k, qb, b));
        }
        let mut month = floor_month(qa);
        let last = floor_month(qb);
        while month < last {
            self.add(k, 3, month, 1);
            month = month + Months::new(1);
        }
        self.prefix(k, qb, 1);
        self.prefix(k, qa, -1);
    }
}

/// The data's first and last creation instants (two probes of the index).
async fn extent<C: ConnectionTrait>(db: &C) -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT MIN(created_at) AS lo, MAX(created_at) AS hi FROM orders",
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    let lo: Option<DateTime<Utc>> = row.try_get("", "lo")?;
    let hi: Option<DateTime<Utc>> = row.try_get("", "hi")?;
    Ok(lo.zip(hi))
}

/// A rollup bucket: its grain and start.
type Bucket = (i16, DateTime<Utc>);

/// Each distinct rollup bucket's sums per status (over its shards), and
/// each range read whole per part and status. (Each probes its index
/// through `LATERAL … OFFSET 0`, which keeps the subquery from being
/// flattened into a join: a join over arrays of unknown size may otherwise
/// be planned as a scan of the whole table.)
const READ: &str = "
    SELECT -1 AS k, p.grain AS grain, p.bucket AS bucket, x.status AS status,
           SUM(x.n)::BIGINT AS n, SUM(x.t)::BIGINT AS t
    FROM unnest($1::smallint[], $2::timestamptz[]) AS p(grain, bucket)
    CROSS JOIN LATERAL (
      SELECT r.status, r.order_count AS n, r.total_cents AS t FROM order_rollups r
      WHERE r.grain = p.grain AND r.bucket = p.bucket AND r.status = ANY($3::text[])
      OFFSET 0
    ) x
    GROUP BY 2, 3, 4
    UNION ALL
    SELECT e.k, -1::smallint, NULL::timestamptz, y.status, SUM(y.n)::BIGINT, SUM(y.t)::BIGINT
    FROM unnest($4::int[], $5::timestamptz[], $6::timestamptz[]) AS e(k, lo, hi)
    CROSS JOIN LATERAL (
      SELECT o.status, COUNT(*) AS n, SUM(o.total_cents) AS t FROM orders o
      WHERE o.created_at >= e.lo AND o.created_at < e.hi AND o.status = ANY($3::text[])
      GROUP BY o.status
    ) y
    GROUP BY 1, 2, 3, 4";

/// Sums per part `k` and status, for the parts `pieces` describes: every
/// distinct bucket is read once, and counted with its sign in each part
/// that uses it (adjacent periods share their edge hours).
async fn read<C: ConnectionTrait>(
    db: &C,
    pieces: Pieces,
    statuses: &[OrderStatus],
) -> Result<HashMap<(usize, OrderStatus), Totals>> {
    let mut uses: HashMap<Bucket, Vec<(usize, i32)>> = HashMap::new();
    for ((k, grain, bucket), sign) in pieces.rows {
        if sign != 0 {
            uses.entry((grain, bucket)).or_default().push((k, sign));
        }
    }
    let (grains, buckets): (Vec<i16>, Vec<DateTime<Utc>>) = uses.keys().copied().unzip();
    let mut ek = Vec::new();
    let mut los = Vec::new();
    let mut his = Vec::new();
    for (k, lo, hi) in pieces.raw {
        ek.push(i32::try_from(k).unwrap_or(i32::MAX));
        los.push(lo);
        his.push(hi);
    }
    let names: Vec<String> = statuses.iter().map(|s| s.as_str().to_owned()).collect();
    let values: Vec<Value> = vec![
        grains.into(),
        buckets.into(),
        names.into(),
        ek.into(),
        los.into(),
        his.into(),
    ];
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            READ,
            values,
        ))
        .await?;
    let mut out: HashMap<(usize, OrderStatus), Totals> = HashMap::new();
    for row in rows {
        let k: i32 = row.try_get("", "k")?;
        let status: String = row.try_get("", "status")?;
        let n: i64 = row.try_get("", "n")?;
        let t: i64 = row.try_get("", "t")?;
        let Some(status) = OrderStatus::from_name(&status) else {
            continue;
        };
        let parts: Vec<(usize, i64)> = if k >= 0 {
            vec![(usize::try_from(k).unwrap_or(0), 1)]
        } else {
            let grain: i16 = row.try_get("", "grain")?;
            let bucket: DateTime<Utc> = row.try_get("", "bucket")?;
            uses.get(&(grain, bucket))
                .map(|u| u.iter().map(|(k, s)| (*k, i64::from(*s))).collect())
                .unwrap_or_default()
        };
        for (k, sign) in parts {
            let e = out.entry((k, status)).or_default();
            e.count += sign * n;
            e.sum_cents += sign * t;
        }
    }
    Ok(out)
}

/// The aggregate of the orders `filter` selects, from the rollups.
pub async fn aggregate(db: &Db, filter: &RollupFilter) -> Result<Totals> {
    let sum = |parts: HashMap<(usize, OrderStatus), Totals>| {
        parts.values().fold(Totals::default(), |mut total, t| {
            total.count += t.count;
            total.sum_cents += t.sum_cents;
            total
        })
    };
    // Both ends given, near each other: one statement, one snapshot.
    if let Some((a, b)) = filter.near_ends() {
        let mut pieces = Pieces::default();
        pieces.interval(0, a, b);
        return Ok(sum(read(db, pieces, &filter.statuses).await?));
    }
    let txn = db
        .begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?;
    let mut total = Totals::default();
    if let Some((lo, hi)) = extent(&txn).await? {
        let a = filter.from.unwrap_or(lo).max(lo);
        let b = filter.until.unwrap_or(hi + MICRO).min(hi + MICRO);
        let mut pieces = Pieces::default();
        pieces.interval(0, a, b);
        total = sum(read(&txn, pieces, &filter.statuses).await?);
    }
    txn.commit().await?;
    Ok(total)
}

/// The groups (by status and a period) of the orders `filter` selects,
/// summed from the rollups; keys, `having`, order and `first` follow.
pub(crate) async fn grouped(
    db: &Db,
    filter: &RollupFilter,
    grouping: &Grouping,
) -> Result<HashMap<GroupId, Totals>> {
    // Both ends given, near each other: one statement, one snapshot.
    if let Some((a, b)) = filter.near_ends() {
        return grouped_within(db, a, b, filter, grouping).await;
    }
    let txn = db
        .begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?;
    let mut groups = HashMap::new();
    if let Some((lo, hi)) = extent(&txn).await? {
        let a = filter.from.unwrap_or(lo).max(lo);
        let b = filter.until.unwrap_or(hi + MICRO).min(hi + MICRO);
        groups = grouped_within(&txn, a, b, filter, grouping).await?;
    }
    txn.commit().await?;
    Ok(groups)
}

/// The groups of the orders created in `[a, b)` that `filter` selects.
async fn grouped_within<C: ConnectionTrait>(
    db: &C,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
    filter: &RollupFilter,
    grouping: &Grouping,
) -> Result<HashMap<GroupId, Totals>> {
    let mut pieces = Pieces::default();
    // Part k: the k-th period from the one holding `a` (or everything).
    let mut starts = Vec::new();
    match grouping.period() {
        None => pieces.interval(0, a, b),
        Some(p) if a < b => {
            let tz = grouping.time_zone;
            let mut date = p.start_of(periods::local_date(tz, a));
            loop {
                let next = next_period(p, date);
                let (s, e) = (
                    periods::first_instant(tz, date),
                    periods::first_instant(tz, next),
                );
                if s >= b {
                    break;
                }
                pieces.interval(starts.len(), s.max(a), e.min(b));
                starts.push(date);
                date = next;
            }
        }
        Some(_) => {}
    }
    let by_status = grouping.keys().contains(&GroupKey::Status);
    let mut groups: HashMap<GroupId, Totals> = HashMap::new();
    for ((k, status), t) in read(db, pieces, &filter.statuses).await? {
        let id = GroupId {
            status: by_status.then_some(status),
            customer: None,
            period: starts.get(k).copied(),
        };
        let g = groups.entry(id).or_default();
        g.count += t.count;
        g.sum_cents += t.sum_cents;
    }
    groups.retain(|_, t| t.count > 0);
    Ok(groups)
}

/// The customers' groups from the kept per-customer aggregates, `having`,
/// order and `first` applied in the statement: the article's query
/// (`count > 5`, by sum descending, first 10) walks the ranking index and
/// stops after its page.
pub(crate) async fn by_customer<C: ConnectionTrait>(
    db: &C,
    grouping: &Grouping,
) -> Result<HashMap<GroupId, Totals>> {
    use entity::customer_stats::{Column, Entity};
    use sea_orm::sea_query::{Expr, ExprTrait as _, Order, Query, SimpleExpr};

    let n = || Expr::col(Column::OrderCount);
    let t = || Expr::col(Column::TotalCents);
    // The rounded mean of non-negative totals, in integers on both backends.
    let avg = || -> Expr { t().mul(2).add(n()).div(n().mul(2)) };
    fn ops<V: Clone + Into<sea_orm::Value>>(e: &dyn Fn() -> Expr, ops: &Ops<V>) -> Vec<SimpleExpr> {
        ops.0
            .iter()
            .map(|op| match op {
                Op::Eq(v) => e().eq(v.clone()),
                Op::Ne(v) => e().ne(v.clone()),
                Op::Gt(v) => e().gt(v.clone()),
                Op::Gte(v) => e().gte(v.clone()),
                Op::Lt(v) => e().lt(v.clone()),
                Op::Lte(v) => e().lte(v.clone()),
                Op::In(vs) => e().is_in(vs.iter().cloned()),
                Op::NotIn(vs) => e().is_not_in(vs.iter().cloned()),
            })
            .collect()
    }
    let mut q = Query::select();
    q.columns([Column::CustomerId, Column::OrderCount, Column::TotalCents])
        .from(Entity)
        .and_where(n().gt(0));
    let having = &grouping.having;
    let cents = |o: &Ops<Money>| -> Ops<i64> {
        let c = |m: &Money| m.cents();
        Ops(o
            .0
            .iter()
            .map(|op| match op {
                Op::Eq(v) => Op::Eq(c(v)),
                Op::Ne(v) => Op::Ne(c(v)),
                Op::Gt(v) => Op::Gt(c(v)),
                Op::Gte(v) => Op::Gte(c(v)),
                Op::Lt(v) => Op::Lt(c(v)),
                Op::Lte(v) => Op::Lte(c(v)),
                Op::In(vs) => Op::In(vs.iter().map(c).collect()),
                Op::NotIn(vs) => Op::NotIn(vs.iter().map(c).collect()),
            })
            .collect())
    };
    let mut conditions = Vec::new();
    if let Some(o) = &having.count {
        conditions.extend(ops(&n, o));
    }
    if let Some(o) = &having.sum {
        conditions.extend(ops(&t, &cents(o)));
    }
    if let Some(o) = &having.avg {
        conditions.extend(ops(&avg, &cents(o)));
    }
    for c in conditions {
        q.and_where(c);
    }
    let dir = |d: Dir| match d {
        Dir::Asc => Order::Asc,
        Dir::Desc => Order::Desc,
    };
    for o in &grouping.order {
        let (e, d) = match *o {
            GroupOrder::Key(d) => (Expr::col(Column::CustomerId), d),
            GroupOrder::Count(d) => (n(), d),
            GroupOrder::Sum(d) => (t(), d),
            GroupOrder::Avg(d) => (avg(), d),
        };
        q.order_by_expr(e, dir(d));
    }
    q.order_by(Column::CustomerId, Order::Asc)
        .limit(grouping.first());
    let rows = db.query_all(&q).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get("", "customer_id")?;
        out.insert(
            GroupId {
                status: None,
                customer: Some(id),
                period: None,
            },
            Totals {
                count: row.try_get("", "order_count")?,
                sum_cents: row.try_get("", "total_cents")?,
                min_cents: None,
                max_cents: None,
            },
        );
    }
    Ok(out)
}

fn next_period(p: Period, date: chrono::NaiveDate) -> chrono::NaiveDate {
    match p {
        Period::Day => date + Duration::days(1),
        Period::Week => date + Duration::days(7),
        Period::Month => date + Months::new(1),
        Period::Year => date + Months::new(12),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_berlin_day_is_three_rows() {
        let mut p = Pieces::default();
        p.interval(0, t("2026-06-01T22:00:00Z"), t("2026-06-02T22:00:00Z"));
        let mut rows: Vec<(i16, String, i32)> = p
            .rows
            .into_iter()
            .filter(|(_, s)| *s != 0)
            .map(|((_, g, b), s)| (g, b.to_rfc3339(), s))
            .collect();
        rows.sort();
        assert_eq!(
            rows,
            vec![
                (1, "2026-06-01T22:00:00+00:00".to_owned(), 1),
                (1, "2026-06-01T23:00:00+00:00".to_owned(), 1),
                (1, "2026-06-02T22:00:00+00:00".to_owned(), -1),
                (1, "2026-06-02T23:00:00+00:00".to_owned(), -1),
                (2, "2026-06-02T00:00:00+00:00".to_owned(), 1),
            ]
        );
        assert!(p.raw.is_empty());
    }

    #[test]
    fn ends_off_the_quarter_hour_are_read_whole() {
        let mut p = Pieces::default();
        p.interval(0, t("2026-06-01T10:07:00Z"), t("2026-06-01T10:52:30Z"));
        assert_eq!(
            p.raw,
            vec![
                (0, t("2026-06-01T10:07:00Z"), t("2026-06-01T10:15:00Z")),
                (0, t("2026-06-01T10:45:00Z"), t("2026-06-01T10:52:30Z")),
            ]
        );
        // The signed rows cover exactly the quarters 10:15 and 10:30.
        let mut covered: HashMap<DateTime<Utc>, i32> = HashMap::new();
        for ((_, grain, bucket), sign) in p.rows {
            let quarters = match grain {
                0 => 1,
                1 => 4,
                _ => panic!("no day or month in {grain}"),
            };
            for i in 0..quarters {
                *covered
                    .entry(bucket + Duration::minutes(15 * i))
                    .or_insert(0) += sign;
            }
        }
        covered.retain(|_, s| *s != 0);
        let mut covered: Vec<_> = covered.into_iter().collect();
        covered.sort();
        assert_eq!(
            covered,
            vec![
                (t("2026-06-01T10:15:00Z"), 1),
                (t("2026-06-01T10:30:00Z"), 1)
            ]
        );
    }

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
