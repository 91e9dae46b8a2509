//! The words of every message Otklik sends: alerts, their state lines and prompts, operational
//! reports (with a chart), notices about Otklik itself, and the bot's answers in a chat.
//!
//! Everything here is pure (no database): facts in, an [`Outgoing`] or a string out, in the
//! installation's language. `html` is Telegram HTML (parse_mode=HTML: only `<b>`, `<i>`,
//! `<code>`, `<pre>`, `<a href>`), every inserted value escaped with [`esc`]; `text` is the same
//! message as plain text (the email body). Times are the clinic's: `14:05` for today,
//! `23.11 14:05` (ru, es) or `23 Nov 14:05` (en) for another day of this year.

use std::path::Path;

use chrono::{DateTime, Datelike, Timelike};
use chrono_tz::Tz;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::message::{Attachment, AttachmentRole, Button, Outgoing};
use otklik_domain::time::{Millis, now_ms, to_datetime};
use otklik_reports::export::{Canvas, FONT, register_chart_font};
use otklik_reports::figures::{Figures, Group, Report};
use otklik_store::leaderboard::{Entry, Leaderboard};
use otklik_store::settings::Language;

const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
/// A report's `html` is kept under this many UTF-16 units (what Telegram counts), below the
/// 4096 of a message, leaving room for the entities' own overhead.
pub const HTML_MAX: usize = 3500;
/// Low ratings listed in a report at most.
pub const NEGATIVES_MAX: usize = 20;
/// The report chart's size in pixels.
pub const CHART_SIZE: (u32, u32) = (1000, 560);
/// Grey of the chart's notes.
const MUTED: RGBColor = RGBColor(110, 110, 110);
/// Registrars drawn in the chart at most (those with the most ratings).
const CHART_ROWS: usize = 12;
/// Registrars listed by `/today` and `/week` at most.
const BOARD_ROWS: usize = 25;
/// The registrar names' column in a report table, in characters.
const NAME_WIDTH: usize = 16;

// ---------------------------------------------------------------------------------------------
// Words

