//! What every message shares: HTML escaping, lengths and cuts, the level's colour, shares and
//! changes, the clinic's clock and durations, a desk's label, and the text/html body.

use chrono::{DateTime, Datelike};
use chrono_tz::Tz;

use otklik_domain::time::{Millis, to_datetime};
use otklik_domain::words::{Catalog, Forms, Language, fill, level_names, plural};

pub(super) const MINUTE: Millis = 60_000;

pub(super) const HOUR: Millis = 60 * MINUTE;

/// Escapes a value for Telegram HTML (and the email's HTML part): `&`, `<`, `>`, and `"` for
/// attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn link(href: &str, label_html: &str) -> String {
    format!("<a href=\"{}\">{label_html}</a>", esc(href))
}

/// Message length as Telegram counts it.
pub(super) fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// At most `max` characters, the cut marked with `…`.
pub(super) fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Colour band of a level, as the emoji shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    Red,
    Yellow,
    Green,
}

/// Lowest red, top green, the middle yellow; on the 4-, 5- and 7-level scales the named bad
/// levels are red and the good ones green, as their words say ("Плохо" red, "Хорошо" green).
pub(super) fn tone(score: i64, levels: u8) -> Tone {
    use Tone::{Green as G, Red as R, Yellow as Y};
    let n = i64::from(levels.max(2));
    let s = score.clamp(1, n);
    let table: &[Tone] = match levels {
        3 => &[R, Y, G],
        4 => &[R, Y, G, G],
        5 => &[R, R, Y, G, G],
        7 => &[R, R, R, Y, G, G, G],
        _ => &[],
    };
    if let Some(t) = table.get((s - 1) as usize) {
        return *t;
    }
    let position = (s - 1) as f64 / (n - 1) as f64;
    if s == 1 || position < 0.4 {
        R
    } else if s == n || position > 0.6 {
        G
    } else {
        Y
    }
}

pub(super) fn emoji(score: i64, levels: u8) -> &'static str {
    match tone(score, levels) {
        Tone::Red => "🔴",
        Tone::Yellow => "🟡",
        Tone::Green => "🟢",
    }
}

pub(super) fn pct(share: f64) -> String {
    format!("{}%", (share * 100.0).round() as i64)
}

/// A whole number with a real minus sign.
pub(super) fn signed(v: i64) -> String {
    if v < 0 {
        format!("−{}", -v)
    } else {
        v.to_string()
    }
}

/// The change of a share in points, "+5", "−3", "±0"; none without figures on both sides.
pub(super) fn change(now: f64, before: f64, count: u64, previous_count: u64) -> Option<String> {
    if count == 0 || previous_count == 0 {
        return None;
    }
    let d = ((now - before) * 100.0).round() as i64;
    Some(match d {
        0 => "±0".to_string(),
        d if d > 0 => format!("+{d}"),
        d => signed(d),
    })
}

pub(super) fn local(at: Millis, tz: Tz) -> DateTime<Tz> {
    to_datetime(at).with_timezone(&tz)
}

pub(super) fn clock(t: &DateTime<Tz>) -> String {
    t.format("%H:%M").to_string()
}

/// "23.11" (ru, es) or "23 Nov" (en).
pub(super) fn date(t: &DateTime<Tz>, lang: Language) -> String {
    match lang {
        Language::En => t.format("%-d %b").to_string(),
        Language::Ru | Language::Es => t.format("%d.%m").to_string(),
    }
}

/// Date and time, the year only when it is not this one.
pub(super) fn date_clock(t: &DateTime<Tz>, now: &DateTime<Tz>, lang: Language) -> String {
    if t.year() == now.year() {
        format!("{} {}", date(t, lang), clock(t))
    } else {
        match lang {
            Language::En => t.format("%-d %b %Y %H:%M").to_string(),
            Language::Ru | Language::Es => t.format("%d.%m.%Y %H:%M").to_string(),
        }
    }
}

/// "14:05" on the day of `now`, "23.11 14:05" on another.
pub(super) fn stamp(at: Millis, now: Millis, tz: Tz, lang: Language) -> String {
    let (t, now) = (local(at, tz), local(now, tz));
    if t.date_naive() == now.date_naive() {
        clock(&t)
    } else {
        date_clock(&t, &now, lang)
    }
}

/// "15 мин", "2 ч 5 мин", "3 дн. 4 ч".
pub(super) fn duration(minutes: i64, w: &Catalog) -> String {
    let m = minutes.max(0);
    match m {
        m if m < 60 => format!("{m} {}", w.messages.minutes),
        m if m < 48 * 60 => match m % 60 {
            0 => format!("{} {}", m / 60, w.messages.hours),
            r => format!("{} {} {r} {}", m / 60, w.messages.hours, w.messages.minutes),
        },
        m => match (m / 60) % 24 {
            0 => format!("{} {}", m / 1440, w.messages.days),
            h => format!("{} {} {h} {}", m / 1440, w.messages.days, w.messages.hours),
        },
    }
}

pub(super) fn minutes_between(from: Millis, to: Millis) -> i64 {
    (to - from + MINUTE / 2).div_euclid(MINUTE)
}

/// A desk named only by its number gets the word: "2" → "Окно 2".
pub(super) fn desk_label(desk: &str, w: &Catalog) -> String {
    let desk = desk.trim();
    if !desk.is_empty() && desk.chars().all(|c| c.is_ascii_digit()) {
        format!("{} {desk}", w.common.desk)
    } else {
        desk.to_string()
    }
}

/// "…и ещё 5": the rest of a list, counted.
pub(super) fn more(w: &Catalog, n: usize) -> String {
    format!("…{}", fill(w.common.more, &[("n", &n.to_string())]))
}

/// "Показаны 12 из 30": the verb agrees with the count ("Показан 21 из 30").
pub(super) fn shown_of(lang: Language, forms: &Forms, n: usize, m: usize) -> String {
    fill(&plural(lang, n as u64, forms), &[("m", &m.to_string())])
}

/// "🔴 Плохо 3 · 🟡 Нормально 9 · 🟢 Отлично 30", lowest first.
pub(super) fn level_counts(levels: &[u64], lang: Language) -> String {
    let n = u8::try_from(levels.len()).unwrap_or(u8::MAX);
    let names = level_names(lang, n);
    levels
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} {} {c}", emoji(i as i64 + 1, n), names[i]))
        .collect::<Vec<_>>()
        .join(" · ")
}

pub(super) struct Body {
    pub(super) text: String,
    pub(super) html: String,
}

impl Body {
    pub(super) fn new() -> Body {
        Body {
            text: String::new(),
            html: String::new(),
        }
    }

    pub(super) fn line(&mut self, text: &str, html: &str) {
        for (buf, s) in [(&mut self.text, text), (&mut self.html, html)] {
            if !buf.is_empty() {
                buf.push('\n');
            }
            buf.push_str(s);
        }
    }

    pub(super) fn blank(&mut self) {
        self.text.push('\n');
        self.html.push('\n');
    }
}
