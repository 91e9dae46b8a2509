//! Panels paired from the console. A desk's patient panel (the faces) and registrar panel (check
//! in and out, contests) are browsers anywhere on the LAN; before one may act for a desk, a
//! supervisor shows a one-time code in the console and the device sends it back, getting a token
//! of its own. The console lists paired panels and revokes any of them at once.

use std::collections::HashMap;
use std::sync::Mutex;

use rand::{Rng, RngCore};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::audit;
use crate::writer::WriteCtx;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, to_rfc3339};

/// How long a pairing code may wait to be typed on the panel.
pub const CODE_MS: Millis = 10 * 60_000;
/// Wrong codes one address may send before it has to wait; then one more per `CODE_PAUSE_MS`.
const FREE_WRONG_CODES: u32 = 5;
const CODE_PAUSE_MS: Millis = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The faces facing the patient: taps ratings.
    Patient,
    /// The registrar's own panel: check-in, check-out, contests, one's low ratings.
    Registrar,
    /// An Otklik on the desk's own PC (its buttons, camera, microphone): forwards its presses
    /// to this one, nothing else.
    DeskPc,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Registrar => "registrar",
            Role::DeskPc => "desk_pc",
        }
    }

    fn parse(s: &str) -> Role {
        match s {
            "registrar" => Role::Registrar,
            "desk_pc" => Role::DeskPc,
            _ => Role::Patient,
        }
    }
}

/// A paired device, as the console lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Panel {
    pub id: i64,
    pub desk_id: i64,
    pub desk_name: String,
    pub role: Role,
    pub label: String,
    pub paired_at: String,
    pub paired_by: String,
    pub revoked_at: Option<String>,
}

/// A code shown in the console, to be typed on the panel.
// `as`: the Telegram pairing (notify::Pairing) is a schema named `Pairing` too, and the document
// keeps one of the two.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PanelPairing)]
pub struct Pairing {
    pub code: String,
    pub desk_id: i64,
    pub role: Role,
    pub expires_at: String,
}

/// What a valid panel token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanelKey {
    pub id: i64,
    pub desk_id: i64,
    pub role: Role,
}

struct Code {
    desk_id: i64,
    role: Role,
    actor: String,
    expires: Millis,
}

/// Codes waiting to be typed, the tokens of paired panels (as hashes), and wrong codes per
/// address. Tokens are checked on every tap, so they are held in memory, loaded at start and
/// kept in step with every pairing and revocation.
#[derive(Default)]
pub struct Panels {
    codes: Mutex<HashMap<String, Code>>,
    keys: Mutex<HashMap<String, PanelKey>>,
    wrong: Mutex<HashMap<std::net::IpAddr, (u32, Millis)>>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Panels {
    pub fn load(conn: &Connection) -> Result<Panels> {
        let panels = Panels::default();
        let mut stmt = conn
            .prepare("SELECT id, desk_id, role, token_hash FROM panels WHERE revoked_at IS NULL")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(3)?,
                PanelKey {
                    id: r.get(0)?,
                    desk_id: r.get(1)?,
                    role: Role::parse(&r.get::<_, String>(2)?),
                },
            ))
        })?;
        let mut keys = panels.keys.lock().expect("panels lock");
        for row in rows {
            let (h, key) = row?;
            keys.insert(h, key);
        }
        drop(keys);
        Ok(panels)
    }

    /// A new six-digit code for a panel of `desk_id` in `role`; earlier codes stay valid.
    pub fn new_code(&self, desk_id: i64, role: Role, actor: &str, now: Millis) -> Pairing {
        let mut codes = self.codes.lock().expect("panels lock");
        codes.retain(|_, c| c.expires > now);
        let code = loop {
            let c = format!("{:06}", rand::rng().random_range(0..1_000_000));
            if !codes.contains_key(&c) {
                break c;
            }
        };
        codes.insert(
            code.clone(),
            Code {
                desk_id,
                role,
                actor: actor.to_string(),
                expires: now + CODE_MS,
            },
        );
        Pairing {
            code,
            desk_id,
            role,
            expires_at: to_rfc3339(now + CODE_MS),
        }
    }

    /// Takes a code typed on a panel (once). Wrong codes from one address are braked before
    /// the code is even looked at, so guessing a million codes takes years.
    pub fn take_code(
        &self,
        code: &str,
        ip: std::net::IpAddr,
        now: Millis,
    ) -> Result<(i64, Role, String)> {
        {
            let mut wrong = self.wrong.lock().expect("panels lock");
            wrong.retain(|_, (_, last)| now - *last < CODE_PAUSE_MS * 10);
            if let Some((n, last)) = wrong.get(&ip)
                && *n >= FREE_WRONG_CODES
                && now - last < CODE_PAUSE_MS
            {
                let secs = ((CODE_PAUSE_MS - (now - last)) / 1000 + 1) as u64;
                return Err(Error::TooSoon {
                    message: format!("too many wrong codes: try again in {secs} s"),
                    retry_after_secs: secs,
                });
            }
            // Counted before the code is checked: parallel guesses all pay.
            let e = wrong.entry(ip).or_insert((0, now));
            e.0 += 1;
            e.1 = now;
        }
        let mut codes = self.codes.lock().expect("panels lock");
        match codes.remove(code.trim()) {
            Some(c) if c.expires > now => {
                self.wrong.lock().expect("panels lock").remove(&ip);
                Ok((c.desk_id, c.role, c.actor))
            }
            _ => Err(Error::Forbidden(
                "this code is wrong or has expired: ask for a new one in the console".into(),
            )),
        }
    }

    /// The panel `token` belongs to, if it is paired and not revoked.
    pub fn check(&self, token: &str) -> Option<PanelKey> {
        self.keys
            .lock()
            .expect("panels lock")
            .get(&hash(token))
            .copied()
    }

    /// Called after the pairing's commit.
    pub fn paired(&self, token_hash: String, key: PanelKey) {
        self.keys
            .lock()
            .expect("panels lock")
            .insert(token_hash, key);
    }

    pub fn revoked(&self, id: i64) {
        self.keys
            .lock()
            .expect("panels lock")
            .retain(|_, k| k.id != id);
    }
}

