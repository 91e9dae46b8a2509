//! Live events: every committed change is published once, serialized once, and fanned out to
//! every connected screen. A short replay buffer lets a screen that reconnects catch up exactly;
//! one that missed too much is told to reload instead of showing stale figures.
//!
//! Two streams share one sequence: the full one for token holders and console logins, and a
//! public one for the screens anyone on the LAN may open (the wall display, the panels), which
//! carries only what they show (`public_view`). A replay never crosses from one to the other.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use rand::RngCore;
use serde::Serialize;
use tokio::sync::broadcast;

use otklik_domain::time::Millis;

const REPLAY: usize = 4096;

#[derive(Debug)]
pub struct Envelope {
    pub seq: u64,
    /// SSE event name: `rating`, `session`, `leaderboard`, `desk`, `registrar`, `correction`, `settings`.
    pub name: &'static str,
    /// The event's JSON, serialized once for every client.
    pub data: String,
    /// What the public stream sends instead, if it sends this event at all.
    pub public: Option<String>,
}

impl Envelope {
    /// The data a stream with these rights sends, or `None` if it skips the event.
    pub fn data_for(&self, public: bool) -> Option<&str> {
        if public {
            self.public.as_deref()
        } else {
            Some(&self.data)
        }
    }
}

/// The part of an event the public stream may carry: the leaderboard as the display shows it, a
/// rating's desk and level for the ticker, the screens' settings, and bare "reload" nudges for
/// changes of desks, registrars, sessions, reasons, corrections and contests. Registrar and
/// session ids of ratings, the reasons patients picked, alerts, contest comments, devices,
/// inputs, chats and the outbox stay private.
pub fn public_view(name: &str, data: &str) -> Option<String> {
    let value = || serde_json::from_str::<serde_json::Value>(data).ok();
    let picked = match name {
        "leaderboard" => return Some(data.to_string()),
        "resync" => serde_json::json!({}),
        "rating" => {
            let v = value()?;
            serde_json::json!({
                "desk_id": v["desk_id"], "score": v["score"], "scale": v["scale"], "at": v["at"],
            })
        }
        "settings" => {
            let full: crate::settings::Settings = serde_json::from_str(data).ok()?;
            serde_json::to_value(crate::settings::PublicSettings::from(&full)).ok()?
        }
        // Thanks to a registrar: the desk panel shows them; they carry no ids but the desk's.
        "thanks" => return Some(data.to_string()),
        "desk" | "registrar" => serde_json::json!({ "id": value()?["id"] }),
        "session" | "reason" => serde_json::json!({ "desk_id": value()?["desk_id"] }),
        "correction" | "contest" => serde_json::json!({}),
        _ => return None,
    };
    Some(picked.to_string())
}

pub struct EventHub {
    /// Distinguishes this run of the engine, so an id from before a restart is never mistaken.
    boot: String,
    /// One-time tickets that open the full stream from a browser (EventSource sends no header).
    pub tickets: Tickets,
    /// Open streams per LAN address.
    pub connections: Connections,
    state: Mutex<(u64, VecDeque<Arc<Envelope>>)>,
    tx: broadcast::Sender<Arc<Envelope>>,
}

/// What a (re)connecting client gets: the events it missed, or `None` if it must reload.
pub struct Subscription {
    pub missed: Option<Vec<Arc<Envelope>>>,
    pub rx: broadcast::Receiver<Arc<Envelope>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EventHub {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(REPLAY);
        EventHub {
            boot: format!("{:08x}", rand::random::<u32>()),
            tickets: Tickets::default(),
            connections: Connections::default(),
            state: Mutex::new((0, VecDeque::with_capacity(REPLAY))),
            tx,
        }
    }

    pub fn event_id(&self, seq: u64) -> String {
        format!("{}-{}", self.boot, seq)
    }

    pub fn publish(&self, name: &'static str, payload: &impl Serialize) {
        self.publish_json(
            name,
            serde_json::to_string(payload).expect("events serialize"),
        );
    }

    pub fn publish_json(&self, name: &'static str, data: String) {
        let mut state = self.state.lock().expect("events lock");
        state.0 += 1;
        let public = public_view(name, &data);
        let env = Arc::new(Envelope {
            seq: state.0,
            name,
            data,
            public,
        });
        if state.1.len() == REPLAY {
            state.1.pop_front();
        }
        state.1.push_back(env.clone());
        // Sent under the lock so that replay and live stream never overlap or leave a gap.
        let _ = self.tx.send(env);
    }

    /// A subscription; with `public`, what it missed holds only the public stream's events.
    pub fn subscribe(&self, last_event_id: Option<&str>, public: bool) -> Subscription {
        let state = self.state.lock().expect("events lock");
        let rx = self.tx.subscribe();
        let missed = match last_event_id {
            None => Some(Vec::new()),
            Some(id) => id
                .strip_prefix(&self.boot)
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|seq| seq.parse::<u64>().ok())
                .filter(|&seq| seq <= state.0)
                .and_then(|seq| {
                    let oldest = state.1.front().map_or(state.0 + 1, |e| e.seq);
                    (seq + 1 >= oldest).then(|| {
                        state
                            .1
                            .iter()
                            .filter(|e| e.seq > seq && e.data_for(public).is_some())
                            .cloned()
                            .collect()
                    })
                }),
        };
        Subscription { missed, rx }
    }
}

