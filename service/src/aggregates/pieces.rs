//! Instants as rollup rows: `[a, b)` cut at the quarter-hours; the ends
//! (a period starting off the quarter-hour, a bound to the microsecond)
//! read whole from `orders`; the whole quarters between as a difference of
//! two prefixes, each taken in as few rows as the calendar allows: the
//! months between, and within a month, a day or an hour either the pieces
//! before the point or the enclosing bucket minus the pieces after it. A
//! day in Berlin is `day(D) − hour(D 23:00) + hour(D−1 23:00)`: three rows
//! (a status each, a row per shard written). `periods_of` lays out the
//! periods of a grouping as parts.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, Months, TimeZone, Utc};

use super::{Grouping, Period, periods};

/// One microsecond: PostgreSQL's resolution of instants.
pub(super) const MICRO: Duration = Duration::microseconds(1);

const QUARTER: i64 = 900;

pub(super) fn at(secs: i64) -> DateTime<Utc> {
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

/// Signed rollup rows `(part, grain, bucket start in seconds) → sign`, and
/// order ranges read whole, per part of the answer (`k`: a period, or 0).
#[derive(Default)]
pub(super) struct Pieces {
    /// (Hashed with foldhash: a 90-day grouping adds a few thousand.)
    pub(super) rows: HashMap<(usize, i16, i64), i32, foldhash::fast::RandomState>,
    pub(super) raw: Vec<(usize, DateTime<Utc>, DateTime<Utc>)>,
}

/// Pieces of one grain inside an enclosing bucket: `total` of them, `step`
/// seconds each, from `start`.
struct Run {
    grain: i16,
    start: i64,
    step: i64,
    total: i64,
}

impl Pieces {
    fn add(&mut self, k: usize, grain: i16, bucket: i64, sign: i32) {
        *self.rows.entry((k, grain, bucket)).or_insert(0) += sign;
    }

    /// Either the first `count` pieces of `run` (forward), or the
    /// enclosing bucket minus the pieces after them, whichever is fewer
    /// rows.
    fn before(
        &mut self,
        k: usize,
        sign: i32,
        (outer_grain, outer): (i16, i64),
        run: Run,
        count: i64,
    ) {
        let at = |i: i64| run.start + i * run.step;
        if count <= 1 + (run.total - count) {
            for i in 0..count {
                self.add(k, run.grain, at(i), sign);
            }
        } else {
            self.add(k, outer_grain, outer, sign);
            for i in count..run.total {
                self.add(k, run.grain, at(i), -sign);
            }
        }
    }

    /// `sign` × the instants of `t`'s month before `t` (on a quarter-hour),
    /// in integer seconds (UTC days and hours have fixed lengths).
    fn prefix(&mut self, k: usize, t: DateTime<Utc>, sign: i32) {
        let first = floor_month(t);
        let (month, next) = (first.timestamp(), (first + Months::new(1)).timestamp());
        let ts = t.timestamp();
        let day = ts.div_euclid(86_400) * 86_400;
        let hour = ts.div_euclid(3600) * 3600;
        let days = Run {
            grain: 2,
            start: month,
            step: 86_400,
            total: (next - month) / 86_400,
        };
        self.before(k, sign, (3, month), days, (day - month) / 86_400);
        let hours = Run {
            grain: 1,
            start: day,
            step: 3600,
            total: 24,
        };
        self.before(k, sign, (2, day), hours, (hour - day) / 3600);
        let quarters = Run {
            grain: 0,
            start: hour,
            step: QUARTER,
            total: 4,
        };
        self.before(k, sign, (1, hour), quarters, (ts - hour) / QUARTER);
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
        let mut month = floor_month(qa);
        let last = floor_month(qb);
        while month < last {
            self.add(k, 3, month.timestamp(), 1);
            month = month + Months::new(1);
        }
        self.prefix(k, qb, 1);
        self.prefix(k, qa, -1);
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
}
