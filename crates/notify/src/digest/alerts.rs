//! The alert about a low rating, its patient's voice, its escalation, and what became of it.

use chrono_tz::Tz;

use super::format::*;
use crate::message::{Button, Outgoing};
use otklik_domain::time::{Millis, now_ms};
use otklik_domain::words::{self, Catalog, Language, fill, level_name};

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

/// The lines every alert shows: level, desk, registrar, time, clinic, link.
pub(super) fn alert_lines(
    f: &AlertFacts,
    w: &Catalog,
    lang: Language,
    tz: Tz,
    now: Millis,
    b: &mut Body,
) {
    let desk = desk_label(&f.desk, w);
    let level = level_name(lang, f.score, f.levels);
    let of = fill(
        w.messages.score_of,
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
            &format!("{}: {name}", w.common.registrar),
            &format!("{}: <b>{}</b>", w.common.registrar, esc(name)),
        ),
        None => b.line(
            &format!("{}: {}", w.common.registrar, w.messages.nobody),
            &format!("{}: <i>{}</i>", w.common.registrar, w.messages.nobody),
        ),
    }
    let at = stamp(f.at, now, tz, lang);
    b.line(
        &format!("{}: {at}", w.common.time),
        &format!("{}: {at}", w.common.time),
    );
    if !f.clinic.trim().is_empty() {
        b.line(
            &format!("{}: {}", w.messages.clinic, f.clinic),
            &format!("{}: {}", w.messages.clinic, esc(&f.clinic)),
        );
    }
    let id = f.rating_id.to_string();
    match &f.link {
        Some(href) => {
            let label = fill(w.messages.open_rating, &[("id", &id)]);
            b.line(&format!("{label}: {href}"), &link(href, &label));
        }
        None => {
            let label = fill(w.messages.rating_no, &[("id", &id)]);
            b.line(&label, &label);
        }
    }
}

/// "низкая оценка — Окно 2, Иванова М."
pub(super) fn alert_subject(f: &AlertFacts, w: &Catalog, lang: Language) -> String {
    let what = if tone(f.score, f.levels) == Tone::Red {
        w.messages.low_rating.to_string()
    } else {
        fill(
            w.messages.rating_named,
            &[("level", &level_name(lang, f.score, f.levels))],
        )
    };
    let who = f.registrar.as_deref().unwrap_or(w.messages.nobody);
    format!("{what} — {}, {who}", desk_label(&f.desk, w))
}

pub(super) fn alert_buttons(alert_id: i64, w: &Catalog) -> Vec<Button> {
    vec![
        Button {
            label: w.messages.take.to_string(),
            data: format!("take:{alert_id}"),
        },
        Button {
            label: w.messages.resolve.to_string(),
            data: format!("resolve:{alert_id}"),
        },
    ]
}

/// The first alert message: the level (word, emoji, "1 из 3"), desk, registrar, time, clinic,
/// the link to the rating. Buttons: take ("take:{alert_id}"), resolve ("resolve:{alert_id}").
pub fn alert(f: &AlertFacts, lang: Language, tz: Tz) -> Outgoing {
    alert_at(f, lang, tz, now_ms())
}

pub(super) fn alert_at(f: &AlertFacts, lang: Language, tz: Tz, now: Millis) -> Outgoing {
    let w = words::of(lang);
    let mut b = Body::new();
    alert_lines(f, w, lang, tz, now, &mut b);
    Outgoing {
        subject: format!("Otklik: {}", alert_subject(f, w, lang)),
        text: b.text,
        html: Some(b.html),
        attachments: Vec::new(),
        buttons: alert_buttons(f.alert_id, w),
    }
}

/// The caption of the patient's voice sent after the alert ("🎙 Голос пациента к оценке #12 ·
/// Окно 2 · Иванова М. · 14:05"). The caller attaches the clip (role Voice).
pub fn voice(f: &AlertFacts, lang: Language, tz: Tz) -> Outgoing {
    voice_at(f, lang, tz, now_ms())
}

pub(super) fn voice_at(f: &AlertFacts, lang: Language, tz: Tz, now: Millis) -> Outgoing {
    let w = words::of(lang);
    let id = format!("#{}", f.rating_id);
    let id_html = match &f.link {
        Some(href) => link(href, &id),
        None => id.clone(),
    };
    let mut tail = vec![desk_label(&f.desk, w)];
    tail.extend(f.registrar.clone());
    tail.push(stamp(f.at, now, tz, lang));
    let tail_html: Vec<String> = tail.iter().map(|s| esc(s)).collect();
    Outgoing {
        subject: format!(
            "Otklik: {}",
            fill(
                w.messages.voice_subject,
                &[("id", &f.rating_id.to_string())]
            )
        ),
        text: format!(
            "🎙 {} · {}",
            fill(w.messages.voice, &[("id", &id)]),
            tail.join(" · ")
        ),
        html: Some(format!(
            "🎙 {} · {}",
            fill(w.messages.voice, &[("id", &id_html)]),
            tail_html.join(" · ")
        )),
        attachments: Vec::new(),
        buttons: Vec::new(),
    }
}