/// How long a ticket may wait to be used.
pub const TICKET_MS: Millis = 30_000;

/// A ticket stands for the bearer token it was issued against, for one connection, briefly; the
/// stream it opens ends when that token stops being valid.
#[derive(Default)]
pub struct Tickets(Mutex<HashMap<String, (String, Millis)>>);

impl Tickets {
    pub fn issue(&self, bearer: &str, now: Millis) -> String {
        let mut bytes = [0u8; 18];
        rand::rng().fill_bytes(&mut bytes);
        let ticket = hex::encode(bytes);
        let mut map = self.0.lock().expect("tickets lock");
        map.retain(|_, (_, at)| now - *at < TICKET_MS);
        map.insert(ticket.clone(), (bearer.to_string(), now));
        ticket
    }

    /// The bearer token behind `ticket`, once.
    pub fn redeem(&self, ticket: &str, now: Millis) -> Option<String> {
        let (bearer, at) = self.0.lock().expect("tickets lock").remove(ticket)?;
        (now - at < TICKET_MS).then_some(bearer)
    }
}

/// Open event streams per LAN address are capped: each holds a socket, a task and a queue.
/// Loopback (the reception PC's own windows) is not counted.
pub const STREAMS_PER_ADDRESS: usize = 8;
pub const STREAMS_FROM_LAN: usize = 256;

#[derive(Default)]
pub struct Connections(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// An open stream's place; dropping it (the client went away) frees it.
pub struct Slot {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.map.lock().expect("connections lock");
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl Connections {
    /// A place for one more stream from `ip`, or why there is none.
    pub fn open(&self, ip: IpAddr) -> Result<Option<Slot>, &'static str> {
        if ip.is_loopback() {
            return Ok(None);
        }
        let mut map = self.0.lock().expect("connections lock");
        if map.values().sum::<usize>() >= STREAMS_FROM_LAN {
            return Err("too many event streams are open from the network");
        }
        let n = map.entry(ip).or_default();
        if *n >= STREAMS_PER_ADDRESS {
            return Err("too many event streams are open from this device");
        }
        *n += 1;
        Ok(Some(Slot {
            map: self.0.clone(),
            ip,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reconnecting_client_gets_exactly_what_it_missed() {
        let hub = EventHub::new();
        hub.publish("rating", &1);
        let first = hub.event_id(1);
        hub.publish("rating", &2);
        hub.publish("rating", &3);
        let sub = hub.subscribe(Some(&first), false);
        let missed: Vec<_> = sub.missed.unwrap().iter().map(|e| e.data.clone()).collect();
        assert_eq!(missed, ["2", "3"]);
        assert!(
            hub.subscribe(Some(&hub.event_id(3)), false)
                .missed
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_id_from_another_run_or_too_old_means_reload() {
        let hub = EventHub::new();
        hub.publish("rating", &1);
        assert!(hub.subscribe(Some("deadbeef-1"), false).missed.is_none());
        assert!(hub.subscribe(Some("garbage"), false).missed.is_none());
        assert!(
            hub.subscribe(Some(&hub.event_id(7)), false)
                .missed
                .is_none()
        );
        for i in 0..REPLAY + 5 {
            hub.publish("rating", &i);
        }
        assert!(
            hub.subscribe(Some(&hub.event_id(2)), false)
                .missed
                .is_none()
        );
        assert!(hub.subscribe(None, false).missed.unwrap().is_empty());
    }

    #[tokio::test]
    async fn live_events_follow_the_replay_without_a_gap() {
        let hub = EventHub::new();
        hub.publish("rating", &1);
        let mut sub = hub.subscribe(Some(&hub.event_id(0)), false);
        hub.publish("rating", &2);
        assert_eq!(sub.missed.unwrap().len(), 1);
        assert_eq!(sub.rx.recv().await.unwrap().data, "2");
    }

    #[test]
    fn the_public_stream_replays_only_what_it_may_carry() {
        let hub = EventHub::new();
        let rating = r#"{"id":7,"desk_id":2,"score":1,"scale":3,"at":"2026-12-03T08:00:00Z","registrar_id":5,"session_id":9,"flag":"burst","source":"panel"}"#;
        hub.publish_json("rating", rating.to_string());
        hub.publish_json("alert", r#"{"id":1,"taken_by":"Мария"}"#.to_string());
        hub.publish_json("contest", r#"{"comment":"не я"}"#.to_string());
        let missed = hub.subscribe(Some(&hub.event_id(0)), true).missed.unwrap();
        let names: Vec<_> = missed.iter().map(|e| e.name).collect();
        assert_eq!(names, ["rating", "contest"]);
        let public: serde_json::Value =
            serde_json::from_str(missed[0].data_for(true).unwrap()).unwrap();
        assert_eq!(
            public,
            serde_json::json!({"desk_id": 2, "score": 1, "scale": 3, "at": "2026-12-03T08:00:00Z"})
        );
        assert_eq!(missed[1].data_for(true), Some("{}"));
        let all = hub.subscribe(Some(&hub.event_id(0)), false).missed.unwrap();
        assert_eq!(all.len(), 3);
    }
}
