//! Aggregates answered from the rollups PostgreSQL keeps (`order_rollups`,
//! seventh migration): counts and sums per UTC quarter-hour, hour, day and
//! month and status. A `where` on statuses and a range of creation
//! instants, grouped by status and any calendar period of any time zone,
//! reads a few rollup rows per period instead of every order (`pieces`:
//! a day in Berlin is `day(D) − hour(D 23:00) + hour(D−1 23:00)`), and the
//! ends off the quarter-hour from `orders` through its `created_at` index,
//! in one statement; or, when a range is open, in one read-only
//! repeatable-read transaction that first reads the data's extent. An
//! answer shows one committed state. `min`/`max` are not kept: a request
//! that selects them reads the orders instead.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Months, Utc};
use sea_orm::{
    AccessMode, ConnectionTrait, DbBackend, IsolationLevel, Statement, TransactionTrait, Value,
};

pub use super::kept::{Kept, RollupFilter, kept};
use super::pieces::{MICRO, Pieces, at};
use super::{GroupId, GroupKey, Grouping, Period, Totals, periods};
use crate::db::Db;
use crate::error::Result;
use crate::model::OrderStatus;

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

/// A rollup bucket: its grain and start (seconds).
type Bucket = (i16, i64);

/// The rows (a status and shard each, summed here) of each run of
/// consecutive rollup buckets, and each range read whole per part and
/// status. (Each run is probed through `LATERAL … OFFSET 0`, which keeps the subquery from being
/// flattened into a join: a join over arrays of unknown size may otherwise
/// be planned as a scan of the whole table.) `{status}` is empty when every
/// status is wanted: one index range per bucket instead of one per status.
const READ: &str = "
    SELECT -1 AS k, p.grain AS grain, x.bucket AS bucket, x.status AS status,
           x.order_count AS n, x.total_cents AS t
    FROM unnest($1::smallint[], $2::timestamptz[], $3::timestamptz[]) AS p(grain, lo, hi)
    CROSS JOIN LATERAL (
      SELECT r.bucket, r.status, r.order_count, r.total_cents FROM order_rollups r
      WHERE r.grain = p.grain AND r.bucket >= p.lo AND r.bucket <= p.hi{status}
      OFFSET 0
    ) x
    UNION ALL
    SELECT e.k, -1::smallint, NULL::timestamptz, y.status, SUM(y.n)::BIGINT, SUM(y.t)::BIGINT
    FROM unnest($5::int[], $6::timestamptz[], $7::timestamptz[]) AS e(k, lo, hi)
    CROSS JOIN LATERAL (
      SELECT o.status, COUNT(*) AS n, SUM(o.total_cents) AS t FROM orders o
      WHERE o.created_at >= e.lo AND o.created_at < e.hi AND o.status = ANY($4::text[])
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
    let mut uses: HashMap<Bucket, Vec<(usize, i32)>, foldhash::fast::RandomState> =
        HashMap::default();
    for ((k, grain, bucket), sign) in pieces.rows {
        if sign != 0 {
            uses.entry((grain, bucket)).or_default().push((k, sign));
        }
    }
    // Consecutive buckets of a grain are read as one index range (the 90
    // days of a quarter are one probe, not 90).
    let mut keys: Vec<Bucket> = uses.keys().copied().collect();
    keys.sort_unstable();
    let mut runs: Vec<(i16, i64, i64)> = Vec::new();
    for (grain, bucket) in keys {
        let step = match grain {
            0 => 900,
            1 => 3600,
            2 => 86_400,
            _ => 0,
        };
        match runs.last_mut() {
            Some((g, _, last)) if *g == grain && step > 0 && *last + step == bucket => {
                *last = bucket;
            }
            _ => runs.push((grain, bucket, bucket)),
        }
    }
    let grains: Vec<i16> = runs.iter().map(|r| r.0).collect();
    let firsts: Vec<DateTime<Utc>> = runs.iter().map(|r| at(r.1)).collect();
    let lasts: Vec<DateTime<Utc>> = runs.iter().map(|r| at(r.2)).collect();
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
        firsts.into(),
        lasts.into(),
        names.into(),
        ek.into(),
        los.into(),
        his.into(),
    ];
    let every = OrderStatus::ALL.iter().all(|s| statuses.contains(s));
    let sql = READ.replace(
        "{status}",
        if every {
            ""
        } else {
            " AND r.status = ANY($4::text[])"
        },
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
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
            uses.get(&(grain, bucket.timestamp()))
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
            let mut s = periods::first_instant(tz, date);
            while s < b {
                let next = next_period(p, date);
                let e = periods::first_instant(tz, next);
                pieces.interval(starts.len(), s.max(a), e.min(b));
                starts.push(date);
                (date, s) = (next, e);
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

fn next_period(p: Period, date: chrono::NaiveDate) -> chrono::NaiveDate {
    match p {
        Period::Day => date + Duration::days(1),
        Period::Week => date + Duration::days(7),
        Period::Month => date + Months::new(1),
        Period::Year => date + Months::new(12),
    }
}
