//! Aggregates answered from the rollups PostgreSQL keeps (`order_rollups`,
//! seventh migration): counts and sums per UTC quarter-hour, hour, day and
//! month and status. A `where` on statuses and a range of creation
//! instants, grouped by status and any calendar period of any time zone,
//! reads a few rollup rows per period instead of every order (`pieces`:
//! a day in Berlin is `day(D) − hour(D 23:00) + hour(D−1 23:00)`), and the
//! ends off the quarter-hour from `orders` through its `created_at` index,
//! in one statement. When a range is open (or long), its ends come from the
//! data's extent, read first; the statement reads the extent again in its
//! own snapshot, and if an order has landed outside the range read in
//! between, the whole read is redone in one read-only repeatable-read
//! transaction. An answer shows one committed state. `min`/`max` are not kept: a request
//! that selects them reads the orders instead.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{AccessMode, ConnectionTrait, DbBackend, IsolationLevel, Statement, Value};

pub use super::kept::{Kept, RollupFilter, kept};
use super::pieces::{MICRO, Pieces, at, periods_of};
use super::{GroupId, GroupKey, Grouping, Totals};
use crate::db::Db;
use crate::error::Result;
use crate::model::OrderStatus;
use crate::view::Everything;

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

/// The rows (a bucket and status each, its shards summed) of each run of
/// consecutive rollup buckets, and each range read whole per part and
/// status; a bucket as its start in seconds, a status as its position in
/// `$4`. (Each run is probed through `LATERAL … OFFSET 0`, which keeps the subquery from being
/// flattened into a join: a join over arrays of unknown size may otherwise
/// be planned as a scan of the whole table.) `{status}` is empty when every
/// status is wanted: one index range per bucket instead of one per status.
const READ: &str = "
    SELECT -1 AS k, p.grain AS grain, date_part('epoch', x.bucket)::bigint AS bucket,
           array_position($4::text[], x.status::text) AS status,
           x.order_count AS n, x.total_cents AS t
    FROM unnest($1::smallint[], $2::timestamptz[], $3::timestamptz[]) AS p(grain, lo, hi)
    CROSS JOIN LATERAL (
      SELECT r.bucket, r.status, SUM(r.order_count)::BIGINT AS order_count,
             SUM(r.total_cents)::BIGINT AS total_cents
      FROM order_rollups r
      WHERE r.grain = p.grain AND r.bucket >= p.lo AND r.bucket <= p.hi{status}
      GROUP BY r.bucket, r.status
      OFFSET 0
    ) x
    UNION ALL
    SELECT e.k, -1::smallint, NULL::bigint, array_position($4::text[], y.status::text),
           SUM(y.n)::BIGINT, SUM(y.t)::BIGINT
    FROM unnest($5::int[], $6::timestamptz[], $7::timestamptz[]) AS e(k, lo, hi)
    CROSS JOIN LATERAL (
      SELECT o.status, COUNT(*) AS n, SUM(o.total_cents) AS t FROM orders o
      WHERE o.created_at >= e.lo AND o.created_at < e.hi AND o.status = ANY($4::text[])
      GROUP BY o.status
    ) y
    GROUP BY 1, 2, 3, 4{extent}";

/// The data's extent in the read's own snapshot: parts -2 (first) and -3
/// (last creation instant), in microseconds.
const EXTENT_AGAIN: &str = "
    UNION ALL SELECT -2, -1::smallint, (EXTRACT(EPOCH FROM MIN(created_at)) * 1000000)::bigint,
                     NULL::int, 0::bigint, 0::bigint FROM orders
    UNION ALL SELECT -3, -1::smallint, (EXTRACT(EPOCH FROM MAX(created_at)) * 1000000)::bigint,
                     NULL::int, 0::bigint, 0::bigint FROM orders";

/// Sums per part `k` and status.
type Parts = HashMap<(usize, OrderStatus), Totals>;

/// The first and last creation instants a read saw (`None`: no orders).
type Seen = Option<(DateTime<Utc>, DateTime<Utc>)>;

