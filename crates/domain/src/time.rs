//! Instants (UTC milliseconds, as stored) and periods in the clinic's time zone.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// Milliseconds since the Unix epoch, UTC: how every time is stored.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

pub fn to_datetime(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// RFC 3339 in UTC with milliseconds, as the API shows every time.
pub fn to_rfc3339(ms: Millis) -> String {
    to_datetime(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn parse_rfc3339(field: &str, text: &str) -> crate::Result<Millis> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            crate::Error::invalid(
                field,
                format!("'{text}' is not an RFC 3339 time such as 2026-11-23T09:30:00+03:00 ({e})"),
            )
        })
}

/// A named period of the leaderboard, in the clinic's calendar.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PeriodName {
    Today,
    Week,
    Month,
}

/// Half-open interval `[from, to)` in UTC milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: Millis,
    pub to: Millis,
}

/// The first instant of a local date; on a day whose midnight is skipped by a DST change, the
/// first instant that exists.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> Millis {
    let mut t = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..48 {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(d) => return d.timestamp_millis(),
            LocalResult::Ambiguous(d, _) => return d.timestamp_millis(),
            LocalResult::None => t += Duration::minutes(30),
        }
    }
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .timestamp_millis()
}

impl PeriodName {
    /// The calendar period containing `now` in `tz`: today, this week (from Monday), this month.
    pub fn span(self, tz: Tz, now: Millis) -> Span {
        let today = to_datetime(now).with_timezone(&tz).date_naive();
        let (first, next) = match self {
            PeriodName::Today => (today, today + Duration::days(1)),
            PeriodName::Week => {
                let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
                (monday, monday + Duration::days(7))
            }
            PeriodName::Month => {
                let first = today.with_day(1).expect("day 1 exists");
                let next = if first.month() == 12 {
                    NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
                }
                .expect("first of month exists");
                (first, next)
            }
        };
        Span {
            from: local_midnight(tz, first),
            to: local_midnight(tz, next),
        }
    }
}

/// The span for a named period, or for an explicit `[from, to)`.
pub fn span_for(
    period: Option<PeriodName>,
    from: Option<Millis>,
    to: Option<Millis>,
    tz: Tz,
    now: Millis,
) -> Span {
    match (from, to) {
        (Some(from), Some(to)) => Span { from, to },
        _ => period.unwrap_or(PeriodName::Today).span(tz, now),
    }
}

/// A request's period: either a named one or an explicit `[from, to)` (RFC 3339), checked
/// together; returns the explicit bounds if given. Shared by the leaderboard and reports.
pub fn parse_bounds(
    period: Option<PeriodName>,
    from: Option<&str>,
    to: Option<&str>,
) -> crate::Result<Option<(Millis, Millis)>> {
    let from = from.map(|t| parse_rfc3339("from", t)).transpose()?;
    let to = to.map(|t| parse_rfc3339("to", t)).transpose()?;
    let bounds = match (from, to) {
        (Some(f), Some(t)) if f >= t => {
            return Err(crate::Error::invalid("to", "must be later than from"));
        }
        (Some(f), Some(t)) => Some((f, t)),
        (Some(_), None) => return Err(crate::Error::invalid("to", "is needed with from")),
        (None, Some(_)) => return Err(crate::Error::invalid("from", "is needed with to")),
        (None, None) => None,
    };
    if period.is_some() && bounds.is_some() {
        return Err(crate::Error::invalid(
            "period",
            "give either period or from/to, not both",
        ));
    }
    Ok(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Millis {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn today_is_the_local_calendar_day() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        // 22:30 UTC on the 22nd is 01:30 on the 23rd in Moscow.
        let span = PeriodName::Today.span(tz, ms("2026-11-22T22:30:00Z"));
        assert_eq!(span.from, ms("2026-11-23T00:00:00+03:00"));
        assert_eq!(span.to, ms("2026-11-24T00:00:00+03:00"));
    }

    #[test]
    fn week_starts_on_monday_and_month_on_the_first() {
        let tz: Tz = "UTC".parse().unwrap();
        let now = ms("2026-11-25T12:00:00Z"); // a Wednesday
        let week = PeriodName::Week.span(tz, now);
        assert_eq!(week.from, ms("2026-11-23T00:00:00Z"));
        assert_eq!(week.to, ms("2026-11-30T00:00:00Z"));
        let month = PeriodName::Month.span(tz, ms("2026-12-31T23:59:59Z"));
        assert_eq!(month.from, ms("2026-12-01T00:00:00Z"));
        assert_eq!(month.to, ms("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn a_day_across_a_dst_change_has_its_real_length() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let span = PeriodName::Today.span(tz, ms("2026-10-25T12:00:00Z"));
        assert_eq!(span.to - span.from, 25 * 3600 * 1000);
    }

    #[test]
    fn rfc3339_errors_name_the_field() {
        let err = parse_rfc3339("from", "yesterday").unwrap_err().to_string();
        assert!(
            err.starts_with("from: 'yesterday' is not an RFC 3339 time"),
            "{err}"
        );
    }
}
