//! A report as tables and charts for people, with headings in the installation's language:
//! what the CSV, XLSX and PDF exports hold.

use chrono::{DateTime, TimeZone};
use chrono_tz::Tz;

use super::export::Chart;
use super::figures::{Figures, Group, Report};
use super::table::{Cell, Column, Table};
use otklik_store::settings::Language;

struct Words {
    registrars: &'static str,
    desks: &'static str,
    hours: &'static str,
    days: &'static str,
    registrar: &'static str,
    desk: &'static str,
    nobody: &'static str,
    date: &'static str,
    weekday: &'static str,
    hour: &'static str,
    count: &'static str,
    satisfaction: &'static str,
    net: &'static str,
    flagged: &'static str,
    annulled: &'static str,
    previous: &'static str,
    level: &'static str,
    report: &'static str,
    trend: &'static str,
    weekdays: [&'static str; 7],
}

fn words(lang: Language) -> Words {
    match lang {
        Language::Ru => Words {
            registrars: "Регистраторы",
            desks: "Окна",
            hours: "Часы и дни недели",
            days: "По дням",
            registrar: "Регистратор",
            desk: "Окно",
            nobody: "(никого не было)",
            date: "Дата",
            weekday: "День недели",
            hour: "Час",
            count: "Оценок",
            satisfaction: "Довольны",
            net: "Индекс",
            flagged: "Подозрительных",
            annulled: "Аннулировано",
            previous: "Довольны в прошлом периоде",
            level: "Уровень",
            report: "Отчёт об оценках",
            trend: "Довольны по дням",
            weekdays: ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"],
        },
        Language::En => Words {
            registrars: "Registrars",
            desks: "Desks",
            hours: "Hours and weekdays",
            days: "By day",
            registrar: "Registrar",
            desk: "Desk",
            nobody: "(nobody on shift)",
            date: "Date",
            weekday: "Weekday",
            hour: "Hour",
            count: "Ratings",
            satisfaction: "Satisfied",
            net: "Net score",
            flagged: "Flagged",
            annulled: "Annulled",
            previous: "Satisfied, previous period",
            level: "Level",
            report: "Ratings report",
            trend: "Satisfied by day",
            weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        },
        Language::Es => Words {
            registrars: "Recepcionistas",
            desks: "Ventanillas",
            hours: "Horas y días de la semana",
            days: "Por día",
            registrar: "Recepcionista",
            desk: "Ventanilla",
            nobody: "(nadie de turno)",
            date: "Fecha",
            weekday: "Día",
            hour: "Hora",
            count: "Valoraciones",
            satisfaction: "Satisfechos",
            net: "Índice neto",
            flagged: "Sospechosas",
            annulled: "Anuladas",
            previous: "Satisfechos, periodo anterior",
            level: "Nivel",
            report: "Informe de valoraciones",
            trend: "Satisfechos por día",
            weekdays: ["Lu", "Ma", "Mi", "Ju", "Vi", "Sá", "Do"],
        },
    }
}

fn col(key: &str, title: &str, kind: &'static str) -> Column {
    Column {
        key: key.to_string(),
        title: title.to_string(),
        kind,
    }
}

fn figure_columns(w: &Words, levels: usize) -> Vec<Column> {
    let mut c = vec![col("count", w.count, "int")];
    for l in 1..=levels {
        c.push(col(
            &format!("level_{l}"),
            &format!("{} {l}", w.level),
            "int",
        ));
    }
    c.extend([
        col("satisfaction", w.satisfaction, "share"),
        col("net", w.net, "num"),
        col("flagged", w.flagged, "int"),
        col("annulled", w.annulled, "int"),
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
    format!("{}, {}", words(lang).report, period_words(r, tz))
}

/// The report's tables: registrars, desks, hours of the week, days.
pub fn tables(r: &Report, lang: Language, tz: Tz) -> Vec<Table> {
    let w = words(lang);
    let levels = usize::from(r.scale);
    let period = period_words(r, tz);
    let group_table = |name: &str, title: &str, first: &str, groups: &[Group]| {
        let mut columns = vec![col("name", first, "text")];
        columns.extend(figure_columns(&w, levels));
        columns.push(col("previous_satisfaction", w.previous, "share"));
        Table {
            name: name.to_string(),
            title: format!("{title}, {period}"),
            columns,
            rows: groups
                .iter()
                .map(|g| {
                    let name = if g.name.is_empty() {
                        w.nobody.to_string()
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
    let mut hours_cols = vec![
        col("weekday", w.weekday, "text"),
        col("hour", w.hour, "int"),
    ];
    hours_cols.extend(figure_columns(&w, levels));
    let mut days_cols = vec![col("date", w.date, "text")];
    days_cols.extend(figure_columns(&w, levels));
    vec![
        group_table("registrars", w.registrars, w.registrar, &r.registrars),
        group_table("desks", w.desks, w.desk, &r.desks),
        Table {
            name: "hours".into(),
            title: format!("{}, {period}", w.hours),
            columns: hours_cols,
            rows: r
                .hours
                .iter()
                .map(|h| {
                    let mut row = vec![
                        Cell::Text(w.weekdays[(h.weekday as usize).clamp(1, 7) - 1].to_string()),
                        Cell::Int(i64::from(h.hour)),
                    ];
                    row.extend(figure_cells(&h.figures));
                    row
                })
                .collect(),
        },
        Table {
            name: "days".into(),
            title: format!("{}, {period}", w.days),
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
    ]
}

/// The trend of satisfaction (in %) and the number of ratings by day.
pub fn charts(r: &Report, lang: Language) -> Vec<Chart> {
    let w = words(lang);
    vec![Chart {
        title: w.trend.to_string(),
        labels: r.days.iter().map(|d| d.date[5..].to_string()).collect(),
        series: vec![(
            w.satisfaction.to_string(),
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
    let w = words(lang);
    let (when, score, source, flag) = match lang {
        Language::Ru => ("Время", "Оценка", "Источник", "Пометка"),
        Language::En => ("Time", "Score", "Source", "Flag"),
        Language::Es => ("Hora", "Valoración", "Origen", "Marca"),
    };
    let mut stmt = conn.prepare(
        "SELECT r.id, r.at, d.name, g.name, r.score, r.scale, r.source,
                (SELECT reason FROM rating_flags f WHERE f.rating_id = r.id),
                EXISTS (SELECT 1 FROM annulled_ratings a WHERE a.rating_id = r.id)
         FROM ratings r JOIN desks d ON d.id = r.desk_id LEFT JOIN registrars g ON g.id = r.registrar_id
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
                            .unwrap_or_else(|| w.nobody.to_string()),
                    ),
                    Cell::Int(r.get(4)?),
                    Cell::Int(r.get(5)?),
                    Cell::Text(r.get(6)?),
                    match r.get::<_, Option<String>>(7)? {
                        Some(f) => Cell::Text(f),
                        None => Cell::Empty,
                    },
                    if r.get::<_, bool>(8)? {
                        Cell::Text(w.annulled.to_string())
                    } else {
                        Cell::Empty
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
        title: format!("{} ({})", w.report, tz.name()),
        columns: vec![
            col("id", "#", "int"),
            col("at", when, "text"),
            col("desk", w.desk, "text"),
            col("registrar", w.registrar, "text"),
            col("score", score, "int"),
            col("scale", w.level, "int"),
            col("source", source, "text"),
            col("flag", flag, "text"),
            col("annulled", w.annulled, "text"),
        ],
        rows,
    })
}
