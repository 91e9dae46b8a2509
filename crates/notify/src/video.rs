//! Ready-made targets for video surveillance, so a rating opens the recording at its moment:
//! Milestone XProtect's generic event (one line of text over TCP, the connection then closed),
//! Axxon Next/One's macro (an HTTP GET to its web server's `macro/execute/{id}`), and any system
//! that takes a plain HTTP GET (a URL template). They go through the webhook's channel of the
//! outbox, so a recorder that is down gets the ratings when it is back, in order: the target is
//! `tcp://host:port` (the body is the line) or `get:URL` (already filled in).

use chrono_tz::Tz;

use super::config::VideoTarget;
use otklik_domain::time::Millis;

pub const DEFAULT_MILESTONE_TEXT: &str = "Otklik desk={desk} score={score} time={time}";

/// What a rating fills placeholders with.
pub struct Facts<'a> {
    pub rating_id: i64,
    pub at: Millis,
    pub desk_id: i64,
    pub desk: &'a str,
    pub registrar: Option<&'a str>,
    pub score: i64,
    pub scale: i64,
}

/// The placeholders a template may use, for the errors and the README.
pub const PLACEHOLDERS: [&str; 10] = [
    "time",
    "utc",
    "unix",
    "unix_ms",
    "desk",
    "desk_id",
    "registrar",
    "score",
    "scale",
    "rating_id",
];

/// Every `{name}` in `template` replaced; `encode` percent-encodes the values (for URLs).
pub fn fill(template: &str, f: &Facts<'_>, tz: Tz, encode: bool) -> String {
    let at = chrono::DateTime::from_timestamp_millis(f.at).unwrap_or_default();
    let value = |name: &str| -> Option<String> {
        Some(match name {
            // The clinic's local time, as recorders' timelines show it.
            "time" => at
                .with_timezone(&tz)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string(),
            "utc" => at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "unix" => (f.at / 1000).to_string(),
            "unix_ms" => f.at.to_string(),
            "desk" => f.desk.to_string(),
            "desk_id" => f.desk_id.to_string(),
            "registrar" => f.registrar.unwrap_or("").to_string(),
            "score" => f.score.to_string(),
            "scale" => f.scale.to_string(),
            "rating_id" => f.rating_id.to_string(),
            _ => return None,
        })
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after
            .find('}')
            .and_then(|end| Some((end, value(&after[..end])?)))
        {
            Some((end, v)) => {
                out.push_str(&if encode { percent(&v) } else { v });
                rest = &after[end + 1..];
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

/// The names in `{...}` that are not placeholders.
pub fn unknown_placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !PLACEHOLDERS.contains(&name) {
            out.push(name.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The outbox target and body of one rating for one video target.
pub fn item(t: &VideoTarget, f: &Facts<'_>, tz: Tz) -> (String, String) {
    match t.kind.as_str() {
        "milestone" => {
            let text = if t.text.is_empty() {
                DEFAULT_MILESTONE_TEXT
            } else {
                &t.text
            };
            // One line: XProtect's data source splits events on CRLF.
            let line = fill(text, f, tz, false).replace(['\r', '\n'], " ");
            (format!("tcp://{}", t.address), format!("{line}\r\n"))
        }
        "axxon" => {
            let url = format!(
                "{}/macro/execute/{}",
                t.address.trim_end_matches('/'),
                percent(&t.text)
            );
            (format!("get:{url}"), String::new())
        }
        _ => (
            format!("get:{}", fill(&t.address, f, tz, true)),
            String::new(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts<'static> {
        Facts {
            rating_id: 42,
            // 2026-03-02 09:05:07.250 UTC
            at: 1_772_442_307_250,
            desk_id: 3,
            desk: "Окно 3",
            registrar: Some("Иванова"),
            score: 1,
            scale: 3,
        }
    }

    #[test]
    fn placeholders_are_filled_in_local_and_utc_time_and_encoded_for_urls() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        let f = facts();
        assert_eq!(
            fill(
                "{time} {utc} {unix} {unix_ms} {score}/{scale} #{rating_id} {nope} {",
                &f,
                tz,
                false
            ),
            "2026-03-02T12:05:07 2026-03-02T09:05:07.250Z 1772442307 1772442307250 1/3 #42 {nope} {"
        );
        assert_eq!(
            fill("http://nvr/x?desk={desk}&t={unix}", &f, tz, true),
            "http://nvr/x?desk=%D0%9E%D0%BA%D0%BD%D0%BE%203&t=1772442307"
        );
        assert_eq!(unknown_placeholders("{desk} {when} {unix}"), vec!["when"]);
    }

    #[test]
    fn each_kind_makes_its_target() {
        let tz: Tz = "UTC".parse().unwrap();
        let t = |kind: &str, address: &str, text: &str| VideoTarget {
            kind: kind.into(),
            address: address.into(),
            text: text.into(),
            scores: Vec::new(),
        };
        assert_eq!(
            item(&t("milestone", "10.0.0.5:1234", ""), &facts(), tz),
            (
                "tcp://10.0.0.5:1234".to_string(),
                "Otklik desk=Окно 3 score=1 time=2026-03-02T09:05:07\r\n".to_string()
            )
        );
        assert_eq!(
            item(&t("axxon", "http://10.0.0.6:8000/", "7"), &facts(), tz).0,
            "get:http://10.0.0.6:8000/macro/execute/7"
        );
        assert_eq!(
            item(&t("get", "http://nvr/mark?at={unix_ms}", ""), &facts(), tz).0,
            "get:http://nvr/mark?at=1772442307250"
        );
    }
}
