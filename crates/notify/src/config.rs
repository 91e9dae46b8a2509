//! Where alerts and reports go, by which rules. Stored as one JSON document under the settings
//! key `notify`; secrets (bot token, SMTP password) are not in it (see `secrets`).

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use otklik_domain::error::{Error, Result};
use otklik_store::db::get_setting;
use otklik_store::settings::in_range;

pub const SETTING_KEY: &str = "notify";
pub const DEFAULT_BOT_API: &str = "https://api.telegram.org";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Telegram,
    Email,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Telegram => "telegram",
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "telegram" => Some(Channel::Telegram),
            "email" => Some(Channel::Email),
            "webhook" => Some(Channel::Webhook),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    pub enabled: bool,
    /// The Bot API's base URL: the public one, or a local Bot API server or proxy.
    pub api_url: String,
    /// Least milliseconds between two messages to one chat (Telegram allows about 20 a minute
    /// in a group).
    pub min_interval_ms: u32,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            enabled: false,
            api_url: DEFAULT_BOT_API.to_string(),
            min_interval_ms: 3000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this PC or the clinic's own network.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// SMTP login; empty = no AUTH. The password is kept with the secrets.
    pub user: String,
    /// The sender, e.g. `Otklik <otklik@clinic.example>`.
    pub from: String,
    /// Recipients of alerts and reports.
    pub to: Vec<String>,
    /// Recipients of escalated alerts (nobody took them in time).
    pub escalation_to: Vec<String>,
    /// A PEM file with the certificate authority of the clinic's own mail server, if it is
    /// not signed by a public one.
    pub ca_file: String,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            enabled: false,
            host: String::new(),
            port: 587,
            security: Security::Starttls,
            user: String::new(),
            from: String::new(),
            to: Vec::new(),
            escalation_to: Vec::new(),
            ca_file: String::new(),
        }
    }
}

/// An instant alert on ratings with these scores at these desks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AlertRule {
    /// Scores that raise the alert (1 = the lowest level of any scale).
    pub scores: Vec<i64>,
    /// Desks it watches; empty = every desk.
    pub desks: Vec<i64>,
    pub channels: Vec<Channel>,
    /// Minutes an alert may stay untaken before it goes to the escalation chats and addresses;
    /// 0 = never escalate.
    pub escalate_after_mins: u32,
}

impl Default for AlertRule {
    fn default() -> Self {
        AlertRule {
            scores: vec![1],
            desks: Vec::new(),
            channels: vec![Channel::Telegram, Channel::Email],
            escalate_after_mins: 15,
        }
    }
}

/// A video surveillance system told of every rating (see `video`): `milestone` (XProtect's
/// generic event: `address` is `host:port`, port 1234 by default there; `text` the event line,
/// with placeholders), `axxon` (Axxon Next/One: `address` is its web server's URL, `text` the
/// macro's id), `get` (`address` is a URL template with placeholders, fetched with GET).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VideoTarget {
    pub kind: String,
    pub address: String,
    pub text: String,
    /// Scores it is told of; empty = every rating.
    pub scores: Vec<i64>,
}

impl Default for VideoTarget {
    fn default() -> Self {
        VideoTarget {
            kind: "get".to_string(),
            address: String::new(),
            text: String::new(),
            scores: Vec::new(),
        }
    }
}

fn check_video(i: usize, t: &VideoTarget, levels: u8) -> Result<()> {
    let field = |f: &str| format!("video[{i}].{f}");
    let placeholders = |f: &str, s: &str| {
        let bad = crate::video::unknown_placeholders(s);
        if bad.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid(
                field(f),
                format!(
                    "{{{}}} is not a placeholder; there are {{{}}}",
                    bad[0],
                    crate::video::PLACEHOLDERS.join("}, {")
                ),
            ))
        }
    };
    match t.kind.as_str() {
        "milestone" => {
            let ok = t.address.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty()
                    && !host.contains(char::is_whitespace)
                    && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !ok {
                return Err(Error::invalid(
                    field("address"),
                    format!(
                        "'{}' is not host:port (XProtect listens on port 1234)",
                        t.address
                    ),
                ));
            }
            placeholders("text", &t.text)?;
        }
        "axxon" => {
            check_url(&field("address"), &t.address)?;
            if t.text.trim().is_empty() {
                return Err(Error::invalid(
                    field("text"),
                    "needs the id of the macro to run",
                ));
            }
        }
        "get" => {
            check_url(&field("address"), &t.address)?;
            placeholders("address", &t.address)?;
        }
        other => {
            return Err(Error::invalid(
                field("kind"),
                format!("'{other}' is not milestone, axxon or get"),
            ));
        }
    }
    if let Some(s) = t.scores.iter().find(|s| **s < 1 || **s > i64::from(levels)) {
        return Err(Error::invalid(
            field("scores"),
            format!("{s} is not a level of the {levels}-level scale"),
        ));
    }
    Ok(())
}

