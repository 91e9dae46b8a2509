//! What the tray says: the engine's `/healthz` reading turned into a state (all well or needs
//! attention, naming what is not well), a tooltip and the menu's words, in the installation's
//! language. Pure: the tray in `tray.rs` only shows what this computes.

use std::collections::HashMap;

use otklik_store::settings::Language;
use serde::Deserialize;

/// The parts of the engine's `/healthz` answer the tray looks at.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Health {
    /// `ok`, `degraded` or `down`.
    pub status: String,
    pub database: Database,
    #[serde(default)]
    pub inputs: Vec<DeskPart>,
    #[serde(default)]
    pub devices: Vec<DeskPart>,
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// The engine's own names of what is not ok, in the installation's language ("Окно 2 —
    /// камера"), from its health monitor; engines without one leave it out and the tray names
    /// the parts itself from `inputs`, `devices` and `channels`.
    #[serde(default)]
    pub attention: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Database {
    pub state: String,
}

/// A desk's rating input (`kind`: keys, serial, panel, api) or evidence device (camera, microphone).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeskPart {
    pub desk_id: i64,
    pub kind: String,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Channel {
    pub channel: String,
    pub state: String,
}

/// One thing that is not well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Database,
    Input {
        desk_id: i64,
    },
    Camera {
        desk_id: i64,
    },
    Microphone {
        desk_id: i64,
    },
    Channel(String),
    /// The engine says it is not ok, for a reason this version of the tray does not list.
    Unlisted,
}

/// What is not well, by the same rules `/healthz` uses for its `status`.
pub fn problems(health: &Health) -> Vec<Problem> {
    let mut out = Vec::new();
    if health.database.state != "ok" {
        out.push(Problem::Database);
    }
    for input in &health.inputs {
        if matches!(input.state.as_str(), "error" | "waiting") {
            out.push(Problem::Input {
                desk_id: input.desk_id,
            });
        }
    }
    for device in &health.devices {
        if device.state != "connected" {
            let desk_id = device.desk_id;
            out.push(match device.kind.as_str() {
                "microphone" => Problem::Microphone { desk_id },
                _ => Problem::Camera { desk_id },
            });
        }
    }
    for channel in &health.channels {
        if channel.state == "down" {
            out.push(Problem::Channel(channel.channel.clone()));
        }
    }
    if out.is_empty() && health.status != "ok" {
        out.push(Problem::Unlisted);
    }
    out
}

/// The tray's words in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    pub app: &'static str,
    pub all_well: &'static str,
    pub needs_attention: &'static str,
    pub capture_paused: &'static str,
    pub open_console: &'static str,
    pub open_display: &'static str,
    pub pause_capture: &'static str,
    pub resume_capture: &'static str,
    pub quit: &'static str,
    no_answer: &'static str,
    database: &'static str,
    desk: &'static str,
    input: &'static str,
    camera: &'static str,
    microphone: &'static str,
    email: &'static str,
    unlisted: &'static str,
    /// "and {n} more".
    more: &'static str,
}

impl Words {
    pub fn of(language: Language) -> &'static Words {
        match language {
            Language::Ru => &RU,
            Language::En => &EN,
            Language::Es => &ES,
        }
    }
}

const EN: Words = Words {
    app: "Otklik",
    all_well: "all well",
    needs_attention: "needs attention",
    capture_paused: "photos and voice paused",
    open_console: "Open console",
    open_display: "Open display",
    pause_capture: "Pause capture",
    resume_capture: "Resume capture",
    quit: "Quit",
    no_answer: "the engine does not answer",
    database: "database",
    desk: "Desk",
    input: "buttons",
    camera: "camera",
    microphone: "microphone",
    email: "email",
    unlisted: "see the console",
    more: "and {n} more",
};

