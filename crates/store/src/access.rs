//! Who may do what without the API token: a registrar proves who they are at the desk panel with
//! an optional PIN, a supervisor logs into the console with their own name and password. Both are
//! kept only as argon2 hashes. Guessing is braked per client address and per thing guessed at,
//! each attempt counted before it is checked, so that a burst of parallel guesses is held too.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{LazyLock, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;
use utoipa::ToSchema;

use crate::audit;
use crate::writer::WriteCtx;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, to_rfc3339};

/// How long a console login lasts without use.
pub const CONSOLE_IDLE_MS: Millis = 12 * 60 * 60 * 1000;

/// The name the single console password of earlier versions (and a first password set without a
/// name) logs in under.
pub const FIRST_SUPERVISOR: &str = "Руководитель";

/// How guessing is braked at one level: `free` wrong attempts, then each further one waits
/// `first_wait_ms`, twice that, four times ... up to `max_wait_ms` after the one before.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub free: u32,
    pub first_wait_ms: Millis,
    pub max_wait_ms: Millis,
}

impl Policy {
    /// How long after the previous counted attempt the `n`-th (from 1) may start.
    pub fn wait_before(&self, n: u32) -> Millis {
        if n <= self.free {
            return 0;
        }
        let doublings = (n - self.free - 1).min(40);
        self.first_wait_ms
            .saturating_mul(1 << doublings)
            .min(self.max_wait_ms)
    }
}

/// Per client address: a desk panel's typos are few; anything more is somebody guessing.
pub const PER_ADDRESS: Policy = Policy {
    free: 5,
    first_wait_ms: 1000,
    max_wait_ms: 15 * 60 * 1000,
};
/// Per thing guessed at (a registrar's PIN, a supervisor's name), summed over all addresses:
/// more room, since several people may mistype it, but it holds against many addresses at once.
/// Attempts from the reception PC itself are counted here but never refused by it, so that
/// nobody on the LAN can lock a supervisor out of the reception PC.
pub const PER_TARGET: Policy = Policy {
    free: 20,
    first_wait_ms: 1000,
    max_wait_ms: 15 * 60 * 1000,
};
/// Wrong attempts are forgotten after this long without another one.
const FORGET_MS: Millis = 24 * 60 * 60 * 1000;

/// argon2 (default parameters) takes ~19 MiB and tens of milliseconds per run: at most this many
/// run at once, and at most `ARGON_QUEUE` more wait; beyond that a guess is refused at once.
const ARGON_AT_ONCE: usize = 2;
const ARGON_QUEUE: usize = 6;

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

/// Checked in place of a name nobody has, so that a wrong name takes as long as a wrong password.
static NOBODY: LazyLock<String> = LazyLock::new(|| hash_secret("no such supervisor"));

/// A registrar's PIN: 4 to 8 digits, typed on the desk panel's keypad.
pub fn check_pin(pin: &str) -> Result<()> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::invalid("pin", "must be 4 to 8 digits"))
    }
}

/// A supervisor's PIN or password: 4 to 128 characters.
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

// ---------------------------------------------------------------------------------------------
// Supervisors: the people who log into the console.

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Supervisor {
    pub id: i64,
    pub name: String,
    pub created_at: String,
}

/// What a login is looked up by: the name as typed, trimmed, in lower case.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn supervisor_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Supervisor> {
    Ok(Supervisor {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: to_rfc3339(r.get(2)?),
    })
}

pub fn supervisors(conn: &Connection) -> Result<Vec<Supervisor>> {
    Ok(conn
        .prepare_cached("SELECT id, name, created_at FROM supervisors ORDER BY id")?
        .query_map([], supervisor_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn any_supervisor(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM supervisors)")?
        .query_row([], |r| r.get(0))?)
}

/// The supervisor of that name (as typed at login) and their password's hash.
pub fn supervisor_by_name(conn: &Connection, name: &str) -> Result<Option<(Supervisor, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, name, created_at, password_hash FROM supervisors WHERE name_key = ?1",
        )?
        .query_row([name_key(name)], |r| Ok((supervisor_row(r)?, r.get(3)?)))
        .optional()?)
}