/// The kinds of window rule.
pub const WINDOW_KINDS: [&str; 4] = ["low_share", "low_run", "top_share", "top_run"];

/// An alert on a window of ratings rather than one: `low_share` (the share of low ratings at a
/// desk over the last `minutes` reaches `percent`, with at least `min_ratings`), `low_run`
/// (`run` low ratings in a row at a desk), and the thanks `top_share` and `top_run` (the same
/// with top ratings, for a registrar), shown on the registrar's desk panel. Each fires once when
/// its condition becomes true and again only after it has cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WindowRule {
    /// `low_share`, `low_run`, `top_share` or `top_run`.
    pub kind: String,
    /// The scores that count (low ones for low_*, top ones for top_*); empty = the lowest
    /// level for low_*, the highest for top_*.
    pub scores: Vec<i64>,
    /// share kinds: the window's length.
    pub minutes: u32,
    /// share kinds: the share that fires, in percent (1 to 100).
    pub percent: u32,
    /// share kinds: fewer ratings in the window never fire.
    pub min_ratings: u32,
    /// run kinds: how many in a row; 0 = 3 for low_run, 5 for top_run.
    pub run: u32,
    /// Desks it watches; empty = every desk.
    pub desks: Vec<i64>,
    /// low_*: where the alert goes (it is taken and resolved like any alert). top_*: the group
    /// too, besides the desk panel; empty = the panel only.
    pub channels: Vec<Channel>,
    /// low_*: minutes untaken before it escalates; 0 = never.
    pub escalate_after_mins: u32,
}

impl Default for WindowRule {
    fn default() -> Self {
        WindowRule {
            kind: "low_share".to_string(),
            scores: Vec::new(),
            minutes: 15,
            percent: 50,
            min_ratings: 4,
            run: 0,
            desks: Vec::new(),
            channels: vec![Channel::Telegram, Channel::Email],
            escalate_after_mins: 15,
        }
    }
}

impl WindowRule {
    pub fn is_top(&self) -> bool {
        self.kind.starts_with("top_")
    }

    pub fn is_run(&self) -> bool {
        self.kind.ends_with("_run")
    }

    pub fn run_len(&self) -> u32 {
        match (self.run, self.is_top()) {
            (0, false) => 3,
            (0, true) => 5,
            (n, _) => n,
        }
    }

    /// The scores that count, on a scale of `levels`.
    pub fn counted(&self, levels: u8) -> Vec<i64> {
        if !self.scores.is_empty() {
            self.scores.clone()
        } else if self.is_top() {
            vec![i64::from(levels)]
        } else {
            vec![1]
        }
    }

