//! A report as tables and charts for people, with headings in the installation's language:
//! what the CSV, XLSX and PDF exports hold.

use chrono::{DateTime, TimeZone};
use chrono_tz::Tz;

use std::collections::BTreeMap;

use super::export::{Block, Chart, Document, Trend, display};
use super::figures::{Figures, Filter, Group, ReasonGroup, Report, report};
use super::table::{Cell, Column, Table};
use otklik_domain::time::{Span, parse_rfc3339};
use otklik_domain::words::{self, Catalog, Language, fill, level_names};

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

/// "01.11.2026 – 30.11.2026" in the clinic's zone (the end is exclusive: the last day shown);
/// a single day as "23.11.2026".
pub fn period_words(r: &Report, tz: Tz) -> String {
    span_words(&r.from, &r.to, tz)
}

fn span_words(from: &str, to: &str, tz: Tz) -> String {
    let day = |s: &str, back: bool| {
        DateTime::parse_from_rfc3339(s)
            .map(|d| {
                let d = d.with_timezone(&tz) - chrono::Duration::milliseconds(i64::from(back));
                d.format("%d.%m.%Y").to_string()
            })
            .unwrap_or_default()
    };
    let (first, last) = (day(from, false), day(to, true));
    if first == last {
        first
    } else {
        format!("{first} – {last}")
    }
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
    // Ratings with nobody at the desk are grouped under an empty name.
    let shown = |name: &str| {
        Cell::Text(
            if name.is_empty() {
                w.common.nobody_short
            } else {
                name
            }
            .to_string(),
        )
    };
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
                    let mut row = vec![shown(&g.name)];
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
                    let mut row = vec![shown(&g.name)];
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
        reasons_table(
            "reasons_days",
            w.tables.reasons_days,
            w.tables.date,
            &r.reasons.days,
        ),
    ]
}

/// The trend of satisfaction (in %) by day.
pub fn charts(r: &Report, lang: Language) -> Vec<Chart> {
    vec![trend(r, lang).chart]
}

/// The trend of satisfaction (in %) with the number of ratings as bars: by hour for a period of
/// one day (from its first rated hour to its last), by day otherwise.
pub fn trend(r: &Report, lang: Language) -> Trend {
    let w = words::of(lang);
    let (title, labels, figures): (&str, Vec<String>, Vec<Option<&Figures>>) = if r.days.len() == 1
    {
        let by_hour: BTreeMap<u32, &Figures> =
            r.hours.iter().map(|h| (h.hour, &h.figures)).collect();
        let first = by_hour.keys().next().copied().unwrap_or(8);
        let last = by_hour.keys().next_back().copied().unwrap_or(18).max(first);
        let hours = first..=last;
        (
            w.tables.trend_hours,
            hours.clone().map(|h| format!("{h:02}:00")).collect(),
            hours.map(|h| by_hour.get(&h).copied()).collect(),
        )
    } else {
        (
            w.tables.trend,
            r.days
                .iter()
                .map(|d| format!("{}.{}", &d.date[8..], &d.date[5..7]))
                .collect(),
            r.days.iter().map(|d| Some(&d.figures)).collect(),
        )
    };
    let satisfied = figures
        .iter()
        .map(|f| match f {
            Some(f) if f.count > 0 => (f.satisfaction * 100.0).round(),
            _ => f64::NAN,
        })
        .collect();
    let counts = figures
        .iter()
        .map(|f| f.map_or(0.0, |f| f.count as f64))
        .collect();
    Trend {
        chart: Chart {
            title: title.to_string(),
            labels,
            series: vec![(format!("{}, %", w.common.satisfied), satisfied)],
        },
        bars: Some((w.common.ratings.to_string(), counts)),
        line_max: Some(100.0),
    }
}

/// The key figures of a period, for the boxes atop a printed page.
fn facts(f: &Figures, previous: &Figures, w: &Catalog) -> Vec<(String, String)> {
    let shown = |c: Cell| display(&c);
    vec![
        (w.common.ratings.to_string(), f.count.to_string()),
        (
            w.common.satisfied.to_string(),
            if f.count > 0 {
                shown(Cell::Share(f.satisfaction))
            } else {
                "—".to_string()
            },
        ),
        (
            w.common.net.to_string(),
            if f.count > 0 {
                shown(Cell::Num((f.net * 1000.0).round() / 1000.0))
            } else {
                "—".to_string()
            },
        ),
        (
            w.tables.previous.to_string(),
            if previous.count > 0 {
                shown(Cell::Share(previous.satisfaction))
            } else {
                "—".to_string()
            },
        ),
        (w.tables.flagged.to_string(), f.flagged.to_string()),
        (w.tables.annulled.to_string(), f.annulled.to_string()),
    ]
}

