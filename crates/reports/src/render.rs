//! A report as tables and charts for people, with headings in the installation's language:
//! what the CSV, XLSX and PDF exports hold.

use chrono::{DateTime, TimeZone};
use chrono_tz::Tz;

use super::export::Chart;
use super::figures::{Figures, Group, ReasonGroup, Report};
use super::table::{Cell, Column, Table};
use otklik_domain::words::{self, Catalog, Language};

fn col(key: &str, title: &str, kind: &'static str) -> Column {
    Column {
        key: key.to_string(),
        title: title.to_string(),
        kind,
    }
}

fn figure_columns(w: &Catalog, levels: usize) -> Vec<Column> {
    let mut c = vec![col("count", w.common.ratings, "int")];
    for l in 1..=levels {
        c.push(col(
            &format!("level_{l}"),
            &format!("{} {l}", w.tables.level),
            "int",
        ));
    }
    c.extend([
        col("satisfaction", w.common.satisfied, "share"),
        col("net", w.common.net, "num"),
        col("flagged", w.tables.flagged, "int"),
        col("annulled", w.tables.annulled, "int"),
    ]);
    c
}

fn figure_cells(f: &Figures) -> Vec<Cell> {
    let mut c = vec![Cell::Int(f.count as i64)];
    c.extend(f.levels.iter().map(|&n| Cell::Int(n as i64)));
    c.extend([
        Cell::Share(f.satisfaction),
        Cell::Num((f.net * 1000.0).round() / 1000.0),
        Cell::Int(f.flagged as i64),
        Cell::Int(f.annulled as i64),
    ]);
    c
}

/// "01.11.2026 – 30.11.2026" in the clinic's zone (the end is exclusive: the last day shown).
pub fn period_words(r: &Report, tz: Tz) -> String {
    let day = |s: &str, back: bool| {
        DateTime::parse_from_rfc3339(s)
            .map(|d| {
                let d = d.with_timezone(&tz) - chrono::Duration::milliseconds(i64::from(back));
                d.format("%d.%m.%Y").to_string()
            })
            .unwrap_or_default()
    };
    format!("{} – {}", day(&r.from, false), day(&r.to, true))
}

pub fn title(r: &Report, lang: Language, tz: Tz) -> String {
    format!("{}, {}", words::of(lang).tables.report, period_words(r, tz))
}

/// The report's tables: registrars, desks, hours of the week, days, and the reasons for low
/// ratings by registrar and by desk.
pub fn tables(r: &Report, lang: Language, tz: Tz) -> Vec<Table> {
    let w = words::of(lang);
    let levels = usize::from(r.scale);
    let period = period_words(r, tz);
    let group_table = |name: &str, title: &str, first: &str, groups: &[Group]| {
        let mut columns = vec![col("name", first, "text")];
        columns.extend(figure_columns(w, levels));
        columns.push(col("previous_satisfaction", w.tables.previous, "share"));
        Table {
            name: name.to_string(),
            title: format!("{title}, {period}"),
            columns,
            rows: groups
                .iter()
                .map(|g| {
                    let name = if g.name.is_empty() {
                        w.common.nobody_short.to_string()
                    } else {
                        g.name.clone()
                    };
                    let mut row = vec![Cell::Text(name)];
                    row.extend(figure_cells(&g.figures));
                    row.push(if g.previous.count > 0 {
                        Cell::Share(g.previous.satisfaction)
                    } else {
                        Cell::Empty
                    });
                    row
                })
                .collect(),
        }
    };
    // One column per reason given in the period, then the low ratings left without one.
    let reasons_table = |name: &str, title: &str, first: &str, groups: &[ReasonGroup]| {
        let mut columns = vec![col("name", first, "text")];
        columns.extend(
            r.reasons
                .totals
                .iter()
                .map(|t| col(&format!("reason_{}", t.code), &t.label, "int")),
        );
        columns.push(col("without_reason", w.tables.without_reason, "int"));
        Table {
            name: name.to_string(),
            title: format!("{title}, {period}"),
            columns,
            rows: groups
                .iter()
                .map(|g| {
                    let name = if g.name.is_empty() {
                        w.common.nobody_short.to_string()
                    } else {
                        g.name.clone()
                    };
                    let mut row = vec![Cell::Text(name)];
                    row.extend(g.counts.iter().map(|&n| Cell::Int(n as i64)));
                    row.push(Cell::Int(g.without_reason as i64));
                    row
                })
                .collect(),
        }
    };
    let mut hours_cols = vec![
        col("weekday", w.tables.weekday, "text"),
        col("hour", w.tables.hour, "int"),
    ];
    hours_cols.extend(figure_columns(w, levels));
    let mut days_cols = vec![col("date", w.tables.date, "text")];
    days_cols.extend(figure_columns(w, levels));
    vec![
        group_table(
            "registrars",
            w.tables.registrars,
            w.common.registrar,
            &r.registrars,
        ),
        group_table("desks", w.tables.desks, w.common.desk, &r.desks),
        Table {
            name: "hours".into(),
            title: format!("{}, {period}", w.tables.hours),
            columns: hours_cols,
            rows: r
                .hours
                .iter()
                .map(|h| {
                    let mut row = vec![
                        Cell::Text(
                            w.tables.weekdays[(h.weekday as usize).clamp(1, 7) - 1].to_string(),
                        ),
                        Cell::Int(i64::from(h.hour)),
                    ];
                    row.extend(figure_cells(&h.figures));
                    row
                })
                .collect(),
        },
        Table {
            name: "days".into(),
            title: format!("{}, {period}", w.tables.days),
            columns: days_cols,
            rows: r
                .days
                .iter()
                .map(|d| {
                    let mut row = vec![Cell::Text(d.date.clone())];
                    row.extend(figure_cells(&d.figures));
                    row
                })
                .collect(),
        },
        reasons_table(
            "reasons_registrars",
            w.tables.reasons_registrars,
            w.common.registrar,
            &r.reasons.registrars,
        ),
        reasons_table(
            "reasons_desks",
            w.tables.reasons_desks,
            w.common.desk,
            &r.reasons.desks,
        ),
    ]
}