    /// Names the rule and its thresholds: its firing state is kept under it, so a changed
    /// threshold starts afresh.
    pub fn key(&self) -> String {
        if self.is_run() {
            format!("{}:{:?}:{}", self.kind, self.scores, self.run_len())
        } else {
            format!(
                "{}:{:?}:{}:{}:{}",
                self.kind, self.scores, self.minutes, self.percent, self.min_ratings
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// Every period, even an empty one.
    Always,
    /// Only if there was at least one rating.
    Any,
    /// Only if there was a rating at the lowest level.
    Negative,
}

/// An operational report: `every` is `1h`, `2h`, `3h`, `4h`, `6h`, `8h`, `12h` (periods counted
/// from local midnight) or `daily@HH:MM` (the day so far, at closing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReportRule {
    pub every: String,
    pub condition: Condition,
    pub channels: Vec<Channel>,
}

impl Default for ReportRule {
    fn default() -> Self {
        ReportRule {
            every: "1h".to_string(),
            condition: Condition::Any,
            channels: vec![Channel::Telegram],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    pub telegram: TelegramConfig,
    pub email: EmailConfig,
    pub alerts: Vec<AlertRule>,
    /// Alerts and thanks on windows of ratings; none unless set (see `WindowRule`).
    pub windows: Vec<WindowRule>,
    pub reports: Vec<ReportRule>,
    /// Every new rating is posted here as JSON; empty = off.
    pub webhook_url: String,
    /// Video surveillance systems told of every rating (through the webhook's queue).
    pub video: Vec<VideoTarget>,
    /// The longest wait between two tries while a channel is down (the wait doubles from 1 s).
    pub retry_max_secs: u32,
    /// The address supervisors open Otklik at, for links to evidence in reports
    /// (e.g. `http://192.168.1.10:8787`); empty = links are left out.
    pub link_base: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            telegram: TelegramConfig::default(),
            email: EmailConfig::default(),
            alerts: vec![AlertRule::default()],
            windows: Vec::new(),
            reports: vec![
                ReportRule::default(),
                ReportRule {
                    every: "daily@20:00".to_string(),
                    condition: Condition::Always,
                    channels: vec![Channel::Telegram, Channel::Email],
                },
            ],
            webhook_url: String::new(),
            video: Vec::new(),
            retry_max_secs: 300,
            link_base: String::new(),
        }
    }
}

/// How often a report rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    /// Every N hours from local midnight; covers the last N hours.
    Hours(u32),
    /// Once a day at this local time (minutes after midnight); covers the day so far.
    DailyAt(u32),
}

impl Every {
    pub fn parse(s: &str) -> Option<Every> {
        let s = s.trim();
        if let Some(hm) = s.strip_prefix("daily@") {
            let (h, m) = hm.split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            return (h < 24 && m < 60 && hm.len() == 5).then_some(Every::DailyAt(h * 60 + m));
        }
        let n: u32 = s.strip_suffix('h')?.parse().ok()?;
        [1, 2, 3, 4, 6, 8, 12]
            .contains(&n)
            .then_some(Every::Hours(n))
    }
}

fn check_url(field: &str, url: &str) -> Result<()> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "https://".len()
        && !url.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("'{url}' is not an http:// or https:// address"),
        ))
    }
}

/// An address as the mail transport will read it (`x@clinic.ru` or `Name <x@clinic.ru>`), so a
/// setting accepted here is never refused at sending time.
pub fn check_address(field: &str, addr: &str) -> Result<()> {
    addr.trim()
        .parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|_| Error::invalid(field, format!("'{addr}' is not an email address")))
}

