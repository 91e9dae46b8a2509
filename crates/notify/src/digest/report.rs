//! The operational report's text: title, totals, the per-registrar table and the low ratings,
//! kept within one Telegram message.

use std::path::Path;

use chrono::{DateTime, Timelike};
use chrono_tz::Tz;

use super::chart::report_chart;
use super::format::*;
use crate::message::{Attachment, AttachmentRole, Outgoing};
use otklik_domain::time::Millis;
use otklik_domain::words::{self, Catalog, Language, fill, lower_first};
use otklik_reports::export::{Document, document_pdf};
use otklik_reports::figures::{Group, Report};

/// A report's `html` is kept under this many UTF-16 units (what Telegram counts), below the
/// 4096 of a message, leaving room for the entities' own overhead.
pub const HTML_MAX: usize = 3500;

/// Low ratings listed in a report at most.
pub const NEGATIVES_MAX: usize = 20;

/// The registrar names' column in a report table, in characters.
pub(super) const NAME_WIDTH: usize = 16;

/// A low rating listed in a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Negative {
    pub rating_id: i64,
    pub at: Millis,
    pub desk: String,
    pub registrar: Option<String>,
    pub score: i64,
    pub has_photo: bool,
    pub has_voice: bool,
    /// The rating on the console (its photo and voice are there).
    pub link: Option<String>,
    /// What became of its alert, in words, e.g. "решено: Анна, долго ждал талон".
    pub alert: Option<String>,
}

/// The report's title in the clinic's zone: "Отчёт за 13:00–14:00, 23.11", "Отчёт за день
/// 23.11", "Отчёт за день 23.11 (до 20:00)" (a day so far), "Отчёт за 16.11 – 22.11".
pub(super) fn report_title(from: Millis, to: Millis, lang: Language, tz: Tz) -> String {
    let w = words::of(lang);
    let (start, end) = (local(from, tz), local(to, tz));
    let last = local((to - 1).max(from), tz);
    let midnight = |t: &DateTime<Tz>| t.hour() == 0 && t.minute() == 0;
    if start.date_naive() == last.date_naive() {
        let day = date(&start, lang);
        let ends_at_midnight = midnight(&end) && end.date_naive() != start.date_naive();
        if midnight(&start) && ends_at_midnight {
            fill(w.messages.report_day, &[("date", &day)])
        } else if midnight(&start) && to - from > 12 * HOUR {
            fill(
                w.messages.report_day_until,
                &[("date", &day), ("to", &clock(&end))],
            )
        } else {
            let to_s = if ends_at_midnight {
                "24:00".to_string()
            } else {
                clock(&end)
            };
            fill(
                w.messages.report_range,
                &[("from", &clock(&start)), ("to", &to_s), ("date", &day)],
            )
        }
    } else if midnight(&start) && midnight(&end) {
        fill(
            w.messages.report_days,
            &[("from", &date(&start, lang)), ("to", &date(&last, lang))],
        )
    } else {
        fill(
            w.messages.report_days,
            &[
                ("from", &date_clock(&start, &start, lang)),
                ("to", &date_clock(&end, &start, lang)),
            ],
        )
    }
}

pub(super) fn group_name(g: &Group, w: &Catalog) -> String {
    if g.name.trim().is_empty() {
        w.common.nobody_short.to_string()
    } else {
        g.name.clone()
    }
}

/// The per-registrar table, aligned for a monospace font: name, total, per level (1…n), the
/// share of satisfied.
pub(super) fn registrar_table(groups: &[&Group], levels: usize, w: &Catalog) -> String {
    let names: Vec<String> = groups
        .iter()
        .map(|g| cut(&group_name(g, w), NAME_WIDTH))
        .collect();
    let name_w = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let count_w = groups
        .iter()
        .map(|g| g.figures.count.to_string().len())
        .chain([w.messages.total_col.chars().count()])
        .max()
        .unwrap_or(0);
    let level_w = groups
        .iter()
        .flat_map(|g| g.figures.levels.iter().map(|c| c.to_string().len()))
        .chain([levels.to_string().len()])
        .max()
        .unwrap_or(1);
    let pad = |s: &str, width: usize| {
        let n = s.chars().count();
        format!("{}{s}", " ".repeat(width.saturating_sub(n)))
    };
    let mut out = String::new();
    let mut header = format!(
        "{}  {}",
        " ".repeat(name_w),
        pad(w.messages.total_col, count_w)
    );
    for l in 1..=levels {
        header.push(' ');
        header.push_str(&pad(&l.to_string(), level_w));
    }
    header.push(' ');
    header.push_str(&pad("%", 4));
    out.push_str(header.trim_end());
    for (g, name) in groups.iter().zip(&names) {
        let f = &g.figures;
        let mut row = format!(
            "{name}{}  {}",
            " ".repeat(name_w - name.chars().count()),
            pad(&f.count.to_string(), count_w)
        );
        for l in 0..levels {
            row.push(' ');
            row.push_str(&pad(
                &f.levels.get(l).copied().unwrap_or(0).to_string(),
                level_w,
            ));
        }
        row.push(' ');
        row.push_str(&pad(&pct(f.satisfaction), 4));
        out.push('\n');
        out.push_str(&row);
    }
    out
}