/// The trend of satisfaction (in %) and the number of ratings by day.
pub fn charts(r: &Report, lang: Language) -> Vec<Chart> {
    let w = words::of(lang);
    vec![Chart {
        title: w.tables.trend.to_string(),
        labels: r.days.iter().map(|d| d.date[5..].to_string()).collect(),
        series: vec![(
            w.common.satisfied.to_string(),
            r.days
                .iter()
                .map(|d| (d.figures.satisfaction * 100.0).round())
                .collect(),
        )],
    }]
}

/// The raw ratings of `[from, to)` as one table, oldest first; an error past `limit` rows.
#[allow(clippy::too_many_arguments)]
pub fn raw_ratings(
    conn: &rusqlite::Connection,
    from: otklik_domain::time::Millis,
    to: otklik_domain::time::Millis,
    registrar_id: Option<i64>,
    desk_id: Option<i64>,
    lang: Language,
    tz: Tz,
    limit: usize,
) -> otklik_domain::Result<Table> {
    let w = words::of(lang);
    let mut stmt = conn.prepare(
        "SELECT r.id, r.at, d.name, g.name, r.score, r.scale, r.source,
                (SELECT reason FROM rating_flags f WHERE f.rating_id = r.id),
                EXISTS (SELECT 1 FROM annulled_ratings a WHERE a.rating_id = r.id),
                w.label
         FROM ratings r JOIN desks d ON d.id = r.desk_id LEFT JOIN registrars g ON g.id = r.registrar_id
              LEFT JOIN rating_reasons w ON w.rating_id = r.id
         WHERE r.at >= ?1 AND r.at < ?2 AND (?3 IS NULL OR r.registrar_id = ?3) AND (?4 IS NULL OR r.desk_id = ?4)
         ORDER BY r.at, r.id LIMIT ?5",
    )?;
    let rows = stmt
        .query_map(
            rusqlite::params![from, to, registrar_id, desk_id, limit as i64 + 1],
            |r| {
                let at: i64 = r.get(1)?;
                let local = tz
                    .timestamp_millis_opt(at)
                    .single()
                    .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default();
                Ok(vec![
                    Cell::Int(r.get(0)?),
                    Cell::Text(local),
                    Cell::Text(r.get(2)?),
                    Cell::Text(
                        r.get::<_, Option<String>>(3)?
                            .unwrap_or_else(|| w.common.nobody_short.to_string()),
                    ),
                    Cell::Int(r.get(4)?),
                    Cell::Int(r.get(5)?),
                    Cell::Text(r.get(6)?),
                    match r.get::<_, Option<String>>(7)? {
                        Some(f) => Cell::Text(f),
                        None => Cell::Empty,
                    },
                    if r.get::<_, bool>(8)? {
                        Cell::Text(w.tables.annulled.to_string())
                    } else {
                        Cell::Empty
                    },
                    match r.get::<_, Option<String>>(9)? {
                        Some(label) => Cell::Text(label),
                        None => Cell::Empty,
                    },
                ])
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if rows.len() > limit {
        return Err(otklik_domain::Error::invalid(
            "to",
            format!("more than {limit} ratings: export a shorter period"),
        ));
    }
    Ok(Table {
        name: "ratings".into(),
        title: format!("{} ({})", w.tables.report, tz.name()),
        columns: vec![
            col("id", "#", "int"),
            col("at", w.common.time, "text"),
            col("desk", w.common.desk, "text"),
            col("registrar", w.common.registrar, "text"),
            col("score", w.tables.score, "int"),
            col("scale", w.tables.level, "int"),
            col("source", w.tables.source, "text"),
            col("flag", w.tables.flag, "text"),
            col("annulled", w.tables.annulled, "text"),
            col("reason", w.tables.reason, "text"),
        ],
        rows,
    })
}
