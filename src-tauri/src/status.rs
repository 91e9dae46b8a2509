//! What the tray says: the engine's `/healthz` reading turned into a state (all well or needs
//! attention, naming what is not well), a tooltip and the menu's words, in the installation's
//! language. Pure: the tray in `tray.rs` only shows what this computes.

use std::collections::HashMap;

use otklik_domain::words::{self, Language, lower_first};
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

/// The tray's words in one language: its own ([`words::Tray`], reached through `Deref`) and the
/// catalog's names of the parts it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    lang: Language,
}

impl Words {
    pub fn of(language: Language) -> &'static Words {
        match language {
            Language::Ru => &Words { lang: Language::Ru },
            Language::En => &Words { lang: Language::En },
            Language::Es => &Words { lang: Language::Es },
        }
    }

    fn catalog(&self) -> &'static words::Catalog {
        words::of(self.lang)
    }
}

impl std::ops::Deref for Words {
    type Target = words::Tray;

    fn deref(&self) -> &words::Tray {
        &self.catalog().tray
    }
}

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
            let more = words::fill(
                words.catalog().common.more,
                &[("n", &(names.len() - NAMED).to_string())],
            );
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
    let c = words.catalog();
    let desk = |id: &i64| {
        desks
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("{} {id}", c.common.desk))
    };
    // The components' names, in lower case: they go in the middle of a list.
    match problem {
        Problem::Database => lower_first(c.components.database),
        Problem::Input { desk_id } => format!("{} ({})", words.input, desk(desk_id)),
        Problem::Camera { desk_id } => format!("{} ({})", c.components.camera, desk(desk_id)),
        Problem::Microphone { desk_id } => {
            format!("{} ({})", c.components.microphone, desk(desk_id))
        }
        Problem::Channel(ch) if ch == "telegram" => "Telegram".to_string(),
        Problem::Channel(ch) => lower_first(&words::channel_name(words.lang, ch)),
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
            // That "and {n} more" counts: otklik_domain::words.
        }
    }
}