pub fn supervisor_by_id(conn: &Connection, id: i64) -> Result<(Supervisor, String)> {
    conn.prepare_cached(
        "SELECT id, name, created_at, password_hash FROM supervisors WHERE id = ?1",
    )?
    .query_row([id], |r| Ok((supervisor_row(r)?, r.get(3)?)))
    .optional()?
    .ok_or(Error::NotFound {
        what: "supervisor",
        id,
    })
}

/// Adds a supervisor; `first` only while there is none (the reception PC's first set-up), checked
/// in the same transaction so that two first set-ups cannot both succeed.
pub fn add_supervisor(
    ctx: &mut WriteCtx<'_>,
    name: &str,
    hash: &str,
    first: bool,
    actor: &str,
) -> Result<Supervisor> {
    let name = crate::roster::clean_name(name)?;
    if first && any_supervisor(ctx.conn)? {
        return Err(Error::Conflict(
            "a supervisor is set up already: log in, or ask one to add you".into(),
        ));
    }
    if supervisor_by_name(ctx.conn, &name)?.is_some() {
        return Err(Error::Conflict(format!(
            "there is a supervisor named {name} already"
        )));
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO supervisors (name, name_key, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute((&name, name_key(&name), hash, ctx.now))?;
    let id = ctx.conn.last_insert_rowid();
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "supervisor.add",
        "supervisor",
        Some(id),
        json!({ "name": name }),
    )?;
    Ok(supervisor_by_id(ctx.conn, id)?.0)
}

pub fn set_supervisor_password(
    ctx: &mut WriteCtx<'_>,
    id: i64,
    hash: &str,
    actor: &str,
) -> Result<()> {
    let (who, _) = supervisor_by_id(ctx.conn, id)?;
    ctx.conn
        .prepare_cached("UPDATE supervisors SET password_hash = ?1 WHERE id = ?2")?
        .execute((hash, id))?;
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "supervisor.password_set",
        "supervisor",
        Some(id),
        json!({ "name": who.name }),
    )
}

/// Removes a supervisor; the last one stays, so that the console is never left without a way in.
pub fn remove_supervisor(ctx: &mut WriteCtx<'_>, id: i64, actor: &str) -> Result<Supervisor> {
    let (who, _) = supervisor_by_id(ctx.conn, id)?;
    let count: i64 = ctx
        .conn
        .prepare_cached("SELECT COUNT(*) FROM supervisors")?
        .query_row([], |r| r.get(0))?;
    if count <= 1 {
        return Err(Error::Conflict(format!(
            "{} is the only supervisor: add another before removing them",
            who.name
        )));
    }
    ctx.conn
        .prepare_cached("DELETE FROM supervisors WHERE id = ?1")?
        .execute([id])?;
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "supervisor.remove",
        "supervisor",
        Some(id),
        json!({ "name": who.name }),
    )?;
    Ok(who)
}

// ---------------------------------------------------------------------------------------------
// The guard: console logins, and the brake on guessing.

/// Who a console login belongs to.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub id: i64,
    pub name: String,
    /// `console:<name>`, as the audit log records it.
    pub actor: &'static str,
}

/// The audit log's actor for a supervisor. Handlers pass actors as `&'static str`; the few names
/// that ever log in are kept for the process's life rather than threading owned strings through
/// every handler.
pub fn console_actor(name: &str) -> &'static str {
    static ACTORS: LazyLock<Mutex<HashMap<String, &'static str>>> = LazyLock::new(Mutex::default);
    let mut actors = ACTORS.lock().expect("actors lock");
    if let Some(a) = actors.get(name) {
        return a;
    }
    let actor: &'static str = Box::leak(format!("console:{name}").into_boxed_str());
    actors.insert(name.to_string(), actor);
    actor
}

