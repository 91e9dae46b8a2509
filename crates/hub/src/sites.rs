//! Sites and their keys: the hub issues a key once (`otklik hub site add`), keeps only its
//! hash, and knows a site by the key its uplink sends.

use deadpool_postgres::GenericClient;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use otklik_domain::Error;
use otklik_domain::time::{Millis, now_ms};

use crate::error::{HubResult, db};

/// A site as the hub's console lists it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Site {
    pub id: i32,
    pub name: String,
    pub created_at: Millis,
    /// The last change applied from this site's journal.
    pub last_seq: i64,
    /// When its uplink last reached the hub; null if never.
    pub last_seen: Option<Millis>,
    pub schema_version: Option<i64>,
    pub time_zone: String,
    /// The site's clock minus the hub's at its last batch.
    pub clock_skew_ms: Option<i64>,
    /// Silent for longer than the hub's `stale_after` (or never heard from).
    pub stale: bool,
}

const PREFIX: &str = "otk_site_";

/// A new random secret (192 bits, hex) after `prefix`: a site key or the hub token.
pub(crate) fn fresh_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

fn hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Registers a site and returns its id and key, which is shown this once.
pub async fn add(client: &impl GenericClient, name: &str) -> HubResult<(i32, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "must be 1 to 100 characters").into());
    }
    let key = fresh_secret(PREFIX);
    let row = client
        .query_opt(
            "INSERT INTO sites (name, key_hash, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING RETURNING id",
            &[&name, &hash(&key), &now_ms()],
        )
        .await
        .map_err(db)?;
    match row {
        Some(r) => Ok((r.get(0), key)),
        None => Err(Error::Conflict(format!("a site named {name:?} already exists")).into()),
    }
}

/// Issues a new key for a site (the old one stops working at once).
pub async fn rekey(client: &impl GenericClient, name: &str) -> HubResult<String> {
    let key = fresh_secret(PREFIX);
    let n = client
        .execute(
            "UPDATE sites SET key_hash = $2 WHERE name = $1",
            &[&name, &hash(&key)],
        )
        .await
        .map_err(db)?;
    if n == 0 {
        return Err(Error::invalid("name", format!("no site is named {name:?}")).into());
    }
    Ok(key)
}

/// The site a key belongs to.
pub async fn authenticate(client: &impl GenericClient, key: &str) -> HubResult<(i32, String)> {
    if !key.starts_with(PREFIX) {
        return Err(Error::Unauthorized("not a site key".into()).into());
    }
    // Every batch asks: prepared once per connection.
    let find = client
        .prepare_cached("SELECT id, name FROM sites WHERE key_hash = $1")
        .await
        .map_err(db)?;
    client
        .query_opt(&find, &[&hash(key)])
        .await
        .map_err(db)?
        .map(|r| (r.get(0), r.get(1)))
        .ok_or_else(|| Error::Unauthorized("this site key is not known to the hub".into()).into())
}

pub async fn list(client: &impl GenericClient, stale_after_ms: Millis) -> HubResult<Vec<Site>> {
    let now = now_ms();
    let rows = client
        .query(
            "SELECT id, name, created_at, last_seq, last_seen, schema_version, time_zone,
                    clock_skew_ms FROM sites ORDER BY name",
            &[],
        )
        .await
        .map_err(db)?;
    Ok(rows
        .iter()
        .map(|r| {
            let last_seen: Option<Millis> = r.get(4);
            Site {
                id: r.get(0),
                name: r.get(1),
                created_at: r.get(2),
                last_seq: r.get(3),
                last_seen,
                schema_version: r.get(5),
                time_zone: r.get(6),
                clock_skew_ms: r.get(7),
                stale: last_seen.is_none_or(|t| now - t > stale_after_ms),
            }
        })
        .collect())
}