/// The reason the patient picked after the alert went out ("💬 Причина по оценке #12: Очередь ·
/// Окно 2 · Иванова М. · 14:05").
pub fn reason(f: &AlertFacts, label: &str, lang: Language, tz: Tz) -> Outgoing {
    let w = words::of(lang);
    let id = format!("#{}", f.rating_id);
    let id_html = match &f.link {
        Some(href) => link(href, &id),
        None => id.clone(),
    };
    let mut tail = vec![desk_label(&f.desk, w)];
    tail.extend(f.registrar.clone());
    tail.push(stamp(f.at, now_ms(), tz, lang));
    let tail_html: Vec<String> = tail.iter().map(|s| esc(s)).collect();
    Outgoing {
        subject: format!(
            "Otklik: {}",
            fill(
                w.messages.reason_subject,
                &[("id", &f.rating_id.to_string()), ("reason", label)]
            )
        ),
        text: format!(
            "💬 {} · {}",
            fill(w.messages.reason, &[("id", &id), ("reason", label)]),
            tail.join(" · ")
        ),
        html: Some(format!(
            "💬 {} · {}",
            fill(
                w.messages.reason,
                &[
                    ("id", &id_html),
                    ("reason", &format!("<b>{}</b>", esc(label)))
                ]
            ),
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

pub(super) fn escalation_at(
    f: &AlertFacts,
    minutes: i64,
    lang: Language,
    tz: Tz,
    now: Millis,
) -> Outgoing {
    let w = words::of(lang);
    let dur = duration(minutes, w);
    let head = fill(w.messages.escalated, &[("dur", &dur)]);
    let mut b = Body::new();
    b.line(&format!("⏰ {head}"), &format!("⏰ <b>{head}</b>"));
    b.blank();
    alert_lines(f, w, lang, tz, now, &mut b);
    Outgoing {
        subject: format!(
            "Otklik: {} — {}",
            fill(w.messages.escalated_subject, &[("dur", &dur)]),
            alert_subject(f, w, lang)
        ),
        text: b.text,
        html: Some(b.html),
        attachments: Vec::new(),
        buttons: alert_buttons(f.alert_id, w),
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

pub(super) fn alert_state_line_at(s: &AlertState, lang: Language, tz: Tz, now: Millis) -> String {
    let w = words::of(lang);
    match *s {
        AlertState::Taken { by, at } => fill(
            w.messages.taken,
            &[("by", by), ("at", &stamp(at, now, tz, lang))],
        ),
        AlertState::Resolved {
            by,
            at,
            cause,
            minutes,
        } => {
            let mut line = fill(
                w.messages.resolved,
                &[
                    ("by", by),
                    ("at", &stamp(at, now, tz, lang)),
                    ("dur", &duration(minutes, w)),
                ],
            );
            let cause = cause.trim();
            if !cause.is_empty() {
                line.push_str(" — ");
                line.push_str(&fill(w.messages.cause, &[("cause", cause)]));
            }
            line
        }
    }
}

/// The ForceReply prompt after "resolve", sent as a reply to the alert: "Напишите в ответ
/// одной строкой причину (оповещение #5)". Plain text. The number is the alert's, so it is
/// called an alert, not a rating (whose own number the alert shows).
pub fn cause_prompt(alert_id: i64, lang: Language) -> String {
    fill(
        words::of(lang).messages.cause_prompt,
        &[("id", &alert_id.to_string())],
    )
}

/// The buttons left after "take": only resolve.
pub fn buttons_taken(alert_id: i64, lang: Language) -> Vec<Button> {
    vec![Button {
        label: words::of(lang).messages.resolve.to_string(),
        data: format!("resolve:{alert_id}"),
    }]
}

/// How an alert stands, in a report's list of low ratings: nobody has it yet, or the state line.
pub fn alert_summary(s: Option<&AlertState>, lang: Language, tz: Tz) -> String {
    match s {
        Some(s) => alert_state_line(s, lang, tz),
        None => words::of(lang).messages.nobody_took.to_string(),
    }
}
