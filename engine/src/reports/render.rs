//! A report as tables and charts for people, with headings in the installation's language:
//! what the CSV, XLSX and PDF exports hold.

use chrono::DateTime;
use chrono_tz::Tz;

use super::export::Chart;
use super::figures::{Figures, Group, Report};
use super::table::{Cell, Column, Table};
use crate::settings::Language;

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
