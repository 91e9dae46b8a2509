//! The journal of changes for the network hub (migration 0013): linking fills it with what the
//! installation already holds, its triggers add every later change, and the uplink worker reads
//! it oldest first and forgets what the hub acknowledged.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use otklik_domain::error::{Error, Result};
use otklik_domain::link::{Person, Roster};
use otklik_domain::time::Millis;

use crate::writer::WriteCtx;

/// The journal's bodies for what is already stored, in the order the hub needs them (a rating's
/// desk and registrar before the rating, a rating before its flag, correction and reason).
const BACKFILL: &[&str] = &[
    "SELECT json_object('kind', 'desk', 'id', id, 'name', name,
            'active', json(CASE WHEN active THEN 'true' ELSE 'false' END)) FROM desks ORDER BY id",
    "SELECT json_object('kind', 'registrar', 'id', id, 'name', name,
            'active', json(CASE WHEN active THEN 'true' ELSE 'false' END), 'person_id', person_id)
     FROM registrars ORDER BY id",
    "SELECT json_object('kind', 'session', 'id', id, 'desk_id', desk_id, 'registrar_id', registrar_id,
            'started_at', started_at, 'ended_at', ended_at) FROM work_sessions ORDER BY id",
    "SELECT json_object('kind', 'rating', 'id', id, 'desk_id', desk_id, 'score', score, 'scale', scale,
            'source', source, 'at', at, 'received_at', received_at, 'registrar_id', registrar_id,
            'session_id', session_id) FROM ratings ORDER BY id",
    "SELECT json_object('kind', 'flag', 'rating_id', rating_id, 'reason', reason)
     FROM rating_flags ORDER BY rating_id",
    "SELECT json_object('kind', 'correction', 'id', id, 'rating_id', rating_id, 'action', action, 'at', at)
     FROM rating_corrections ORDER BY id",
    "SELECT json_object('kind', 'reason', 'rating_id', rating_id, 'code', code, 'label', label,
            'picked_at', picked_at) FROM rating_reasons ORDER BY rating_id",
    "SELECT json_object('kind', 'alert', 'id', id, 'rating_id', rating_id, 'state', state,
            'created_at', created_at, 'rule', rule, 'taken_at', taken_at, 'resolved_at', resolved_at)
     FROM alerts ORDER BY id",
];

/// Where the journal goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The network hub, with the site key it issued.
    Hub,
    /// The reception's Otklik: this is a desk PC, paired there with a code.
    Reception,
}

impl LinkKind {
    fn as_str(self) -> &'static str {
        match self {
            LinkKind::Hub => "hub",
            LinkKind::Reception => "reception",
        }
    }
}

/// The link as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Link {
    pub kind: LinkKind,
    /// The hub's address, or the reception's (`kind: reception`).
    pub hub_url: String,
    pub linked_at: Millis,
    /// Changes not yet acknowledged by the hub.
    pub backlog: u64,
    /// When the oldest of them was made; null when the backlog is empty.
    pub oldest_at: Option<Millis>,
}

/// Links the installation to the hub at `hub_url`; a first link journals everything already
/// stored. Relinking only changes the address: the journal carries on where it was.
pub fn link(conn: &Connection, hub_url: &str, now: Millis) -> Result<u64> {
    link_as(conn, hub_url, LinkKind::Hub, now)
}

/// As [`link`], to a hub or a reception. A desk PC's first link journals nothing: only the
/// presses made from now on are the reception's (its history, if it had one, stays its own).
pub fn link_as(conn: &Connection, hub_url: &str, kind: LinkKind, now: Millis) -> Result<u64> {
    let linked: Option<String> = conn
        .query_row("SELECT kind FROM uplink", [], |r| r.get(0))
        .optional()?;
    if let Some(was) = linked {
        if was != kind.as_str() {
            return Err(Error::Conflict(format!(
                "this installation is linked to a {was}: unlink it first"
            )));
        }
        conn.execute("UPDATE uplink SET hub_url = ?1", [hub_url])?;
        return Ok(0);
    }
    conn.execute(
        "INSERT INTO uplink (one, hub_url, linked_at, kind) VALUES (1, ?1, ?2, ?3)",
        (hub_url, now, kind.as_str()),
    )?;
    if kind == LinkKind::Reception {
        return Ok(0);
    }
    let mut added = 0;
    for select in BACKFILL {
        let rest = select.strip_prefix("SELECT ").expect("a SELECT");
        added += conn.execute(
            &format!("INSERT INTO uplink_journal (at, body) SELECT ?1, {rest}"),
            [now],
        )? as u64;
    }
    Ok(added)
}

