//! The report over a period: per registrar, per desk, per hour of the week, per day, with the
//! change against the previous period of the same length. Read from the hourly roll-ups (see
//! migrations/0005_reports.sql), so a year costs thousands of rows, not millions; a part of an
//! hour at either end of the period is read from the ratings, so every period is exact. Hours and
//! days are the clinic's local ones (DST included).

use std::collections::BTreeMap;

use chrono::{Datelike, TimeZone, Timelike};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde::Serialize;
use utoipa::ToSchema;

use otklik_domain::error::Result;
use otklik_domain::scale::normalize;
use otklik_domain::time::{Millis, Span, to_rfc3339};

const HOUR: Millis = 3_600_000;

/// Counts and shares of one group of ratings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Ratings that count: neither annulled nor flagged.
    pub count: u64,
    /// Per level of the current scale, lowest first.
    pub levels: Vec<u64>,
    /// Share of top ratings, 0..1.
    pub satisfaction: f64,
    /// Share of top minus share of bottom ratings, -1..1.
    pub net: f64,
    /// Suspicious ratings, counted apart.
    pub flagged: u64,
    pub annulled: u64,
}

impl Figures {
    fn new(levels: u8) -> Figures {
        Figures {
            levels: vec![0; usize::from(levels)],
            ..Figures::default()
        }
    }

    fn add(&mut self, level: usize, state: &str, n: u64) {
        match state {
            "ok" => {
                self.count += n;
                self.levels[level] += n;
            }
            "flagged" => self.flagged += n,
            _ => self.annulled += n,
        }
    }