/// The printed report: the period and clinic, its key figures, the trend, the tables (level
/// columns headed by the levels' words, a key to the columns under the registrars), then a page
/// per registrar with their figures against the previous period and their own trend. Reads
/// each registrar's own report from `conn`.
pub fn document(
    conn: &rusqlite::Connection,
    r: &Report,
    lang: Language,
    tz: Tz,
    clinic: &str,
) -> otklik_domain::Result<Document> {
    let w = words::of(lang);
    let levels = level_names(lang, r.scale);
    let period = period_words(r, tz);
    let mut about: Vec<String> = Vec::new();
    if !clinic.trim().is_empty() {
        about.push(clinic.trim().to_string());
    }
    about.push(tz.name().to_string());
    let mut blocks = vec![
        Block::Text(about.join(" · ")),
        Block::Facts(facts(&r.totals, &r.previous, w)),
        Block::Trend(trend(r, lang)),
    ];
    let name_levels = |mut t: Table| {
        for c in &mut t.columns {
            if let Some(l) = c.key.strip_prefix("level_")
                && let Some(name) = l.parse::<usize>().ok().and_then(|l| levels.get(l - 1))
            {
                c.title = name.clone();
            }
            match c.key.as_str() {
                "flagged" => c.title = w.tables.flagged_short.to_string(),
                "annulled" => c.title = w.tables.annulled_short.to_string(),
                _ => {}
            }
        }
        t
    };
    let legend = fill(
        w.tables.legend,
        &[
            ("satisfied", w.common.satisfied),
            ("net", w.common.net),
            ("flagged", w.tables.flagged_short),
            ("annulled", w.tables.annulled_short),
            ("top", levels.last().map_or("", String::as_str)),
            ("bottom", levels.first().map_or("", String::as_str)),
        ],
    );
    for t in tables(r, lang, tz) {
        if t.name == "days" && r.days.len() < 2 {
            continue; // its one row is the totals above
        }
        let registrars = t.name == "registrars";
        blocks.push(Block::Table(name_levels(t)));
        if registrars {
            blocks.push(Block::Note(legend.clone()));
        }
    }
    if r.registrar_id.is_some() {
        return Ok(Document {
            title: title(r, lang, tz),
            blocks,
        });
    }
    let span = Span {
        from: parse_rfc3339("from", &r.from)?,
        to: parse_rfc3339("to", &r.to)?,
    };
    let rated = r
        .registrars
        .iter()
        .filter(|g| g.id != 0 && g.figures.count > 0)
        .count();
    let mut place = 0;
    for g in r.registrars.iter().filter(|g| g.id != 0) {
        let filter = Filter {
            registrar_id: Some(g.id),
            desk_id: r.desk_id,
        };
        let theirs = report(conn, span, filter, tz, r.scale)?;
        blocks.push(Block::NewPage);
        blocks.push(Block::Heading(g.name.clone()));
        let mut line = period.clone();
        if g.figures.count > 0 {
            place += 1;
            let (p, of) = (place.to_string(), rated.to_string());
            line.push_str(" · ");
            line.push_str(&fill(w.tables.place, &[("place", &p), ("of", &of)]));
        }
        blocks.push(Block::Text(line));
        blocks.push(Block::Facts(facts(&g.figures, &g.previous, w)));
        blocks.push(Block::Trend(trend(&theirs, lang)));
        let mut columns = vec![col("period", w.tables.period, "text")];
        columns.extend(figure_columns(w, usize::from(r.scale)));
        let row = |label: &str, from: &str, to: &str, f: &Figures| {
            let mut row = vec![Cell::Text(format!("{label}, {}", span_words(from, to, tz)))];
            row.extend(figure_cells(f));
            row
        };
        blocks.push(Block::Table(name_levels(Table {
            name: "registrar".into(),
            title: String::new(),
            columns,
            rows: vec![
                row(w.tables.this_period, &r.from, &r.to, &g.figures),
                row(
                    w.tables.previous_period,
                    &r.previous_from,
                    &r.previous_to,
                    &g.previous,
                ),
            ],
        })));
    }
    Ok(Document {
        title: title(r, lang, tz),
        blocks,
    })
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
