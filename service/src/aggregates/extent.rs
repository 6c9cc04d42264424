//! The orders' extent (first and last creation instants) that a rollup
//! read of an open range starts from: what the last such read saw
//! ([`LastExtent`]), or read first; and whether a read's own snapshot shows
//! an order outside the range it read (then it reads again).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::kept::RollupFilter;
use super::pieces::{DAY, QUARTER, at, floor_secs};
use crate::error::Result;
use crate::view::Everything;

/// The first and last creation instants a read saw (`None`: no orders).
pub(super) type Extent = Option<(DateTime<Utc>, DateTime<Utc>)>;

/// The data's extent as the last read of a range with an open end saw it,
/// shared by every clone of a store: where the next such read starts and
/// ends its range without reading the extent first. Only a guess: the read
/// checks it in its own snapshot (see [`holds`]) and reads again when an
/// order fell outside, so a stale guess costs a second read, never a
/// wrong answer.
#[derive(Clone, Debug, Default)]
pub struct LastExtent(Arc<Mutex<Extent>>);

impl LastExtent {
    pub(super) fn get(&self) -> Extent {
        self.0.lock().map(|e| *e).unwrap_or(None)
    }

    pub(super) fn set(&self, seen: Extent) {
        if let Ok(mut e) = self.0.lock() {
            *e = seen;
        }
    }
}

/// The data's first and last creation instants (two probes of the index),
/// over every order.
pub(super) async fn extent<C: ConnectionTrait>(db: &C, _: Everything) -> Result<Extent> {
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

/// The range `[a, b)` to read for `filter` when the data spans `[lo, hi]`:
/// the filter's ends, closed to the data's: before `lo`, from the UTC
/// midnight before it (whole rollup rows: the first order is never read
/// whole from `orders`, which would cost the statement its generic plan);
/// an open end after `hi` a little past it (aligned to the quarter-hour),
/// so that orders created between the extent's read and the rollups'
/// still fall inside.
pub(super) fn covered(
    filter: &RollupFilter,
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let quarter = floor_secs(hi.timestamp(), QUARTER) + QUARTER;
    let past = at(quarter) + Duration::minutes(30);
    let midnight = at(floor_secs(lo.timestamp(), DAY));
    let a = filter.from.map_or(midnight, |f| f.max(midnight));
    let b = filter.until.map_or(past, |u| u.min(past));
    (a, b)
}

/// Whether a read of `[a, b)` that saw the data span `seen` holds every
/// order `filter` selects.
pub(super) fn holds(
    filter: &RollupFilter,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
    seen: Extent,
) -> bool {
    seen.is_none_or(|(first, last)| {
        (filter.from == Some(a) || first >= a) && (filter.until == Some(b) || last < b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregates::instant as t;
    use crate::model::OrderStatus;

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
    fn an_open_start_is_read_from_the_midnight_before_the_first_order() {
        let (lo, hi) = (t("2025-01-01T09:30:07Z"), t("2025-12-31T23:58:08Z"));
        let (a, _) = covered(&filter(None, None), lo, hi);
        assert_eq!(a, t("2025-01-01T00:00:00Z"));
        // A start before that midnight is the midnight; after it, the
        // client's own.
        let early = filter(Some("2024-06-01T00:00:00Z"), None);
        assert_eq!(covered(&early, lo, hi).0, t("2025-01-01T00:00:00Z"));
        let late = filter(Some("2025-01-01T05:00:00Z"), None);
        assert_eq!(covered(&late, lo, hi).0, t("2025-01-01T05:00:00Z"));
        // An order created between that midnight and the first is inside;
        // one before it is not.
        let (a, b) = covered(&filter(None, None), lo, hi);
        assert!(holds(
            &filter(None, None),
            a,
            b,
            Some((t("2025-01-01T00:00:01Z"), hi))
        ));
        assert!(!holds(&early, a, b, Some((t("2024-12-31T23:00:00Z"), hi))));
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
