//! Registrars and desks: who can work, and where.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit;
use crate::serving::ServingNow;
use crate::sessions;
use crate::writer::WriteCtx;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::to_rfc3339;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Registrar {
    pub id: i64,
    pub name: String,
    pub active: bool,
    /// The desk where this registrar has an open session now.
    pub desk_id: Option<i64>,
    /// The desk panel asks this registrar for a PIN.
    pub has_pin: bool,
    /// The network's person this registrar is (the hub's roster), if linked to one.
    pub person_id: Option<i64>,
}

/// Who is working at a desk now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenSession {
    pub session_id: i64,
    pub registrar_id: i64,
    pub registrar_name: String,
    pub started_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Desk {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub session: Option<OpenSession>,
    /// Presses count only while the registrar is serving a patient (see `serving`); the others
    /// are kept and flagged `outside_serving`.
    pub armed: bool,
    /// What is being served now, if anything.
    pub serving: Option<ServingNow>,
}

/// A change to a registrar or desk; fields left out stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Update {
    pub name: Option<String>,
    pub active: Option<bool>,
}

/// A change to a desk; fields left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskUpdate {
    pub name: Option<String>,
    pub active: Option<bool>,
    /// Count presses only while the registrar is serving a patient.
    pub armed: Option<bool>,
}

/// A person's or desk's name: trimmed, 1 to 100 characters, no control characters.
pub fn clean_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid("name", "is longer than 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name.to_string())
}

pub fn get_registrar(conn: &Connection, id: i64) -> Result<Registrar> {
    conn.prepare_cached(
        "SELECT r.id, r.name, r.active, s.desk_id, r.pin_hash IS NOT NULL, r.person_id FROM registrars r
         LEFT JOIN work_sessions s ON s.registrar_id = r.id AND s.ended_at IS NULL
         WHERE r.id = ?1",
    )?
    .query_row([id], |r| {
        Ok(Registrar {
            id: r.get(0)?,
            name: r.get(1)?,
            active: r.get(2)?,
            desk_id: r.get(3)?,
            has_pin: r.get(4)?,
            person_id: r.get(5)?,
        })
    })
    .optional()?
    .ok_or(Error::NotFound {
        what: "registrar",
        id,
    })
}

pub fn list_registrars(conn: &Connection) -> Result<Vec<Registrar>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.name, r.active, s.desk_id, r.pin_hash IS NOT NULL, r.person_id FROM registrars r
         LEFT JOIN work_sessions s ON s.registrar_id = r.id AND s.ended_at IS NULL
         ORDER BY r.active DESC, r.name COLLATE NOCASE, r.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Registrar {
            id: r.get(0)?,
            name: r.get(1)?,
            active: r.get(2)?,
            desk_id: r.get(3)?,
            has_pin: r.get(4)?,
            person_id: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn desk_rows(conn: &Connection, only: Option<i64>) -> Result<Vec<Desk>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.name, d.active, s.id, s.registrar_id, r.name, s.started_at, d.armed,
                v.started_at, v.source FROM desks d
         LEFT JOIN work_sessions s ON s.desk_id = d.id AND s.ended_at IS NULL
         LEFT JOIN registrars r ON r.id = s.registrar_id
         LEFT JOIN serving v ON v.desk_id = d.id AND v.ended_at IS NULL
         WHERE ?1 IS NULL OR d.id = ?1
         ORDER BY d.id",
    )?;
    let rows = stmt.query_map([only], |r| {
        let session = match r.get::<_, Option<i64>>(3)? {
            Some(session_id) => Some(OpenSession {
                session_id,
                registrar_id: r.get(4)?,
                registrar_name: r.get(5)?,
                started_at: to_rfc3339(r.get(6)?),
            }),
            None => None,
        };
        let serving = match r.get::<_, Option<i64>>(8)? {
            Some(since) => Some(ServingNow {
                since: to_rfc3339(since),
                source: r.get(9)?,
            }),
            None => None,
        };
        Ok(Desk {
            id: r.get(0)?,
            name: r.get(1)?,
            active: r.get(2)?,
            session,
            armed: r.get(7)?,
            serving,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn list_desks(conn: &Connection) -> Result<Vec<Desk>> {
    desk_rows(conn, None)
}

pub fn get_desk(conn: &Connection, id: i64) -> Result<Desk> {
    desk_rows(conn, Some(id))?
        .pop()
        .ok_or(Error::NotFound { what: "desk", id })
}

fn desk_name_taken(conn: &Connection, name: &str, except: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM desks WHERE name = ?1 AND id != ?2)")?
        .query_row((name, except), |r| r.get(0))?)
}

pub fn create_registrar(ctx: &mut WriteCtx<'_>, name: &str, actor: &str) -> Result<Registrar> {
    let name = clean_name(name)?;
    ctx.conn
        .prepare_cached("INSERT INTO registrars (name, active, created_at) VALUES (?1, 1, ?2)")?
        .execute((&name, ctx.now))?;
    let id = ctx.conn.last_insert_rowid();
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "registrar.create",
        "registrar",
        Some(id),
        json!({ "name": name }),
    )?;
    let reg = get_registrar(ctx.conn, id)?;
    ctx.emit("registrar", &reg);
    Ok(reg)
}

pub fn update_registrar(
    ctx: &mut WriteCtx<'_>,
    id: i64,
    update: &Update,
    actor: &str,
) -> Result<Registrar> {
    let before = get_registrar(ctx.conn, id)?;
    let name = update.name.as_deref().map(clean_name).transpose()?;
    let name = name.unwrap_or(before.name.clone());
    let active = update.active.unwrap_or(before.active);
    ctx.conn
        .prepare_cached("UPDATE registrars SET name = ?1, active = ?2 WHERE id = ?3")?
        .execute((&name, active, id))?;
    if before.active && !active {
        // A registrar who no longer works here is not left at a desk.
        sessions::close_for_registrar(ctx, id, actor)?;
    }
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "registrar.update",
        "registrar",
        Some(id),
        json!({ "before": { "name": before.name, "active": before.active }, "after": { "name": name, "active": active } }),
    )?;
    let reg = get_registrar(ctx.conn, id)?;
    ctx.emit("registrar", &reg);
    Ok(reg)
}