    fn finish(&mut self) {
        if self.count > 0 {
            let c = self.count as f64;
            let top = *self.levels.last().unwrap_or(&0) as f64;
            let bottom = *self.levels.first().unwrap_or(&0) as f64;
            self.satisfaction = top / c;
            self.net = (top - bottom) / c;
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Group {
    /// The registrar's or desk's id (0: ratings with nobody at the desk).
    pub id: i64,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
    /// The same group over the previous period of the same length.
    pub previous: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HourCell {
    /// 1 = Monday … 7 = Sunday, in the clinic's time zone.
    pub weekday: u32,
    pub hour: u32,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Day {
    /// The clinic's local date, `2026-11-23`.
    pub date: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub previous_from: String,
    pub previous_to: String,
    pub timezone: String,
    /// Levels of the current scale; older ratings are mapped onto it.
    pub scale: u8,
    pub registrar_id: Option<i64>,
    pub desk_id: Option<i64>,
    pub totals: Figures,
    pub previous: Figures,
    pub registrars: Vec<Group>,
    pub desks: Vec<Group>,
    /// Only the hours of the week that had ratings.
    pub hours: Vec<HourCell>,
    /// Every day of the period, empty ones included (a trend needs its gaps).
    pub days: Vec<Day>,
    /// Alerts raised in the period: how many were taken and resolved, and how fast.
    pub alerts: AlertSummary,
    /// The reasons patients gave for the period's low ratings.
    pub reasons: ReasonSummary,
}

/// How often one reason was given.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReasonCount {
    pub code: String,
    /// As the patient saw it when it was last picked in the period.
    pub label: String,
    pub count: u64,
}

/// One registrar's or desk's reasons.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReasonGroup {
    /// The registrar's or desk's id (0: ratings with nobody at the desk).
    pub id: i64,
    pub name: String,
    /// Per reason, in the order of the summary's `totals`.
    pub counts: Vec<u64>,
    /// Low ratings left without a reason.
    pub without_reason: u64,
}

/// Reasons of the low ratings that count (neither annulled nor flagged) in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct ReasonSummary {
    /// Every reason given in the period, the most given first.
    pub totals: Vec<ReasonCount>,
    /// Low ratings left without a reason (nobody picked one, or reasons were off).
    pub without_reason: u64,
    /// Registrars and desks with low ratings, the most first.
    pub registrars: Vec<ReasonGroup>,
    pub desks: Vec<ReasonGroup>,
    /// The days with low ratings, in date order (the reasons' trend): `name` is the clinic's
    /// local date, `2026-11-23`, and `id` its day number (days since 0001-01-01).
    pub days: Vec<ReasonGroup>,
}

/// The reasons of the low ratings in `span`. Read from the ratings themselves, not the roll-ups:
/// only the lower half of each scale is read, through the time index.
fn reason_summary(
    conn: &Connection,
    span: Span,
    f: Filter,
    levels: u8,
    tz: Tz,
    registrar_names: &BTreeMap<i64, String>,
    desk_names: &BTreeMap<i64, String>,
) -> Result<ReasonSummary> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.desk_id, COALESCE(r.registrar_id, 0), r.score, r.scale, w.code, w.label, r.at
         FROM ratings r LEFT JOIN rating_reasons w ON w.rating_id = r.id
         WHERE r.at >= ?1 AND r.at < ?2 AND r.score * 2 <= r.scale + 1
           AND (?3 IS NULL OR COALESCE(r.registrar_id, 0) = ?3) AND (?4 IS NULL OR r.desk_id = ?4)
           AND NOT EXISTS (SELECT 1 FROM annulled_ratings a WHERE a.rating_id = r.id)
           AND NOT EXISTS (SELECT 1 FROM rating_flags g WHERE g.rating_id = r.id)
         ORDER BY r.at, r.id",
    )?;
    let rows = stmt.query_map(
        rusqlite::params![span.from, span.to, f.registrar_id, f.desk_id],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, i64>(6)?,
            ))
        },
    )?;
    // (desk, registrar, local day, code) of each low rating; the code's latest label.
    type Low = (i64, i64, i64, Option<String>);
    let mut lows: Vec<Low> = Vec::new();
    let mut day_names: BTreeMap<i64, String> = BTreeMap::new();
    let mut labels: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for row in rows {
        let (desk, registrar, score, scale, code, label, at) = row?;
        if !otklik_store::contests::is_low(score, scale, levels) {
            continue;
        }
        if let (Some(code), Some(label)) = (&code, label) {
            let e = labels.entry(code.clone()).or_insert((String::new(), 0));
            e.0 = label;
            e.1 += 1;
        }
        let date = tz.timestamp_millis_opt(at).single().map(|l| l.date_naive());
        let day = date.map_or(0, |d| i64::from(d.num_days_from_ce()));
        day_names
            .entry(day)
            .or_insert_with(|| date.map(|d| d.to_string()).unwrap_or_default());
        lows.push((desk, registrar, day, code));
    }
    let mut totals: Vec<ReasonCount> = labels
        .into_iter()
        .map(|(code, (label, count))| ReasonCount { code, label, count })
        .collect();
    totals.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
    let index: BTreeMap<&str, usize> = totals
        .iter()
        .enumerate()
        .map(|(i, t)| (t.code.as_str(), i))
        .collect();
    let group = |key: fn(&Low) -> i64, names: &BTreeMap<i64, String>| {
        let mut by: BTreeMap<i64, ReasonGroup> = BTreeMap::new();
        for low in &lows {
            let id = key(low);
            let g = by.entry(id).or_insert_with(|| ReasonGroup {
                id,
                name: names.get(&id).cloned().unwrap_or_default(),
                counts: vec![0; totals.len()],
                without_reason: 0,
            });
            match &low.3 {
                Some(code) => g.counts[index[code.as_str()]] += 1,
                None => g.without_reason += 1,
            }
        }
        let mut v: Vec<ReasonGroup> = by.into_values().collect();
        let all = |g: &ReasonGroup| g.counts.iter().sum::<u64>() + g.without_reason;
        v.sort_by(|a, b| all(b).cmp(&all(a)).then(a.id.cmp(&b.id)));
        v
    };
    let mut days = group(|l| l.2, &day_names);
    days.sort_by_key(|g| g.id);
    Ok(ReasonSummary {
        without_reason: lows.iter().filter(|l| l.3.is_none()).count() as u64,
        registrars: group(|l| l.1, registrar_names),
        desks: group(|l| l.0, desk_names),
        days,
        totals,
    })
}

#[derive(Debug, Clone, Copy)]
pub struct Filter {
    pub registrar_id: Option<i64>,
    pub desk_id: Option<i64>,
}

struct Row {
    hour: i64,
    desk: i64,
    registrar: i64,
    level: usize,
    state: String,
    n: u64,
}

