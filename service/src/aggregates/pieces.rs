//! Instants as rollup rows: `[a, b)` cut at the quarter-hours; the ends
//! (a period starting off the quarter-hour, a bound to the microsecond)
//! read whole from `orders`; the whole quarters between in as few rows as
//! the calendar allows: the whole UTC days as whole months and days (or a
//! month minus the days around them), and the part of a day at each end as
//! hours and quarters (or the day, or hour, minus the pieces around them).
//! A day in Berlin is `day(D) − hour(D 23:00) + hour(D−1 23:00)`: three
//! rows (a status each, a row per shard written). `periods_of` lays out
//! the periods of a grouping as parts.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, Months, TimeZone, Utc};

use super::{Grouping, Period, periods};

/// One microsecond: PostgreSQL's resolution of instants.
pub(super) const MICRO: Duration = Duration::microseconds(1);

/// A rollup grain's length in seconds: quarter-hour, hour, day.
pub(super) const QUARTER: i64 = 900;

pub(super) fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn floor_to(t: DateTime<Utc>, step: i64) -> DateTime<Utc> {
    at(floor_secs(t.timestamp(), step))
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

/// Signed rollup rows `(part, grain, bucket start in seconds) → sign`, and
/// order ranges read whole, per part of the answer (`k`: a period, or 0).
#[derive(Default)]
pub(super) struct Pieces {
    /// (Hashed with foldhash: a 90-day grouping adds a few thousand.)
    pub(super) rows: HashMap<(usize, i16, i64), i32, foldhash::fast::RandomState>,
    pub(super) raw: Vec<(usize, DateTime<Utc>, DateTime<Utc>)>,
}

pub(super) const HOUR: i64 = 3600;
pub(super) const DAY: i64 = 86_400;

/// `t` down to a multiple of `step` (before 1970 too).
pub(super) fn floor_secs(t: i64, step: i64) -> i64 {
    t.div_euclid(step) * step
}

fn ceil_secs(t: i64, step: i64) -> i64 {
    -floor_secs(-t, step)
}

/// Rows for `[l, h)` inside one hour (on quarter-hours): the quarters.
fn quarter_rows(l: i64, h: i64) -> i64 {
    let n = (h - l) / QUARTER;
    n.min(1 + (4 - n))
}

/// Rows for `[l, h)` inside one UTC day, read without the day's row.
fn in_day_rows(l: i64, h: i64) -> i64 {
    if l >= h {
        return 0;
    }
    let (hl, hh) = (ceil_secs(l, HOUR), floor_secs(h, HOUR));
    if hl > hh {
        return quarter_rows(l, h);
    }
    (hh - hl) / HOUR + quarter_rows(l, hl) + quarter_rows(hh, h)
}

impl Pieces {
    fn add(&mut self, k: usize, grain: i16, bucket: i64, sign: i32) {
        *self.rows.entry((k, grain, bucket)).or_insert(0) += sign;
    }

    /// `[l, h)` inside the hour `hour` (on quarter-hours): the quarters, or
    /// the hour minus the others, whichever is fewer rows.
    fn in_hour(&mut self, k: usize, hour: i64, (l, h): (i64, i64), sign: i32) {
        if l >= h {
            return;
        }
        let n = (h - l) / QUARTER;
        if n <= 1 + (4 - n) {
            for q in (l..h).step_by(QUARTER as usize) {
                self.add(k, 0, q, sign);
            }
        } else {
            self.add(k, 1, hour, sign);
            for q in (hour..l).chain(h..hour + HOUR).step_by(QUARTER as usize) {
                self.add(k, 0, q, -sign);
            }
        }
    }

    /// `[l, h)` inside one UTC day without the day's row: whole hours and
    /// the pieces of the hours at its ends.
    fn hours(&mut self, k: usize, (l, h): (i64, i64), sign: i32) {
        if l >= h {
            return;
        }
        let (hl, hh) = (ceil_secs(l, HOUR), floor_secs(h, HOUR));
        if hl > hh {
            self.in_hour(k, floor_secs(l, HOUR), (l, h), sign);
            return;
        }
        self.in_hour(k, hl - HOUR, (l, hl), sign);
        for x in (hl..hh).step_by(HOUR as usize) {
            self.add(k, 1, x, sign);
        }
        self.in_hour(k, hh, (hh, h), sign);
    }

    /// `[l, h)` inside the UTC day `day`: its hours, or the day minus the
    /// hours around them, whichever is fewer rows (a Berlin day's last
    /// hours are the day minus one or two hours).
    fn in_day(&mut self, k: usize, day: i64, (l, h): (i64, i64)) {
        if l >= h {
            return;
        }
        let around = 1 + in_day_rows(day, l) + in_day_rows(h, day + DAY);
        if in_day_rows(l, h) <= around {
            self.hours(k, (l, h), 1);
        } else {
            self.add(k, 2, day, 1);
            self.hours(k, (day, l), -1);
            self.hours(k, (h, day + DAY), -1);
        }
    }

    /// The whole UTC days `[l, h)`: whole months, and in the others the
    /// days, or the month minus the days around them, whichever is fewer.
    fn days(&mut self, k: usize, l: i64, h: i64) {
        let mut month = floor_month(at(l));
        while month.timestamp() < h {
            let next = month + Months::new(1);
            let (ms, me) = (month.timestamp(), next.timestamp());
            let (dl, dh) = (l.max(ms), h.min(me));
            let inside = (dh - dl) / DAY;
            let around = (me - ms) / DAY - inside;
            if inside > 0 && inside <= around {
                for d in (dl..dh).step_by(DAY as usize) {
                    self.add(k, 2, d, 1);
                }
            } else if inside > 0 {
                self.add(k, 3, ms, 1);
                for d in (ms..dl).chain(dh..me).step_by(DAY as usize) {
                    self.add(k, 2, d, -1);
                }
            }
            month = next;
        }
    }

    /// The instants `[a, b)` as part `k`.
    pub(super) fn interval(&mut self, k: usize, a: DateTime<Utc>, b: DateTime<Utc>) {
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
        let (l, h) = (qa.timestamp(), qb.timestamp());
        let (dl, dh) = (ceil_secs(l, DAY), floor_secs(h, DAY));
        if dl > dh {
            self.in_day(k, floor_secs(l, DAY), (l, h));
            return;
        }
        self.in_day(k, dl - DAY, (l, dl));
        self.days(k, dl, dh);
        self.in_day(k, dh, (dh, h));
    }
}

/// The parts of `[a, b)`: part k is the k-th period of `grouping` from the
/// one holding `a` (or the whole range), with the first local date of each.
pub(super) fn periods_of(
    grouping: &Grouping,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
) -> (Pieces, Vec<chrono::NaiveDate>) {
    let mut pieces = Pieces::default();
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
    (pieces, starts)
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
    use crate::aggregates::instant as t;

    #[test]
    fn a_berlin_day_is_three_rows() {
        let mut p = Pieces::default();
        p.interval(0, t("2026-06-01T22:00:00Z"), t("2026-06-02T22:00:00Z"));
        let mut rows: Vec<(i16, String, i32)> = p
            .rows
            .into_iter()
            .filter(|(_, s)| *s != 0)
            .map(|((_, g, b), s)| (g, at(b).to_rfc3339(), s))
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
                    .entry(at(bucket) + Duration::minutes(15 * i))
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

    /// The signed rows of `p` as the instants they count: each row's
    /// `[start, end)` with its sign, summed where they overlap.
    fn coverage(p: &Pieces) -> Vec<(i64, i64, i32)> {
        let mut edges: std::collections::BTreeMap<i64, i32> = Default::default();
        for (&(_, grain, bucket), &sign) in &p.rows {
            let end = match grain {
                0 => bucket + QUARTER,
                1 => bucket + HOUR,
                2 => bucket + DAY,
                _ => (at(bucket) + Months::new(1)).timestamp(),
            };
            *edges.entry(bucket).or_insert(0) += sign;
            *edges.entry(end).or_insert(0) -= sign;
        }
        let mut out: Vec<(i64, i64, i32)> = Vec::new();
        let mut depth = 0;
        let points: Vec<(i64, i32)> = edges.into_iter().collect();
        for w in points.windows(2) {
            depth += w[0].1;
            if depth != 0 {
                match out.last_mut() {
                    Some(last) if last.1 == w[0].0 && last.2 == depth => last.1 = w[1].0,
                    _ => out.push((w[0].0, w[1].0, depth)),
                }
            }
        }
        out
    }

    #[test]
    fn every_range_is_counted_exactly_once() {
        // Quarter-hour ranges from a few minutes to two years, before and
        // after 1970, from a fixed pseudo-random sequence.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |m: i64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            i64::try_from(x % u64::try_from(m).unwrap_or(1)).unwrap_or(0)
        };
        for _ in 0..2000 {
            let l = (next(2 * 800 * 96) - 800 * 96 + 20_000 * 96) * QUARTER - 20_000 * DAY;
            let len = match next(4) {
                0 => next(8),
                1 => next(200),
                2 => next(96 * 40),
                _ => next(96 * 800),
            } * QUARTER;
            let (a, b) = (at(l), at(l + len));
            let mut p = Pieces::default();
            p.interval(0, a, b);
            assert!(p.raw.is_empty());
            let want = if len > 0 {
                vec![(l, l + len, 1)]
            } else {
                vec![]
            };
            assert_eq!(coverage(&p), want, "[{a}, {b})");
            // Few rows: each end's month at most 16 (days, or the month
            // minus days), the months between, each end's day at most 16
            // (hours and quarters, or the day minus them).
            let months = len / (28 * DAY);
            let rows = p.rows.values().filter(|s| **s != 0).count();
            assert!(
                rows <= usize::try_from(2 * 16 + months + 2 * 16).unwrap_or(0),
                "{rows} rows"
            );
        }
    }
}