struct Words {
    desk: &'static str,
    registrar: &'static str,
    /// In an alert: nobody had a session open at the desk.
    nobody: &'static str,
    /// In a table's name column.
    nobody_short: &'static str,
    nobody_at_desk: &'static str,
    time: &'static str,
    clinic: &'static str,
    score_of: &'static str,
    low_rating: &'static str,
    rating_named: &'static str,
    rating_no: &'static str,
    open_rating: &'static str,
    take: &'static str,
    resolve: &'static str,
    voice: &'static str,
    voice_subject: &'static str,
    escalated: &'static str,
    escalated_subject: &'static str,
    taken: &'static str,
    resolved: &'static str,
    cause: &'static str,
    cause_prompt: &'static str,
    down: &'static str,
    /// The same when it began and ended within one minute on the clock.
    down_at: &'static str,
    held: &'static str,
    down_subject: &'static str,
    mail: &'static str,
    health_down: &'static str,
    health_up: &'static str,
    test: &'static str,
    test_subject: &'static str,
    paired: &'static str,
    /// The same without a clinic name (none set yet).
    paired_plain: &'static str,
    paired_more: &'static str,
    report_day: &'static str,
    report_day_until: &'static str,
    report_range: &'static str,
    report_days: &'static str,
    ratings: &'static str,
    satisfied: &'static str,
    net: &'static str,
    vs_previous: &'static str,
    flagged: &'static str,
    unassigned: &'static str,
    by_registrar: &'static str,
    total_col: &'static str,
    shown_top: &'static str,
    negatives: &'static str,
    no_negatives: &'static str,
    more: &'static str,
    photo: &'static str,
    voice_mark: &'static str,
    no_ratings: &'static str,
    chart_shown: &'static str,
    total_ratings: &'static str,
    ranked_count: &'static str,
    not_ranked: &'static str,
    now_at: &'static str,
    today_count: &'static str,
    no_ratings_today: &'static str,
    help_title: &'static str,
    help_lines: [&'static str; 6],
    seconds: &'static str,
    minutes: &'static str,
    hours: &'static str,
    days: &'static str,
}

fn words(lang: Language) -> Words {
    match lang {
        Language::Ru => Words {
            desk: "Окно",
            registrar: "Регистратор",
            nobody: "никого не было на смене",
            nobody_short: "(никого не было)",
            nobody_at_desk: "Никого нет",
            time: "Время",
            clinic: "Клиника",
            score_of: "{score} из {levels}",
            low_rating: "низкая оценка",
            rating_named: "оценка «{level}»",
            rating_no: "Оценка #{id}",
            open_rating: "Открыть оценку #{id}",
            take: "✋ Беру",
            resolve: "✅ Решено",
            voice: "Голос пациента к оценке {id}",
            voice_subject: "голос пациента, оценка #{id}",
            escalated: "Никто не взял за {dur} — передаём вам",
            escalated_subject: "никто не взял за {dur}",
            taken: "✋ Взял(а): {by}, {at}",
            resolved: "✅ Решено: {by}, {at} (за {dur})",
            cause: "причина: {cause}",
            cause_prompt: "Напишите в ответ одной строкой причину (оповещение #{id})",
            down: "{channel}: не было связи с {from} до {to} ({dur}).",
            down_at: "{channel}: не было связи в {from} ({dur}).",
            held: "Задержанные сообщения ({n}) идут ниже.",
            down_subject: "{channel}: не было связи {dur}",
            mail: "Почта",
            health_down: "{what} не работает с {since}",
            health_up: "{what} снова работает (сбой был с {since})",
            test: "Проверка связи: сообщения «Отклика» доходят.",
            test_subject: "проверка связи",
            paired: "Чат {chat} подключён к «Отклику» клиники {clinic}.",
            paired_plain: "Чат {chat} подключён к «Отклику».",
            paired_more: "Сюда будут приходить низкие оценки и отчёты. Команды: /help",
            report_day: "Отчёт за день {date}",
            report_day_until: "Отчёт за день {date} (до {to})",
            report_range: "Отчёт за {from}–{to}, {date}",
            report_days: "Отчёт за {from} – {to}",
            ratings: "Оценок",
            satisfied: "Довольны",
            net: "Индекс",
            vs_previous: "к прошлому периоду",
            flagged: "Подозрительных (не в счёте)",
            unassigned: "Без регистратора",
            by_registrar: "По регистраторам",
            total_col: "Всего",
            shown_top: "Показаны {n} из {m} — с наибольшим числом оценок.",
            negatives: "Низкие оценки",
            no_negatives: "Низких оценок нет",
            more: "…и ещё {n}",
            photo: "фото",
            voice_mark: "голос",
            no_ratings: "Оценок за этот период нет",
            chart_shown: "Показаны {n} из {m}",
            total_ratings: "Всего оценок",
            ranked_count: "В рейтинге: {n}",
            not_ranked: "Мало оценок для места (меньше {min})",
            now_at: "Сейчас",
            today_count: "Оценок сегодня: {n}",
            no_ratings_today: "Сегодня оценок пока нет",
            help_title: "Команды «Отклика»",
            help_lines: [
                "/today — рейтинг за сегодня",
                "/week — рейтинг за неделю",
                "/top — первые три места",
                "/desk 2 — кто сейчас в окне 2 и оценки окна за сегодня",
                "/help — эта справка",
                "Кнопки под оповещением: «Беру» — вы занялись; «Решено» — ответьте одной строкой, в чём была причина.",
            ],
            seconds: "с",
            minutes: "мин",
            hours: "ч",
            days: "дн.",
        },
        Language::En => Words {
            desk: "Desk",
            registrar: "Registrar",
            nobody: "nobody on shift",
            nobody_short: "(nobody on shift)",
            nobody_at_desk: "Nobody here",
            time: "Time",
            clinic: "Clinic",
            score_of: "{score} of {levels}",
            low_rating: "low rating",
            rating_named: "rating “{level}”",
            rating_no: "Rating #{id}",
            open_rating: "Open rating #{id}",
            take: "✋ I'll take it",
            resolve: "✅ Resolved",
            voice: "Patient's voice for rating {id}",
            voice_subject: "patient's voice, rating #{id}",
            escalated: "Nobody took it in {dur} — passing it to you",
            escalated_subject: "not taken in {dur}",
            taken: "✋ Taken by {by}, {at}",
            resolved: "✅ Resolved by {by}, {at} (in {dur})",
            cause: "cause: {cause}",
            cause_prompt: "Reply to this message with the cause in one line (alert #{id})",
            down: "{channel} was unreachable from {from} to {to} ({dur}).",
            down_at: "{channel} was unreachable at {from} ({dur}).",
            held: "Delayed messages ({n}) follow below.",
            down_subject: "{channel} was unreachable for {dur}",
            mail: "Email",
            health_down: "{what} has been down since {since}",
            health_up: "{what} is working again (down since {since})",
            test: "Test message: Otklik notifications reach you.",
            test_subject: "test message",
            paired: "This chat, {chat}, is now connected to Otklik at {clinic}.",
            paired_plain: "This chat, {chat}, is now connected to Otklik.",
            paired_more: "Low ratings and reports will come here. Commands: /help",
            report_day: "Report for {date}",
            report_day_until: "Report for {date} (until {to})",
            report_range: "Report {from}–{to}, {date}",
            report_days: "Report {from} – {to}",
            ratings: "Ratings",
            satisfied: "Satisfied",
            net: "Net score",
            vs_previous: "vs the previous period",
            flagged: "Flagged (not counted)",
            unassigned: "With no registrar",
            by_registrar: "By registrar",
            total_col: "Total",
            shown_top: "Showing {n} of {m}: those with the most ratings.",
            negatives: "Low ratings",
            no_negatives: "No low ratings",
            more: "…and {n} more",
            photo: "photo",
            voice_mark: "voice",
            no_ratings: "No ratings in this period",
            chart_shown: "Showing {n} of {m}",
            total_ratings: "Total ratings",
            ranked_count: "Ranked: {n}",
            not_ranked: "Too few ratings to rank (under {min})",
            now_at: "Now",
            today_count: "Ratings today: {n}",
            no_ratings_today: "No ratings today yet",
            help_title: "Otklik commands",
            help_lines: [
                "/today — today's leaderboard",
                "/week — this week's leaderboard",
                "/top — the top three",
                "/desk 2 — who is at desk 2 now and the desk's ratings today",
                "/help — this help",
                "Buttons under an alert: “I'll take it” — you are on it; “Resolved” — reply with the cause in one line.",
            ],
            seconds: "s",
            minutes: "min",
            hours: "h",
            days: "d",
        },
        Language::Es => Words {
            desk: "Ventanilla",
            registrar: "Recepcionista",
            nobody: "nadie de turno",
            nobody_short: "(nadie de turno)",
            nobody_at_desk: "Sin nadie",
            time: "Hora",
            clinic: "Clínica",
            score_of: "{score} de {levels}",
            low_rating: "valoración baja",
            rating_named: "valoración «{level}»",
            rating_no: "Valoración #{id}",
            open_rating: "Abrir valoración #{id}",
            take: "✋ Me encargo",
            resolve: "✅ Resuelto",
            voice: "Voz del paciente de la valoración {id}",
            voice_subject: "voz del paciente, valoración #{id}",
            escalated: "Nadie se encargó en {dur}; se lo pasamos a usted",
            escalated_subject: "sin atender en {dur}",
            taken: "✋ Se encarga: {by}, {at}",
            resolved: "✅ Resuelto por {by}, {at} (en {dur})",
            cause: "causa: {cause}",
            cause_prompt: "Responda a este mensaje con la causa en una línea (aviso #{id})",
            down: "{channel} no estuvo disponible de {from} a {to} ({dur}).",
            down_at: "{channel} no estuvo disponible a las {from} ({dur}).",
            held: "Los mensajes retrasados ({n}) siguen a continuación.",
            down_subject: "{channel} sin conexión durante {dur}",
            mail: "Correo",
            health_down: "{what} no funciona desde {since}",
            health_up: "{what} vuelve a funcionar (fallaba desde {since})",
            test: "Mensaje de prueba: las notificaciones de Otklik llegan.",
            test_subject: "mensaje de prueba",
            paired: "El chat {chat} queda conectado a Otklik de {clinic}.",
            paired_plain: "El chat {chat} queda conectado a Otklik.",
            paired_more: "Aquí llegarán las valoraciones bajas y los informes. Comandos: /help",
            report_day: "Informe del día {date}",
            report_day_until: "Informe del día {date} (hasta las {to})",
            report_range: "Informe de {from} a {to}, {date}",
            report_days: "Informe del {from} al {to}",
            ratings: "Valoraciones",
            satisfied: "Satisfechos",
            net: "Índice neto",
            vs_previous: "frente al periodo anterior",
            flagged: "Sospechosas (no cuentan)",
            unassigned: "Sin recepcionista",
            by_registrar: "Por recepcionista",
            total_col: "Total",
            shown_top: "Se muestran {n} de {m}: los que tienen más valoraciones.",
            negatives: "Valoraciones bajas",
            no_negatives: "Sin valoraciones bajas",
            more: "…y {n} más",
            photo: "foto",
            voice_mark: "voz",
            no_ratings: "No hay valoraciones en este periodo",
            chart_shown: "Se muestran {n} de {m}",
            total_ratings: "Valoraciones en total",
            ranked_count: "En la clasificación: {n}",
            not_ranked: "Pocas valoraciones para clasificar (menos de {min})",
            now_at: "Ahora",
            today_count: "Valoraciones de hoy: {n}",
            no_ratings_today: "Hoy aún no hay valoraciones",
            help_title: "Comandos de Otklik",
            help_lines: [
                "/today — clasificación de hoy",
                "/week — clasificación de esta semana",
                "/top — los tres primeros",
                "/desk 2 — quién está ahora en la ventanilla 2 y sus valoraciones de hoy",
                "/help — esta ayuda",
                "Botones bajo un aviso: «Me encargo» — usted se ocupa; «Resuelto» — responda con la causa en una línea.",
            ],
            seconds: "s",
            minutes: "min",
            hours: "h",
            days: "d",
        },
    }
}

/// The names of the levels of an n-level scale, lowest first (as on the screens, see
/// ui/src/i18n.ts); numbers for a scale without names.
fn level_names(lang: Language, levels: u8) -> Vec<String> {
    let names: &[&str] = match (lang, levels) {
        (Language::Ru, 3) => &["Плохо", "Нормально", "Отлично"],
        (Language::Ru, 4) => &["Плохо", "Так себе", "Хорошо", "Отлично"],
        (Language::Ru, 5) => &["Очень плохо", "Плохо", "Нормально", "Хорошо", "Отлично"],
        (Language::Ru, 7) => &[
            "Ужасно",
            "Очень плохо",
            "Плохо",
            "Нормально",
            "Хорошо",
            "Очень хорошо",
            "Отлично",
        ],
        (Language::En, 3) => &["Bad", "OK", "Excellent"],
        (Language::En, 4) => &["Bad", "So-so", "Good", "Excellent"],
        (Language::En, 5) => &["Very bad", "Bad", "OK", "Good", "Excellent"],
        (Language::En, 7) => &[
            "Awful",
            "Very bad",
            "Bad",
            "OK",
            "Good",
            "Very good",
            "Excellent",
        ],
        (Language::Es, 3) => &["Mal", "Normal", "Excelente"],
        (Language::Es, 4) => &["Mal", "Regular", "Bien", "Excelente"],
        (Language::Es, 5) => &["Muy mal", "Mal", "Normal", "Bien", "Excelente"],
        (Language::Es, 7) => &[
            "Pésimo",
            "Muy mal",
            "Mal",
            "Normal",
            "Bien",
            "Muy bien",
            "Excelente",
        ],
        _ => &[],
    };
    if names.is_empty() {
        (1..=levels).map(|l| l.to_string()).collect()
    } else {
        names.iter().map(|s| s.to_string()).collect()
    }
}

fn level_name(lang: Language, score: i64, levels: u8) -> String {
    usize::try_from(score - 1)
        .ok()
        .and_then(|i| level_names(lang, levels).into_iter().nth(i))
        .unwrap_or_else(|| score.to_string())
}

/// Fills `{key}` placeholders in one pass: inserted values are never scanned again, so a name
/// with braces stays as it is. An unknown key is left in place.
fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .and_then(|close| Some((args.iter().find(|(k, _)| *k == &after[..close])?, close)));
        match value {
            Some(((_, v), close)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

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

fn link(href: &str, label_html: &str) -> String {
    format!("<a href=\"{}\">{label_html}</a>", esc(href))
}

/// Message length as Telegram counts it.
fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// At most `max` characters, the cut marked with `…`.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Levels, figures, times

/// Colour band of a level, as the emoji shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Red,
    Yellow,
    Green,
}

/// Lowest red, top green, the middle yellow; on the 4-, 5- and 7-level scales the named bad
/// levels are red and the good ones green, as their words say ("Плохо" red, "Хорошо" green).
fn tone(score: i64, levels: u8) -> Tone {
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

fn emoji(score: i64, levels: u8) -> &'static str {
    match tone(score, levels) {
        Tone::Red => "🔴",
        Tone::Yellow => "🟡",
        Tone::Green => "🟢",
    }
}

/// The chart's colour of a level: the screens' `hsl(hue 70% 45%)`, red to green.
fn level_colour(level: usize, levels: usize) -> HSLColor {
    let hue = if levels <= 1 {
        120.0
    } else {
        level as f64 / (levels - 1) as f64 * 120.0
    };
    HSLColor(hue / 360.0, 0.7, 0.45)
}

fn pct(share: f64) -> String {
    format!("{}%", (share * 100.0).round() as i64)
}

/// A whole number with a real minus sign.
fn signed(v: i64) -> String {
    if v < 0 {
        format!("−{}", -v)
    } else {
        v.to_string()
    }
}

/// The change of a share in points, "+5", "−3", "±0"; none without figures on both sides.
fn change(now: f64, before: f64, count: u64, previous_count: u64) -> Option<String> {
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

fn local(at: Millis, tz: Tz) -> DateTime<Tz> {
    to_datetime(at).with_timezone(&tz)
}

fn clock(t: &DateTime<Tz>) -> String {
    t.format("%H:%M").to_string()
}

/// "23.11" (ru, es) or "23 Nov" (en).
fn date(t: &DateTime<Tz>, lang: Language) -> String {
    match lang {
        Language::En => t.format("%-d %b").to_string(),
        Language::Ru | Language::Es => t.format("%d.%m").to_string(),
    }
}

/// Date and time, the year only when it is not this one.
fn date_clock(t: &DateTime<Tz>, now: &DateTime<Tz>, lang: Language) -> String {
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
fn stamp(at: Millis, now: Millis, tz: Tz, lang: Language) -> String {
    let (t, now) = (local(at, tz), local(now, tz));
    if t.date_naive() == now.date_naive() {
        clock(&t)
    } else {
        date_clock(&t, &now, lang)
    }
}

/// "15 мин", "2 ч 5 мин", "3 дн. 4 ч".
fn duration(minutes: i64, w: &Words) -> String {
    let m = minutes.max(0);
    match m {
        m if m < 60 => format!("{m} {}", w.minutes),
        m if m < 48 * 60 => match m % 60 {
            0 => format!("{} {}", m / 60, w.hours),
            r => format!("{} {} {r} {}", m / 60, w.hours, w.minutes),
        },
        m => match (m / 60) % 24 {
            0 => format!("{} {}", m / 1440, w.days),
            h => format!("{} {} {h} {}", m / 1440, w.days, w.hours),
        },
    }
}

fn minutes_between(from: Millis, to: Millis) -> i64 {
    (to - from + MINUTE / 2).div_euclid(MINUTE)
}

/// A desk named only by its number gets the word: "2" → "Окно 2".
fn desk_label(desk: &str, w: &Words) -> String {
    let desk = desk.trim();
    if !desk.is_empty() && desk.chars().all(|c| c.is_ascii_digit()) {
        format!("{} {desk}", w.desk)
    } else {
        desk.to_string()
    }
}

/// "🔴 Плохо 3 · 🟡 Нормально 9 · 🟢 Отлично 30", lowest first.
fn level_counts(levels: &[u64], lang: Language) -> String {
    let n = u8::try_from(levels.len()).unwrap_or(u8::MAX);
    let names = level_names(lang, n);
    levels
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} {} {c}", emoji(i as i64 + 1, n), names[i]))
        .collect::<Vec<_>>()
        .join(" · ")
}

// ---------------------------------------------------------------------------------------------
// Alerts

/// What an alert message needs to say.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertFacts {
    pub alert_id: i64,
    pub rating_id: i64,
    pub clinic: String,
    /// The desk's name ("Окно 2"; a bare number gets the word for desk).
    pub desk: String,
    /// None: nobody on shift.
    pub registrar: Option<String>,
    pub at: Millis,
    pub score: i64,
    pub levels: u8,
    /// Link to the rating on the console, if a link base is set.
    pub link: Option<String>,
}

struct Body {
    text: String,
    html: String,
}

impl Body {
    fn new() -> Body {
        Body {
            text: String::new(),
            html: String::new(),
        }
    }

    fn line(&mut self, text: &str, html: &str) {
        for (buf, s) in [(&mut self.text, text), (&mut self.html, html)] {
            if !buf.is_empty() {
                buf.push('\n');
            }
            buf.push_str(s);
        }
    }

    fn blank(&mut self) {
        self.text.push('\n');
        self.html.push('\n');
    }
}

/// The lines every alert shows: level, desk, registrar, time, clinic, link.
fn alert_lines(f: &AlertFacts, w: &Words, lang: Language, tz: Tz, now: Millis, b: &mut Body) {
    let desk = desk_label(&f.desk, w);
    let level = level_name(lang, f.score, f.levels);
    let of = fill(
        w.score_of,
        &[
            ("score", &f.score.to_string()),
            ("levels", &f.levels.to_string()),
        ],
    );
    let e = emoji(f.score, f.levels);
    b.line(
        &format!("{e} {level} ({of}) — {desk}"),
        &format!("{e} <b>{}</b> ({of}) — {}", esc(&level), esc(&desk)),
    );
    match &f.registrar {
        Some(name) => b.line(
            &format!("{}: {name}", w.registrar),
            &format!("{}: <b>{}</b>", w.registrar, esc(name)),
        ),
        None => b.line(
            &format!("{}: {}", w.registrar, w.nobody),
            &format!("{}: <i>{}</i>", w.registrar, w.nobody),
        ),
    }
    let at = stamp(f.at, now, tz, lang);
    b.line(&format!("{}: {at}", w.time), &format!("{}: {at}", w.time));
    if !f.clinic.trim().is_empty() {
        b.line(
            &format!("{}: {}", w.clinic, f.clinic),
            &format!("{}: {}", w.clinic, esc(&f.clinic)),
        );
    }
    let id = f.rating_id.to_string();
    match &f.link {
        Some(href) => {
            let label = fill(w.open_rating, &[("id", &id)]);
            b.line(&format!("{label}: {href}"), &link(href, &label));
        }
        None => {
            let label = fill(w.rating_no, &[("id", &id)]);
            b.line(&label, &label);
        }
    }
}

/// "низкая оценка — Окно 2, Иванова М."
fn alert_subject(f: &AlertFacts, w: &Words, lang: Language) -> String {
    let what = if tone(f.score, f.levels) == Tone::Red {
        w.low_rating.to_string()
    } else {
        fill(
            w.rating_named,
            &[("level", &level_name(lang, f.score, f.levels))],
        )
    };
    let who = f.registrar.as_deref().unwrap_or(w.nobody);
    format!("{what} — {}, {who}", desk_label(&f.desk, w))
}

fn alert_buttons(alert_id: i64, w: &Words) -> Vec<Button> {
    vec![
        Button {
            label: w.take.to_string(),
            data: format!("take:{alert_id}"),
        },
        Button {
            label: w.resolve.to_string(),
            data: format!("resolve:{alert_id}"),
        },
    ]
}

/// The first alert message: the level (word, emoji, "1 из 3"), desk, registrar, time, clinic,
/// the link to the rating. Buttons: take ("take:{alert_id}"), resolve ("resolve:{alert_id}").
pub fn alert(f: &AlertFacts, lang: Language, tz: Tz) -> Outgoing {
    alert_at(f, lang, tz, now_ms())
}

fn alert_at(f: &AlertFacts, lang: Language, tz: Tz, now: Millis) -> Outgoing {
    let w = words(lang);
    let mut b = Body::new();
    alert_lines(f, &w, lang, tz, now, &mut b);
    Outgoing {
        subject: format!("Otklik: {}", alert_subject(f, &w, lang)),
        text: b.text,
        html: Some(b.html),
        attachments: Vec::new(),
        buttons: alert_buttons(f.alert_id, &w),
    }
}

/// The caption of the patient's voice sent after the alert ("🎙 Голос пациента к оценке #12 ·
/// Окно 2 · Иванова М. · 14:05"). The caller attaches the clip (role Voice).
pub fn voice(f: &AlertFacts, lang: Language, tz: Tz) -> Outgoing {
    voice_at(f, lang, tz, now_ms())
}

fn voice_at(f: &AlertFacts, lang: Language, tz: Tz, now: Millis) -> Outgoing {
    let w = words(lang);
    let id = format!("#{}", f.rating_id);
    let id_html = match &f.link {
        Some(href) => link(href, &id),
        None => id.clone(),
    };
    let mut tail = vec![desk_label(&f.desk, &w)];
    tail.extend(f.registrar.clone());
    tail.push(stamp(f.at, now, tz, lang));
    let tail_html: Vec<String> = tail.iter().map(|s| esc(s)).collect();
    Outgoing {
        subject: format!(
            "Otklik: {}",
            fill(w.voice_subject, &[("id", &f.rating_id.to_string())])
        ),
        text: format!("🎙 {} · {}", fill(w.voice, &[("id", &id)]), tail.join(" · ")),
        html: Some(format!(
            "🎙 {} · {}",
            fill(w.voice, &[("id", &id_html)]),
            tail_html.join(" · ")
        )),
        attachments: Vec::new(),
        buttons: Vec::new(),
    }
}

/// An alert nobody took within `minutes`, for the escalation chats and addresses: says so, then
/// the alert's facts. The same buttons.
pub fn escalation(f: &AlertFacts, minutes: i64, lang: Language, tz: Tz) -> Outgoing {
    escalation_at(f, minutes, lang, tz, now_ms())
}

fn escalation_at(f: &AlertFacts, minutes: i64, lang: Language, tz: Tz, now: Millis) -> Outgoing {
    let w = words(lang);
    let dur = duration(minutes, &w);
    let head = fill(w.escalated, &[("dur", &dur)]);
    let mut b = Body::new();
    b.line(&format!("⏰ {head}"), &format!("⏰ <b>{head}</b>"));
    b.blank();
    alert_lines(f, &w, lang, tz, now, &mut b);
    Outgoing {
        subject: format!(
            "Otklik: {} — {}",
            fill(w.escalated_subject, &[("dur", &dur)]),
            alert_subject(f, &w, lang)
        ),
        text: b.text,
        html: Some(b.html),
        attachments: Vec::new(),
        buttons: alert_buttons(f.alert_id, &w),
    }
}

/// What happened to an alert, shown under it after a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState<'a> {
    Taken {
        by: &'a str,
        at: Millis,
    },
    /// `minutes`: from the rating to the resolution.
    Resolved {
        by: &'a str,
        at: Millis,
        cause: &'a str,
        minutes: i64,
    },
}

/// "✋ Взял(а): Анна, 14:07" / "✅ Решено: Анна, 14:20 (за 15 мин) — причина: долго ждал(а)
/// талон". Plain text: the caller escapes it for HTML.
pub fn alert_state_line(s: &AlertState, lang: Language, tz: Tz) -> String {
    alert_state_line_at(s, lang, tz, now_ms())
}

fn alert_state_line_at(s: &AlertState, lang: Language, tz: Tz, now: Millis) -> String {
    let w = words(lang);
    match *s {
        AlertState::Taken { by, at } => {
            fill(w.taken, &[("by", by), ("at", &stamp(at, now, tz, lang))])
        }
        AlertState::Resolved {
            by,
            at,
            cause,
            minutes,
        } => {
            let mut line = fill(
                w.resolved,
                &[
                    ("by", by),
                    ("at", &stamp(at, now, tz, lang)),
                    ("dur", &duration(minutes, &w)),
                ],
            );
            let cause = cause.trim();
            if !cause.is_empty() {
                line.push_str(" — ");
                line.push_str(&fill(w.cause, &[("cause", cause)]));
            }
            line
        }
    }
}

/// The ForceReply prompt after "resolve", sent as a reply to the alert: "Напишите в ответ
/// одной строкой причину (оповещение #5)". Plain text. The number is the alert's, so it is
/// called an alert, not a rating (whose own number the alert shows).
pub fn cause_prompt(alert_id: i64, lang: Language) -> String {
    fill(words(lang).cause_prompt, &[("id", &alert_id.to_string())])
}

/// The buttons left after "take": only resolve.
pub fn buttons_taken(alert_id: i64, lang: Language) -> Vec<Button> {
    vec![Button {
        label: words(lang).resolve.to_string(),
        data: format!("resolve:{alert_id}"),
    }]
}

// ---------------------------------------------------------------------------------------------
// Notices

fn channel_name(channel: &str, w: &Words) -> String {
    match channel {
        "telegram" => "Telegram".to_string(),
        "email" => w.mail.to_string(),
        "webhook" => "Webhook".to_string(),
        other => other.to_string(),
    }
}

/// A channel was down: "⚠️ Telegram: не было связи с 12:01 до 12:05 (4 мин). Задержанные
/// сообщения (7) идут ниже." `held`: the messages that waited (the sentence is left out at 0).
/// `channel` may be a [`super::Channel`] name (`telegram`, `email`) or a name to show.
pub fn down_notice(
    channel: &str,
    from: Millis,
    to: Millis,
    held: u64,
    lang: Language,
    tz: Tz,
) -> Outgoing {
    down_notice_at(channel, from, to, held, lang, tz, now_ms())
}

fn down_notice_at(
    channel: &str,
    from: Millis,
    to: Millis,
    held: u64,
    lang: Language,
    tz: Tz,
    now: Millis,
) -> Outgoing {
    let w = words(lang);
    let name = channel_name(channel, &w);
    // Under a minute reads in seconds, not "0 min".
    let dur = if to - from < MINUTE {
        format!("{} {}", ((to - from) / 1000).max(1), w.seconds)
    } else {
        duration(minutes_between(from, to), &w)
    };
    let (from_s, to_s) = (stamp(from, now, tz, lang), stamp(to, now, tz, lang));
    let sentence = |channel: &str| {
        fill(
            if from_s == to_s { w.down_at } else { w.down },
            &[
                ("channel", channel),
                ("from", &from_s),
                ("to", &to_s),
                ("dur", &dur),
            ],
        )
    };
    let mut text = format!("⚠️ {}", sentence(&name));
    let mut html = format!("⚠️ {}", sentence(&format!("<b>{}</b>", esc(&name))));
    if held > 0 {
        let more = fill(w.held, &[("n", &held.to_string())]);
        text = format!("{text}\n{more}");
        html = format!("{html}\n{more}");
    }
    Outgoing {
        subject: format!(
            "Otklik: {}",
            fill(w.down_subject, &[("channel", &name), ("dur", &dur)])
        ),
        text,
        html: Some(html),
        attachments: Vec::new(),
        buttons: Vec::new(),
    }
}

/// A device or channel problem: "⚠️ Камера окна 2 не работает с 09:14: <error>", or with
/// `down` false its recovery: "✅ Камера окна 2 снова работает (сбой был с 09:14)". `what` is
/// shown as given (in the installation's language).
pub fn health_notice(
    what: &str,
    down: bool,
    since: Millis,
    error: Option<&str>,
    lang: Language,
    tz: Tz,
) -> Outgoing {
    health_notice_at(what, down, since, error, lang, tz, now_ms())
}

fn health_notice_at(
    what: &str,
    down: bool,
    since: Millis,
    error: Option<&str>,
    lang: Language,
    tz: Tz,
    now: Millis,
) -> Outgoing {
    let w = words(lang);
    let since = stamp(since, now, tz, lang);
    let (template, mark) = if down {
        (w.health_down, "⚠️")
    } else {
        (w.health_up, "✅")
    };
    let sentence = |what: &str| fill(template, &[("what", what), ("since", &since)]);
    let mut text = format!("{mark} {}", sentence(what));
    let mut html = format!("{mark} {}", sentence(&format!("<b>{}</b>", esc(what))));
    if let Some(e) = error.map(str::trim).filter(|e| down && !e.is_empty()) {
        let e = cut(e, 300);
        text = format!("{text}:\n{e}");
        html = format!("{html}:\n<code>{}</code>", esc(&e));
    }
    Outgoing {
        subject: format!("Otklik: {}", sentence(what)),
        text,
        html: Some(html),
        attachments: Vec::new(),
        buttons: Vec::new(),
    }
}

/// A test message asked for on the console.
pub fn test_message(clinic: &str, lang: Language) -> Outgoing {
    let w = words(lang);
    let mut b = Body::new();
    b.line(&format!("✅ {}", w.test), &format!("✅ <b>{}</b>", w.test));
    if !clinic.trim().is_empty() {
        b.line(
            &format!("{}: {clinic}", w.clinic),
            &format!("{}: {}", w.clinic, esc(clinic)),
        );
    }
    Outgoing {
        subject: format!("Otklik: {}", w.test_subject),
        text: b.text,
        html: Some(b.html),
        attachments: Vec::new(),
        buttons: Vec::new(),
    }
}

/// The answer to a pairing code (HTML).
pub fn paired(clinic: &str, chat_title: &str, lang: Language) -> String {
    let w = words(lang);
    let quoted = |s: &str| match lang {
        Language::En => format!("“<b>{}</b>”", esc(s)),
        Language::Ru | Language::Es => format!("«<b>{}</b>»", esc(s)),
    };
    format!(
        "✅ {}\n{}",
        fill(
            if clinic.trim().is_empty() {
                w.paired_plain
            } else {
                w.paired
            },
            &[("chat", &quoted(chat_title)), ("clinic", &quoted(clinic))]
        ),
        w.paired_more
    )
}

// ---------------------------------------------------------------------------------------------
// Reports

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
fn report_title(from: Millis, to: Millis, lang: Language, tz: Tz) -> String {
    let w = words(lang);
    let (start, end) = (local(from, tz), local(to, tz));
    let last = local((to - 1).max(from), tz);
    let midnight = |t: &DateTime<Tz>| t.hour() == 0 && t.minute() == 0;
    if start.date_naive() == last.date_naive() {
        let day = date(&start, lang);
        let ends_at_midnight = midnight(&end) && end.date_naive() != start.date_naive();
        if midnight(&start) && ends_at_midnight {
            fill(w.report_day, &[("date", &day)])
        } else if midnight(&start) && to - from > 12 * HOUR {
            fill(w.report_day_until, &[("date", &day), ("to", &clock(&end))])
        } else {
            let to_s = if ends_at_midnight {
                "24:00".to_string()
            } else {
                clock(&end)
            };
            fill(
                w.report_range,
                &[("from", &clock(&start)), ("to", &to_s), ("date", &day)],
            )
        }
    } else if midnight(&start) && midnight(&end) {
        fill(
            w.report_days,
            &[("from", &date(&start, lang)), ("to", &date(&last, lang))],
        )
    } else {
        fill(
            w.report_days,
            &[
                ("from", &date_clock(&start, &start, lang)),
                ("to", &date_clock(&end, &start, lang)),
            ],
        )
    }
}

fn group_name(g: &Group, w: &Words) -> String {
    if g.name.trim().is_empty() {
        w.nobody_short.to_string()
    } else {
        g.name.clone()
    }
}

/// The per-registrar table, aligned for a monospace font: name, total, per level (1…n), the
/// share of satisfied.
fn registrar_table(groups: &[&Group], levels: usize, w: &Words) -> String {
    let names: Vec<String> = groups
        .iter()
        .map(|g| cut(&group_name(g, w), NAME_WIDTH))
        .collect();
    let name_w = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let count_w = groups
        .iter()
        .map(|g| g.figures.count.to_string().len())
        .chain([w.total_col.chars().count()])
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
    let mut header = format!("{}  {}", " ".repeat(name_w), pad(w.total_col, count_w));
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
fn negative_line(
    n: &Negative,
    levels: u8,
    same_day: bool,
    lang: Language,
    tz: Tz,
    w: &Words,
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
        marks.push(w.photo);
    }
    if n.has_voice {
        marks.push(w.voice_mark);
    }
    let mut id = format!("#{}", n.rating_id);
    if !marks.is_empty() {
        id = format!("{id} ({})", marks.join(", "));
    }
    let e = emoji(n.score, levels);
    let (who, who_html) = match &n.registrar {
        Some(name) => (name.clone(), esc(name)),
        None => (w.nobody.to_string(), format!("<i>{}</i>", w.nobody)),
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

struct ReportParts<'a> {
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
        let w = words(lang);
        let mut b = Body::new();
        b.line(&self.title, &format!("<b>{}</b>", esc(&self.title)));
        if !self.clinic.trim().is_empty() {
            b.line(self.clinic, &esc(self.clinic));
        }
        b.blank();
        let t = &r.totals;
        if t.count == 0 {
            b.line(&format!("{}.", w.no_ratings), &format!("{}.", w.no_ratings));
            if t.flagged > 0 {
                let s = format!("{}: {}", w.flagged, t.flagged);
                b.line(&s, &s);
            }
            return b;
        }
        b.line(
            &format!("{}: {}", w.ratings, t.count),
            &format!("{}: <b>{}</b>", w.ratings, t.count),
        );
        let counts = level_counts(&t.levels, lang);
        b.line(&counts, &esc(&counts));
        let vs = change(
            t.satisfaction,
            r.previous.satisfaction,
            t.count,
            r.previous.count,
        )
        .map(|d| format!(" ({d} {})", w.vs_previous))
        .unwrap_or_default();
        b.line(
            &format!("{}: {}{vs}", w.satisfied, pct(t.satisfaction)),
            &format!("{}: <b>{}</b>{vs}", w.satisfied, pct(t.satisfaction)),
        );
        let net_vs = change(t.net, r.previous.net, t.count, r.previous.count)
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let net = format!(
            "{}: {}{net_vs}",
            w.net,
            signed((t.net * 100.0).round() as i64)
        );
        b.line(&net, &net);
        if t.flagged > 0 {
            let s = format!("{}: {}", w.flagged, t.flagged);
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
            let table = registrar_table(&shown, usize::from(r.scale), &w);
            b.blank();
            b.line(w.by_registrar, &format!("<b>{}</b>", w.by_registrar));
            b.line(&table, &format!("<pre>{}</pre>", esc(&table)));
            if shown.len() < all.len() {
                let note = fill(
                    w.shown_top,
                    &[
                        ("n", &shown.len().to_string()),
                        ("m", &all.len().to_string()),
                    ],
                );
                b.line(&note, &format!("<i>{note}</i>"));
            }
        }

        b.blank();
        if self.negatives.is_empty() {
            b.line(w.no_negatives, w.no_negatives);
        } else {
            let head = format!("{} ({})", w.negatives, self.negatives.len());
            b.line(&head, &format!("<b>{head}</b>"));
            let shown = negatives.min(self.negatives.len());
            for n in &self.negatives[..shown] {
                let (text, html) = negative_line(n, r.scale, self.same_day, lang, self.tz, &w);
                b.line(&text, &html);
            }
            if shown < self.negatives.len() {
                let more = fill(
                    w.more,
                    &[("n", &(self.negatives.len() - shown).to_string())],
                );
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

/// The chart of a report as a PNG of [`CHART_SIZE`]: per registrar a horizontal bar of their
/// ratings stacked by level (red to green, as on the screens), the level words in a legend on
/// the right, the most rated [`CHART_ROWS`] when there are more; with no ratings, a picture
/// that says so. Drawn with the embedded font, so Cyrillic needs no fontconfig.
pub fn report_chart(r: &Report, title: &str, lang: Language) -> Result<Vec<u8>, String> {
    let (width, height) = CHART_SIZE;
    register_chart_font()?;
    let w = words(lang);
    let levels = usize::from(r.scale).max(1);
    let names = level_names(lang, r.scale);
    let mut rows: Vec<&Group> = r
        .registrars
        .iter()
        .filter(|g| g.figures.count > 0)
        .collect();
    let all_rows = rows.len();
    if rows.len() > CHART_ROWS {
        rows.sort_by_key(|g| std::cmp::Reverse(g.figures.count));
        rows.truncate(CHART_ROWS);
    }

    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    {
        let bitmap = BitMapBackend::with_buffer(&mut buffer, (width, height));
        let font = ab_glyph::FontRef::try_from_slice(FONT).map_err(|e| e.to_string())?;
        let root = Canvas { bitmap, font }.into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let size = 18.0;
        let sized = |scale: f64| ("sans-serif", size * scale).into_font();
        let body = root
            .margin(12, 4, 12, 12)
            .titled(&cut(title, 70), sized(1.4))
            .map_err(err)?;
        let (body_w, body_h) = body.dim_in_pixel();
        if rows.is_empty() {
            let style = TextStyle::from(sized(1.3))
                .color(&MUTED)
                .pos(Pos::new(HPos::Center, VPos::Center));
            let centre = (body_w as i32 / 2, body_h as i32 / 2);
            body.draw(&Text::new(w.no_ratings.to_string(), centre, style))
                .map_err(err)?;
            root.present().map_err(err)?;
        } else {
            let legend_w = names
                .iter()
                .filter_map(|n| {
                    body.estimate_text_size(n, &TextStyle::from(sized(1.0)))
                        .ok()
                })
                .map(|(x, _)| x)
                .max()
                .unwrap_or(100)
                + 56;
            let (plot, legend) = body.split_horizontally(body_w.saturating_sub(legend_w) as i32);
            let labels: Vec<String> = rows.iter().map(|g| cut(&group_name(g, &w), 22)).collect();
            let label_w = labels
                .iter()
                .filter_map(|n| {
                    body.estimate_text_size(n, &TextStyle::from(sized(1.0)))
                        .ok()
                })
                .map(|(x, _)| x)
                .max()
                .unwrap_or(100);
            let n = rows.len();
            let max = rows
                .iter()
                .map(|g| g.figures.count)
                .max()
                .unwrap_or(1)
                .max(1);
            let x_high = max + max / 8 + 1;
            let mut chart = ChartBuilder::on(&plot)
                .margin(8)
                .x_label_area_size((size * 2.8) as u32)
                .y_label_area_size(label_w + 14)
                .build_cartesian_2d(0..x_high, (0..n - 1).into_segmented())
                .map_err(err)?;
            // Row 0 is drawn at the bottom; the first registrar goes on top.
            let row_of = |k: usize| n - 1 - k;
            let label = |v: &SegmentValue<usize>| match v {
                SegmentValue::CenterOf(i) if *i < n => labels[row_of(*i)].clone(),
                _ => String::new(),
            };
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n)
                .y_label_formatter(&label)
                .x_labels(8)
                .x_label_formatter(&|v| v.to_string())
                .x_desc(w.ratings)
                .label_style(sized(1.0))
                .axis_desc_style(sized(0.9))
                .bold_line_style(RGBColor(225, 225, 225))
                .light_line_style(TRANSPARENT)
                .draw()
                .map_err(err)?;
            let bar_px = (f64::from(body_h) - size * 4.0) / n as f64;
            let gap = (bar_px * 0.18).clamp(1.0, 20.0) as u32;
            for (k, g) in rows.iter().enumerate() {
                let i = row_of(k);
                let top = if i + 1 < n {
                    SegmentValue::Exact(i + 1)
                } else {
                    SegmentValue::Last
                };
                let mut start = 0u64;
                for (l, &c) in g.figures.levels.iter().enumerate().take(levels) {
                    if c == 0 {
                        continue;
                    }
                    let mut bar = Rectangle::new(
                        [(start, SegmentValue::Exact(i)), (start + c, top.clone())],
                        level_colour(l, levels).filled(),
                    );
                    bar.set_margin(gap, gap, 0, 0);
                    chart.draw_series([bar]).map_err(err)?;
                    start += c;
                }
                let style = TextStyle::from(sized(0.95)).pos(Pos::new(HPos::Left, VPos::Center));
                let at = (start, SegmentValue::CenterOf(i));
                chart
                    .draw_series([EmptyElement::at(at)
                        + Text::new(g.figures.count.to_string(), (6, 0), style)])
                    .map_err(err)?;
            }
            // The legend: the best level on top, as the bars read left to right worst first.
            let left = 12;
            let mut y = 24;
            for (l, name) in names.iter().enumerate().rev() {
                legend
                    .draw(&Rectangle::new(
                        [(left, y - 9), (left + 20, y + 9)],
                        level_colour(l, levels).filled(),
                    ))
                    .map_err(err)?;
                let style = TextStyle::from(sized(1.0)).pos(Pos::new(HPos::Left, VPos::Center));
                legend
                    .draw(&Text::new(name.clone(), (left + 30, y), style))
                    .map_err(err)?;
                y += 30;
            }
            if rows.len() < all_rows {
                let note = fill(
                    w.chart_shown,
                    &[("n", &rows.len().to_string()), ("m", &all_rows.to_string())],
                );
                // Bottom right, under the legend, where the axis leaves room.
                let style = TextStyle::from(sized(0.85))
                    .color(&MUTED)
                    .pos(Pos::new(HPos::Right, VPos::Bottom));
                let corner = (body_w as i32 - 4, body_h as i32 - 4);
                body.draw(&Text::new(note, corner, style)).map_err(err)?;
            }
            root.present().map_err(err)?;
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&buffer)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The bot's answers

fn entry_line(e: &Entry, w: &Words) -> String {
    let place = match e.rank {
        Some(1) => "🥇".to_string(),
        Some(2) => "🥈".to_string(),
        Some(3) => "🥉".to_string(),
        Some(r) => format!("{r}."),
        None => "·".to_string(),
    };
    let name = if e.name.trim().is_empty() {
        w.nobody_short
    } else {
        e.name.as_str()
    };
    format!(
        "{place} <b>{}</b> — {} {} · {}: {}",
        esc(name),
        w.satisfied.to_lowercase(),
        pct(e.satisfaction),
        w.ratings.to_lowercase(),
        e.count
    )
}

/// The leaderboard in a chat (HTML): `title` (e.g. "Сегодня"), the totals, the ranked
/// registrars with satisfaction and count, then those with too few ratings. `top_only` (/top):
/// the first three and how many are ranked.
pub fn leaderboard_text(
    board: &Leaderboard,
    title: &str,
    top_only: bool,
    lang: Language,
) -> String {
    let w = words(lang);
    let mut out = format!("🏆 <b>{}</b>", esc(title));
    let t = &board.totals;
    if t.count == 0 && board.entries.iter().all(|e| e.count == 0) {
        out.push_str(&format!("\n{}.", w.no_ratings));
        return out;
    }
    out.push_str(&format!(
        "\n{}: <b>{}</b> · {} {}",
        w.total_ratings,
        t.count,
        w.satisfied.to_lowercase(),
        pct(t.satisfaction)
    ));
    if t.unassigned > 0 {
        out.push_str(&format!(
            " · {}: {}",
            w.unassigned.to_lowercase(),
            t.unassigned
        ));
    }
    out.push('\n');
    let ranked: Vec<&Entry> = board.entries.iter().filter(|e| e.rank.is_some()).collect();
    let unranked: Vec<&Entry> = board
        .entries
        .iter()
        .filter(|e| e.rank.is_none() && e.count > 0)
        .collect();
    let not_ranked = fill(w.not_ranked, &[("min", &board.min_ratings.to_string())]);
    let limit = if top_only { 3 } else { BOARD_ROWS };
    for e in ranked.iter().take(limit) {
        out.push('\n');
        out.push_str(&entry_line(e, &w));
    }
    if top_only {
        out.push_str(&format!(
            "\n\n{}",
            fill(w.ranked_count, &[("n", &ranked.len().to_string())])
        ));
        if ranked.is_empty() && !unranked.is_empty() {
            out.push_str(&format!("\n{not_ranked}: {}", unranked.len()));
        }
        return out;
    }
    if ranked.len() > limit {
        out.push('\n');
        out.push_str(&fill(w.more, &[("n", &(ranked.len() - limit).to_string())]));
    }
    if !unranked.is_empty() {
        let names: Vec<String> = unranked
            .iter()
            .take(15)
            .map(|e| format!("{} ({})", esc(&e.name), e.count))
            .collect();
        out.push_str(&format!("\n\n<i>{not_ranked}</i>: {}", names.join(", ")));
        if unranked.len() > 15 {
            out.push_str(&format!(
                " {}",
                fill(w.more, &[("n", &(unranked.len() - 15).to_string())])
            ));
        }
    }
    out
}

/// /desk N (HTML): who is at the desk now and the desk's ratings today.
pub fn desk_text(desk: &str, registrar: Option<&str>, today: &Figures, lang: Language) -> String {
    let w = words(lang);
    let mut out = format!("<b>{}</b>", esc(&desk_label(desk, &w)));
    match registrar {
        Some(name) => out.push_str(&format!("\n{}: <b>{}</b>", w.now_at, esc(name))),
        None => out.push_str(&format!("\n{}: <i>{}</i>", w.now_at, w.nobody_at_desk)),
    }
    if today.count == 0 {
        out.push('\n');
        out.push_str(w.no_ratings_today);
    } else {
        out.push_str(&format!(
            "\n{}\n{}\n{}: <b>{}</b>",
            fill(w.today_count, &[("n", &format!("<b>{}</b>", today.count))]),
            esc(&level_counts(&today.levels, lang)),
            w.satisfied,
            pct(today.satisfaction)
        ));
    }
    if today.flagged > 0 {
        out.push_str(&format!("\n{}: {}", w.flagged, today.flagged));
    }
    out
}

/// The bot's commands (HTML).
pub fn help_text(lang: Language) -> String {
    let w = words(lang);
    let mut out = format!("<b>{}</b>", w.help_title);
    for line in w.help_lines {
        out.push('\n');
        out.push_str(&esc(line));
    }
    out
}

/// How an alert stands, in a report's list of low ratings: nobody has it yet, or the state line.
pub fn alert_summary(s: Option<&AlertState>, lang: Language, tz: Tz) -> String {
    match s {
        Some(s) => alert_state_line(s, lang, tz),
        None => match lang {
            Language::Ru => "⏳ никто не взял",
            Language::En => "⏳ nobody took it",
            Language::Es => "⏳ nadie se encargó",
        }
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_store::leaderboard::Totals;

    const LANGS: [Language; 3] = [Language::Ru, Language::En, Language::Es];

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn ms(s: &str) -> Millis {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn facts(registrar: Option<&str>) -> AlertFacts {
        AlertFacts {
            alert_id: 5,
            rating_id: 12,
            clinic: "Поликлиника №1".into(),
            desk: "Окно 2".into(),
            registrar: registrar.map(str::to_string),
            at: ms("2026-11-23T14:05:00+03:00"),
            score: 1,
            levels: 3,
            link: Some("http://192.168.1.10:8787/#/rating/12?a=1&b=2".into()),
        }
    }

    fn figures(levels: &[u64], flagged: u64) -> Figures {
        let count: u64 = levels.iter().sum();
        let (top, bottom) = (*levels.last().unwrap() as f64, levels[0] as f64);
        let c = count.max(1) as f64;
        Figures {
            count,
            levels: levels.to_vec(),
            satisfaction: if count == 0 { 0.0 } else { top / c },
            net: if count == 0 { 0.0 } else { (top - bottom) / c },
            flagged,
            annulled: 0,
        }
    }

    fn group(id: i64, name: &str, now: &[u64], before: &[u64]) -> Group {
        Group {
            id,
            name: name.into(),
            figures: figures(now, 0),
            previous: figures(before, 0),
        }
    }

    /// An hour at a Moscow clinic, six registrars, 3-level scale.
    fn hourly() -> Report {
        let registrars = vec![
            group(1, "Иванова М.", &[1, 2, 14], &[0, 3, 10]),
            group(2, "Петров С.", &[0, 3, 9], &[1, 2, 8]),
            group(3, "Сидорова А.", &[2, 4, 11], &[1, 1, 12]),
            group(4, "Кузнецова Е.", &[0, 1, 6], &[0, 2, 5]),
            group(5, "Смирнов Д.", &[3, 5, 7], &[2, 3, 9]),
            group(6, "Волкова О.", &[1, 0, 4], &[0, 1, 3]),
        ];
        // As `figures::report` orders them: the most satisfied first.
        let mut registrars = registrars;
        registrars.sort_by(|a, b| {
            b.figures
                .satisfaction
                .total_cmp(&a.figures.satisfaction)
                .then(b.figures.count.cmp(&a.figures.count))
        });
        let mut totals = vec![0; 3];
        let mut prev = vec![0; 3];
        for g in &registrars {
            for (t, c) in totals.iter_mut().zip(&g.figures.levels) {
                *t += c;
            }
            for (t, c) in prev.iter_mut().zip(&g.previous.levels) {
                *t += c;
            }
        }
        Report {
            from: "2026-11-23T10:00:00Z".into(),
            to: "2026-11-23T11:00:00Z".into(),
            previous_from: "2026-11-23T09:00:00Z".into(),
            previous_to: "2026-11-23T10:00:00Z".into(),
            timezone: "Europe/Moscow".into(),
            scale: 3,
            registrar_id: None,
            desk_id: None,
            totals: figures(&totals, 2),
            previous: figures(&prev, 0),
            registrars,
            desks: Vec::new(),
            hours: Vec::new(),
            days: Vec::new(),
            alerts: Default::default(),
        }
    }

    fn negative(i: i64) -> Negative {
        Negative {
            rating_id: 100 + i,
            at: ms("2026-11-23T13:10:00+03:00") + i * MINUTE,
            desk: "Окно 3".into(),
            registrar: Some("Смирнов Д.".into()),
            score: 1,
            has_photo: i % 2 == 0,
            has_voice: true,
            link: Some(format!("http://192.168.1.10:8787/#/rating/{}", 100 + i)),
            alert: (i == 0).then(|| "решено: Анна, долго ждал(а) талон".to_string()),
        }
    }

    fn board() -> Leaderboard {
        let entry = |id: i64, name: &str, levels: &[u64], rank: Option<u32>| Entry {
            registrar_id: id,
            name: name.into(),
            count: levels.iter().sum(),
            levels: levels.to_vec(),
            satisfaction: *levels.last().unwrap() as f64 / levels.iter().sum::<u64>() as f64,
            score: 0.5,
            rank,
            flagged: 0,
        };
        Leaderboard {
            period: None,
            from: String::new(),
            to: String::new(),
            scale: 3,
            min_ratings: 5,
            entries: vec![
                entry(1, "Иванова М.", &[1, 2, 17], Some(1)),
                entry(2, "<b>&", &[2, 3, 10], Some(2)),
                entry(3, "Петров С.", &[3, 3, 8], Some(3)),
                entry(4, "Сидорова А.", &[4, 3, 6], Some(4)),
                entry(5, "Новикова Т.", &[0, 0, 2], None),
            ],
            totals: Totals {
                count: 70,
                levels: vec![10, 11, 43],
                satisfaction: 43.0 / 70.0,
                unassigned: 3,
                flagged: 1,
            },
        }
    }

    /// Every message and string of the module in one language, for the blanket checks.
    fn everything(lang: Language) -> Vec<String> {
        let moscow = tz("Europe/Moscow");
        let f = facts(Some("Иванова М."));
        let now = f.at + 2 * MINUTE;
        let dir = std::env::temp_dir().join(format!("otklik-digest-{}", std::process::id()));
        let chart = dir.join(format!("all-{lang:?}.png"));
        let msgs = [
            alert_at(&f, lang, moscow, now),
            alert_at(&facts(None), lang, moscow, now),
            voice_at(&f, lang, moscow, now),
            escalation_at(&f, 15, lang, moscow, now),
            down_notice_at("telegram", f.at, f.at + 4 * MINUTE, 7, lang, moscow, now),
            health_notice_at(
                "Камера окна 2",
                true,
                f.at,
                Some("timeout"),
                lang,
                moscow,
                now,
            ),
            health_notice_at("Камера окна 2", false, f.at, None, lang, moscow, now),
            test_message("Поликлиника №1", lang),
            report(
                &hourly(),
                &[negative(0), negative(1)],
                "Поликлиника №1",
                ms("2026-11-23T13:00:00+03:00"),
                ms("2026-11-23T14:00:00+03:00"),
                lang,
                moscow,
                &chart,
            )
            .unwrap(),
        ];
        let mut all = Vec::new();
        for m in msgs {
            all.push(m.subject);
            all.push(m.text);
            all.push(m.html.unwrap());
            all.extend(m.buttons.into_iter().map(|b| b.label));
        }
        all.push(alert_state_line_at(
            &AlertState::Taken {
                by: "Анна",
                at: now,
            },
            lang,
            moscow,
            now,
        ));
        all.push(alert_state_line_at(
            &AlertState::Resolved {
                by: "Анна",
                at: now,
                cause: "долго ждал(а) талон",
                minutes: 15,
            },
            lang,
            moscow,
            now,
        ));
        all.push(cause_prompt(12, lang));
        all.extend(buttons_taken(5, lang).into_iter().map(|b| b.label));
        all.push(paired("Поликлиника №1", "Регистратура", lang));
        all.push(leaderboard_text(&board(), "Сегодня", false, lang));
        all.push(leaderboard_text(&board(), "Сегодня", true, lang));
        all.push(desk_text(
            "2",
            Some("Иванова М."),
            &figures(&[1, 2, 5], 1),
            lang,
        ));
        all.push(desk_text("2", None, &figures(&[0, 0, 0], 0), lang));
        all.push(help_text(lang));
        let _ = std::fs::remove_dir_all(&dir);
        all
    }

    #[test]
    fn values_are_escaped_and_stay_literal() {
        assert_eq!(esc(r#"<b>&"x""#), "&lt;b&gt;&amp;&quot;x&quot;");
        let moscow = tz("Europe/Moscow");
        let mut f = facts(Some("<b>&"));
        f.desk = "Окно <2>".into();
        f.clinic = "A & B".into();
        let m = alert_at(&f, Language::Ru, moscow, f.at);
        let html = m.html.unwrap();
        assert!(html.contains("<b>&lt;b&gt;&amp;</b>"), "{html}");
        assert!(
            html.contains("Окно &lt;2&gt;") && html.contains("A &amp; B"),
            "{html}"
        );
        assert!(
            html.contains(r#"href="http://192.168.1.10:8787/#/rating/12?a=1&amp;b=2""#),
            "{html}"
        );
        assert!(m.text.contains("Регистратор: <b>&"), "{}", m.text);
        assert!(m.subject.contains("<b>&"));
        // Braces in a value are not placeholders.
        assert_eq!(fill("{a} {b}", &[("a", "{b}"), ("b", "x")]), "{b} x");
        let board = leaderboard_text(&board(), "<Сегодня>", false, Language::Ru);
        assert!(board.contains("<b>&lt;b&gt;&amp;</b>") && board.contains("&lt;Сегодня&gt;"));
        assert!(paired("A&B", "<chat>", Language::En).contains("“<b>&lt;chat&gt;</b>”"));
        let n = Negative {
            registrar: Some("<i>".into()),
            alert: Some("решено: <script>".into()),
            ..negative(0)
        };
        let (_, html) = negative_line(&n, 3, true, Language::Ru, moscow, &words(Language::Ru));
        assert!(
            html.contains("&lt;i&gt;") && html.contains("&lt;script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn every_language_says_everything_without_placeholders() {
        for lang in LANGS {
            let all = everything(lang);
            for s in &all {
                assert!(!s.trim().is_empty(), "{lang:?}: an empty text");
                assert!(
                    !s.contains('{') && !s.contains('}'),
                    "{lang:?}: a placeholder left in {s}"
                );
            }
        }
        // The fixed words go into HTML unescaped, so they must not need it.
        for lang in LANGS {
            let w = words(lang);
            let fixed = [
                w.nobody,
                w.nobody_short,
                w.nobody_at_desk,
                w.flagged,
                w.negatives,
                w.more,
                w.no_negatives,
                w.no_ratings,
                w.test,
                w.paired,
                w.paired_more,
                w.escalated,
                w.down,
                w.held,
                w.shown_top,
                w.not_ranked,
                w.help_title,
                w.by_registrar,
            ];
            for s in fixed.iter().chain(&w.help_lines) {
                assert!(!s.contains(['<', '>', '&']), "{s}");
            }
        }
        let ru = everything(Language::Ru).join("\n");
        for needle in [
            "Беру",
            "Решено",
            "Взял(а): Анна",
            "причина: долго ждал(а) талон",
            "(за 15 мин)",
        ] {
            assert!(ru.contains(needle), "{needle}");
        }
        let es = everything(Language::Es).join("\n");
        assert!(es.contains("Ventanilla 2") && es.contains("Me encargo"));
    }

    #[test]
    fn alerts_carry_the_facts_and_the_buttons() {
        let moscow = tz("Europe/Moscow");
        let f = facts(Some("Иванова М."));
        let m = alert_at(&f, Language::Ru, moscow, f.at + MINUTE);
        assert_eq!(m.subject, "Otklik: низкая оценка — Окно 2, Иванова М.");
        assert_eq!(m.text.lines().next().unwrap(), "🔴 Плохо (1 из 3) — Окно 2");
        assert!(m.text.contains("Время: 14:05") && m.text.contains("Клиника: Поликлиника №1"));
        let data: Vec<_> = m.buttons.iter().map(|b| b.data.as_str()).collect();
        assert_eq!(data, ["take:5", "resolve:5"]);
        let nobody = alert_at(&facts(None), Language::En, moscow, f.at);
        assert!(
            nobody
                .html
                .unwrap()
                .contains("Registrar: <i>nobody on shift</i>")
        );
        let desk_number = AlertFacts {
            desk: "2".into(),
            ..facts(None)
        };
        assert!(
            alert_at(&desk_number, Language::Es, moscow, f.at)
                .subject
                .contains("Ventanilla 2")
        );

        let e = escalation_at(&f, 15, Language::Ru, moscow, f.at + 15 * MINUTE);
        assert!(
            e.text.starts_with("⏰ Никто не взял за 15 мин"),
            "{}",
            e.text
        );
        assert!(e.subject.contains("никто не взял за 15 мин") && e.subject.contains("Окно 2"));
        assert_eq!(e.buttons, m.buttons);

        let v = voice_at(&f, Language::Ru, moscow, f.at);
        assert_eq!(
            v.text,
            "🎙 Голос пациента к оценке #12 · Окно 2 · Иванова М. · 14:05"
        );
        assert!(v.html.unwrap().contains(">#12</a>"));

        assert_eq!(
            cause_prompt(5, Language::Ru),
            "Напишите в ответ одной строкой причину (оповещение #5)"
        );
        let taken = buttons_taken(5, Language::En);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].data, "resolve:5");
        let at = f.at + 15 * MINUTE;
        let line = alert_state_line_at(
            &AlertState::Resolved {
                by: "Анна",
                at,
                cause: "долго ждал(а) талон",
                minutes: 15,
            },
            Language::Ru,
            moscow,
            at,
        );
        assert_eq!(
            line,
            "✅ Решено: Анна, 14:20 (за 15 мин) — причина: долго ждал(а) талон"
        );
    }

    #[test]
    fn notices_say_when_and_how_long() {
        let moscow = tz("Europe/Moscow");
        let from = ms("2026-11-23T12:01:00+03:00");
        let m = down_notice_at(
            "telegram",
            from,
            from + 4 * MINUTE,
            7,
            Language::Ru,
            moscow,
            from,
        );
        assert_eq!(
            m.text,
            "⚠️ Telegram: не было связи с 12:01 до 12:05 (4 мин).\nЗадержанные сообщения (7) идут ниже."
        );
        let m = down_notice_at(
            "email",
            from,
            from + 125 * MINUTE,
            0,
            Language::En,
            moscow,
            from,
        );
        assert_eq!(
            m.text,
            "⚠️ Email was unreachable from 12:01 to 14:06 (2 h 5 min)."
        );
        // Seconds away, within one minute on the clock.
        let short = ms("2026-11-23T18:37:10+03:00");
        for (lang, want) in [
            (
                Language::Ru,
                "⚠️ Telegram: не было связи в 18:37 (20 с).\nЗадержанные сообщения (1) идут ниже.",
            ),
            (
                Language::En,
                "⚠️ Telegram was unreachable at 18:37 (20 s).\nDelayed messages (1) follow below.",
            ),
            (
                Language::Es,
                "⚠️ Telegram no estuvo disponible a las 18:37 (20 s).\nLos mensajes retrasados (1) siguen a continuación.",
            ),
        ] {
            let m = down_notice_at("telegram", short, short + 20_000, 1, lang, moscow, short);
            assert_eq!(m.text, want);
        }
        // Seconds across a minute on the clock: from and to.
        let m = down_notice_at(
            "email",
            short + 40_000,
            short + 70_000,
            0,
            Language::En,
            moscow,
            short,
        );
        assert_eq!(
            m.text,
            "⚠️ Email was unreachable from 18:37 to 18:38 (30 s)."
        );
        let m = health_notice_at(
            "Камера окна 2",
            true,
            from,
            Some("connect <refused>"),
            Language::Ru,
            moscow,
            from + 86_400_000,
        );
        assert_eq!(
            m.text,
            "⚠️ Камера окна 2 не работает с 23.11 12:01:\nconnect <refused>"
        );
        assert!(
            m.html
                .unwrap()
                .ends_with("<code>connect &lt;refused&gt;</code>")
        );
        let ok = health_notice_at(
            "Камера окна 2",
            false,
            from,
            None,
            Language::Ru,
            moscow,
            from,
        );
        assert_eq!(
            ok.text,
            "✅ Камера окна 2 снова работает (сбой был с 12:01)"
        );
    }

    #[test]
    fn levels_map_to_red_yellow_green() {
        let row =
            |levels: u8| -> String { (1..=i64::from(levels)).map(|s| emoji(s, levels)).collect() };
        assert_eq!(row(3), "🔴🟡🟢");
        assert_eq!(row(4), "🔴🟡🟢🟢");
        assert_eq!(row(5), "🔴🔴🟡🟢🟢");
        assert_eq!(row(7), "🔴🔴🔴🟡🟢🟢🟢");
        // Out-of-range scores clamp to the ends.
        assert_eq!(emoji(0, 3), "🔴");
        assert_eq!(emoji(9, 5), "🟢");
        assert_eq!(level_name(Language::Ru, 2, 5), "Плохо");
        assert_eq!(level_name(Language::En, 7, 7), "Excellent");
        assert_eq!(level_name(Language::Es, 4, 7), "Normal");
        assert_eq!(level_name(Language::Ru, 2, 6), "2");
        // A yellow alert is not called low.
        let f = AlertFacts {
            score: 3,
            levels: 5,
            ..facts(Some("Иванова М."))
        };
        let m = alert_at(&f, Language::Ru, tz("UTC"), f.at);
        assert!(
            m.subject.starts_with("Otklik: оценка «Нормально»"),
            "{}",
            m.subject
        );
        assert!(m.text.starts_with("🟡 Нормально (3 из 5)"));
    }

    #[test]
    fn report_holds_the_totals_and_every_registrar() {
        let moscow = tz("Europe/Moscow");
        let dir = std::env::temp_dir().join(format!("otklik-digest-r-{}", std::process::id()));
        let path = dir.join("report.png");
        let r = hourly();
        let m = report(
            &r,
            &[negative(0), negative(1)],
            "Поликлиника №1",
            ms("2026-11-23T13:00:00+03:00"),
            ms("2026-11-23T14:00:00+03:00"),
            Language::Ru,
            moscow,
            &path,
        )
        .unwrap();
        assert_eq!(m.subject, "Otklik: отчёт за 13:00–14:00, 23.11");
        let text = &m.text;
        assert!(
            text.starts_with("Отчёт за 13:00–14:00, 23.11\nПоликлиника №1"),
            "{text}"
        );
        // 7 + 15 + 51 = 73; satisfied 51/73 = 70%, before 47/63 = 75%: −5.
        assert!(text.contains("Оценок: 73"), "{text}");
        assert!(
            text.contains("🔴 Плохо 7 · 🟡 Нормально 15 · 🟢 Отлично 51"),
            "{text}"
        );
        assert!(
            text.contains("Довольны: 70% (−5 к прошлому периоду)"),
            "{text}"
        );
        assert!(text.contains("Индекс: 60 (−8)"), "{text}");
        assert!(text.contains("Подозрительных (не в счёте): 2"), "{text}");
        assert!(text.contains("Всего  1  2  3    %"), "{text}");
        assert!(text.contains("Иванова М.       17  1  2 14  82%"), "{text}");
        assert!(text.contains("Смирнов Д.       15  3  5  7  47%"), "{text}");
        assert!(text.contains("Волкова О.        5  1  0  4  80%"), "{text}");
        assert!(text.contains("Низкие оценки (2)"));
        assert!(text.contains("🔴 13:10 · Окно 3 · Смирнов Д. · #100 (фото, голос) http://"));
        assert!(text.contains("— решено: Анна, долго ждал(а) талон"));
        let html = m.html.unwrap();
        assert!(html.contains("<pre>") && html.contains("Иванова М.       17  1  2 14  82%"));
        assert!(
            html.contains(r#"<a href="http://192.168.1.10:8787/#/rating/101">#101 (голос)</a>"#)
        );
        let a = &m.attachments[0];
        assert_eq!(
            (a.role, a.file_name.as_str(), a.mime.as_str()),
            (AttachmentRole::Chart, "otklik-report.png", "image/png")
        );
        assert_eq!(a.path, path);
        assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
        let _ = std::fs::remove_dir_all(&dir);

        // An empty period says so.
        let mut empty = hourly();
        empty.totals = figures(&[0, 0, 0], 0);
        empty.registrars.clear();
        let path = dir.join("empty.png");
        let m = report(
            &empty,
            &[],
            "",
            ms("2026-11-23T00:00:00+03:00"),
            ms("2026-11-24T00:00:00+03:00"),
            Language::En,
            moscow,
            &path,
        )
        .unwrap();
        assert_eq!(m.text, "Report for 23 Nov\n\nNo ratings in this period.");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn report_lists_at_most_twenty_low_ratings() {
        let moscow = tz("Europe/Moscow");
        let dir = std::env::temp_dir().join(format!("otklik-digest-c-{}", std::process::id()));
        let negatives: Vec<Negative> = (0..25).map(negative).collect();
        let m = report(
            &hourly(),
            &negatives,
            "Поликлиника №1",
            ms("2026-11-23T13:00:00+03:00"),
            ms("2026-11-23T14:00:00+03:00"),
            Language::Ru,
            moscow,
            &dir.join("r.png"),
        )
        .unwrap();
        let listed = m.text.lines().filter(|l| l.starts_with("🔴 13:")).count();
        assert_eq!(listed, 20, "{}", m.text);
        assert!(m.text.contains("Низкие оценки (25)") && m.text.ends_with("…и ещё 5"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn report_html_stays_within_a_telegram_message() {
        let moscow = tz("Europe/Moscow");
        let dir = std::env::temp_dir().join(format!("otklik-digest-h-{}", std::process::id()));
        let mut r = hourly();
        r.registrars = (0..80)
            .map(|i| {
                group(
                    i,
                    &format!("Константинопольская-Длинная {i}"),
                    &[i as u64 % 3, 2, 5 + i as u64],
                    &[0, 0, 0],
                )
            })
            .collect();
        let negatives: Vec<Negative> = (0..30).map(negative).collect();
        let m = report(
            &r,
            &negatives,
            "Поликлиника №1",
            ms("2026-11-23T08:00:00+03:00"),
            ms("2026-11-23T20:00:00+03:00"),
            Language::Ru,
            moscow,
            &dir.join("r.png"),
        )
        .unwrap();
        let html = m.html.unwrap();
        assert!(utf16_len(&html) <= HTML_MAX, "{}", utf16_len(&html));
        assert!(
            html.contains("Показаны ") && html.contains(" из 80 — с наибольшим числом оценок.")
        );
        // The most rated stay: registrar 79 has the most ratings.
        assert!(
            html.contains("Константинополь…     87  1  2 84  97%"),
            "{html}"
        );
        // The email keeps the whole table.
        assert_eq!(m.text.matches("Константинополь…").count(), 80);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn png_size(png: &[u8]) -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
        (be(&png[16..20]), be(&png[20..24]))
    }

    #[test]
    fn chart_is_a_png_of_the_right_size() {
        let png = report_chart(&hourly(), "Отчёт за 13:00–14:00, 23.11", Language::Ru).unwrap();
        assert_eq!(png_size(&png), CHART_SIZE);
        let mut empty = hourly();
        empty.registrars.clear();
        let png = report_chart(&empty, "Report", Language::En).unwrap();
        assert_eq!(png_size(&png), CHART_SIZE);
        // Many registrars on a 7-level scale.
        let mut many = hourly();
        many.scale = 7;
        many.registrars = (0..30)
            .map(|i| group(i, "", &[1, 0, 2, 3, 0, 4, i as u64], &[0; 7]))
            .collect();
        let png = report_chart(&many, "Informe", Language::Es).unwrap();
        assert_eq!(png_size(&png), CHART_SIZE);
    }

    #[test]
    fn times_are_local_and_dst_safe() {
        let madrid = tz("Europe/Madrid");
        let es = Language::Es;
        // Spring forward on 29 March 2026: 02:00 CET becomes 03:00 CEST.
        let before = ms("2026-03-29T00:30:00Z");
        let after = ms("2026-03-29T01:30:00Z");
        assert_eq!(stamp(before, after, madrid, es), "01:30");
        assert_eq!(stamp(after, after, madrid, es), "03:30");
        // Fall back on 25 October 2026: 02:30 happens twice.
        let first = ms("2026-10-25T00:30:00Z");
        let second = ms("2026-10-25T01:30:00Z");
        assert_eq!(stamp(first, second, madrid, es), "02:30");
        assert_eq!(stamp(second, second, madrid, es), "02:30");
        assert_eq!(
            stamp(first, ms("2026-10-26T10:00:00Z"), madrid, Language::En),
            "25 Oct 02:30"
        );
        assert_eq!(
            stamp(first, ms("2027-01-02T10:00:00Z"), madrid, es),
            "25.10.2026 02:30"
        );
        // A 23-hour and a 25-hour day are still whole days.
        let day = |d: &str, lang| {
            let span =
                otklik_domain::time::PeriodName::Today.span(madrid, ms(&format!("{d}T12:00:00Z")));
            report_title(span.from, span.to, lang, madrid)
        };
        assert_eq!(day("2026-03-29", es), "Informe del día 29.03");
        assert_eq!(day("2026-10-25", Language::Ru), "Отчёт за день 25.10");
        // An hour across the change: 01:00 CET to 03:00 CEST is one real hour.
        assert_eq!(
            report_title(
                ms("2026-03-29T00:00:00Z"),
                ms("2026-03-29T01:00:00Z"),
                Language::Ru,
                madrid
            ),
            "Отчёт за 01:00–03:00, 29.03"
        );
        // The last hours of a day end at 24:00; a day so far says until when; days.
        let moscow = tz("Europe/Moscow");
        assert_eq!(
            report_title(
                ms("2026-11-23T20:00:00+03:00"),
                ms("2026-11-24T00:00:00+03:00"),
                Language::En,
                moscow
            ),
            "Report 20:00–24:00, 23 Nov"
        );
        assert_eq!(
            report_title(
                ms("2026-11-23T00:00:00+03:00"),
                ms("2026-11-23T20:00:00+03:00"),
                Language::Ru,
                moscow
            ),
            "Отчёт за день 23.11 (до 20:00)"
        );
        assert_eq!(
            report_title(
                ms("2026-11-16T00:00:00+03:00"),
                ms("2026-11-23T00:00:00+03:00"),
                Language::Es,
                moscow
            ),
            "Informe del 16.11 al 22.11"
        );
    }

    #[test]
    fn bot_answers_show_the_board_and_the_desk() {
        let b = board();
        let full = leaderboard_text(&b, "Сегодня", false, Language::Ru);
        assert!(full.starts_with("🏆 <b>Сегодня</b>\nВсего оценок: <b>70</b> · довольны 61%"));
        assert!(full.contains("без регистратора: 3"));
        assert!(
            full.contains("🥇 <b>Иванова М.</b> — довольны 85% · оценок: 20"),
            "{full}"
        );
        assert!(
            full.contains("4. <b>Сидорова А.</b> — довольны 46% · оценок: 13"),
            "{full}"
        );
        assert!(full.contains("<i>Мало оценок для места (меньше 5)</i>: Новикова Т. (2)"));
        let top = leaderboard_text(&b, "Today", true, Language::En);
        assert!(top.contains("🥉 <b>Петров С.</b>") && !top.contains("Сидорова"));
        assert!(top.ends_with("Ranked: 4"), "{top}");
        let empty = Leaderboard {
            entries: Vec::new(),
            totals: Totals {
                count: 0,
                levels: vec![0; 3],
                satisfaction: 0.0,
                unassigned: 0,
                flagged: 0,
            },
            ..board()
        };
        assert_eq!(
            leaderboard_text(&empty, "Hoy", false, Language::Es),
            "🏆 <b>Hoy</b>\nNo hay valoraciones en este periodo."
        );

        let d = desk_text(
            "2",
            Some("Иванова М."),
            &figures(&[1, 2, 5], 0),
            Language::Ru,
        );
        assert_eq!(
            d,
            "<b>Окно 2</b>\nСейчас: <b>Иванова М.</b>\nОценок сегодня: <b>8</b>\n🔴 Плохо 1 · 🟡 Нормально 2 · 🟢 Отлично 5\nДовольны: <b>63%</b>"
        );
        let d = desk_text("Окно 3", None, &figures(&[0, 0, 0], 0), Language::En);
        assert_eq!(
            d,
            "<b>Окно 3</b>\nNow: <i>Nobody here</i>\nNo ratings today yet"
        );
        for lang in LANGS {
            let h = help_text(lang);
            for c in ["/today", "/week", "/top", "/desk 2", "/help"] {
                assert!(h.contains(c), "{lang:?} {c}");
            }
        }
    }

    /// Writes target/notify-samples/report-chart.png from a realistic hourly report (six
    /// registrars, Moscow), with the report's text and html and an alert's html beside it, for
    /// the README. `cargo test -p otklik-notify --lib
    /// notify::digest::tests::write_samples -- --ignored`
    #[test]
    #[ignore]
    fn write_samples() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/notify-samples");
        std::fs::create_dir_all(&dir).unwrap();
        let moscow = tz("Europe/Moscow");
        // The report writes its chart: "Отчёт за 13:00–14:00, 23.11 · Поликлиника №1".
        let m = report(
            &hourly(),
            &[negative(0), negative(1), negative(2)],
            "Поликлиника №1",
            ms("2026-11-23T13:00:00+03:00"),
            ms("2026-11-23T14:00:00+03:00"),
            Language::Ru,
            moscow,
            &dir.join("report-chart.png"),
        )
        .unwrap();
        std::fs::write(dir.join("report.txt"), &m.text).unwrap();
        std::fs::write(dir.join("report.html"), m.html.unwrap()).unwrap();
        let f = facts(Some("Иванова М."));
        let a = alert_at(&f, Language::Ru, moscow, f.at);
        std::fs::write(dir.join("alert.html"), a.html.unwrap()).unwrap();
    }
}
