//! "Save diagnostics": one zip for a support request, with the recent logs, what `/healthz`
//! says, the settings (notification, camera and input settings included) without secrets, the
//! versions, the messages that failed and the recent audit log.
//!
//! Secrets never go in: the settings hold none (they live in the secret store, camera passwords
//! in their own table), URLs lose any user name, password and credential-like query value, and
//! the finished zip is read back and searched for every secret the engine knows; if one is
//! found anywhere, no zip is made.

use std::io::{Read, Seek, Write};
use std::path::Path;

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::engine::Engine;
use crate::logs;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{now_ms, to_rfc3339};
use otklik_notify::secrets::{RECEPTION_TOKEN, SMTP_PASSWORD, TELEGRAM_TOKEN, UPLINK_KEY};
use otklik_store::db;

/// Days of logs in the zip, today included.
pub const LOG_DAYS: u64 = 7;
/// A log file larger than this goes in as its last part only.
const LOG_TAIL_BYTES: u64 = 20 << 20;

/// A secret the engine knows, with words for it that do not give it away.
#[derive(Clone)]
pub struct Secret {
    pub what: String,
    pub value: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret").field("what", &self.what).finish()
    }
}

/// Every secret the engine knows: the API token, the bot token, the SMTP password, each
/// stored secret (camera passwords), registrars' PIN hashes and supervisors' password hashes.
/// Blocking: reads the secret store and the database.
pub fn named_secrets(engine: &Engine) -> Vec<Secret> {
    let mut out = Vec::new();
    let mut add = |what: String, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            out.push(Secret { what, value: v });
        }
    };
    add(
        "the API token".into(),
        otklik_store::token::load_or_create(&engine.store.data_dir).ok(),
    );
    let store = engine.notify.secrets();
    add(
        "the Telegram bot token".into(),
        store.get(TELEGRAM_TOKEN).ok().flatten(),
    );
    add(
        "the SMTP password".into(),
        store.get(SMTP_PASSWORD).ok().flatten(),
    );
    add(
        "the network hub's site key".into(),
        store.get(UPLINK_KEY).ok().flatten(),
    );
    add(
        "the desk PC's token at the reception".into(),
        store.get(RECEPTION_TOKEN).ok().flatten(),
    );
    if let Ok(conn) = db::open_reader(&engine.store.db_path) {
        let stored = |c: &Connection| -> rusqlite::Result<Vec<(String, String)>> {
            let mut stmt = c.prepare("SELECT key, value FROM secrets")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        };
        for (key, value) in stored(&conn).unwrap_or_default() {
            let what = match key.split_once(':') {
                Some(("camera_password", desk)) => format!("the camera password of desk {desk}"),
                _ => format!("the stored secret `{key}`"),
            };
            add(what, Some(value));
        }
        let pins = |c: &Connection| -> rusqlite::Result<Vec<(i64, String)>> {
            let mut stmt =
                c.prepare("SELECT id, pin_hash FROM registrars WHERE pin_hash IS NOT NULL")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        };
        for (id, hash) in pins(&conn).unwrap_or_default() {
            add(format!("the PIN hash of registrar {id}"), Some(hash));
        }
        let supervisors = |c: &Connection| -> rusqlite::Result<Vec<(i64, String)>> {
            let mut stmt = c.prepare("SELECT id, password_hash FROM supervisors")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        };
        for (id, hash) in supervisors(&conn).unwrap_or_default() {
            add(format!("the password hash of supervisor {id}"), Some(hash));
        }
    }
    out
}

/// The values of [`named_secrets`], for the log's filter.
pub fn known_secrets(engine: &Engine) -> Vec<String> {
    named_secrets(engine).into_iter().map(|s| s.value).collect()
}