pub fn create_desk(ctx: &mut WriteCtx<'_>, name: &str, actor: &str) -> Result<Desk> {
    let name = clean_name(name)?;
    if desk_name_taken(ctx.conn, &name, -1)? {
        return Err(Error::Conflict(format!(
            "a desk named '{name}' already exists"
        )));
    }
    ctx.conn
        .prepare_cached("INSERT INTO desks (name, active, created_at) VALUES (?1, 1, ?2)")?
        .execute((&name, ctx.now))?;
    let id = ctx.conn.last_insert_rowid();
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "desk.create",
        "desk",
        Some(id),
        json!({ "name": name }),
    )?;
    let desk = get_desk(ctx.conn, id)?;
    ctx.emit("desk", &desk);
    Ok(desk)
}

pub fn update_desk(
    ctx: &mut WriteCtx<'_>,
    id: i64,
    update: &DeskUpdate,
    actor: &str,
) -> Result<Desk> {
    let before = get_desk(ctx.conn, id)?;
    let name = update.name.as_deref().map(clean_name).transpose()?;
    let name = name.unwrap_or(before.name.clone());
    if desk_name_taken(ctx.conn, &name, id)? {
        return Err(Error::Conflict(format!(
            "a desk named '{name}' already exists"
        )));
    }
    let active = update.active.unwrap_or(before.active);
    let armed = update.armed.unwrap_or(before.armed);
    ctx.conn
        .prepare_cached("UPDATE desks SET name = ?1, active = ?2, armed = ?3 WHERE id = ?4")?
        .execute((&name, active, armed, id))?;
    if before.active && !active {
        sessions::close_at_desk(ctx, id, actor)?;
        crate::serving::end(ctx, id)?;
    }
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "desk.update",
        "desk",
        Some(id),
        json!({ "before": { "name": before.name, "active": before.active, "armed": before.armed },
                "after": { "name": name, "active": active, "armed": armed } }),
    )?;
    let desk = get_desk(ctx.conn, id)?;
    ctx.emit("desk", &desk);
    Ok(desk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(clean_name("  Иванова А. ").unwrap(), "Иванова А.");
        assert!(
            clean_name("   ")
                .unwrap_err()
                .to_string()
                .starts_with("name: must not be empty")
        );
        assert!(clean_name(&"я".repeat(101)).is_err());
        assert!(clean_name(&"я".repeat(100)).is_ok());
        assert!(clean_name("a\u{0}b").is_err());
    }
}
