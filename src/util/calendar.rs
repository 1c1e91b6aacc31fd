//! The proleptic Gregorian calendar, in UTC: days since the epoch to a date and back (Howard
//! Hinnant's algorithms, chrono-compatible), leap years, month lengths, and the English
//! day and month names that RFC 5322 dates, asctime (mbox `From ` lines) and IMAP dates use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `Jan` to `Dec`.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The days of the week, starting with 1970-01-01's.
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Whether `year` has a 29 February.
pub fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days in `month` (1 to 12) of `year`: 31 February is no date.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date (month 1 to 12, day 1 to 31).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1 to 12, day 1 to 31) `days` days after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both fit: a day is 1 to 31, a month 1 to 12.
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A moment broken into its calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    /// 0 to 60 (60: a leap second, only from [`DateTime::new`]).
    pub second: u32,
}

impl DateTime {
    /// The fields of `unix` seconds after the epoch (before it for a negative number).
    pub fn from_unix(unix: i64) -> DateTime {
        let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        // Below 86 400: fits.
        let secs = secs as u32;
        DateTime {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }

    /// The fields of `t` in UTC, in whole seconds; a time before the epoch is the epoch.
    pub fn from_system(t: SystemTime) -> DateTime {
        let unix = t
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        DateTime::from_unix(unix)
    }

    /// A date and time that exists (hour below 24, minute below 60, second at most 60: a
    /// leap second, which is the next minute's first), or `None`.
    pub fn new(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Option<DateTime> {
        let real = (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second <= 60;
        real.then_some(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// Seconds since the epoch (negative before it).
    pub fn to_unix(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour * 3600 + self.minute * 60 + self.second)
    }

    /// The moment, plus `nanos`; `None` before the epoch.
    pub fn to_system(self, nanos: u32) -> Option<SystemTime> {
        let secs = u64::try_from(self.to_unix()).ok()?;
        Some(UNIX_EPOCH + Duration::new(secs, nanos))
    }

    /// `Mon` to `Sun`.
    pub fn weekday(&self) -> &'static str {
        let days = days_from_civil(self.year, self.month, self.day);
        WEEKDAYS[days.rem_euclid(7) as usize]
    }

    /// `Jan` to `Dec`.
    pub fn month_name(&self) -> &'static str {
        MONTHS[(self.month - 1) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_agree_across_four_centuries() {
        // Every day from 1600 to 2400 (leap and non-leap centuries) both ways.
        let start = days_from_civil(1600, 1, 1);
        let mut want = (1600, 1, 1);
        for days in start..days_from_civil(2400, 12, 31) {
            assert_eq!(civil_from_days(days), want, "{days}");
            assert_eq!(days_from_civil(want.0, want.1, want.2), days);
            want = if want.2 < days_in_month(want.0, want.1) {
                (want.0, want.1, want.2 + 1)
            } else if want.1 < 12 {
                (want.0, want.1 + 1, 1)
            } else {
                (want.0 + 1, 1, 1)
            };
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn leap_years_and_month_lengths() {
        assert!(is_leap(2000) && is_leap(2024) && !is_leap(1900) && !is_leap(2023));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2023, 4), 30);
        assert_eq!(days_in_month(2023, 12), 31);
    }

    #[test]
    fn date_times_exist_or_are_none() {
        let t = DateTime::from_unix(1_709_210_096);
        assert_eq!(t, DateTime::new(2024, 2, 29, 12, 34, 56).unwrap());
        assert_eq!((t.weekday(), t.month_name()), ("Thu", "Feb"));
        assert_eq!(t.to_unix(), 1_709_210_096);
        assert_eq!(DateTime::from_unix(0).weekday(), "Thu");
        assert_eq!(
            DateTime::from_system(UNIX_EPOCH - Duration::from_secs(5)).year,
            1970
        );
        assert!(DateTime::new(2023, 2, 29, 0, 0, 0).is_none());
        assert!(DateTime::new(2023, 13, 1, 0, 0, 0).is_none());
        assert!(DateTime::new(2023, 1, 0, 0, 0, 0).is_none());
        assert!(DateTime::new(2023, 1, 1, 24, 0, 0).is_none());
        assert!(DateTime::new(2023, 1, 1, 0, 60, 0).is_none());
        let leap_second = DateTime::new(2016, 12, 31, 23, 59, 60).unwrap();
        assert_eq!(
            leap_second.to_unix(),
            DateTime::new(2017, 1, 1, 0, 0, 0).unwrap().to_unix()
        );
        assert_eq!(
            DateTime::new(1969, 12, 31, 0, 0, 0).unwrap().to_system(0),
            None
        );
    }
}
