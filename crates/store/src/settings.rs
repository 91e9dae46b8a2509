//! Installation settings: stored in the database, changed through the API, checked before saving.

use std::net::SocketAddr;

use chrono_tz::Tz;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::get_setting;
use crate::reasons::{self, ReasonDef};
use otklik_domain::error::{Error, Result};
use otklik_domain::scale;

/// Lives with the words it picks (the domain's catalog); here too, where the settings use it.
pub use otklik_domain::words::Language;

/// The period a wall display shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DisplayPeriod {
    Today,
    Week,
    Month,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    /// Shown on the displays and in reports.
    pub clinic_name: String,
    pub language: Language,
    /// IANA time zone of the clinic, e.g. `Europe/Moscow`: days, weeks and months start there.
    pub timezone: String,
    /// Levels of the rating scale for new ratings: 3, 4, 5 or 7.
    pub scale: u8,
    /// Registrars with fewer ratings in the period are listed after the ranked ones.
    pub min_ratings: u32,
    /// Address the API and screens listen on when none is given on the command line.
    /// `127.0.0.1:8787` keeps it on this PC; `0.0.0.0:8787` opens it to the LAN. Applies at restart.
    pub listen: String,
    /// Other names this PC is opened by on the LAN, comma-separated (a DNS alias such as
    /// `otklik.clinic.local`). Its own name, `name.local`, its addresses and loopback always work;
    /// a request by any other name is refused (a web page rebinding its name to this PC).
    pub allowed_hosts: String,
    /// The period the wall display shows.
    pub display_period: DisplayPeriod,
    /// Seconds each view of the display (leaderboard, today's totals, desks) stays; 0 = leaderboard only.
    pub display_rotate_secs: u32,
    /// Show registrars as initials (Иванова Мария → И. М.) on the display.
    pub display_initials: bool,
    /// Leave registrars with fewer than `min_ratings` off the display entirely.
    pub display_hide_unranked: bool,
    /// Seconds the patient panel ignores taps after a rating.
    pub panel_lockout_secs: u32,
    /// The desktop app opens the display full-screen on a second monitor.
    pub kiosk_display: bool,
    /// Which monitor the kiosk display goes to, counting from 1 (the primary is usually 1).
    pub kiosk_monitor: u32,
    /// This many top ratings at one desk within `suspicion_burst_secs` are flagged as a burst
    /// (faster than patients come and go); 0 turns the rule off.
    pub suspicion_burst_count: u32,
    pub suspicion_burst_secs: u32,
    /// At an armed desk, a press this many seconds after serving ended still counts (the patient
    /// presses on the way out).
    pub serving_grace_secs: u32,
    /// At an armed desk, a serving nobody ended stops counting presses this many minutes after
    /// it started.
    pub serving_max_minutes: u32,
    /// After a low rating the patient panel asks for one reason from `reasons`.
    pub reasons_enabled: bool,
    /// The reasons a patient may pick, in the order shown (at most 8).
    pub reasons: Vec<ReasonDef>,
    /// Seconds the reasons screen waits for a pick; then the rating stays without a reason.
    pub reasons_timeout_secs: u32,
    /// Seconds of audio kept before a press, and recorded after it.
    pub audio_before_secs: u32,
    pub audio_after_secs: u32,
    /// Days photos and audio are kept; the ratings themselves stay.
    pub photo_retention_days: u32,
    pub audio_retention_days: u32,
    /// Photos are scaled down to this width and saved as JPEG of this quality.
    pub photo_max_width: u32,
    pub photo_quality: u32,
    /// The desktop app starts when someone logs in to the PC.
    pub start_with_system: bool,
    /// No photos or clips are taken while this is on (the tray's "Pause capture").
    pub capture_paused: bool,
    /// Where database backups go; empty = `backups` in the data directory.
    pub backup_dir: String,
    /// Hours between two backups; 0 = no scheduled backups.
    pub backup_every_hours: u32,
    /// Backups kept; older ones are deleted.
    pub backup_keep: u32,
    /// Days log files are kept.
    pub log_keep_days: u32,
    /// Minutes a device or channel may be down before a notice goes out through the channels
    /// that still work (and one when it is back); 0 = no notices.
    pub health_notice_after_mins: u32,
    /// The first-run wizard was finished (or skipped).
    pub setup_done: bool,
}

/// What the screens anyone on the LAN opens (the wall display, the panels) need of the settings;
/// the rest (addresses, devices, suspicion thresholds, backups) is for token holders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublicSettings {
    pub clinic_name: String,
    pub language: Language,
    pub timezone: String,
    pub scale: u8,
    pub min_ratings: u32,
    pub display_period: DisplayPeriod,
    pub display_rotate_secs: u32,
    pub display_initials: bool,
    pub display_hide_unranked: bool,
    pub panel_lockout_secs: u32,
    pub reasons_enabled: bool,
    pub reasons: Vec<ReasonDef>,
    pub reasons_timeout_secs: u32,
}