const RU: Words = Words {
    app: "Отклик",
    all_well: "всё в порядке",
    needs_attention: "требует внимания",
    capture_paused: "фото и звук на паузе",
    open_console: "Открыть консоль",
    open_display: "Открыть табло",
    pause_capture: "Приостановить фото и звук",
    resume_capture: "Возобновить фото и звук",
    quit: "Выйти",
    no_answer: "движок не отвечает",
    database: "база данных",
    desk: "Окно",
    input: "кнопки",
    camera: "камера",
    microphone: "микрофон",
    email: "почта",
    unlisted: "см. консоль",
    more: "и ещё {n}",
};

const ES: Words = Words {
    app: "Otklik",
    all_well: "todo bien",
    needs_attention: "requiere atención",
    capture_paused: "fotos y voz en pausa",
    open_console: "Abrir la consola",
    open_display: "Abrir la pantalla",
    pause_capture: "Pausar la captura",
    resume_capture: "Reanudar la captura",
    quit: "Salir",
    no_answer: "el motor no responde",
    database: "base de datos",
    desk: "Ventanilla",
    input: "botones",
    camera: "cámara",
    microphone: "micrófono",
    email: "correo",
    unlisted: "vea la consola",
    more: "y {n} más",
};

/// Problems named in full before the rest are counted ("and 2 more").
const NAMED: usize = 3;
/// Windows cuts tray tooltips at 127 characters.
const TOOLTIP_MAX: usize = 127;

/// Which of the two tray icons to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    /// The app's icon.
    AllWell,
    /// The app's icon with an orange badge (assets/icons/tray-attention.svg).
    Attention,
}

/// What the tray shows for one reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub icon: Icon,
    /// The first, disabled line of the menu (Linux trays show no tooltips): "Needs attention: …".
    pub status_line: String,
    /// "Otklik: all well", "Otklik: needs attention: camera (Desk 1), Telegram".
    pub tooltip: String,
}

/// `reading` is `/healthz`'s answer, or `None` when there was none; `desks` names desks by id.
pub fn summarize(
    reading: Option<&Health>,
    desks: &HashMap<i64, String>,
    words: &Words,
    capture_paused: bool,
) -> Summary {
    let names = attention(reading, desks, words);
    let state = if names.is_empty() {
        words.all_well.to_string()
    } else {
        let mut list = names[..names.len().min(NAMED)].join(", ");
        if names.len() > NAMED {
            let more = words
                .more
                .replace("{n}", &(names.len() - NAMED).to_string());
            list = format!("{list} {more}");
        }
        format!("{}: {list}", words.needs_attention)
    };
    let mut tooltip = format!("{}: {state}", words.app);
    if capture_paused {
        tooltip = format!("{tooltip}\n{}", words.capture_paused);
    }
    Summary {
        icon: if names.is_empty() {
            Icon::AllWell
        } else {
            Icon::Attention
        },
        status_line: capitalized(&state),
        tooltip: shortened(&tooltip, TOOLTIP_MAX),
    }
}

/// The names of what is not well: the engine's own when it gives them.
fn attention(reading: Option<&Health>, desks: &HashMap<i64, String>, words: &Words) -> Vec<String> {
    let Some(health) = reading else {
        return vec![words.no_answer.to_string()];
    };
    match &health.attention {
        Some(names) if names.is_empty() && health.status != "ok" => {
            vec![words.unlisted.to_string()]
        }
        Some(names) => names.clone(),
        None => problems(health)
            .iter()
            .map(|p| name(p, desks, words))
            .collect(),
    }
}

