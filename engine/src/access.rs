//! Who may do what without the API token: a registrar proves who they are at the desk panel with
//! an optional PIN, a supervisor logs into the console with a password. Both are kept only as
//! argon2 hashes; repeated wrong guesses are slowed down.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension};
use serde_json::json;

use crate::audit;
use crate::error::{Error, Result};
use crate::time::Millis;
use crate::writer::WriteCtx;

/// How long a console login lasts without use.
pub const CONSOLE_IDLE_MS: Millis = 12 * 60 * 60 * 1000;
/// Wrong guesses allowed before each further one has to wait.
const FREE_FAILURES: u32 = 5;
const FAILURE_PAUSE_MS: Millis = 30_000;

const CONSOLE_PASSWORD_KEY: &str = "console_password";

pub fn hash_secret(secret: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any input")
        .to_string()
}

pub fn verify_secret(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A registrar's PIN: 4 to 8 digits, typed on the desk panel's keypad.
pub fn check_pin(pin: &str) -> Result<()> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::invalid("pin", "must be 4 to 8 digits"))
    }
}

/// The console's PIN or password: 4 to 128 characters.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if (4..=128).contains(&n) {
        Ok(())
    } else {
        Err(Error::invalid("password", "must be 4 to 128 characters"))
    }
}

pub fn registrar_pin_hash(conn: &Connection, registrar_id: i64) -> Result<Option<String>> {
    conn.prepare_cached("SELECT pin_hash FROM registrars WHERE id = ?1")?
        .query_row([registrar_id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .ok_or(Error::NotFound {
            what: "registrar",
            id: registrar_id,
        })
}

/// Sets (or with `None` removes) a registrar's PIN; `hash` is already an argon2 hash.
pub fn set_registrar_pin(
    ctx: &mut WriteCtx<'_>,
    registrar_id: i64,
    hash: Option<&str>,
    actor: &str,
) -> Result<()> {
    let changed = ctx
        .conn
        .prepare_cached("UPDATE registrars SET pin_hash = ?1 WHERE id = ?2")?
        .execute((hash, registrar_id))?;
    if changed == 0 {
        return Err(Error::NotFound {
            what: "registrar",
            id: registrar_id,
        });
    }
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        if hash.is_some() {
            "registrar.pin_set"
        } else {
            "registrar.pin_removed"
        },
        "registrar",
        Some(registrar_id),
        json!({}),
    )
}

pub fn console_password_hash(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM secrets WHERE key = ?1")?
        .query_row([CONSOLE_PASSWORD_KEY], |r| r.get(0))
        .optional()?)
}

pub fn set_console_password(ctx: &mut WriteCtx<'_>, hash: &str, actor: &str) -> Result<()> {
    ctx.conn
        .prepare_cached(
            "INSERT INTO secrets (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute((CONSOLE_PASSWORD_KEY, hash))?;
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "console.password_set",
        "console",
        None,
        json!({}),
    )
}

#[derive(Default)]
struct Failures {
    count: u32,
    last: Millis,
}

/// Console logins held in memory (a restart logs everyone out), and a brake on guessing, per
/// thing guessed at (the console password, each registrar's PIN).
#[derive(Default)]
pub struct Guard {
    sessions: Mutex<HashMap<String, Millis>>,
    failures: Mutex<HashMap<String, Failures>>,
}

impl Guard {
    /// A new console login token, valid until `CONSOLE_IDLE_MS` without use.
    pub fn open_session(&self, now: Millis) -> String {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("console-{}", hex::encode(bytes));
        let mut sessions = self.sessions.lock().expect("sessions lock");
        sessions.retain(|_, last| now - *last < CONSOLE_IDLE_MS);
        sessions.insert(token.clone(), now);
        token
    }

    /// Whether `token` is a live console login; using it keeps it alive.
    pub fn session_valid(&self, token: &str, now: Millis) -> bool {
        let mut sessions = self.sessions.lock().expect("sessions lock");
        match sessions.get_mut(token) {
            Some(last) if now - *last < CONSOLE_IDLE_MS => {
                *last = now;
                true
            }
            Some(_) => {
                sessions.remove(token);
                false
            }
            None => false,
        }
    }

    pub fn close_session(&self, token: &str) {
        self.sessions.lock().expect("sessions lock").remove(token);
    }

    /// A new password logs every console out.
    pub fn close_all_sessions(&self) {
        self.sessions.lock().expect("sessions lock").clear();
    }

    /// Refuses a guess at `what` while it is paused after too many wrong ones.
    pub fn check_allowed(&self, what: &str, now: Millis) -> Result<()> {
        let failures = self.failures.lock().expect("failures lock");
        if let Some(f) = failures.get(what)
            && f.count >= FREE_FAILURES
            && now - f.last < FAILURE_PAUSE_MS
        {
            let secs = ((FAILURE_PAUSE_MS - (now - f.last)) / 1000 + 1) as u64;
            return Err(Error::TooSoon {
                message: format!("too many wrong attempts: try again in {secs} s"),
                retry_after_secs: secs,
            });
        }
        Ok(())
    }

    pub fn record(&self, what: &str, ok: bool, now: Millis) {
        let mut failures = self.failures.lock().expect("failures lock");
        if ok {
            failures.remove(what);
        } else {
            let f = failures.entry(what.to_string()).or_default();
            f.count += 1;
            f.last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_secret() {
        let h = hash_secret("2468");
        assert!(h.starts_with("$argon2"), "{h}");
        assert!(verify_secret(&h, "2468"));
        assert!(!verify_secret(&h, "2469"));
        assert!(!verify_secret("not a hash", "2468"));
    }

    #[test]
    fn pins_and_passwords_are_checked() {
        for ok in ["1234", "00000000"] {
            check_pin(ok).unwrap();
        }
        for bad in ["123", "123456789", "12a4", " 1234", ""] {
            assert!(check_pin(bad).unwrap_err().to_string().starts_with("pin:"));
        }
        check_password("пароль").unwrap();
        assert!(check_password("abc").is_err());
        assert!(check_password(&"x".repeat(129)).is_err());
    }

    #[test]
    fn guessing_pauses_after_five_failures_and_resumes() {
        let g = Guard::default();
        for i in 0..5 {
            g.check_allowed("console", 1000 + i).unwrap();
            g.record("console", false, 1000 + i);
        }
        let err = g.check_allowed("console", 2000).unwrap_err();
        assert!(matches!(err, Error::TooSoon { .. }), "{err}");
        // Another registrar's PIN is not affected.
        g.check_allowed("pin:2", 2000).unwrap();
        g.check_allowed("console", 1004 + FAILURE_PAUSE_MS).unwrap();
        g.record("console", true, 40_000);
        g.check_allowed("console", 40_001).unwrap();
    }

    #[test]
    fn console_sessions_expire_when_idle() {
        let g = Guard::default();
        let t = g.open_session(0);
        assert!(g.session_valid(&t, CONSOLE_IDLE_MS - 1));
        assert!(
            g.session_valid(&t, 2 * CONSOLE_IDLE_MS - 2),
            "use keeps it alive"
        );
        assert!(!g.session_valid(&t, 4 * CONSOLE_IDLE_MS));
        assert!(!g.session_valid("console-forged", 0));
        let t2 = g.open_session(0);
        g.close_all_sessions();
        assert!(!g.session_valid(&t2, 1));
    }
}
