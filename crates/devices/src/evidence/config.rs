//! Each desk's evidence setting: off unless the clinic turns it on, photo and audio separately.
//! A camera password is kept with the other secrets, never shown back.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use otklik_domain::error::{Error, Result};
use otklik_store::audit;
use otklik_store::roster::get_desk;
use otklik_store::writer::WriteCtx;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum CameraConfig {
    /// A USB webcam, by its index (0 is the first).
    Usb { index: u32 },
    /// An IP camera's JPEG snapshot URL, e.g. `http://10.0.0.20/snapshot.jpg`.
    Ip {
        url: String,
        #[serde(default)]
        user: Option<String>,
        /// Write-only: kept with the secrets, never shown back (`has_password` tells).
        #[serde(default, skip_serializing)]
        password: Option<String>,
        #[serde(default)]
        has_password: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskEvidence {
    #[serde(default)]
    pub desk_id: i64,
    /// Take a photo at each rating.
    #[serde(default)]
    pub photo: bool,
    pub camera: Option<CameraConfig>,
    /// Keep the patient's voice around each rating.
    #[serde(default)]
    pub audio: bool,
    /// The capture device's name as the system lists it; null for the default microphone.
    pub microphone: Option<String>,
}

impl DeskEvidence {
    pub fn off(desk_id: i64) -> DeskEvidence {
        DeskEvidence {
            desk_id,
            photo: false,
            camera: None,
            audio: false,
            microphone: None,
        }
    }

    fn validated(mut self) -> Result<DeskEvidence> {
        if self.photo && self.camera.is_none() {
            return Err(Error::invalid("camera", "photos need a camera: usb or ip"));
        }
        if let Some(CameraConfig::Ip { url, user, .. }) = &mut self.camera {
            *url = url.trim().to_string();
            let ok = (url.starts_with("http://") || url.starts_with("https://"))
                && url.len() <= 500
                && !url.chars().any(char::is_whitespace);
            if !ok {
                return Err(Error::invalid(
                    "camera.url",
                    "give the camera's snapshot URL, e.g. http://10.0.0.20/snapshot.jpg",
                ));
            }
            if url
                .split("://")
                .nth(1)
                .is_some_and(|rest| rest.split('/').next().unwrap_or("").contains('@'))
            {
                return Err(Error::invalid(
                    "camera.url",
                    "put the user and password in their own fields, not in the URL",
                ));
            }
            if user
                .as_deref()
                .is_some_and(|u| u.len() > 100 || u.contains(':'))
            {
                return Err(Error::invalid(
                    "camera.user",
                    "at most 100 characters, no ':'",
                ));
            }
        }
        if let Some(m) = &self.microphone
            && (m.trim().is_empty() || m.len() > 200)
        {
            return Err(Error::invalid(
                "microphone",
                "give the capture device's name, or null for the default microphone",
            ));
        }
        Ok(self)
    }
}

fn secret_key(desk_id: i64) -> String {
    format!("camera_password:{desk_id}")
}

pub fn camera_password(conn: &Connection, desk_id: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM secrets WHERE key = ?1")?
        .query_row([secret_key(desk_id)], |r| r.get(0))
        .optional()?)
}

pub fn load(conn: &Connection, desk_id: i64) -> Result<DeskEvidence> {
    get_desk(conn, desk_id)?;
    let stored: Option<String> = conn
        .prepare_cached("SELECT config FROM desk_evidence WHERE desk_id = ?1")?
        .query_row([desk_id], |r| r.get(0))
        .optional()?;
    let mut ev = stored
        .and_then(|s| serde_json::from_str::<DeskEvidence>(&s).ok())
        .unwrap_or_else(|| DeskEvidence::off(desk_id));
    ev.desk_id = desk_id;
    if let Some(CameraConfig::Ip { has_password, .. }) = &mut ev.camera {
        *has_password = camera_password(conn, desk_id)?.is_some();
    }
    Ok(ev)
}

pub fn load_all(conn: &Connection) -> Result<Vec<DeskEvidence>> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT desk_id FROM desk_evidence ORDER BY desk_id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ids.into_iter().map(|id| load(conn, id)).collect()
}

/// Saves a desk's setting. A camera password sent is stored as a secret; one left out stays.
pub fn save(ctx: &mut WriteCtx<'_>, ev: DeskEvidence, actor: &str) -> Result<DeskEvidence> {
    get_desk(ctx.conn, ev.desk_id)?;
    let mut ev = ev.validated()?;
    let desk_id = ev.desk_id;
    match &mut ev.camera {
        Some(CameraConfig::Ip { password, .. }) => {
            if let Some(p) = password.take() {
                ctx.conn
                    .prepare_cached(
                        "INSERT INTO secrets (key, value) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    )?
                    .execute((secret_key(desk_id), p))?;
            }
        }
        _ => {
            ctx.conn
                .prepare_cached("DELETE FROM secrets WHERE key = ?1")?
                .execute([secret_key(desk_id)])?;
        }
    }
    let stored = serde_json::to_string(&ev).expect("config serializes");
    ctx.conn
        .prepare_cached(
            "INSERT INTO desk_evidence (desk_id, config) VALUES (?1, ?2)
             ON CONFLICT (desk_id) DO UPDATE SET config = excluded.config",
        )?
        .execute((desk_id, stored))?;
    let saved = load(ctx.conn, desk_id)?;
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "desk.evidence",
        "desk",
        Some(desk_id),
        json!({ "photo": saved.photo, "audio": saved.audio }),
    )?;
    ctx.emit("evidence", &saved);
    Ok(saved)
}
