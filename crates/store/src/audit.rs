//! The audit log: who changed what, kept append-only beside the data it describes.

use rusqlite::Connection;
use serde::Serialize;
use utoipa::ToSchema;

use otklik_domain::error::Result;
use otklik_domain::time::{Millis, to_rfc3339};

pub fn record(
    conn: &Connection,
    at: Millis,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    details: serde_json::Value,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute((at, actor, action, entity, entity_id, details.to_string()))?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// The newest entries first, at most `limit`, older than `before_id` if given.
pub fn list(conn: &Connection, before_id: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, action, entity, entity_id, details FROM audit_log
         WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map((before_id.unwrap_or(i64::MAX), limit), |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at: to_rfc3339(r.get(1)?),
            actor: r.get(2)?,
            action: r.get(3)?,
            entity: r.get(4)?,
            entity_id: r.get(5)?,
            details: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
