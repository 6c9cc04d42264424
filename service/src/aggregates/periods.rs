//! Calendar periods in an IANA time zone: which local period an instant
//! falls in, the first instant of a period (where local midnight is
//! skipped, the first instant after the gap), and its label.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A calendar period of the requested time zone.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Day,
    /// ISO week, starting Monday.
    Week,
    Month,
    Year,
}

/// A time zone by its IANA name (links such as `US/Eastern` included);
/// `None` for anything else (POSIX strings, abbreviations, unknown names).
pub fn time_zone(name: &str) -> Option<Tz> {
    // Only names of the database: chrono-tz parses exactly those (no
    // offsets, no POSIX rules).
    name.parse::<Tz>().ok()
}

impl Period {
    /// The first local date of the period holding `date`.
    pub fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => date,
            Period::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Period::Month => date.with_day(1).unwrap_or(date),
            Period::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date),
        }
    }

    /// "2026-11-24", "2026-W48" (ISO week-numbering year), "2026-11", "2026".
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Period::Day => format!(
                "{:04}-{:02}-{:02}",
                start.year(),
                start.month(),
                start.day()
            ),
            Period::Week => {
                let week = start.iso_week();
                format!("{:04}-W{:02}", week.year(), week.week())
            }
            Period::Month => format!("{:04}-{:02}", start.year(), start.month()),
            Period::Year => format!("{:04}", start.year()),
        }
    }
}

/// The local date of `at` in `tz`.
pub fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The first instant whose local date in `tz` is `date`: local midnight,
/// the earlier one where midnight happens twice, and where it is skipped
/// the first instant after the gap.
pub fn first_instant(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight: NaiveDateTime = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    if let Some(at) = tz.from_local_datetime(&midnight).earliest() {
        return at.with_timezone(&Utc);
    }
    // In a gap: find the first valid local minute, then the first valid
    // second before it (offsets since 1970 are not all whole minutes).
    let mut minute = midnight;
    for _ in 0..(48 * 60) {
        minute += Duration::minutes(1);
        if let Some(at) = tz.from_local_datetime(&minute).earliest() {
            let mut first = at.with_timezone(&Utc);
            for _ in 0..60 {
                let earlier = first - Duration::seconds(1);
                if earlier.with_timezone(&tz).naive_local() < midnight {
                    break;
                }
                first = earlier;
            }
            return first;
        }
    }
    // Unreachable for the database's zones: no gap lasts two days.
    Utc.from_utc_datetime(&midnight)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn names_of_the_database_only() {
        assert!(time_zone("Europe/Berlin").is_some());
        assert!(time_zone("Asia/Kathmandu").is_some());
        assert!(time_zone("US/Eastern").is_some(), "links are names too");
        assert!(time_zone("UTC").is_some());
        for bad in [
            "",
            "Mars/Olympus",
            "UTC+3",
            "<+0545>-0545",
            "EST5EDT,M3.2.0,M11.1.0",
            "+01:00",
        ] {
            assert!(time_zone(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn periods_start_and_are_labelled_in_the_local_calendar() {
        let d = date(2026, 11, 26); // a Thursday
        assert_eq!(Period::Week.start_of(d), date(2026, 11, 23));
        assert_eq!(Period::Week.label(date(2026, 11, 23)), "2026-W48");
        // 2027-01-01 is a Friday of ISO week 2026-W53.
        assert_eq!(Period::Week.start_of(date(2027, 1, 1)), date(2026, 12, 28));
        assert_eq!(Period::Week.label(date(2026, 12, 28)), "2026-W53");
        assert_eq!(Period::Month.label(Period::Month.start_of(d)), "2026-11");
        assert_eq!(Period::Year.label(Period::Year.start_of(d)), "2026");
        assert_eq!(Period::Day.label(d), "2026-11-26");
    }

    #[test]
    fn a_day_starts_at_local_midnight_or_right_after_a_skipped_one() {
        let berlin = time_zone("Europe/Berlin").expect("zone");
        assert_eq!(
            first_instant(berlin, date(2026, 3, 29)).to_rfc3339(),
            "2026-03-28T23:00:00+00:00"
        );
        let kathmandu = time_zone("Asia/Kathmandu").expect("zone");
        assert_eq!(
            first_instant(kathmandu, date(2026, 1, 1)).to_rfc3339(),
            "2025-12-31T18:15:00+00:00"
        );
        // Santiago skipped 2022-09-11 00:00 to 01:00 (to -03).
        let santiago = time_zone("America/Santiago").expect("zone");
        assert_eq!(
            first_instant(santiago, date(2022, 9, 11)).to_rfc3339(),
            "2022-09-11T04:00:00+00:00"
        );
        // Monrovia moved from -0:44:30 to GMT at 1972-01-07 00:00 local:
        // that midnight never happened, the day began at 00:44:30.
        let monrovia = time_zone("Africa/Monrovia").expect("zone");
        assert_eq!(
            first_instant(monrovia, date(1972, 1, 7)).to_rfc3339(),
            "1972-01-07T00:44:30+00:00"
        );
        // An instant's local date, and back to its day's first instant.
        let at = DateTime::parse_from_rfc3339("2026-03-29T22:30:00+00:00")
            .expect("instant")
            .with_timezone(&Utc);
        assert_eq!(local_date(berlin, at), date(2026, 3, 30));
    }
}
