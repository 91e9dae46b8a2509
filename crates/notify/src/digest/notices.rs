//! Notices about Otklik itself: a channel that was down, a device or channel problem and its
//! recovery, the test message, the answer to a pairing code.

use chrono_tz::Tz;

use super::format::*;
use crate::message::Outgoing;
use otklik_domain::time::{Millis, now_ms};
use otklik_domain::words::{self, Language, fill};

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

pub(super) fn down_notice_at(
    channel: &str,
    from: Millis,
    to: Millis,
    held: u64,
    lang: Language,
    tz: Tz,
    now: Millis,
) -> Outgoing {
    let w = words::of(lang);
    let name = words::channel_name(lang, channel);
    // Under a minute reads in seconds, not "0 min".
    let dur = if to - from < MINUTE {
        format!("{} {}", ((to - from) / 1000).max(1), w.messages.seconds)
    } else {
        duration(minutes_between(from, to), w)
    };
    let (from_s, to_s) = (stamp(from, now, tz, lang), stamp(to, now, tz, lang));
    let sentence = |channel: &str| {
        fill(
            if from_s == to_s {
                w.messages.down_at
            } else {
                w.messages.down
            },
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
        let more = fill(w.messages.held, &[("n", &held.to_string())]);
        text = format!("{text}\n{more}");
        html = format!("{html}\n{more}");
    }
    Outgoing {
        subject: format!(
            "Otklik: {}",
            fill(
                w.messages.down_subject,
                &[("channel", &name), ("dur", &dur)]
            )
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

pub(super) fn health_notice_at(
    what: &str,
    down: bool,
    since: Millis,
    error: Option<&str>,
    lang: Language,
    tz: Tz,
    now: Millis,
) -> Outgoing {
    let w = words::of(lang);
    let since = stamp(since, now, tz, lang);
    let (template, mark) = if down {
        (w.messages.health_down, "⚠️")
    } else {
        (w.messages.health_up, "✅")
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
    let w = words::of(lang);
    let mut b = Body::new();
    b.line(
        &format!("✅ {}", w.messages.test),
        &format!("✅ <b>{}</b>", w.messages.test),
    );
    if !clinic.trim().is_empty() {
        b.line(
            &format!("{}: {clinic}", w.messages.clinic),
            &format!("{}: {}", w.messages.clinic, esc(clinic)),
        );
    }
    Outgoing {
        subject: format!("Otklik: {}", w.messages.test_subject),
        text: b.text,
        html: Some(b.html),
        attachments: Vec::new(),
        buttons: Vec::new(),
    }
}

/// The answer to a pairing code (HTML).
pub fn paired(clinic: &str, chat_title: &str, lang: Language) -> String {
    let w = words::of(lang);
    let quoted = |s: &str| match lang {
        Language::En => format!("“<b>{}</b>”", esc(s)),
        Language::Ru | Language::Es => format!("«<b>{}</b>»", esc(s)),
    };
    format!(
        "✅ {}\n{}",
        fill(
            if clinic.trim().is_empty() {
                w.messages.paired_plain
            } else {
                w.messages.paired
            },
            &[("chat", &quoted(chat_title)), ("clinic", &quoted(clinic))]
        ),
        w.messages.paired_more
    )
}