#[derive(Default)]
struct Tally {
    failures: u32,
    last: Millis,
}

#[derive(Default)]
struct AddressTally {
    failures: u32,
    last: Millis,
    /// The same failures by what they guessed at: a success clears only its own target's, so
    /// that knowing one's own PIN does not reset the brake on guessing someone else's.
    by_target: HashMap<String, u32>,
}

#[derive(Default)]
struct Brake {
    addresses: HashMap<IpAddr, AddressTally>,
    targets: HashMap<String, Tally>,
    pruned_at: Millis,
}

/// One guess, counted as wrong (at its address and its target) before its secret is checked;
/// [`Guard::settle`] then clears it if it was right.
#[must_use]
pub struct Attempt {
    address: IpAddr,
    target: String,
}

/// Whom the brake counts a guess against: an IPv4 address, or an IPv6 /64 (one device may hold a
/// whole /64); an IPv4-mapped IPv6 address as the IPv4 one.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None if v6.is_loopback() => ip,
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Where a request came from when the server did not say (a router called in-process): some
/// device on the LAN, never the reception PC.
pub const UNKNOWN_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

fn remaining(p: Policy, failures: u32, last: Millis, now: Millis) -> Millis {
    (last + p.wait_before(failures + 1) - now.max(last)).max(0)
}

fn too_soon(wait_ms: Millis) -> Error {
    let secs = (wait_ms.max(1) as u64).div_ceil(1000);
    let words = if secs < 120 {
        format!("{secs} s")
    } else {
        format!("{} min", secs.div_ceil(60))
    };
    Error::TooSoon {
        message: format!("too many wrong attempts: try again in {words}"),
        retry_after_secs: secs,
    }
}

/// Console logins held in memory (a restart logs everyone out), the brake on guessing PINs and
/// passwords, and the limit on argon2 runs.
pub struct Guard {
    sessions: Mutex<HashMap<String, (Millis, ConsoleUser)>>,
    brake: Mutex<Brake>,
    /// Held by each argon2 run, on its blocking thread (so a dropped request cannot free it early).
    argon_slots: std::sync::Arc<Semaphore>,
    /// Held by each run and each waiting for a slot.
    argon_places: std::sync::Arc<Semaphore>,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            sessions: Mutex::default(),
            brake: Mutex::default(),
            argon_slots: std::sync::Arc::new(Semaphore::new(ARGON_AT_ONCE)),
            argon_places: std::sync::Arc::new(Semaphore::new(ARGON_AT_ONCE + ARGON_QUEUE)),
        }
    }
}

impl Guard {
    /// A new console login token for `who`, valid until `CONSOLE_IDLE_MS` without use.
    pub fn open_session(&self, who: &Supervisor, now: Millis) -> String {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let token = format!("console-{}", hex::encode(bytes));
        let user = ConsoleUser {
            id: who.id,
            name: who.name.clone(),
            actor: console_actor(&who.name),
        };
        let mut sessions = self.sessions.lock().expect("sessions lock");
        sessions.retain(|_, (last, _)| now - *last < CONSOLE_IDLE_MS);
        sessions.insert(token.clone(), (now, user));
        token
    }

    /// Whose live console login `token` is; using it keeps it alive.
    pub fn session(&self, token: &str, now: Millis) -> Option<ConsoleUser> {
        let mut sessions = self.sessions.lock().expect("sessions lock");
        match sessions.get_mut(token) {
            Some((last, user)) if now - *last < CONSOLE_IDLE_MS => {
                *last = now;
                Some(user.clone())
            }
            Some(_) => {
                sessions.remove(token);
                None
            }
            None => None,
        }
    }

    pub fn close_session(&self, token: &str) {
        self.sessions.lock().expect("sessions lock").remove(token);
    }

