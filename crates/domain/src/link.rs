//! What travels up from an installation to the network hub: its changes, in the order they were
//! committed, each numbered by the installation's journal (`seq`). The hub applies a batch only
//! if it continues where the last one ended, so every change arrives once and in order however
//! often a batch is resent.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::time::Millis;

/// The version of this contract: the hub refuses a batch of another one, naming both.
pub const PROTOCOL: u32 = 1;

/// How far a site's clock may be from the hub's before the hub warns about it.
pub const CLOCK_DRIFT_WARN_MS: Millis = 120_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub protocol: u32,
    /// The site's database schema version, shown on the hub.
    pub schema: i64,
    /// The site's clock when it sent the batch (ms since the epoch, UTC).
    pub sent_at: Millis,
    /// The site's time zone (IANA), which its days are counted in.
    pub time_zone: String,
    /// Changes with consecutive `seq`, oldest first; may be empty (a heartbeat).
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub seq: i64,
    pub change: Change,
}

/// One committed change at a site. Ids are the site's own; the hub keys them by site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    Desk {
        id: i64,
        name: String,
        active: bool,
    },
    Registrar {
        id: i64,
        name: String,
        active: bool,
        /// The network's person this registrar is (from the hub's roster), if the site said.
        #[serde(default)]
        person_id: Option<i64>,
    },
    Session {
        id: i64,
        desk_id: i64,
        registrar_id: i64,
        started_at: Millis,
        ended_at: Option<Millis>,
    },
    Rating {
        id: i64,
        desk_id: i64,
        score: u8,
        scale: u8,
        source: String,
        at: Millis,
        received_at: Millis,
        registrar_id: Option<i64>,
        session_id: Option<i64>,
    },
    /// The rating is counted apart (a burst, no session, outside the serving window).
    Flag {
        rating_id: i64,
        reason: String,
    },
    /// `annul` or `restore`.
    Correction {
        id: i64,
        rating_id: i64,
        action: String,
        at: Millis,
    },
    Reason {
        rating_id: i64,
        code: String,
        label: String,
        picked_at: Millis,
    },
    Alert {
        id: i64,
        rating_id: i64,
        state: String,
        created_at: Millis,
        rule: Option<String>,
        taken_at: Option<Millis>,
        resolved_at: Option<Millis>,
    },
}

/// The hub's answer to a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    /// Every change up to this `seq` is stored at the hub; the site may forget them.
    pub acked: i64,
    /// The hub's clock when it answered.
    pub hub_time: Millis,
    /// The roster's version now: a site that has another pulls it.
    pub roster_version: i64,
}

/// The hub's refusal of a batch that does not continue its site's sequence (HTTP 409).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Gap {
    /// The `seq` the hub expects next.
    pub expected: i64,
    pub error: String,
}

/// A person of the network, as the hub's roster lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Person {
    pub id: i64,
    pub name: String,
    /// The sites they work at, by name.
    pub sites: Vec<String>,
}

/// What goes down from the hub to its sites, versioned: a site asks with the version it has
/// and gets the lists only when they changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Roster {
    pub version: i64,
    /// Null when the site already has this version.
    pub people: Option<Vec<Person>>,
    pub template_version: i64,
    /// Settings every site applies (the same keys and checks as the site's settings), or null.
    #[schema(value_type = Object)]
    pub template: Option<serde_json::Value>,
}