impl NotifyConfig {
    pub fn load(conn: &Connection) -> Result<NotifyConfig> {
        Ok(match get_setting(conn, SETTING_KEY)? {
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
                tracing::warn!(%e, "the stored notification settings are unreadable; using defaults");
                NotifyConfig::default()
            }),
            None => NotifyConfig::default(),
        })
    }

    pub fn save(&self, conn: &Connection) -> Result<()> {
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (
                SETTING_KEY,
                serde_json::to_string(self).expect("config serializes"),
            ),
        )?;
        Ok(())
    }

    /// Checks every field; the error names the first bad one (e.g. `alerts[0].scores`).
    pub fn validate(&self, levels: u8) -> Result<()> {
        let t = &self.telegram;
        check_url("telegram.api_url", t.api_url.trim_end_matches('/'))?;
        in_range(
            "telegram.min_interval_ms",
            t.min_interval_ms.into(),
            0..=60_000,
        )?;
        let e = &self.email;
        if e.enabled {
            if e.host.trim().is_empty() || e.host.contains(char::is_whitespace) {
                return Err(Error::invalid(
                    "email.host",
                    "is needed: the SMTP server's name or address",
                ));
            }
            in_range("email.port", e.port.into(), 1..=65_535)?;
            check_address("email.from", &e.from)?;
            if e.to.is_empty() {
                return Err(Error::invalid("email.to", "needs at least one address"));
            }
        }
        for (i, a) in e.to.iter().enumerate() {
            check_address(&format!("email.to[{i}]"), a)?;
        }
        for (i, a) in e.escalation_to.iter().enumerate() {
            check_address(&format!("email.escalation_to[{i}]"), a)?;
        }
        if !e.ca_file.is_empty() && !std::path::Path::new(&e.ca_file).is_file() {
            return Err(Error::invalid(
                "email.ca_file",
                format!("{} is not a file", e.ca_file),
            ));
        }
        for (i, r) in self.alerts.iter().enumerate() {
            if r.scores.is_empty() {
                return Err(Error::invalid(
                    format!("alerts[{i}].scores"),
                    "needs at least one score",
                ));
            }
            if let Some(s) = r.scores.iter().find(|s| **s < 1 || **s > i64::from(levels)) {
                return Err(Error::invalid(
                    format!("alerts[{i}].scores"),
                    format!("{s} is not a level of the {levels}-level scale"),
                ));
            }
            check_channels(&format!("alerts[{i}].channels"), &r.channels)?;
            in_range(
                &format!("alerts[{i}].escalate_after_mins"),
                r.escalate_after_mins.into(),
                0..=24 * 60,
            )?;
        }
        for (i, r) in self.windows.iter().enumerate() {
            check_window(i, r, levels)?;
        }
        for (i, r) in self.reports.iter().enumerate() {
            if Every::parse(&r.every).is_none() {
                return Err(Error::invalid(
                    format!("reports[{i}].every"),
                    format!(
                        "'{}' is not 1h, 2h, 3h, 4h, 6h, 8h, 12h or daily@HH:MM",
                        r.every
                    ),
                ));
            }
            check_channels(&format!("reports[{i}].channels"), &r.channels)?;
        }
        if !self.webhook_url.is_empty() {
            check_url("webhook_url", &self.webhook_url)?;
        }
        for (i, t) in self.video.iter().enumerate() {
            check_video(i, t, levels)?;
        }
        in_range("retry_max_secs", self.retry_max_secs.into(), 1..=3600)?;
        if !self.link_base.is_empty() {
            check_url("link_base", &self.link_base)?;
        }
        Ok(())
    }
}

fn check_window(i: usize, r: &WindowRule, levels: u8) -> Result<()> {
    let field = |f: &str| format!("windows[{i}].{f}");
    if !WINDOW_KINDS.contains(&r.kind.as_str()) {
        return Err(Error::invalid(
            field("kind"),
            format!(
                "'{}' is not low_share, low_run, top_share or top_run",
                r.kind
            ),
        ));
    }
    if let Some(s) = r.scores.iter().find(|s| **s < 1 || **s > i64::from(levels)) {
        return Err(Error::invalid(
            field("scores"),
            format!("{s} is not a level of the {levels}-level scale"),
        ));
    }
    if r.is_run() {
        in_range(&field("run"), r.run.into(), 0..=50)?;
    } else {
        if r.minutes == 0 {
            return Err(Error::invalid(
                field("minutes"),
                "must be 1 to 720: the window's length in minutes",
            ));
        }
        in_range(&field("minutes"), r.minutes.into(), 1..=720)?;
        if r.percent == 0 || r.percent > 100 {
            return Err(Error::invalid(
                field("percent"),
                format!("{} is not a percent from 1 to 100", r.percent),
            ));
        }
        in_range(&field("min_ratings"), r.min_ratings.into(), 1..=1000)?;
    }
    if r.is_top() {
        if r.channels.contains(&Channel::Webhook) {
            check_channels(&field("channels"), &r.channels)?;
        }
    } else {
        check_channels(&field("channels"), &r.channels)?;
    }
    in_range(
        &field("escalate_after_mins"),
        r.escalate_after_mins.into(),
        0..=24 * 60,
    )?;
    Ok(())
}