/// One low rating: "🔴 14:05 · Окно 2 · Иванова М. · #12 (фото, голос) — решено: Анна".
pub(super) fn negative_line(
    n: &Negative,
    levels: u8,
    same_day: bool,
    lang: Language,
    tz: Tz,
    w: &Catalog,
) -> (String, String) {
    let t = local(n.at, tz);
    let at = if same_day {
        clock(&t)
    } else {
        date_clock(&t, &t, lang)
    };
    let desk = desk_label(&n.desk, w);
    let mut marks = Vec::new();
    if n.has_photo {
        marks.push(w.messages.photo);
    }
    if n.has_voice {
        marks.push(w.messages.voice_mark);
    }
    let mut id = format!("#{}", n.rating_id);
    if !marks.is_empty() {
        id = format!("{id} ({})", marks.join(", "));
    }
    let e = emoji(n.score, levels);
    let (who, who_html) = match &n.registrar {
        Some(name) => (name.clone(), esc(name)),
        None => (
            w.messages.nobody.to_string(),
            format!("<i>{}</i>", w.messages.nobody),
        ),
    };
    let mut text = format!("{e} {at} · {desk} · {who} · {id}");
    let mut html = format!("{e} {at} · {} · {who_html} · ", esc(&desk));
    match &n.link {
        Some(href) => {
            text.push_str(&format!(" {href}"));
            html.push_str(&link(href, &esc(&id)));
        }
        None => html.push_str(&esc(&id)),
    }
    if let Some(a) = n
        .alert
        .as_deref()
        .map(|a| cut(a.trim(), 160))
        .filter(|a| !a.is_empty())
    {
        text.push_str(&format!(" — {a}"));
        html.push_str(&format!(" — {}", esc(&a)));
    }
    (text, html)
}

pub(super) struct ReportParts<'a> {
    r: &'a Report,
    negatives: &'a [Negative],
    title: String,
    clinic: &'a str,
    same_day: bool,
    lang: Language,
    tz: Tz,
}

impl ReportParts<'_> {
    /// The report with at most `registrars` rows in its table (the most rated when cut) and
    /// `negatives` low ratings listed.
    fn build(&self, registrars: usize, negatives: usize) -> Body {
        let (r, lang) = (self.r, self.lang);
        let w = words::of(lang);
        let mut b = Body::new();
        b.line(&self.title, &format!("<b>{}</b>", esc(&self.title)));
        if !self.clinic.trim().is_empty() {
            b.line(self.clinic, &esc(self.clinic));
        }
        b.blank();
        let t = &r.totals;
        if t.count == 0 {
            b.line(
                &format!("{}.", w.messages.no_ratings),
                &format!("{}.", w.messages.no_ratings),
            );
            if t.flagged > 0 {
                let s = format!("{}: {}", w.messages.flagged, t.flagged);
                b.line(&s, &s);
            }
            return b;
        }
        b.line(
            &format!("{}: {}", w.common.ratings, t.count),
            &format!("{}: <b>{}</b>", w.common.ratings, t.count),
        );
        let counts = level_counts(&t.levels, lang);
        b.line(&counts, &esc(&counts));
        let vs = change(
            t.satisfaction,
            r.previous.satisfaction,
            t.count,
            r.previous.count,
        )
        .map(|d| format!(" ({d} {})", w.messages.vs_previous))
        .unwrap_or_default();
        b.line(
            &format!("{}: {}{vs}", w.common.satisfied, pct(t.satisfaction)),
            &format!("{}: <b>{}</b>{vs}", w.common.satisfied, pct(t.satisfaction)),
        );
        let net_vs = change(t.net, r.previous.net, t.count, r.previous.count)
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let net = format!(
            "{}: {}{net_vs}",
            w.common.net,
            signed((t.net * 100.0).round() as i64)
        );
        b.line(&net, &net);
        if t.flagged > 0 {
            let s = format!("{}: {}", w.messages.flagged, t.flagged);
            b.line(&s, &s);
        }

        let all: Vec<&Group> = r
            .registrars
            .iter()
            .filter(|g| g.figures.count > 0)
            .collect();
        if !all.is_empty() && registrars > 0 {
            let shown: Vec<&Group> = if registrars < all.len() {
                let mut by_count = all.clone();
                by_count.sort_by_key(|g| std::cmp::Reverse(g.figures.count));
                by_count.truncate(registrars);
                by_count
            } else {
                all.clone()
            };
            let table = registrar_table(&shown, usize::from(r.scale), w);
            b.blank();
            b.line(
                w.messages.by_registrar,
                &format!("<b>{}</b>", w.messages.by_registrar),
            );
            b.line(&table, &format!("<pre>{}</pre>", esc(&table)));
            if shown.len() < all.len() {
                let note = shown_of(lang, &w.messages.shown_top, shown.len(), all.len());
                b.line(&note, &format!("<i>{note}</i>"));
            }
        }

        b.blank();
        if self.negatives.is_empty() {
            b.line(w.messages.no_negatives, w.messages.no_negatives);
        } else {
            let head = format!("{} ({})", w.messages.negatives, self.negatives.len());
            b.line(&head, &format!("<b>{head}</b>"));
            let shown = negatives.min(self.negatives.len());
            for n in &self.negatives[..shown] {
                let (text, html) = negative_line(n, r.scale, self.same_day, lang, self.tz, w);
                b.line(&text, &html);
            }
            if shown < self.negatives.len() {
                let more = more(w, self.negatives.len() - shown);
                b.line(&more, &more);
            }
        }
        b
    }
}

