//! Which index ranges of `order_rollups` a read probes for the buckets it
//! needs: consecutive buckets of a grain as one range of the primary key
//! (the 90 days of a quarter: one probe), and the buckets left single that
//! fall at the same UTC time of day on consecutive days (a zone's edge
//! hours: 23:00 for each Berlin winter day) as one range of the
//! time-of-day index (ninth migration) instead of a probe each.

use super::pieces::{DAY, HOUR, QUARTER};

/// A rollup bucket: its grain and start (seconds).
pub(super) type Bucket = (i16, i64);

/// The ranges to read.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Probes {
    /// (grain, first and last bucket start): ranges of the primary key.
    pub(super) ranges: Vec<(i16, i64, i64)>,
    /// (grain, seconds since UTC midnight, first and last bucket start):
    /// one bucket a day, ranges of the time-of-day index.
    pub(super) daily: Vec<(i16, i32, i64, i64)>,
}

fn step(grain: i16) -> i64 {
    match grain {
        0 => QUARTER,
        1 => HOUR,
        2 => DAY,
        _ => 0,
    }
}

/// The probes that read exactly the buckets `keys` (within a daily
/// range, each day's bucket at that time is needed). Quarter-hours and
/// hours at one time of day on consecutive days first, then consecutive
/// buckets of what is left.
pub(super) fn probes(mut keys: Vec<Bucket>) -> Probes {
    keys.sort_unstable_by_key(|&(grain, b)| (grain, (grain < 2).then(|| b.rem_euclid(DAY)), b));
    keys.dedup();
    let mut daily: Vec<(i16, i64, i64, i64)> = Vec::new();
    let mut rest: Vec<Bucket> = Vec::new();
    for (grain, b) in keys {
        if grain >= 2 {
            rest.push((grain, b));
            continue;
        }
        let tod = b.rem_euclid(DAY);
        match daily.last_mut() {
            Some((g, t, _, last)) if *g == grain && *t == tod && *last + DAY == b => *last = b,
            _ => daily.push((grain, tod, b, b)),
        }
    }
    let mut out = Vec::new();
    for (grain, tod, lo, hi) in daily {
        match i32::try_from(tod) {
            Ok(tod) if lo < hi => out.push((grain, tod, lo, hi)),
            _ => rest.push((grain, lo)),
        }
    }
    rest.sort_unstable();
    let mut ranges: Vec<(i16, i64, i64)> = Vec::new();
    for (grain, bucket) in rest {
        let step = step(grain);
        match ranges.last_mut() {
            Some((g, _, last)) if *g == grain && step > 0 && *last + step == bucket => {
                *last = bucket;
            }
            _ => ranges.push((grain, bucket, bucket)),
        }
    }
    Probes { ranges, daily: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR;

    #[test]
    fn a_zones_edge_hours_over_many_days_are_one_range_per_time_of_day() {
        // Berlin days from 2025-10-03 to 2026-01-01: the UTC days, the
        // hours at 22:00 while summer time lasts, at 23:00 every day.
        let first = 1_759_449_600; // 2025-10-03T00:00:00Z
        let mut keys: Vec<Bucket> = (0..90).map(|d| (2, first + d * DAY)).collect();
        keys.extend((0..23).map(|d| (1, first + d * DAY + 22 * H)));
        keys.extend((0..90).map(|d| (1, first + d * DAY + 23 * H)));
        keys.push((0, first + 90 * DAY));
        let p = probes(keys);
        assert_eq!(
            p.ranges,
            vec![
                (0, first + 90 * DAY, first + 90 * DAY),
                (2, first, first + 89 * DAY)
            ]
        );
        assert_eq!(
            p.daily,
            vec![
                (1, 22 * 3600, first + 22 * H, first + 22 * DAY + 22 * H),
                (1, 23 * 3600, first + 23 * H, first + 89 * DAY + 23 * H),
            ]
        );
    }

    #[test]
    fn single_buckets_and_gaps_stay_plain_probes() {
        let first = 1_759_449_600;
        let keys = vec![
            (1, first + 5 * H),
            (1, first + DAY + 6 * H),
            (1, first + 2 * DAY + 5 * H),
            (0, first - 900),
            (3, first),
        ];
        let p = probes(keys);
        assert!(p.daily.is_empty(), "{p:?}");
        assert_eq!(p.ranges.len(), 5);
        // Consecutive hours of one day: one range of the primary key.
        let p = probes((0..12).map(|h| (1, first + h * H)).collect());
        assert_eq!(
            (p.ranges, p.daily),
            (vec![(1, first, first + 11 * H)], vec![])
        );
    }

    #[test]
    fn before_1970_the_time_of_day_is_still_counted_from_midnight() {
        let first = -10 * DAY;
        let keys = (0..3)
            .map(|d| (0, first + d * DAY + 18 * H + 900))
            .collect();
        assert_eq!(
            probes(keys).daily,
            vec![(
                0,
                18 * 3600 + 900,
                first + 18 * H + 900,
                first + 2 * DAY + 18 * H + 900
            )]
        );
    }
}