fn check_channels(field: &str, channels: &[Channel]) -> Result<()> {
    if channels.is_empty() {
        return Err(Error::invalid(field, "needs telegram, email or both"));
    }
    if channels.contains(&Channel::Webhook) {
        return Err(Error::invalid(
            field,
            "the webhook takes every rating; it has its own setting",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parses_what_it_documents() {
        assert_eq!(Every::parse("1h"), Some(Every::Hours(1)));
        assert_eq!(Every::parse("12h"), Some(Every::Hours(12)));
        assert_eq!(Every::parse("daily@20:00"), Some(Every::DailyAt(1200)));
        assert_eq!(Every::parse("daily@07:05"), Some(Every::DailyAt(425)));
        for bad in [
            "5h",
            "0h",
            "h",
            "daily@24:00",
            "daily@7:00",
            "daily@20:60",
            "weekly",
            "",
        ] {
            assert_eq!(Every::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn validation_names_the_field() {
        let ok = NotifyConfig::default();
        ok.validate(3).unwrap();
        let mut c = ok.clone();
        c.alerts[0].scores = vec![4];
        let e = c.validate(3).unwrap_err().to_string();
        assert!(e.starts_with("alerts[0].scores"), "{e}");
        let mut c = ok.clone();
        c.email.enabled = true;
        c.email.host = "smtp.clinic.example".into();
        c.email.from = "otklik@clinic.example".into();
        c.email.to = vec!["head@clinic.example".into(), "not an address".into()];
        let e = c.validate(3).unwrap_err().to_string();
        assert!(e.starts_with("email.to[1]"), "{e}");
        let mut c = ok.clone();
        c.reports[1].every = "weekly".into();
        assert!(
            c.validate(3)
                .unwrap_err()
                .to_string()
                .starts_with("reports[1].every")
        );
        let mut c = ok;
        c.webhook_url = "ftp://x".into();
        assert!(
            c.validate(3)
                .unwrap_err()
                .to_string()
                .starts_with("webhook_url")
        );
        check_address("x", "Head <head@clinic.example>").unwrap();
    }

    #[test]
    fn video_targets_are_checked() {
        let mut c = NotifyConfig::default();
        let t = |kind: &str, address: &str, text: &str| VideoTarget {
            kind: kind.into(),
            address: address.into(),
            text: text.into(),
            scores: Vec::new(),
        };
        c.video = vec![
            t("milestone", "10.0.0.5:1234", "Otklik {desk} {score}"),
            t("axxon", "http://10.0.0.6:8000", "7"),
            t("get", "http://nvr/mark?t={unix}", ""),
        ];
        c.validate(3).unwrap();
        for (bad, field) in [
            (t("milestone", "10.0.0.5", ""), "video[0].address"),
            (t("milestone", "nvr:1234", "{when}"), "video[0].text"),
            (t("axxon", "http://nvr:8000", ""), "video[0].text"),
            (t("get", "nvr/mark", ""), "video[0].address"),
            (t("get", "http://nvr/?t={when}", ""), "video[0].address"),
            (t("hikvision", "http://x", ""), "video[0].kind"),
        ] {
            let mut c = c.clone();
            c.video[0] = bad;
            let e = c.validate(3).unwrap_err().to_string();
            assert!(e.starts_with(field), "{e}");
        }
    }

    #[test]
    fn window_rules_are_checked_field_by_field() {
        let mut c = NotifyConfig::default();
        for kind in WINDOW_KINDS {
            c.windows.push(WindowRule {
                kind: kind.to_string(),
                ..Default::default()
            });
        }
        c.validate(5).unwrap();
        let bad = |f: fn(&mut WindowRule), field: &str| {
            let mut c = c.clone();
            f(&mut c.windows[1]);
            let e = c.validate(5).unwrap_err().to_string();
            assert!(e.starts_with(&format!("windows[1].{field}")), "{e}");
        };
        bad(|r| r.kind = "low_mood".into(), "kind");
        bad(|r| r.scores = vec![6], "scores");
        bad(|r| r.channels.clear(), "channels");
        let share = |f: fn(&mut WindowRule), field: &str| {
            let mut c = c.clone();
            f(&mut c.windows[0]);
            let e = c.validate(5).unwrap_err().to_string();
            assert!(e.starts_with(&format!("windows[0].{field}")), "{e}");
        };
        share(|r| r.minutes = 0, "minutes");
        share(|r| r.percent = 0, "percent");
        share(|r| r.percent = 101, "percent");
        share(|r| r.min_ratings = 0, "min_ratings");
        // Thanks may go to the panel only.
        c.windows[3].channels.clear();
        c.validate(5).unwrap();
        assert_eq!(c.windows[3].run_len(), 5);
        assert_eq!(c.windows[1].run_len(), 3);
        assert_eq!(c.windows[3].counted(5), vec![5]);
        assert_eq!(c.windows[0].counted(5), vec![1]);
    }
}