/// A new panel token and its hash.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("panel-{}", hex::encode(bytes));
    let h = hash(&token);
    (token, h)
}

/// Stores a paired panel; the caller adds its key once this is committed.
pub fn insert(
    ctx: &mut WriteCtx<'_>,
    desk_id: i64,
    role: Role,
    token_hash: &str,
    label: &str,
    paired_by: &str,
) -> Result<PanelKey> {
    let desk_exists: bool = ctx
        .conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM desks WHERE id = ?1)")?
        .query_row([desk_id], |r| r.get(0))?;
    if !desk_exists {
        return Err(Error::NotFound {
            what: "desk",
            id: desk_id,
        });
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO panels (desk_id, role, token_hash, label, paired_at, paired_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute((
            desk_id,
            role.as_str(),
            token_hash,
            label,
            ctx.now,
            paired_by,
        ))?;
    let id = ctx.conn.last_insert_rowid();
    audit::record(
        ctx.conn,
        ctx.now,
        paired_by,
        "panel.paired",
        "desk",
        Some(desk_id),
        json!({ "panel_id": id, "role": role.as_str(), "label": label }),
    )?;
    Ok(PanelKey { id, desk_id, role })
}

pub fn revoke(ctx: &mut WriteCtx<'_>, id: i64, actor: &str) -> Result<Panel> {
    let changed = ctx
        .conn
        .prepare_cached(
            "UPDATE panels SET revoked_at = ?1, revoked_by = ?2 WHERE id = ?3 AND revoked_at IS NULL",
        )?
        .execute((ctx.now, actor, id))?;
    let panel = get(ctx.conn, id)?.ok_or(Error::NotFound { what: "panel", id })?;
    if changed == 0 {
        return Err(Error::Conflict(format!("panel {id} is already revoked")));
    }
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "panel.revoked",
        "desk",
        Some(panel.desk_id),
        json!({ "panel_id": id }),
    )?;
    Ok(panel)
}

const COLUMNS: &str =
    "p.id, p.desk_id, d.name, p.role, p.label, p.paired_at, p.paired_by, p.revoked_at
     FROM panels p JOIN desks d ON d.id = p.desk_id";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Panel> {
    Ok(Panel {
        id: r.get(0)?,
        desk_id: r.get(1)?,
        desk_name: r.get(2)?,
        role: Role::parse(&r.get::<_, String>(3)?),
        label: r.get(4)?,
        paired_at: to_rfc3339(r.get(5)?),
        paired_by: r.get(6)?,
        revoked_at: r.get::<_, Option<Millis>>(7)?.map(to_rfc3339),
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<Panel>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} WHERE p.id = ?1"))?
        .query_row([id], row)
        .optional()?)
}

/// Paired panels, newest first; revoked ones only if asked for.
pub fn list(conn: &Connection, with_revoked: bool) -> Result<Vec<Panel>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} WHERE ?1 OR p.revoked_at IS NULL ORDER BY p.id DESC"
    ))?;
    let rows = stmt.query_map([with_revoked], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_and_wrong_codes_are_braked_per_address() {
        let p = Panels::default();
        let code = p.new_code(3, Role::Patient, "console", 0).code;
        let ip: std::net::IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..FREE_WRONG_CODES {
            let err = p.take_code("000000x", ip, i64::from(i)).unwrap_err();
            assert!(matches!(err, Error::Forbidden(_)), "{err}");
        }
        // Even the right code waits now: a guesser cannot tell a hit from the pause.
        let err = p.take_code(&code, ip, 10).unwrap_err();
        assert!(matches!(err, Error::TooSoon { .. }), "{err}");
        // Another device is not held up by this one.
        let other: std::net::IpAddr = "10.0.0.10".parse().unwrap();
        assert_eq!(
            p.take_code(&code, other, 11).unwrap(),
            (3, Role::Patient, "console".to_string())
        );
        assert!(p.take_code(&code, other, 12).is_err(), "used once");
    }

    #[test]
    fn codes_expire() {
        let p = Panels::default();
        let code = p.new_code(1, Role::Registrar, "console", 0).code;
        assert!(
            p.take_code(&code, "10.0.0.1".parse().unwrap(), CODE_MS)
                .is_err()
        );
    }

    #[test]
    fn tokens_are_known_until_revoked() {
        let p = Panels::default();
        let (token, h) = new_token();
        let key = PanelKey {
            id: 4,
            desk_id: 2,
            role: Role::Patient,
        };
        p.paired(h, key);
        assert_eq!(p.check(&token), Some(key));
        assert_eq!(p.check("panel-forged"), None);
        p.revoked(4);
        assert_eq!(p.check(&token), None);
    }
}