fn name(problem: &Problem, desks: &HashMap<i64, String>, words: &Words) -> String {
    let desk = |id: &i64| {
        desks
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("{} {id}", words.desk))
    };
    match problem {
        Problem::Database => words.database.to_string(),
        Problem::Input { desk_id } => format!("{} ({})", words.input, desk(desk_id)),
        Problem::Camera { desk_id } => format!("{} ({})", words.camera, desk(desk_id)),
        Problem::Microphone { desk_id } => format!("{} ({})", words.microphone, desk(desk_id)),
        Problem::Channel(c) => match c.as_str() {
            "telegram" => "Telegram".to_string(),
            "email" => words.email.to_string(),
            other => other.to_string(),
        },
        Problem::Unlisted => words.unlisted.to_string(),
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `s` cut to `max` characters, ending in "…" when cut.
fn shortened(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(json: &str) -> Health {
        serde_json::from_str(json).unwrap()
    }

    const ALL_WELL: &str = r#"{
        "status": "ok", "version": "0.1.0", "uptime_s": 5,
        "database": {"state": "ok", "path": "/tmp/otklik.db", "schema_version": 9, "last_rating_id": null},
        "inputs": [{"desk_id": 1, "kind": "keys", "state": "connected", "detail": "F1-F5", "last_event": null, "error": null}],
        "devices": [{"desk_id": 1, "kind": "camera", "state": "connected", "detail": "/dev/video0", "error": null}],
        "channels": [{"channel": "telegram", "state": "ok", "since": "2025-01-01T00:00:00Z", "last_error": null, "pending": 0, "failed": 0},
                     {"channel": "email", "state": "off", "since": "2025-01-01T00:00:00Z", "last_error": null, "pending": 0, "failed": 0}]
    }"#;

    fn desks() -> HashMap<i64, String> {
        HashMap::from([(1, "Окно 1".to_string()), (2, "Window 2".to_string())])
    }

    #[test]
    fn all_well_is_the_normal_icon() {
        let s = summarize(
            Some(&health(ALL_WELL)),
            &desks(),
            Words::of(Language::En),
            false,
        );
        assert_eq!(s.icon, Icon::AllWell);
        assert_eq!(s.tooltip, "Otklik: all well");
        assert_eq!(s.status_line, "All well");
        let ru = summarize(
            Some(&health(ALL_WELL)),
            &desks(),
            Words::of(Language::Ru),
            false,
        );
        assert_eq!(ru.tooltip, "Отклик: всё в порядке");
        assert_eq!(ru.status_line, "Всё в порядке");
    }

    #[test]
    fn degraded_names_each_part_that_is_not_well() {
        let h = health(
            r#"{"status": "degraded", "database": {"state": "ok"},
                "inputs": [{"desk_id": 1, "kind": "serial", "state": "waiting"},
                           {"desk_id": 2, "kind": "keys", "state": "connected"}],
                "devices": [{"desk_id": 2, "kind": "microphone", "state": "error"}],
                "channels": [{"channel": "telegram", "state": "down"}, {"channel": "email", "state": "off"}]}"#,
        );
        assert_eq!(
            problems(&h),
            vec![
                Problem::Input { desk_id: 1 },
                Problem::Microphone { desk_id: 2 },
                Problem::Channel("telegram".into()),
            ]
        );
        let s = summarize(Some(&h), &desks(), Words::of(Language::En), false);
        assert_eq!(s.icon, Icon::Attention);
        assert_eq!(
            s.tooltip,
            "Otklik: needs attention: buttons (Окно 1), microphone (Window 2), Telegram"
        );
        assert_eq!(
            s.status_line,
            "Needs attention: buttons (Окно 1), microphone (Window 2), Telegram"
        );
    }

    #[test]
    fn the_engines_own_names_come_first() {
        let h = health(
            r#"{"status": "degraded", "database": {"state": "ok"},
                "devices": [{"desk_id": 2, "kind": "camera", "state": "error"}],
                "attention": ["Окно 2 — камера", "Резервная копия"]}"#,
        );
        let s = summarize(Some(&h), &desks(), Words::of(Language::Ru), false);
        assert_eq!(s.icon, Icon::Attention);
        assert_eq!(
            s.tooltip,
            "Отклик: требует внимания: Окно 2 — камера, Резервная копия"
        );
        let ok = health(r#"{"status": "ok", "database": {"state": "ok"}, "attention": []}"#);
        let s = summarize(Some(&ok), &desks(), Words::of(Language::Ru), false);
        assert_eq!(s.icon, Icon::AllWell);
        let odd = health(r#"{"status": "degraded", "database": {"state": "ok"}, "attention": []}"#);
        let s = summarize(Some(&odd), &desks(), Words::of(Language::En), false);
        assert_eq!(s.tooltip, "Otklik: needs attention: see the console");
    }

    #[test]
    fn a_desk_without_a_name_is_called_by_its_number() {
        let h = health(
            r#"{"status": "degraded", "database": {"state": "ok"},
                "devices": [{"desk_id": 7, "kind": "camera", "state": "waiting"}],
                "channels": [{"channel": "email", "state": "down"}]}"#,
        );
        let s = summarize(Some(&h), &desks(), Words::of(Language::Ru), false);
        assert_eq!(
            s.tooltip,
            "Отклик: требует внимания: камера (Окно 7), почта"
        );
    }

    #[test]
    fn down_database_and_no_answer_need_attention() {
        let h = health(r#"{"status": "down", "database": {"state": "down"}}"#);
        let s = summarize(Some(&h), &desks(), Words::of(Language::En), false);
        assert_eq!(s.icon, Icon::Attention);
        assert_eq!(s.tooltip, "Otklik: needs attention: database");
        let s = summarize(None, &desks(), Words::of(Language::En), false);
        assert_eq!(s.icon, Icon::Attention);
        assert_eq!(s.status_line, "Needs attention: the engine does not answer");
    }

    #[test]
    fn a_reason_the_tray_does_not_know_still_needs_attention() {
        let h = health(r#"{"status": "degraded", "database": {"state": "ok"}}"#);
        let s = summarize(Some(&h), &desks(), Words::of(Language::Es), false);
        assert_eq!(s.icon, Icon::Attention);
        assert_eq!(s.tooltip, "Otklik: requiere atención: vea la consola");
    }

    #[test]
    fn many_problems_are_counted_after_three() {
        let h = health(
            r#"{"status": "degraded", "database": {"state": "ok"},
                "inputs": [{"desk_id": 1, "kind": "keys", "state": "error"},
                           {"desk_id": 2, "kind": "keys", "state": "error"},
                           {"desk_id": 3, "kind": "keys", "state": "error"},
                           {"desk_id": 4, "kind": "keys", "state": "error"},
                           {"desk_id": 5, "kind": "keys", "state": "error"}]}"#,
        );
        let s = summarize(Some(&h), &HashMap::new(), Words::of(Language::En), false);
        assert_eq!(
            s.tooltip,
            "Otklik: needs attention: buttons (Desk 1), buttons (Desk 2), buttons (Desk 3) and 2 more"
        );
        let ru = summarize(Some(&h), &HashMap::new(), Words::of(Language::Ru), false);
        assert!(
            ru.tooltip.ends_with("кнопки (Окно 3) и ещё 2"),
            "{}",
            ru.tooltip
        );
    }

    #[test]
    fn tooltip_says_capture_is_paused_and_fits_windows() {
        let s = summarize(
            Some(&health(ALL_WELL)),
            &desks(),
            Words::of(Language::En),
            true,
        );
        assert_eq!(s.tooltip, "Otklik: all well\nphotos and voice paused");
        assert_eq!(s.icon, Icon::AllWell);

        let long = "Регистратура, первый этаж, левое крыло у входа".repeat(2);
        let names = HashMap::from([(1, long.clone()), (2, long.clone()), (3, long)]);
        let h = health(
            r#"{"status": "degraded", "database": {"state": "ok"},
                "inputs": [{"desk_id": 1, "kind": "keys", "state": "error"},
                           {"desk_id": 2, "kind": "keys", "state": "error"},
                           {"desk_id": 3, "kind": "keys", "state": "error"}]}"#,
        );
        let s = summarize(Some(&h), &names, Words::of(Language::Ru), true);
        assert_eq!(s.tooltip.chars().count(), TOOLTIP_MAX);
        assert!(s.tooltip.ends_with('…'));
    }

    #[test]
    fn every_language_has_its_menu() {
        for lang in [Language::Ru, Language::En, Language::Es] {
            let w = Words::of(lang);
            for text in [
                w.open_console,
                w.open_display,
                w.pause_capture,
                w.resume_capture,
                w.quit,
            ] {
                assert!(!text.is_empty(), "{lang:?}");
            }
            assert!(w.more.contains("{n}"), "{lang:?}");
        }
    }
}