fn rows(conn: &Connection, span: Span, f: Filter, levels: u8) -> Result<Vec<Row>> {
    // Whole hours from the roll-ups; a part of an hour at either end (a report closing at
    // 20:30, a zone with a half-hour offset) from the ratings themselves, so the period is exact.
    let first = span.from.div_euclid(HOUR) + i64::from(span.from.rem_euclid(HOUR) != 0);
    let last = span.to.div_euclid(HOUR).max(first);
    let mut out = Vec::new();
    let mut read = |sql: &str, from: i64, to: i64| -> Result<()> {
        if from >= to {
            return Ok(());
        }
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(
            rusqlite::params![from, to, f.registrar_id, f.desk_id],
            |r| {
                let score: u8 = r.get(3)?;
                let scale: u8 = r.get(4)?;
                Ok(Row {
                    hour: r.get(0)?,
                    desk: r.get(1)?,
                    registrar: r.get(2)?,
                    level: usize::from(normalize(score, scale, levels)) - 1,
                    state: r.get(5)?,
                    n: r.get::<_, i64>(6)? as u64,
                })
            },
        )?;
        for row in rows {
            out.push(row?);
        }
        Ok(())
    };
    read(
        "SELECT hour, desk_id, registrar_id, score, scale, state, SUM(n) FROM rating_hourly
         WHERE hour >= ?1 AND hour < ?2 AND (?3 IS NULL OR registrar_id = ?3) AND (?4 IS NULL OR desk_id = ?4)
         GROUP BY hour, desk_id, registrar_id, score, scale, state HAVING SUM(n) > 0",
        first,
        last,
    )?;
    // As the roll-ups' triggers count them (migrations/0005_reports.sql).
    let raw = "SELECT r.at / 3600000, r.desk_id, COALESCE(r.registrar_id, 0), r.score, r.scale,
            CASE WHEN EXISTS (SELECT 1 FROM annulled_ratings a WHERE a.rating_id = r.id) THEN 'annulled'
                 WHEN EXISTS (SELECT 1 FROM rating_flags g WHERE g.rating_id = r.id) THEN 'flagged'
                 ELSE 'ok' END,
            COUNT(*)
         FROM ratings r
         WHERE r.at >= ?1 AND r.at < ?2
           AND (?3 IS NULL OR COALESCE(r.registrar_id, 0) = ?3) AND (?4 IS NULL OR r.desk_id = ?4)
         GROUP BY 1, 2, 3, 4, 5, 6";
    read(raw, span.from, (first * HOUR).min(span.to))?;
    read(raw, (last * HOUR).max(span.from), span.to)?;
    Ok(out)
}