    /// A supervisor's new password, or their removal, logs out every console of theirs.
    pub fn close_sessions_of(&self, supervisor_id: i64) {
        self.sessions
            .lock()
            .expect("sessions lock")
            .retain(|_, (_, user)| user.id != supervisor_id);
    }

    /// Counts a guess at `target` from `from` before it is checked, or refuses it while either
    /// is braked. Counting first is what holds a burst of parallel guesses.
    pub fn reserve(&self, target: &str, from: IpAddr, now: Millis) -> Result<Attempt> {
        let address = client_key(from);
        let mut b = self.brake.lock().expect("brake lock");
        if now - b.pruned_at > 60_000 {
            b.addresses.retain(|_, a| now - a.last < FORGET_MS);
            b.targets.retain(|_, t| now - t.last < FORGET_MS);
            b.pruned_at = now;
        }
        let by_address = b
            .addresses
            .get(&address)
            .map_or(0, |a| remaining(PER_ADDRESS, a.failures, a.last, now));
        let by_target = if address.is_loopback() {
            0
        } else {
            b.targets
                .get(target)
                .map_or(0, |t| remaining(PER_TARGET, t.failures, t.last, now))
        };
        let wait = by_address.max(by_target);
        if wait > 0 {
            return Err(too_soon(wait));
        }
        let a = b.addresses.entry(address).or_default();
        a.failures += 1;
        a.last = now;
        *a.by_target.entry(target.to_string()).or_default() += 1;
        let t = b.targets.entry(target.to_string()).or_default();
        t.failures += 1;
        t.last = now;
        Ok(Attempt {
            address,
            target: target.to_string(),
        })
    }

    /// A right guess clears its target and its address's failures at that target; a wrong one
    /// stays counted.
    pub fn settle(&self, attempt: Attempt, right: bool) {
        if !right {
            return;
        }
        let mut b = self.brake.lock().expect("brake lock");
        b.targets.remove(&attempt.target);
        if let Some(a) = b.addresses.get_mut(&attempt.address) {
            a.failures -= a.by_target.remove(&attempt.target).unwrap_or(0);
            if a.failures == 0 {
                b.addresses.remove(&attempt.address);
            }
        }
    }

