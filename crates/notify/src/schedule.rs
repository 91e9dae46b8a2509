//! When operational reports are due: periods counted in the clinic's local time, so "every 3
//! hours" means 09:00, 12:00, 15:00 on the wall clock, and a daily report covers the local day.

use chrono::{Duration, TimeZone};
use chrono_tz::Tz;

use super::config::Every;
use otklik_domain::time::{Millis, Span, local_midnight, to_datetime};

const HOUR: Millis = 3_600_000;

/// The latest period of `every` that has ended by `now`.
pub fn latest(every: Every, tz: Tz, now: Millis) -> Span {
    let today = to_datetime(now).with_timezone(&tz).date_naive();
    match every {
        Every::Hours(n) => {
            // Boundaries run from local midnight in steps of n real hours (a DST day has 23 or
            // 25 of them; its last period is then shorter or longer by the change).
            let step = Millis::from(n) * HOUR;
            let midnight = local_midnight(tz, today);
            let k = (now - midnight) / step;
            let end = midnight + k * step;
            let start = if k == 0 {
                // The last period of yesterday: from its last boundary to midnight.
                let prev = local_midnight(tz, today - Duration::days(1));
                prev + ((midnight - prev - 1) / step) * step
            } else {
                end - step
            };
            Span {
                from: start,
                to: end,
            }
        }
        Every::DailyAt(minutes) => {
            let at = |date: chrono::NaiveDate| {
                let wall = date
                    .and_hms_opt(minutes / 60, minutes % 60, 0)
                    .expect("valid time");
                tz.from_local_datetime(&wall)
                    .earliest()
                    // A closing time skipped by a DST change: an hour later exists.
                    .or_else(|| {
                        tz.from_local_datetime(&(wall + Duration::hours(1)))
                            .earliest()
                    })
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_else(|| local_midnight(tz, date))
            };
            let mut day = today;
            if at(day) > now {
                day -= Duration::days(1);
            }
            Span {
                from: local_midnight(tz, day),
                to: at(day),
            }
        }
    }
}

/// How late a missed report is still worth sending (the PC was off at its time).
pub fn catch_up(every: Every) -> Millis {
    match every {
        Every::Hours(n) => Millis::from(n) * HOUR,
        Every::DailyAt(_) => 12 * HOUR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_domain::time::parse_rfc3339;

    fn t(s: &str) -> Millis {
        parse_rfc3339("t", s).unwrap()
    }

    #[test]
    fn hourly_and_three_hourly_periods_follow_the_wall_clock() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        let s = latest(Every::Hours(1), tz, t("2026-11-23T14:05:00+03:00"));
        assert_eq!(
            (s.from, s.to),
            (
                t("2026-11-23T13:00:00+03:00"),
                t("2026-11-23T14:00:00+03:00")
            )
        );
        let s = latest(Every::Hours(3), tz, t("2026-11-23T14:05:00+03:00"));
        assert_eq!(
            (s.from, s.to),
            (
                t("2026-11-23T09:00:00+03:00"),
                t("2026-11-23T12:00:00+03:00")
            )
        );
        let s = latest(Every::Hours(3), tz, t("2026-11-23T00:30:00+03:00"));
        assert_eq!(
            (s.from, s.to),
            (
                t("2026-11-22T21:00:00+03:00"),
                t("2026-11-23T00:00:00+03:00")
            )
        );
    }

    #[test]
    fn daily_report_covers_the_local_day_across_dst() {
        let tz: Tz = "Europe/Madrid".parse().unwrap();
        // 25 October 2026: clocks go back at 03:00; the day is 25 hours long.
        let s = latest(Every::DailyAt(20 * 60), tz, t("2026-10-25T21:00:00+01:00"));
        assert_eq!(
            (s.from, s.to),
            (
                t("2026-10-25T00:00:00+02:00"),
                t("2026-10-25T20:00:00+01:00")
            )
        );
        assert_eq!(s.to - s.from, 21 * HOUR);
        // Before closing time: yesterday's.
        let s = latest(Every::DailyAt(20 * 60), tz, t("2026-10-26T10:00:00+01:00"));
        assert_eq!(s.to, t("2026-10-25T20:00:00+01:00"));
        // Hourly on the long day: 03:00 local comes twice; periods stay one real hour.
        let s = latest(Every::Hours(1), tz, t("2026-10-25T02:30:00+01:00"));
        assert_eq!(s.to - s.from, HOUR);
    }
}