/// Sums per part `k` and status, for the parts `pieces` describes: every
/// distinct bucket is read once, and counted with its sign in each part
/// that uses it (adjacent periods share their edge hours).
async fn read<C: ConnectionTrait>(
    db: &C,
    pieces: Pieces,
    statuses: &[OrderStatus],
    with_extent: bool,
) -> Result<(Parts, Seen)> {
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
    let sql = READ
        .replace(
            "{status}",
            if every {
                ""
            } else {
                " AND r.status = ANY($4::text[])"
            },
        )
        .replace("{extent}", if with_extent { EXTENT_AGAIN } else { "" });
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    let mut out: Parts = HashMap::new();
    let (mut first, mut last) = (None, None);
    // Columns by position, integers only (decoding by name and of
    // instants and text was a third of a 90-day grouping's instructions).
    for row in rows {
        let k: i32 = row.try_get_by_index(0)?;
        if k < -1 {
            let micros: Option<i64> = row.try_get_by_index(2)?;
            let instant = micros.and_then(DateTime::<Utc>::from_timestamp_micros);
            *(if k == -2 { &mut first } else { &mut last }) = instant;
            continue;
        }
        // The status as its 1-based position in `statuses`.
        let position: Option<i32> = row.try_get_by_index(3)?;
        let Some(&status) = position
            .and_then(|p| usize::try_from(p).ok()?.checked_sub(1))
            .and_then(|i| statuses.get(i))
        else {
            continue;
        };
        let n: i64 = row.try_get_by_index(4)?;
        let t: i64 = row.try_get_by_index(5)?;
        let parts: Vec<(usize, i64)> = if k >= 0 {
            vec![(usize::try_from(k).unwrap_or(0), 1)]
        } else {
            let grain: i16 = row.try_get_by_index(1)?;
            let bucket: i64 = row.try_get_by_index(2)?;
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
    Ok((out, first.zip(last)))
}

/// The range `[a, b)` to read for `filter` when the data spans `[lo, hi]`:
/// the filter's ends, closed to the data's; an open end after `hi` a little
/// past it (aligned to the quarter-hour), so that orders created between
/// the extent's read and the rollups' still fall inside.
fn covered(
    filter: &RollupFilter,
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let quarter = hi.timestamp().div_euclid(900) * 900 + 900;
    let past = at(quarter) + Duration::minutes(30);
    let a = filter.from.map_or(lo, |f| f.max(lo));
    let b = filter.until.map_or(past, |u| u.min(past));
    (a, b)
}

/// Whether a read of `[a, b)` that saw the data span `seen` holds every
/// order `filter` selects.
fn holds(filter: &RollupFilter, a: DateTime<Utc>, b: DateTime<Utc>, seen: Seen) -> bool {
    seen.is_none_or(|(first, last)| {
        (filter.from == Some(a) || first >= a) && (filter.until == Some(b) || last < b)
    })
}

/// The sums of the parts `parts` builds for a range `[a, b)`, over the
/// orders `filter` selects, and what `parts` returned with them: in one
/// statement when both ends are given and near; else after reading the
/// extent, in one statement that checks it; else (an order landed outside
/// the range in between) in one repeatable-read transaction.
async fn read_filtered<T>(
    db: &Db,
    filter: &RollupFilter,
    parts: impl Fn(DateTime<Utc>, DateTime<Utc>) -> (Pieces, T),
) -> Result<Option<(T, Parts)>> {
    if let Some((a, b)) = filter.near_ends() {
        let (pieces, t) = parts(a, b);
        return Ok(Some((
            t,
            read(db, pieces, &filter.statuses, false).await?.0,
        )));
    }
    let Some((lo, hi)) = extent(db).await? else {
        return Ok(None);
    };
    let (a, b) = covered(filter, lo, hi);
    let (pieces, t) = parts(a, b);
    let (sums, seen) = read(db, pieces, &filter.statuses, true).await?;
    if holds(filter, a, b, seen) {
        return Ok(Some((t, sums)));
    }
    let txn = db
        .begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?;
    let mut out = None;
    if let Some((lo, hi)) = extent(&txn).await? {
        let a = filter.from.unwrap_or(lo).max(lo);
        let b = filter.until.unwrap_or(hi + MICRO).min(hi + MICRO);
        let (pieces, t) = parts(a, b);
        out = Some((t, read(&txn, pieces, &filter.statuses, false).await?.0));
    }
    txn.commit().await?;
    Ok(out)
}

/// The aggregate of the orders `filter` selects, from the rollups.
pub async fn aggregate(db: &Db, _: Everything, filter: &RollupFilter) -> Result<Totals> {
    let read = read_filtered(db, filter, |a, b| {
        let mut pieces = Pieces::default();
        pieces.interval(0, a, b);
        (pieces, ())
    })
    .await?;
    Ok(read.map_or_else(Totals::default, |((), parts)| {
        parts.values().fold(Totals::default(), |mut total, t| {
            total.count += t.count;
            total.sum_cents += t.sum_cents;
            total
        })
    }))
}

/// The groups (by status and a period) of the orders `filter` selects,
/// summed from the rollups; keys, `having`, order and `first` follow.
pub(crate) async fn grouped(
    db: &Db,
    _: Everything,
    filter: &RollupFilter,
    grouping: &Grouping,
) -> Result<HashMap<GroupId, Totals>> {
    let Some((starts, parts)) =
        read_filtered(db, filter, |a, b| periods_of(grouping, a, b)).await?
    else {
        return Ok(HashMap::new());
    };
    let by_status = grouping.keys().contains(&GroupKey::Status);
    let mut groups: HashMap<GroupId, Totals> = HashMap::new();
    for ((k, status), t) in parts {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregates::instant as t;

    fn filter(from: Option<&str>, until: Option<&str>) -> RollupFilter {
        RollupFilter {
            statuses: OrderStatus::ALL.to_vec(),
            from: from.map(t),
            until: until.map(t),
        }
    }

    #[test]
    fn an_open_end_is_read_a_little_past_the_data_and_checked() {
        let (lo, hi) = (t("2025-01-01T00:00:00Z"), t("2025-12-31T23:58:08Z"));
        let open = filter(None, None);
        let (a, b) = covered(&open, lo, hi);
        assert_eq!((a, b), (lo, t("2026-01-01T00:30:00Z")));
        // Orders created between the two reads, inside the range: it holds.
        assert!(holds(&open, a, b, Some((lo, t("2026-01-01T00:29:59Z")))));
        // One created after it, or before the first: read again.
        assert!(!holds(&open, a, b, Some((lo, b))));
        assert!(!holds(&open, a, b, Some((t("2024-06-01T00:00:00Z"), hi))));
        // No orders at all in the read's snapshot: nothing to miss.
        assert!(holds(&open, a, b, None));
    }

    #[test]
    fn a_given_end_is_kept_and_never_checked() {
        let (lo, hi) = (t("2025-01-01T00:00:00Z"), t("2025-12-31T23:58:08Z"));
        let since = filter(Some("2025-10-03T00:00:00Z"), None);
        let (a, b) = covered(&since, lo, hi);
        assert_eq!(a, t("2025-10-03T00:00:00Z"));
        // Orders before the filter's start are not selected: no reread.
        assert!(holds(&since, a, b, Some((t("2024-01-01T00:00:00Z"), hi))));
        let until = filter(Some("2020-01-01T00:00:00Z"), Some("2025-06-01T00:00:00Z"));
        let (a, b) = covered(&until, lo, hi);
        assert_eq!((a, b), (lo, t("2025-06-01T00:00:00Z")));
        assert!(holds(&until, a, b, Some((lo, t("2027-01-01T00:00:00Z")))));
        assert!(!holds(&until, a, b, Some((t("2024-12-31T00:00:00Z"), hi))));
    }
}