/// The forms a secret takes in text: as it is, escaped in JSON, encoded in a URL.
fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    let json = serde_json::to_string(secret).expect("a string serializes");
    out.push(json[1..json.len() - 1].to_string());
    if let Ok(mut url) = reqwest::Url::parse("http://x/") {
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(secret);
        }
        out.push(url.path().trim_start_matches('/').to_string());
        url.set_path("/");
        url.query_pairs_mut().append_pair("s", secret);
        if let Some(q) = url.query() {
            out.push(q.trim_start_matches("s=").to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A URL without a user name or password, and with credential-like query values hidden.
pub fn scrub_url(text: &str) -> String {
    let Ok(mut url) = reqwest::Url::parse(text) else {
        // Not a URL we can take apart: keep only what is before any '@', '?' or '#'.
        let cut = text.find(['@', '?', '#']).unwrap_or(text.len());
        return if cut < text.len() {
            format!("{}…", &text[..cut])
        } else {
            text.to_string()
        };
    };
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                let hide = [
                    "pass", "pwd", "token", "key", "auth", "secret", "sig", "cred", "session",
                ]
                .iter()
                .any(|w| lower.contains(w));
                (
                    k.into_owned(),
                    if hide { "***".into() } else { v.into_owned() },
                )
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// A webhook's address shows only where it goes: its path often is the credential.
fn scrub_webhook(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    match reqwest::Url::parse(text) {
        Ok(url) => format!(
            "{}://{}{}/… (path left out)",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "(set; left out)".to_string(),
    }
}

/// Every string in `v` under a key named `url`, `api_url` or `link_base`, scrubbed.
fn scrub_urls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                match item {
                    Value::String(s) if k == "webhook_url" => *s = scrub_webhook(s),
                    Value::String(s) if k.ends_with("url") || k == "link_base" => {
                        if !s.is_empty() {
                            *s = scrub_url(s)
                        }
                    }
                    Value::String(s) if k.contains("password") || k.contains("token") => {
                        *s = "***".into()
                    }
                    _ => scrub_urls(item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_urls),
        _ => {}
    }
}

fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// The settings part of the zip: everything configurable, nothing secret.
fn settings_json(engine: &Engine, conn: &Connection) -> Value {
    let store = engine.notify.secrets();
    let set = |name: &str| store.get(name).ok().flatten().is_some();
    let evidence = otklik_devices::evidence::config::load_all(conn).unwrap_or_default();
    let camera_passwords: Vec<i64> = evidence
        .iter()
        .filter(|e| {
            matches!(
                &e.camera,
                Some(otklik_devices::evidence::config::CameraConfig::Ip {
                    has_password: true,
                    ..
                })
            )
        })
        .map(|e| e.desk_id)
        .collect();
    let supervisors = otklik_store::access::supervisors(conn).map_or(0, |s| s.len());
    let mut v = json!({
        "settings": to_value(&engine.store.settings()),
        "notify": to_value(&*engine.notify.config()),
        "evidence": to_value(&evidence),
        "inputs": to_value(&otklik_devices::inputs::config::load_all(conn).unwrap_or_default()),
        "secrets": {
            "where": store.place(),
            "telegram_token_set": set(TELEGRAM_TOKEN),
            "smtp_password_set": set(SMTP_PASSWORD),
            "supervisors": supervisors,
            "camera_passwords_for_desks": camera_passwords,
        },
        "backups": {
            "dir": engine.backup_dir().display().to_string(),
            "files": crate::backup::list(&engine.backup_dir()).map(|l| to_value(&l)).unwrap_or_else(|e| Value::String(e.to_string())),
            "last": to_value(&engine.last_backup()),
            "pending_restore": to_value(&crate::backup::pending(&engine.store.data_dir)),
        },
    });
    scrub_urls(&mut v);
    v
}

fn os_release() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_default()
}

fn versions_txt(engine: &Engine, conn: &Connection) -> String {
    let schema = db::schema_version(conn).map_or_else(|e| e.to_string(), |v| v.to_string());
    let s = engine.store.settings();
    format!(
        "Otklik {}\nschema version {} (this build knows up to {})\nSQLite {}\nOS {} {} {}\ndata directory {}\ndatabase {}\ntime zone {}\nstarted {}\nnow {}\n",
        env!("CARGO_PKG_VERSION"),
        schema,
        db::latest_version(),
        rusqlite::version(),
        std::env::consts::OS,
        std::env::consts::ARCH,
        os_release(),
        engine.store.data_dir.display(),
        engine.store.db_path.display(),
        s.timezone,
        to_rfc3339(engine.started_at),
        to_rfc3339(now_ms()),
    )
}

fn outbox_json(conn: &Connection) -> Value {
    let items = otklik_notify::outbox::list(conn, None, 1000).unwrap_or_default();
    Value::Array(
        items
            .into_iter()
            .filter(|i| i.state == "failed" || i.last_error.is_some())
            .take(300)
            .map(|i| {
                json!({
                    "id": i.id,
                    "channel": i.channel,
                    "kind": i.kind,
                    "state": i.state,
                    "attempts": i.attempts,
                    "created_at": i.created_at,
                    "last_error": i.last_error,
                })
            })
            .collect(),
    )
}

/// A log file, or its last [`LOG_TAIL_BYTES`] if it is larger.
fn read_log(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut out = Vec::new();
    if len > LOG_TAIL_BYTES {
        f.seek(std::io::SeekFrom::Start(len - LOG_TAIL_BYTES))?;
        out.extend_from_slice(
            format!(
                "[the first {} bytes of this file are left out]\n",
                len - LOG_TAIL_BYTES
            )
            .as_bytes(),
        );
    }
    f.read_to_end(&mut out)?;
    Ok(out)
}

/// The zip's entries, by name.
fn entries(engine: &Engine, health: &Value) -> Result<Vec<(String, Vec<u8>)>> {
    let conn = db::open_reader(&engine.store.db_path)?;
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).expect("JSON serializes");
    let audit = otklik_store::audit::list(&conn, None, 500)?;
    let mut out = vec![
        ("health.json".to_string(), pretty(health)),
        (
            "settings.json".to_string(),
            pretty(&settings_json(engine, &conn)),
        ),
        (
            "versions.txt".to_string(),
            versions_txt(engine, &conn).into_bytes(),
        ),
        (
            "outbox-failed.json".to_string(),
            pretty(&outbox_json(&conn)),
        ),
        ("audit-recent.json".to_string(), pretty(&to_value(&audit))),
    ];
    let from = chrono::Local::now().date_naive() - chrono::Days::new(LOG_DAYS - 1);
    for (day, path) in logs::files(&logs::log_dir(&engine.store.data_dir)) {
        if day < from {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match read_log(&path) {
            Ok(bytes) => out.push((format!("logs/{name}"), bytes)),
            Err(e) => out.push((
                format!("logs/{name}.unreadable.txt"),
                format!("cannot read {name}: {e}\n").into_bytes(),
            )),
        }
    }
    Ok(out)
}

/// The zip's file name for a moment.
pub fn file_name(at: otklik_domain::time::Millis) -> String {
    format!(
        "otklik-diagnostics-{}.zip",
        otklik_domain::time::to_datetime(at).format("%Y%m%d-%H%M%S")
    )
}

/// Makes the zip. `health` is what `/healthz` answers. Blocking.
pub fn build(engine: &Engine, health: &Value) -> Result<Vec<u8>> {
    let entries = entries(engine, health)?;
    let zip = write_zip(&entries)
        .map_err(|e| Error::CommitFailed(format!("cannot make the diagnostics zip: {e}")))?;
    check_no_secrets(&zip, &named_secrets(engine))?;
    Ok(zip)
}

fn write_zip(entries: &[(String, Vec<u8>)]) -> zip::result::ZipResult<Vec<u8>> {
    let now = chrono::Local::now().naive_local();
    use chrono::{Datelike, Timelike};
    let stamp = zip::DateTime::from_date_and_time(
        now.year() as u16,
        now.month() as u8,
        now.day() as u8,
        now.hour() as u8,
        now.minute() as u8,
        now.second() as u8,
    )
    .unwrap_or_default();
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(stamp)
        .large_file(false);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The entries of a zip, by name (as [`build`] reads its own zip back).
pub fn read_zip(bytes: &[u8]) -> zip::result::ZipResult<Vec<(String, Vec<u8>)>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut file = archive.by_index(i)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        let name = file.name()?.into_owned();
        out.push((name, data));
    }
    Ok(out)
}

/// Refuses a zip in which any secret appears, in any entry or name; says which secret (not its
/// value) and where.
pub fn check_no_secrets(zip: &[u8], secrets: &[Secret]) -> Result<()> {
    let entries = read_zip(zip)
        .map_err(|e| Error::CommitFailed(format!("cannot read the diagnostics zip back: {e}")))?;
    let searched: Vec<(&Secret, Vec<String>)> = secrets
        .iter()
        .filter(|s| s.value.len() >= logs::MIN_SECRET_LEN)
        .map(|s| (s, forms(&s.value)))
        .collect();
    for (name, data) in &entries {
        let text = String::from_utf8_lossy(data);
        for (secret, forms) in &searched {
            if forms
                .iter()
                .any(|f| text.contains(f.as_str()) || name.contains(f.as_str()))
            {
                return Err(Error::Conflict(format!(
                    "{} appears in {name}: the diagnostics were not saved. Remove it from there \
                     (or change the secret) and try again",
                    secret.what
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials() {
        assert_eq!(
            scrub_url("http://admin:hunter22@10.0.0.20/snap.jpg?user=admin&pwd=hunter22&ch=1"),
            "http://10.0.0.20/snap.jpg?user=admin&pwd=***&ch=1"
        );
        assert_eq!(
            scrub_url("https://api.telegram.org"),
            "https://api.telegram.org/"
        );
        assert_eq!(
            scrub_webhook("https://hooks.example.com/services/T0/B0/XYZsecret"),
            "https://hooks.example.com/… (path left out)"
        );
        assert_eq!(scrub_url("not a url@host"), "not a url…");
    }

    #[test]
    fn a_secret_in_any_form_stops_the_zip() {
        let secret = Secret {
            what: "the SMTP password".into(),
            value: "p@ss word/\"quoted\"".into(),
        };
        let clean = write_zip(&[("a.txt".into(), b"nothing here".to_vec())]).unwrap();
        check_no_secrets(&clean, std::slice::from_ref(&secret)).unwrap();
        let mut in_url = reqwest::Url::parse("http://h/").unwrap();
        in_url
            .path_segments_mut()
            .unwrap()
            .push(&secret.value)
            .push("send");
        let mut in_query = reqwest::Url::parse("http://h/").unwrap();
        in_query.query_pairs_mut().append_pair("pwd", &secret.value);
        for leaked in [
            "p@ss word/\"quoted\"".to_string(),
            serde_json::to_string(&json!({ "x": "p@ss word/\"quoted\"" })).unwrap(),
            in_url.to_string(),
            in_query.to_string(),
        ] {
            let zip = write_zip(&[
                ("a.txt".into(), b"fine".to_vec()),
                ("logs/b.log".into(), leaked.clone().into_bytes()),
            ])
            .unwrap();
            let err = check_no_secrets(&zip, std::slice::from_ref(&secret))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("the SMTP password appears in logs/b.log"),
                "{leaked}: {err}"
            );
            assert!(!err.contains("quoted"), "the message does not give it away");
        }
    }
}