/// Ends the link: nothing more is journaled and what was not sent is dropped.
pub fn unlink(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM uplink", [])?;
    conn.execute("DELETE FROM uplink_journal", [])?;
    Ok(())
}

pub fn status(conn: &Connection) -> Result<Option<Link>> {
    let Some((hub_url, linked_at, kind)) = conn
        .query_row("SELECT hub_url, linked_at, kind FROM uplink", [], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, String>(2)?))
        })
        .optional()?
    else {
        return Ok(None);
    };
    let (backlog, oldest_at) =
        conn.query_row("SELECT COUNT(*), MIN(at) FROM uplink_journal", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok(Some(Link {
        kind: if kind == "reception" {
            LinkKind::Reception
        } else {
            LinkKind::Hub
        },
        hub_url,
        linked_at,
        backlog,
        oldest_at,
    }))
}

/// The oldest `limit` changes not yet acknowledged, as (seq, JSON body).
pub fn pending(conn: &Connection, limit: u32) -> Result<Vec<(i64, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, body FROM uplink_journal ORDER BY seq LIMIT ?1")?;
    let rows = stmt.query_map([limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect::<rusqlite::Result<_>>().map_err(Error::from)
}

/// Forgets every change up to `seq`, which the hub has stored.
pub fn acknowledge(conn: &Connection, seq: i64) -> Result<u64> {
    Ok(conn.execute("DELETE FROM uplink_journal WHERE seq <= ?1", [seq])? as u64)
}

/// The roster as last pulled from the hub: (version, people, template version, template, the
/// template version applied here).
pub struct Pulled {
    pub version: i64,
    pub people: Vec<Person>,
    pub template_version: i64,
    pub template: Option<String>,
    pub applied_template_version: i64,
}

pub fn pulled(conn: &Connection) -> Result<Option<Pulled>> {
    conn.query_row(
        "SELECT version, people, template_version, template, applied_template_version
         FROM network_roster",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        },
    )
    .optional()?
    .map(|(version, people, template_version, template, applied)| {
        Ok(Pulled {
            version,
            people: serde_json::from_str(&people).map_err(|e| Error::Storage(Box::new(e)))?,
            template_version,
            template,
            applied_template_version: applied,
        })
    })
    .transpose()
}

/// Keeps what the hub sent; lists it left out (unchanged) stay as they were.
pub fn save_roster(conn: &Connection, roster: &Roster) -> Result<()> {
    let template = roster.template.as_ref().map(|t| t.to_string());
    match &roster.people {
        Some(people) => {
            let people = serde_json::to_string(people).expect("people serialize");
            conn.execute(
                "INSERT INTO network_roster (one, version, people, template_version, template)
                 VALUES (1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (one) DO UPDATE SET version = ?1, people = ?2,
                     template_version = ?3, template = ?4",
                (roster.version, people, roster.template_version, template),
            )?;
        }
        None => {
            conn.execute(
                "UPDATE network_roster SET version = ?1, template_version = ?2, template = ?3",
                (roster.version, roster.template_version, template),
            )?;
        }
    }
    Ok(())
}

pub fn template_applied(conn: &Connection, version: i64) -> Result<()> {
    conn.execute(
        "UPDATE network_roster SET applied_template_version = ?1",
        [version],
    )?;
    Ok(())
}

/// Says which of the network's people a registrar is (`None`: nobody, a person of this site
/// only). The person must be on the roster last pulled from the hub.
pub fn set_person(
    ctx: &mut WriteCtx<'_>,
    registrar_id: i64,
    person_id: Option<i64>,
    actor: &str,
) -> Result<crate::roster::Registrar> {
    crate::roster::get_registrar(ctx.conn, registrar_id)?;
    if let Some(person) = person_id {
        let known: bool = ctx.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM network_roster, json_each(people)
                            WHERE json_extract(value, '$.id') = ?1)",
            [person],
            |r| r.get(0),
        )?;
        if !known {
            return Err(Error::invalid(
                "person_id",
                format!(
                    "{person} is not on the network's roster (link to the hub and let it pull)"
                ),
            ));
        }
    }
    ctx.conn.execute(
        "UPDATE registrars SET person_id = ?2 WHERE id = ?1",
        (registrar_id, person_id),
    )?;
    crate::audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "registrar.person",
        "registrar",
        Some(registrar_id),
        serde_json::json!({ "person_id": person_id }),
    )?;
    ctx.emit(
        "registrar",
        &crate::roster::get_registrar(ctx.conn, registrar_id)?,
    );
    crate::roster::get_registrar(ctx.conn, registrar_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_domain::link::Change;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open_writer(&dir.path().join("t.db")).unwrap();
        (dir, conn)
    }

    fn changes(conn: &Connection) -> Vec<Change> {
        pending(conn, 1000)
            .unwrap()
            .into_iter()
            .map(|(_, b)| serde_json::from_str(&b).expect(&b))
            .collect()
    }

    #[test]
    fn nothing_is_journaled_until_linked_then_everything_is() {
        let (_d, conn) = db();
        conn.execute(
            "INSERT INTO desks (id, name, created_at) VALUES (1, 'Окно 1', 0)",
            [],
        )
        .unwrap();
        assert!(pending(&conn, 10).unwrap().is_empty());
        assert_eq!(link(&conn, "http://hub", 5).unwrap(), 1);
        conn.execute(
            "INSERT INTO registrars (id, name, created_at) VALUES (2, 'Анна', 0)",
            [],
        )
        .unwrap();
        conn.execute("UPDATE desks SET active = 0 WHERE id = 1", [])
            .unwrap();
        let got = changes(&conn);
        assert_eq!(
            got,
            [
                Change::Desk {
                    id: 1,
                    name: "Окно 1".into(),
                    active: true
                },
                Change::Registrar {
                    id: 2,
                    name: "Анна".into(),
                    active: true,
                    person_id: None,
                },
                Change::Desk {
                    id: 1,
                    name: "Окно 1".into(),
                    active: false
                },
            ]
        );
        let link = status(&conn).unwrap().unwrap();
        assert_eq!((link.backlog, link.linked_at), (3, 5));
    }

    #[test]
    fn an_acknowledged_seq_is_never_reused() {
        let (_d, conn) = db();
        link(&conn, "http://hub", 0).unwrap();
        conn.execute(
            "INSERT INTO desks (id, name, created_at) VALUES (1, 'a', 0)",
            [],
        )
        .unwrap();
        let first = pending(&conn, 10).unwrap()[0].0;
        assert_eq!(acknowledge(&conn, first).unwrap(), 1);
        conn.execute("UPDATE desks SET name = 'b' WHERE id = 1", [])
            .unwrap();
        let next = pending(&conn, 10).unwrap()[0].0;
        assert!(next > first, "{next} after {first}");
        // Relinking keeps the journal and its numbering.
        assert_eq!(link(&conn, "http://other", 1).unwrap(), 0);
        assert_eq!(pending(&conn, 10).unwrap()[0].0, next);
        unlink(&conn).unwrap();
        conn.execute("UPDATE desks SET name = 'c' WHERE id = 1", [])
            .unwrap();
        assert!(pending(&conn, 10).unwrap().is_empty());
        assert_eq!(status(&conn).unwrap(), None);
    }
}
