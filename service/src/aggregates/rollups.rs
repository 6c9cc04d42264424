//! Aggregates answered from the rollups PostgreSQL keeps (`order_rollups`,
//! seventh migration): counts and sums per UTC quarter-hour, hour, day and
//! month and status. A `where` on statuses and a range of creation
//! instants, grouped by status and any calendar period of any time zone,
//! reads a few rollup rows per period instead of every order (`pieces`:
//! a day in Berlin is `day(D) − hour(D 23:00) + hour(D−1 23:00)`), and the
//! ends off the quarter-hour from `orders` through its `created_at` index,
//! in one statement (`probes` chooses its index ranges, `rollup_sql` holds
//! its text). When a range is open (or long), its ends come from the data's
//! extent as the last such read saw it (`extent`; read first when none
//! did); the statement reads the extent again in its own snapshot, and if
//! an order lies outside the range read, the whole read is redone in one
//! read-only repeatable-read transaction. An answer shows one committed
//! state. `min`/`max` are not kept: a request that selects them reads the
//! orders instead.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{AccessMode, ConnectionTrait, DbBackend, IsolationLevel, Statement, Value};

pub use super::extent::LastExtent;
use super::extent::{Extent, covered, extent, holds};
pub use super::kept::{Kept, RollupFilter, kept};
use super::pieces::{MICRO, Pieces, at, periods_of};
use super::probes::{Bucket, probes};
use super::rollup_sql::{DAILY, EXTENT_AGAIN, RAW, RAW_END, READ};
use super::{GroupId, GroupKey, Grouping, Totals};
use crate::db::Db;
use crate::error::Result;
use crate::model::OrderStatus;
use crate::view::Everything;

/// Sums per part `k` and status (`None`: all statuses together).
type Parts = HashMap<(usize, Option<OrderStatus>), Totals, foldhash::fast::RandomState>;

/// `template` with its placeholders `names` as the parameters after the
/// first `bound` (`$bound+1`, `$bound+2`, …).
fn numbered(template: &str, names: &[&str], bound: usize) -> String {
    names
        .iter()
        .enumerate()
        .fold(template.to_owned(), |sql, (i, name)| {
            sql.replace(name, &format!("${}", bound + i + 1))
        })
}

/// Sums per part `k` and status, for the parts `pieces` describes: every
/// distinct bucket is read once, and counted with its sign in each part
/// that uses it (adjacent periods share their edge hours).
async fn read<C: ConnectionTrait>(
    db: &C,
    pieces: Pieces,
    (statuses, by_status): (&[OrderStatus], bool),
    with_extent: bool,
) -> Result<(Parts, Extent)> {
    let mut uses: HashMap<Bucket, Vec<(usize, i32)>, foldhash::fast::RandomState> =
        HashMap::default();
    for ((k, grain, bucket), sign) in pieces.rows {
        if sign != 0 {
            uses.entry((grain, bucket)).or_default().push((k, sign));
        }
    }
    let probes = probes(uses.keys().copied().collect());
    let grains: Vec<i16> = probes.ranges.iter().map(|r| r.0).collect();
    let firsts: Vec<DateTime<Utc>> = probes.ranges.iter().map(|r| at(r.1)).collect();
    let lasts: Vec<DateTime<Utc>> = probes.ranges.iter().map(|r| at(r.2)).collect();
    let names: Vec<String> = statuses.iter().map(|s| s.as_str().to_owned()).collect();
    let mut values: Vec<Value> = vec![grains.into(), firsts.into(), lasts.into(), names.into()];
    let raw = match pieces.raw.as_slice() {
        [] => String::new(),
        // One or two ends (a range's start and end): two of `RAW_END`, the
        // second empty when there is one end.
        [one] | [one, _] => {
            let two = pieces.raw.get(1).copied().unwrap_or((one.0, one.1, one.1));
            let mut sql = String::new();
            for (k, lo, hi) in [*one, two] {
                let n = values.len();
                values.extend([
                    i32::try_from(k).unwrap_or(i32::MAX).into(),
                    lo.into(),
                    hi.into(),
                ]);
                sql += &numbered(RAW_END, &["{k}", "{lo}", "{hi}"], n);
            }
            sql
        }
        more => {
            let ks: Vec<i32> = more
                .iter()
                .map(|r| i32::try_from(r.0).unwrap_or(i32::MAX))
                .collect();
            let los: Vec<DateTime<Utc>> = more.iter().map(|r| r.1).collect();
            let his: Vec<DateTime<Utc>> = more.iter().map(|r| r.2).collect();
            values.extend([ks.into(), los.into(), his.into()]);
            RAW.to_owned()
        }
    };
    let daily = if probes.daily.is_empty() {
        String::new()
    } else {
        let n = values.len();
        let d = &probes.daily;
        values.extend([
            d.iter().map(|r| r.0).collect::<Vec<i16>>().into(),
            d.iter().map(|r| r.1).collect::<Vec<i32>>().into(),
            d.iter()
                .map(|r| at(r.2))
                .collect::<Vec<DateTime<Utc>>>()
                .into(),
            d.iter()
                .map(|r| at(r.3))
                .collect::<Vec<DateTime<Utc>>>()
                .into(),
        ]);
        numbered(DAILY, &["{g}", "{tod}", "{lo}", "{hi}"], n)
    };
    let every = OrderStatus::ALL.iter().all(|s| statuses.contains(s));
    let sql = READ
        .replace("{daily}", &daily)
        .replace(
            "{status}",
            if every {
                ""
            } else {
                // Through a sub-select (one evaluation): its selectivity is
                // then estimated alike with or without the actual statuses,
                // and the generic plan is kept (see `order_rollup_opaque`).
                " AND r.status = ANY((SELECT $4::text[])::text[])"
            },
        )
        .replace(
            "{status_of}",
            if by_status {
                "COALESCE(array_position($4::text[], r.status::text), 0)"
            } else {
                "0"
            },
        )
        .replace("{by_status}", if by_status { ", r.status" } else { "" })
        .replace("{raw}", &raw)
        .replace("{extent}", if with_extent { EXTENT_AGAIN } else { "" });
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    let mut out: Parts = HashMap::default();
    let (mut first, mut last) = (None, None);
    let Some(row) = row else {
        return Ok((out, None));
    };
    let ks: Vec<i32> = row.try_get_by_index(0)?;
    let grains: Vec<i16> = row.try_get_by_index(1)?;
    let buckets: Vec<i64> = row.try_get_by_index(2)?;
    let positions: Vec<i32> = row.try_get_by_index(3)?;
    let ns: Vec<i64> = row.try_get_by_index(4)?;
    let ts: Vec<i64> = row.try_get_by_index(5)?;
    let columns = ks
        .iter()
        .zip(&grains)
        .zip(&buckets)
        .zip(&positions)
        .zip(&ns)
        .zip(&ts);
    for (((((&k, &grain), &bucket), &position), &n), &t) in columns {
        if k < -1 {
            let instant = DateTime::<Utc>::from_timestamp_micros(bucket);
            *(if k == -2 { &mut first } else { &mut last }) = instant;
            continue;
        }
        // The status as its 1-based position in `statuses`.
        let status = usize::try_from(position)
            .ok()
            .and_then(|p| p.checked_sub(1))
            .and_then(|i| statuses.get(i).copied());
        if by_status && status.is_none() {
            continue;
        }
        let status = status.filter(|_| by_status);
        let mut count = |k: usize, sign: i64| {
            let e = out.entry((k, status)).or_default();
            e.count += sign * n;
            e.sum_cents += sign * t;
        };
        if k >= 0 {
            count(usize::try_from(k).unwrap_or(0), 1);
        } else if let Some(u) = uses.get(&(grain, bucket)) {
            for &(k, sign) in u {
                count(k, i64::from(sign));
            }
        }
    }
    Ok((out, first.zip(last)))
}