/// An operational report for `[from, to)`: the title with the period and the clinic, totals per
/// level, satisfaction and net score with the change against the previous period, the
/// per-registrar table (`<pre>` in html), then the low ratings (at most [`NEGATIVES_MAX`],
/// "…и ещё N"). The chart ([`report_chart`]) is written to `chart_path` and attached. The html
/// stays within [`HTML_MAX`]: the table is cut to the most rated registrars (saying so), then
/// the list of low ratings.
#[allow(clippy::too_many_arguments)]
pub fn report(
    r: &Report,
    negatives: &[Negative],
    clinic: &str,
    from: Millis,
    to: Millis,
    lang: Language,
    tz: Tz,
    chart_path: &Path,
) -> Result<Outgoing, String> {
    let title = report_title(from, to, lang, tz);
    let parts = ReportParts {
        r,
        negatives,
        title: title.clone(),
        clinic,
        same_day: local(from, tz).date_naive() == local((to - 1).max(from), tz).date_naive(),
        lang,
        tz,
    };
    let all_registrars = r.registrars.len();
    let text = parts.build(all_registrars, NEGATIVES_MAX).text;
    let (mut rows, mut listed) = (all_registrars, NEGATIVES_MAX.min(negatives.len()));
    let html = loop {
        let html = parts.build(rows, listed).html;
        if utf16_len(&html) <= HTML_MAX || (rows == 0 && listed == 0) {
            break html;
        }
        if rows > 5 {
            rows -= 1;
        } else if listed > 5 {
            listed -= 1;
        } else if rows > 0 {
            rows -= 1;
        } else {
            listed -= 1;
        }
    };

    let chart_title = if clinic.trim().is_empty() {
        title.clone()
    } else {
        format!("{title} · {}", clinic.trim())
    };
    let png = report_chart(r, &chart_title, lang)?;
    if let Some(dir) = chart_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(chart_path, &png).map_err(|e| format!("{}: {e}", chart_path.display()))?;
    Ok(Outgoing {
        subject: format!("Otklik: {}", lower_first(&title)),
        text,
        html: Some(html),
        attachments: vec![Attachment {
            role: AttachmentRole::Chart,
            path: chart_path.to_path_buf(),
            file_name: "otklik-report.png".to_string(),
            mime: "image/png".to_string(),
        }],
        buttons: Vec::new(),
    })
}

/// The report's printed form, laid out as the console's PDF export (see
/// `otklik_reports::render::document`) under the report's own title, written to `path`; the
/// email carries it beside the chart.
pub fn report_pdf(
    mut doc: Document,
    from: Millis,
    to: Millis,
    lang: Language,
    tz: Tz,
    path: &Path,
) -> Result<Attachment, String> {
    doc.title = report_title(from, to, lang, tz);
    let pdf = document_pdf(&doc)?;
    std::fs::write(path, &pdf).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Attachment {
        role: AttachmentRole::Document,
        path: path.to_path_buf(),
        file_name: format!("otklik-report-{}.pdf", local(from, tz).format("%Y-%m-%d")),
        mime: "application/pdf".to_string(),
    })
}