impl From<&Settings> for PublicSettings {
    fn from(s: &Settings) -> Self {
        PublicSettings {
            clinic_name: s.clinic_name.clone(),
            language: s.language,
            timezone: s.timezone.clone(),
            scale: s.scale,
            min_ratings: s.min_ratings,
            display_period: s.display_period,
            display_rotate_secs: s.display_rotate_secs,
            display_initials: s.display_initials,
            display_hide_unranked: s.display_hide_unranked,
            panel_lockout_secs: s.panel_lockout_secs,
            reasons_enabled: s.reasons_enabled,
            reasons: s.reasons.clone(),
            reasons_timeout_secs: s.reasons_timeout_secs,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        let timezone = iana_time_zone::get_timezone()
            .ok()
            .filter(|tz| tz.parse::<Tz>().is_ok())
            .or_else(|| system_zone::fallback().filter(|tz| tz.parse::<Tz>().is_ok()))
            .unwrap_or_else(|| "UTC".to_string());
        Settings {
            clinic_name: String::new(),
            language: Language::Ru,
            timezone,
            scale: scale::DEFAULT,
            min_ratings: 5,
            listen: "127.0.0.1:8787".to_string(),
            allowed_hosts: String::new(),
            display_period: DisplayPeriod::Today,
            display_rotate_secs: 0,
            display_initials: false,
            display_hide_unranked: false,
            panel_lockout_secs: 5,
            kiosk_display: false,
            kiosk_monitor: 2,
            suspicion_burst_count: 3,
            suspicion_burst_secs: 20,
            serving_grace_secs: 60,
            serving_max_minutes: 60,
            reasons_enabled: true,
            reasons: reasons::defaults(),
            reasons_timeout_secs: 15,
            audio_before_secs: 15,
            audio_after_secs: 15,
            photo_retention_days: 30,
            audio_retention_days: 30,
            photo_max_width: 640,
            photo_quality: 70,
            start_with_system: false,
            capture_paused: false,
            backup_dir: String::new(),
            backup_every_hours: 24,
            backup_keep: 14,
            log_keep_days: 14,
            health_notice_after_mins: 10,
            setup_done: false,
        }
    }
}

/// The settings that take effect only when Otklik starts again; every other one applies at once.
/// `listen`: the server binds its address at start. `kiosk_display`, `kiosk_monitor`: the desktop
/// app opens its kiosk window at start.
pub const APPLY_AT_RESTART: &[&str] = &["listen", "kiosk_display", "kiosk_monitor"];

/// A change to some settings; fields left out stay as they are.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub clinic_name: Option<String>,
    pub language: Option<Language>,
    pub timezone: Option<String>,
    pub scale: Option<i64>,
    pub min_ratings: Option<i64>,
    pub listen: Option<String>,
    pub allowed_hosts: Option<String>,
    pub display_period: Option<DisplayPeriod>,
    pub display_rotate_secs: Option<i64>,
    pub display_initials: Option<bool>,
    pub display_hide_unranked: Option<bool>,
    pub panel_lockout_secs: Option<i64>,
    pub kiosk_display: Option<bool>,
    pub kiosk_monitor: Option<i64>,
    pub suspicion_burst_count: Option<i64>,
    pub suspicion_burst_secs: Option<i64>,
    pub serving_grace_secs: Option<i64>,
    pub serving_max_minutes: Option<i64>,
    pub reasons_enabled: Option<bool>,
    /// The whole list at once: it replaces the one stored.
    pub reasons: Option<Vec<ReasonDef>>,
    pub reasons_timeout_secs: Option<i64>,
    pub audio_before_secs: Option<i64>,
    pub audio_after_secs: Option<i64>,
    pub photo_retention_days: Option<i64>,
    pub audio_retention_days: Option<i64>,
    pub photo_max_width: Option<i64>,
    pub photo_quality: Option<i64>,
    pub start_with_system: Option<bool>,
    pub capture_paused: Option<bool>,
    pub backup_dir: Option<String>,
    pub backup_every_hours: Option<i64>,
    pub backup_keep: Option<i64>,
    pub log_keep_days: Option<i64>,
    pub health_notice_after_mins: Option<i64>,
    pub setup_done: Option<bool>,
}

/// `value` if it lies in `range`, else an error naming `field` and the range.
pub fn in_range(field: &str, value: i64, range: std::ops::RangeInclusive<i64>) -> Result<u32> {
    if range.contains(&value) {
        Ok(value as u32)
    } else {
        Err(Error::invalid(
            field,
            format!("must be between {} and {}", range.start(), range.end()),
        ))
    }
}