/// The sums of the parts `parts` builds for a range `[a, b)`, over the
/// orders `filter` selects, and what `parts` returned with them: in one
/// statement when both ends are given and near; else from the extent the
/// last read saw (read first when none did), in one statement that checks
/// it; else (an order landed outside the range) in one repeatable-read
/// transaction.
async fn read_filtered<T>(
    (db, all): (&Db, Everything),
    last: &LastExtent,
    (filter, by_status): (&RollupFilter, bool),
    parts: impl Fn(DateTime<Utc>, DateTime<Utc>) -> (Pieces, T),
) -> Result<Option<(T, Parts)>> {
    if let Some((a, b)) = filter.near_ends() {
        let (pieces, t) = parts(a, b);
        return Ok(Some((
            t,
            read(db, pieces, (&filter.statuses, by_status), false)
                .await?
                .0,
        )));
    }
    let known = match last.get() {
        Some(known) => Some(known),
        None => extent(db, all).await?,
    };
    let Some((lo, hi)) = known else {
        return Ok(None);
    };
    let (a, b) = covered(filter, lo, hi);
    let (pieces, t) = parts(a, b);
    let (sums, seen) = read(db, pieces, (&filter.statuses, by_status), true).await?;
    last.set(seen);
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
    let seen = extent(&txn, all).await?;
    last.set(seen);
    if let Some((lo, hi)) = seen {
        let a = filter.from.unwrap_or(lo).max(lo);
        let b = filter.until.unwrap_or(hi + MICRO).min(hi + MICRO);
        let (pieces, t) = parts(a, b);
        out = Some((
            t,
            read(&txn, pieces, (&filter.statuses, by_status), false)
                .await?
                .0,
        ));
    }
    txn.commit().await?;
    Ok(out)
}

/// The aggregate of the orders `filter` selects, from the rollups.
pub async fn aggregate(
    db: &Db,
    last: &LastExtent,
    all: Everything,
    filter: &RollupFilter,
) -> Result<Totals> {
    let read = read_filtered((db, all), last, (filter, false), |a, b| {
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
    last: &LastExtent,
    all: Everything,
    filter: &RollupFilter,
    grouping: &Grouping,
) -> Result<HashMap<GroupId, Totals>> {
    let by_status = grouping.keys().contains(&GroupKey::Status);
    let Some((starts, parts)) = read_filtered((db, all), last, (filter, by_status), |a, b| {
        periods_of(grouping, a, b)
    })
    .await?
    else {
        return Ok(HashMap::new());
    };
    let mut groups: HashMap<GroupId, Totals> = HashMap::new();
    for ((k, status), t) in parts {
        let id = GroupId {
            status,
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
