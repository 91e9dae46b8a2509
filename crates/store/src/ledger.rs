//! The hash chain over ratings: each rating's hash covers the previous hash and its own fields,
//! so a rating changed or removed outside Otklik (with a SQLite editor, say) is detected by
//! `otklik verify`. It detects tampering; it cannot stop someone who rewrites the whole chain.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use otklik_domain::error::Result;

pub type Hash = [u8; 32];

/// The last link: the id and hash the next rating chains to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainState {
    pub last_id: i64,
    pub last_hash: Hash,
}

/// The fields of a rating that the chain protects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link<'a> {
    pub id: i64,
    pub desk_id: i64,
    pub score: i64,
    pub scale: i64,
    pub source: &'a str,
    pub at: i64,
    pub received_at: i64,
    pub registrar_id: Option<i64>,
    pub session_id: Option<i64>,
}

pub fn hash(prev: &Hash, link: &Link<'_>) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}",
            link.id,
            link.desk_id,
            link.score,
            link.scale,
            link.source,
            link.at,
            link.received_at,
            link.registrar_id.map_or(-1, |v| v),
            link.session_id.map_or(-1, |v| v),
        )
        .as_bytes(),
    );
    h.finalize().into()
}

impl ChainState {
    pub fn load(conn: &Connection) -> Result<ChainState> {
        let head = conn
            .query_row(
                "SELECT last_id, hash FROM chain_head WHERE one = 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()?;
        Ok(match head {
            Some((last_id, hash)) => ChainState {
                last_id,
                last_hash: hash.try_into().unwrap_or_default(),
            },
            None => ChainState::default(),
        })
    }

    /// Advances the chain by one rating and records the new head in the same transaction.
    pub fn append(&mut self, conn: &Connection, link: &Link<'_>) -> Result<Hash> {
        debug_assert_eq!(link.id, self.last_id + 1);
        let h = hash(&self.last_hash, link);
        conn.prepare_cached(
            "INSERT INTO chain_head (one, last_id, hash) VALUES (1, ?1, ?2)
             ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash",
        )?
        .execute((link.id, &h[..]))?;
        self.last_id = link.id;
        self.last_hash = h;
        Ok(h)
    }
}

/// What `otklik verify` found.
#[derive(Debug, Default)]
pub struct Report {
    pub checked: u64,
    pub problems: Vec<String>,
}

/// Walks every rating in order and checks each link and the head.
pub fn verify(path: &Path) -> Result<Report> {
    let conn = crate::db::open_reader(path)?;
    let mut report = Report::default();
    let mut prev: Hash = [0; 32];
    let mut expected_id = 1;
    let mut stmt = conn.prepare(
        "SELECT id, desk_id, score, scale, source, at, received_at, registrar_id, session_id, hash
         FROM ratings ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let source: String = r.get(4)?;
        let link = Link {
            id: r.get(0)?,
            desk_id: r.get(1)?,
            score: r.get(2)?,
            scale: r.get(3)?,
            source: &source,
            at: r.get(5)?,
            received_at: r.get(6)?,
            registrar_id: r.get(7)?,
            session_id: r.get(8)?,
        };
        let stored: Vec<u8> = r.get(9)?;
        let gap = link.id != expected_id;
        if gap {
            report.problems.push(if link.id > expected_id {
                format!(
                    "ratings {}..={} are missing (removed outside Otklik)",
                    expected_id,
                    link.id - 1
                )
            } else {
                format!("rating {} is out of order", link.id)
            });
        }
        let h = hash(&prev, &link);
        // After a gap the next link cannot match; the gap is the finding.
        if !gap && stored[..] != h[..] {
            report.problems.push(format!(
                "rating {} does not match its hash (changed outside Otklik, or a rating before it was)",
                link.id
            ));
        }
        // Continue from the stored hash so that one changed row is reported once, not for every row after it.
        prev = stored.try_into().unwrap_or(h);
        expected_id = link.id + 1;
        report.checked += 1;
    }
    let head = ChainState::load(&conn)?;
    if head.last_id != expected_id - 1 {
        report.problems.push(format!(
            "the newest rating should be {}, but the last one present is {} (ratings removed outside Otklik)",
            head.last_id,
            expected_id - 1
        ));
    } else if head.last_id > 0 && head.last_hash != prev {
        report.problems.push(format!(
            "rating {} does not match the chain's head",
            head.last_id
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: i64, score: i64) -> Link<'static> {
        Link {
            id,
            desk_id: 1,
            score,
            scale: 3,
            source: "api",
            at: 1000 * id,
            received_at: 1000 * id,
            registrar_id: Some(2),
            session_id: None,
        }
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = hash(&[0; 32], &link(1, 3));
        assert_eq!(base, hash(&[0; 32], &link(1, 3)));
        assert_ne!(base, hash(&[1; 32], &link(1, 3)));
        assert_ne!(base, hash(&[0; 32], &link(1, 2)));
        let mut l = link(1, 3);
        l.registrar_id = None;
        assert_ne!(base, hash(&[0; 32], &l));
    }
}