impl Settings {
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }

    pub fn load(conn: &Connection) -> Result<Settings> {
        let mut s = Settings::default();
        let mut value = serde_json::to_value(&s).expect("settings serialize");
        let obj = value.as_object_mut().expect("settings are an object");
        for (key, slot) in obj.iter_mut() {
            if let Some(stored) = get_setting(conn, key)? {
                match serde_json::from_str(&stored) {
                    Ok(v) => *slot = v,
                    Err(e) => tracing::warn!(key, %e, "ignoring an unreadable stored setting"),
                }
            }
        }
        if let Ok(loaded) = serde_json::from_value::<Settings>(value) {
            s = loaded;
        }
        Ok(s)
    }

    /// The settings after `patch`, or an error naming the first bad field (nothing applied).
    pub fn patched(&self, patch: &SettingsPatch) -> Result<Settings> {
        let mut s = self.clone();
        if let Some(name) = &patch.clinic_name {
            let name = name.trim();
            if name.chars().count() > 200 {
                return Err(Error::invalid(
                    "clinic_name",
                    "is longer than 200 characters",
                ));
            }
            s.clinic_name = name.to_string();
        }
        if let Some(lang) = patch.language {
            s.language = lang;
        }
        if let Some(tz) = &patch.timezone {
            tz.parse::<Tz>().map_err(|_| {
                Error::invalid(
                    "timezone",
                    format!("'{tz}' is not an IANA time zone such as Europe/Moscow"),
                )
            })?;
            s.timezone = tz.clone();
        }
        if let Some(levels) = patch.scale {
            s.scale = scale::validate("scale", levels)?;
        }
        if let Some(min) = patch.min_ratings {
            s.min_ratings = in_range("min_ratings", min, 0..=10_000)?;
        }
        if let Some(p) = patch.display_period {
            s.display_period = p;
        }
        if let Some(secs) = patch.display_rotate_secs {
            // A view shorter than 5 s cannot be read from across a hall.
            s.display_rotate_secs = if secs == 0 {
                0
            } else {
                in_range("display_rotate_secs", secs, 5..=3600).map_err(|_| {
                    Error::invalid(
                        "display_rotate_secs",
                        "must be 0 (no rotation) or 5 to 3600",
                    )
                })?
            };
        }
        if let Some(b) = patch.display_initials {
            s.display_initials = b;
        }
        if let Some(b) = patch.display_hide_unranked {
            s.display_hide_unranked = b;
        }
        if let Some(secs) = patch.panel_lockout_secs {
            s.panel_lockout_secs = in_range("panel_lockout_secs", secs, 0..=600)?;
        }
        if let Some(b) = patch.kiosk_display {
            s.kiosk_display = b;
        }
        if let Some(n) = patch.suspicion_burst_count {
            s.suspicion_burst_count = in_range("suspicion_burst_count", n, 0..=100)?;
        }
        if let Some(secs) = patch.suspicion_burst_secs {
            s.suspicion_burst_secs = in_range("suspicion_burst_secs", secs, 1..=3600)?;
        }
        if let Some(secs) = patch.serving_grace_secs {
            s.serving_grace_secs = in_range("serving_grace_secs", secs, 0..=600)?;
        }
        if let Some(mins) = patch.serving_max_minutes {
            s.serving_max_minutes = in_range("serving_max_minutes", mins, 1..=720)?;
        }
        if let Some(b) = patch.reasons_enabled {
            s.reasons_enabled = b;
        }
        if let Some(list) = &patch.reasons {
            s.reasons = reasons::check_list(list)?;
        }
        // Long enough to read five buttons, short enough that the next patient finds the faces.
        if let Some(secs) = patch.reasons_timeout_secs {
            s.reasons_timeout_secs = in_range("reasons_timeout_secs", secs, 5..=120)?;
        }
        if s.reasons_enabled && s.reasons.is_empty() {
            return Err(Error::invalid(
                "reasons",
                "the list is empty: give at least one reason, or turn reasons_enabled off",
            ));
        }
        // The ring buffer holds `audio_before_secs`; 60 s of each is plenty for one conversation.
        if let Some(v) = patch.audio_before_secs {
            s.audio_before_secs = in_range("audio_before_secs", v, 0..=60)?;
        }
        if let Some(v) = patch.audio_after_secs {
            s.audio_after_secs = in_range("audio_after_secs", v, 0..=60)?;
        }
        if let Some(v) = patch.photo_retention_days {
            s.photo_retention_days = in_range("photo_retention_days", v, 1..=3650)?;
        }
        if let Some(v) = patch.audio_retention_days {
            s.audio_retention_days = in_range("audio_retention_days", v, 1..=3650)?;
        }
        if let Some(v) = patch.photo_max_width {
            s.photo_max_width = in_range("photo_max_width", v, 160..=1920)?;
        }
        if let Some(v) = patch.photo_quality {
            s.photo_quality = in_range("photo_quality", v, 30..=95)?;
        }
        if let Some(b) = patch.start_with_system {
            s.start_with_system = b;
        }
        if let Some(b) = patch.capture_paused {
            s.capture_paused = b;
        }
        if let Some(dir) = &patch.backup_dir {
            let dir = dir.trim();
            if !dir.is_empty() && !std::path::Path::new(dir).is_absolute() {
                return Err(Error::invalid(
                    "backup_dir",
                    format!(
                        "'{dir}' is not a full path such as D:\\Backups\\Otklik or /mnt/backup/otklik"
                    ),
                ));
            }
            s.backup_dir = dir.to_string();
        }
        if let Some(v) = patch.backup_every_hours {
            s.backup_every_hours = in_range("backup_every_hours", v, 0..=168)?;
        }
        if let Some(v) = patch.backup_keep {
            s.backup_keep = in_range("backup_keep", v, 1..=365)?;
        }
        if let Some(v) = patch.log_keep_days {
            s.log_keep_days = in_range("log_keep_days", v, 1..=365)?;
        }
        if let Some(v) = patch.health_notice_after_mins {
            s.health_notice_after_mins = in_range("health_notice_after_mins", v, 0..=1440)?;
        }
        if let Some(b) = patch.setup_done {
            s.setup_done = b;
        }
        if let Some(m) = patch.kiosk_monitor {
            s.kiosk_monitor = in_range("kiosk_monitor", m, 1..=16)?;
        }
        if let Some(hosts) = &patch.allowed_hosts {
            let names: Vec<String> = otklik_domain::hostnames::extra_names(hosts).collect();
            if names.len() > 32 {
                return Err(Error::invalid("allowed_hosts", "lists more than 32 names"));
            }
            for name in &names {
                otklik_domain::hostnames::check_extra_name(name)
                    .map_err(|e| Error::invalid("allowed_hosts", e))?;
            }
            s.allowed_hosts = names.join(", ");
        }
        if let Some(listen) = &patch.listen {
            listen.parse::<SocketAddr>().map_err(|_| {
                Error::invalid(
                    "listen",
                    format!("'{listen}' is not an address and port such as 0.0.0.0:8787"),
                )
            })?;
            s.listen = listen.clone();
        }
        Ok(s)
    }

    /// Writes every setting that differs from `old`; returns the keys written.
    pub fn save_changes(&self, old: &Settings, conn: &Connection) -> Result<Vec<String>> {
        let new = serde_json::to_value(self).expect("settings serialize");
        let old = serde_json::to_value(old).expect("settings serialize");
        let mut changed = Vec::new();
        for (key, value) in new.as_object().expect("object") {
            if old.get(key) != Some(value) {
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value.to_string()),
                )?;
                changed.push(key.clone());
            }
        }
        Ok(changed)
    }
}