fn names(conn: &Connection, table: &str) -> Result<BTreeMap<i64, String>> {
    let mut stmt = conn.prepare(&format!("SELECT id, name FROM {table}"))?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The report over `span` (and the span of the same length just before it).
pub fn report(conn: &Connection, span: Span, f: Filter, tz: Tz, levels: u8) -> Result<Report> {
    let len = span.to - span.from;
    let prev_span = Span {
        from: span.from - len,
        to: span.from,
    };
    let current = rows(conn, span, f, levels)?;
    let previous = rows(conn, prev_span, f, levels)?;
    let registrar_names = names(conn, "registrars")?;
    let desk_names = names(conn, "desks")?;

    let mut totals = Figures::new(levels);
    let mut prev_totals = Figures::new(levels);
    let mut by_registrar: BTreeMap<i64, (Figures, Figures)> = BTreeMap::new();
    let mut by_desk: BTreeMap<i64, (Figures, Figures)> = BTreeMap::new();
    let mut by_hour: BTreeMap<(u32, u32), Figures> = BTreeMap::new();
    let mut by_day: BTreeMap<String, Figures> = BTreeMap::new();
    let empty = || (Figures::new(levels), Figures::new(levels));

    // Every local day of the period, so the trend shows days without ratings too.
    let mut day = span.from;
    while day < span.to {
        let local = tz.timestamp_millis_opt(day).single();
        if let Some(local) = local {
            by_day.insert(local.date_naive().to_string(), Figures::new(levels));
        }
        day += 24 * HOUR;
    }

    for r in &current {
        totals.add(r.level, &r.state, r.n);
        by_registrar
            .entry(r.registrar)
            .or_insert_with(empty)
            .0
            .add(r.level, &r.state, r.n);
        by_desk
            .entry(r.desk)
            .or_insert_with(empty)
            .0
            .add(r.level, &r.state, r.n);
        if let Some(local) = tz.timestamp_millis_opt(r.hour * HOUR).single() {
            by_hour
                .entry((local.weekday().number_from_monday(), local.hour()))
                .or_insert_with(|| Figures::new(levels))
                .add(r.level, &r.state, r.n);
            by_day
                .entry(local.date_naive().to_string())
                .or_insert_with(|| Figures::new(levels))
                .add(r.level, &r.state, r.n);
        }
    }
    for r in &previous {
        prev_totals.add(r.level, &r.state, r.n);
        by_registrar
            .entry(r.registrar)
            .or_insert_with(empty)
            .1
            .add(r.level, &r.state, r.n);
        by_desk
            .entry(r.desk)
            .or_insert_with(empty)
            .1
            .add(r.level, &r.state, r.n);
    }
    totals.finish();
    prev_totals.finish();

    let groups = |map: BTreeMap<i64, (Figures, Figures)>, names: &BTreeMap<i64, String>| {
        let mut v: Vec<Group> = map
            .into_iter()
            .filter(|(_, (cur, _))| cur.count + cur.flagged + cur.annulled > 0)
            .map(|(id, (mut figures, mut previous))| {
                figures.finish();
                previous.finish();
                Group {
                    name: names.get(&id).cloned().unwrap_or_default(),
                    id,
                    figures,
                    previous,
                }
            })
            .collect();
        // Best first, then the most rated; the order a supervisor reads.
        v.sort_by(|a, b| {
            b.figures
                .satisfaction
                .total_cmp(&a.figures.satisfaction)
                .then(b.figures.count.cmp(&a.figures.count))
                .then(a.id.cmp(&b.id))
        });
        v
    };
    let days = by_day
        .into_iter()
        .map(|(date, mut figures)| {
            figures.finish();
            Day { date, figures }
        })
        .collect();
    Ok(Report {
        from: to_rfc3339(span.from),
        to: to_rfc3339(span.to),
        previous_from: to_rfc3339(prev_span.from),
        previous_to: to_rfc3339(prev_span.to),
        timezone: tz.name().to_string(),
        scale: levels,
        registrar_id: f.registrar_id,
        desk_id: f.desk_id,
        totals,
        previous: prev_totals,
        registrars: groups(by_registrar, &registrar_names),
        desks: groups(by_desk, &desk_names),
        hours: by_hour
            .into_iter()
            .map(|((weekday, hour), mut figures)| {
                figures.finish();
                HourCell {
                    weekday,
                    hour,
                    figures,
                }
            })
            .collect(),
        days,
        alerts: alert_summary(conn, span, f.registrar_id, f.desk_id)?,
        reasons: reason_summary(conn, span, f, levels, tz, &registrar_names, &desk_names)?,
    })
}

/// Alerts of a period, for reports: how many, how many taken and resolved, and the median
/// minutes to take and to resolve.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct AlertSummary {
    pub total: i64,
    pub open: i64,
    pub taken: i64,
    pub resolved: i64,
    pub escalated: i64,
    pub median_minutes_to_take: Option<i64>,
    pub median_minutes_to_resolve: Option<i64>,
}

pub fn alert_summary(
    conn: &Connection,
    span: otklik_domain::time::Span,
    registrar_id: Option<i64>,
    desk_id: Option<i64>,
) -> Result<AlertSummary> {
    let mut s = AlertSummary::default();
    let mut take = Vec::new();
    let mut resolve = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT a.state, a.created_at, a.taken_at, a.resolved_at, a.escalated_at
         FROM alerts a JOIN ratings r ON r.id = a.rating_id
         WHERE a.created_at >= ?1 AND a.created_at < ?2
           AND (?3 IS NULL OR r.registrar_id = ?3) AND (?4 IS NULL OR r.desk_id = ?4)",
    )?;
    let rows = stmt.query_map((span.from, span.to, registrar_id, desk_id), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Millis>(1)?,
            r.get::<_, Option<Millis>>(2)?,
            r.get::<_, Option<Millis>>(3)?,
            r.get::<_, Option<Millis>>(4)?,
        ))
    })?;
    for row in rows {
        let (state, created, taken, resolved, escalated) = row?;
        s.total += 1;
        match state.as_str() {
            "open" => s.open += 1,
            "taken" => s.taken += 1,
            _ => s.resolved += 1,
        }
        s.escalated += i64::from(escalated.is_some());
        take.extend(taken.map(|t| (t - created) / 60_000));
        resolve.extend(resolved.map(|t| (t - created) / 60_000));
    }
    let median = |mut v: Vec<i64>| {
        v.sort_unstable();
        (!v.is_empty()).then(|| v[v.len() / 2])
    };
    s.median_minutes_to_take = median(take);
    s.median_minutes_to_resolve = median(resolve);
    Ok(s)
}