    /// An attempt that was never checked (the engine was too busy) does not count.
    fn refund(&self, attempt: Attempt) {
        let mut b = self.brake.lock().expect("brake lock");
        if let Some(t) = b.targets.get_mut(&attempt.target) {
            t.failures = t.failures.saturating_sub(1);
        }
        if let Some(a) = b.addresses.get_mut(&attempt.address) {
            a.failures = a.failures.saturating_sub(1);
            if let Some(n) = a.by_target.get_mut(&attempt.target) {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Runs argon2 (`f`) on a blocking thread, at most `ARGON_AT_ONCE` at a time. A guess that
    /// would wait behind `ARGON_QUEUE` others is refused at once, except when `queue_anyway`
    /// (the reception PC, or someone already logged in setting a secret).
    pub async fn argon<T: Send + 'static>(
        &self,
        queue_anyway: bool,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let place = match self.argon_places.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) if queue_anyway => None,
            Err(_) => {
                return Err(Error::Busy {
                    message: "busy checking other PINs and passwords: try again in 1 s".into(),
                    retry_after_secs: 1,
                });
            }
        };
        let slot = self
            .argon_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::ShuttingDown)?;
        tokio::task::spawn_blocking(move || {
            let _held = (slot, place);
            f()
        })
        .await
        .map_err(|_| Error::CommitFailed("argon2 failed on its thread".into()))
    }

    /// Checks a guess at `target` against `hash` (`None`: nobody has that name, the guess is
    /// checked against a stand-in and fails), braked and counted as above.
    pub async fn check(
        &self,
        target: &str,
        from: IpAddr,
        hash: Option<String>,
        secret: String,
        wrong: &str,
    ) -> Result<()> {
        let attempt = self.reserve(target, from, otklik_domain::time::now_ms())?;
        let checked = self
            .argon(client_key(from).is_loopback(), move || {
                let known = hash.is_some();
                let hash = hash.as_deref().unwrap_or(NOBODY.as_str());
                verify_secret(hash, &secret) && known
            })
            .await;
        match checked {
            Ok(right) => {
                self.settle(attempt, right);
                if right {
                    Ok(())
                } else {
                    Err(Error::Forbidden(wrong.to_string()))
                }
            }
            Err(e) => {
                self.refund(attempt);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lan(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }
    const RECEPTION: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn anna() -> Supervisor {
        Supervisor {
            id: 1,
            name: "Анна".into(),
            created_at: String::new(),
        }
    }

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
    fn delays_grow_from_one_second_to_fifteen_minutes() {
        let waits: Vec<_> = (1..=17).map(|n| PER_ADDRESS.wait_before(n)).collect();
        assert_eq!(&waits[..5], &[0; 5]);
        assert_eq!(&waits[5..10], &[1000, 2000, 4000, 8000, 16_000]);
        assert_eq!(waits[14], 512_000);
        assert_eq!(waits[15], 15 * 60 * 1000);
        assert_eq!(PER_ADDRESS.wait_before(u32::MAX), 15 * 60 * 1000);
    }

    #[test]
    fn a_parallel_burst_is_counted_before_it_is_checked() {
        let g = Guard::default();
        // 64 guesses arrive together: none is checked yet when the next is counted.
        let held: Vec<_> = (0..64).map(|_| g.reserve("pin:2", lan(7), 1000)).collect();
        assert_eq!(held.iter().filter(|r| r.is_ok()).count(), 5);
        for r in &held[5..] {
            assert!(matches!(
                r,
                Err(Error::TooSoon {
                    retry_after_secs: 1,
                    ..
                })
            ));
        }
    }

    #[test]
    fn each_further_guess_waits_twice_as_long() {
        let g = Guard::default();
        for _ in 0..5 {
            let _ = g.reserve("console:анна", lan(1), 0).unwrap();
        }
        let mut at = 0;
        for wait in [1000, 2000, 4000, 8000] {
            let err = g
                .reserve("console:анна", lan(1), at + wait - 1)
                .err()
                .unwrap();
            assert!(err.to_string().contains("try again in 1 s"), "{err}");
            at += wait;
            let _ = g.reserve("console:анна", lan(1), at).unwrap();
        }
        // Long waits are said in minutes.
        let g = Guard::default();
        for i in 0..16 {
            let _ = g.reserve("pin:3", lan(1), i * 15 * 60 * 1000).unwrap();
        }
        let err = g
            .reserve("pin:3", lan(1), 15 * 15 * 60 * 1000)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "too many wrong attempts: try again in 15 min"
        );
    }

    #[test]
    fn many_addresses_are_held_per_target_but_the_reception_pc_is_not() {
        let g = Guard::default();
        let ok = (0..1000)
            .filter(|&n| g.reserve("console:руководитель", lan(n), 5000).is_ok())
            .count();
        assert_eq!(ok, PER_TARGET.free as usize);
        // Another target is not affected; the reception PC is never refused by the target's
        // brake, and its right password clears it.
        let _ = g.reserve("pin:2", lan(5000), 5000).unwrap();
        let a = g.reserve("console:руководитель", RECEPTION, 5000).unwrap();
        g.settle(a, true);
        let _ = g.reserve("console:руководитель", lan(6000), 5000).unwrap();
    }

    #[test]
    fn a_right_guess_clears_only_its_own_target() {
        let g = Guard::default();
        for _ in 0..4 {
            let _ = g.reserve("pin:2", lan(1), 0).unwrap();
        }
        // Knowing one's own PIN does not reset the brake on someone else's.
        let own = g.reserve("pin:9", lan(1), 0).unwrap();
        g.settle(own, true);
        let _ = g.reserve("pin:2", lan(1), 0).unwrap();
        assert!(g.reserve("pin:2", lan(1), 0).is_err());
        // A typo then the right PIN: that registrar's failures are gone.
        let g = Guard::default();
        for _ in 0..4 {
            let _ = g.reserve("pin:2", lan(1), 0).unwrap();
        }
        let right = g.reserve("pin:2", lan(1), 0).unwrap();
        g.settle(right, true);
        for _ in 0..5 {
            let _ = g.reserve("pin:2", lan(1), 0).unwrap();
        }
    }

    #[test]
    fn an_ipv6_device_is_one_slash_64() {
        let a: IpAddr = "fd00:1:2:3::10".parse().unwrap();
        let b: IpAddr = "fd00:1:2:3:ffff::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(client_key(mapped).is_loopback());
        let g = Guard::default();
        for n in 0..5 {
            let ip: IpAddr = format!("fd00:1:2:3::{n}").parse().unwrap();
            let _ = g.reserve("pin:2", ip, 0).unwrap();
        }
        assert!(g.reserve("pin:2", b, 0).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_two_argon2_runs_and_a_short_queue() {
        let g = std::sync::Arc::new(Guard::default());
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = std::sync::Arc::new(Mutex::new(gate));
        let mut runs = Vec::new();
        for _ in 0..ARGON_AT_ONCE + ARGON_QUEUE {
            let (g, running, most, gate) = (g.clone(), running.clone(), most.clone(), gate.clone());
            runs.push(tokio::spawn(async move {
                g.argon(false, move || {
                    let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    gate.lock().unwrap().recv().unwrap();
                    running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
                .await
            }));
        }
        // Until all of them hold a place, the next one could still get in.
        while g.argon_places.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let refused = g.argon(false, || ()).await.unwrap_err();
        assert!(matches!(refused, Error::Busy { .. }), "{refused}");
        // The reception PC queues anyway.
        let reception = tokio::spawn({
            let g = g.clone();
            async move { g.argon(true, || 42).await }
        });
        // Both runs have started (and hold their places) before any is let go.
        while running.load(std::sync::atomic::Ordering::SeqCst) < ARGON_AT_ONCE {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        for _ in 0..ARGON_AT_ONCE + ARGON_QUEUE {
            release.send(()).unwrap();
        }
        for r in runs {
            r.await.unwrap().unwrap();
        }
        assert_eq!(reception.await.unwrap().unwrap(), 42);
        assert_eq!(
            most.load(std::sync::atomic::Ordering::SeqCst),
            ARGON_AT_ONCE
        );
    }

    #[tokio::test]
    async fn a_wrong_name_fails_like_a_wrong_password() {
        let g = Guard::default();
        let hash = hash_secret("верно");
        let err = g
            .check(
                "console:x",
                RECEPTION,
                None,
                "верно".into(),
                "wrong name or password",
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden(_)), "{err}");
        g.check("console:y", RECEPTION, Some(hash), "верно".into(), "wrong")
            .await
            .unwrap();
    }

    #[test]
    fn console_sessions_expire_when_idle_and_name_their_person() {
        let g = Guard::default();
        let t = g.open_session(&anna(), 0);
        let who = g.session(&t, CONSOLE_IDLE_MS - 1).unwrap();
        assert_eq!(
            (who.id, who.name.as_str(), who.actor),
            (1, "Анна", "console:Анна")
        );
        assert!(
            g.session(&t, 2 * CONSOLE_IDLE_MS - 2).is_some(),
            "use keeps it alive"
        );
        assert!(g.session(&t, 4 * CONSOLE_IDLE_MS).is_none());
        assert!(g.session("console-forged", 0).is_none());
        let t2 = g.open_session(&anna(), 0);
        let other = g.open_session(
            &Supervisor {
                id: 2,
                name: "Вера".into(),
                created_at: String::new(),
            },
            0,
        );
        g.close_sessions_of(1);
        assert!(g.session(&t2, 1).is_none());
        assert!(g.session(&other, 1).is_some(), "only that person's");
    }
}