/// Where `iana-time-zone` finds no zone: on Windows it asks WinRT's calendar, which older
/// Windows and Wine lack, so the zone's Windows name is mapped to IANA by CLDR's table instead.
mod system_zone {
    #[cfg(windows)]
    pub fn fallback() -> Option<String> {
        localzone::get_local_zone()
    }

    #[cfg(not(windows))]
    pub fn fallback() -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_field_is_named_and_nothing_else_changes() {
        let s = Settings::default();
        let patch = SettingsPatch {
            clinic_name: Some("Поликлиника №1".into()),
            timezone: Some("Mars/Olympus".into()),
            ..Default::default()
        };
        let err = s.patched(&patch).unwrap_err().to_string();
        assert!(err.starts_with("timezone: 'Mars/Olympus'"), "{err}");
        let err = s
            .patched(&SettingsPatch {
                scale: Some(6),
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("scale:"), "{err}");
        let err = s
            .patched(&SettingsPatch {
                listen: Some("everywhere".into()),
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("listen:"), "{err}");
    }

    #[test]
    fn the_settings_applied_at_restart_are_settings() {
        let all = serde_json::to_value(Settings::default()).unwrap();
        for name in APPLY_AT_RESTART {
            assert!(all.get(name).is_some(), "{name} is not a setting");
        }
    }

    #[test]
    fn settings_round_trip_through_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open_writer(&dir.path().join("t.db")).unwrap();
        let old = Settings::load(&conn).unwrap();
        let new = old
            .patched(&SettingsPatch {
                timezone: Some("Asia/Yekaterinburg".into()),
                scale: Some(5),
                min_ratings: Some(3),
                ..Default::default()
            })
            .unwrap();
        let mut changed = new.save_changes(&old, &conn).unwrap();
        changed.sort();
        assert!(changed.contains(&"scale".to_string()));
        assert_eq!(Settings::load(&conn).unwrap(), new);
    }
}
