//! Live events: every committed change is published once, serialized once, and fanned out to
//! every connected screen. A short replay buffer lets a screen that reconnects catch up exactly;
//! one that missed too much is told to reload instead of showing stale figures.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;

const REPLAY: usize = 4096;

#[derive(Debug)]
pub struct Envelope {
    pub seq: u64,
    /// SSE event name: `rating`, `session`, `leaderboard`, `desk`, `registrar`, `correction`, `settings`.
    pub name: &'static str,
    /// The event's JSON, serialized once for every client.
    pub data: String,
}

pub struct EventHub {
    /// Distinguishes this run of the engine, so an id from before a restart is never mistaken.
    boot: String,
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
        let env = Arc::new(Envelope {
            seq: state.0,
            name,
            data,
        });
        if state.1.len() == REPLAY {
            state.1.pop_front();
        }
        state.1.push_back(env.clone());
        // Sent under the lock so that replay and live stream never overlap or leave a gap.
        let _ = self.tx.send(env);
    }

    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
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
                    (seq + 1 >= oldest)
                        .then(|| state.1.iter().filter(|e| e.seq > seq).cloned().collect())
                }),
        };
        Subscription { missed, rx }
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
        let sub = hub.subscribe(Some(&first));
        let missed: Vec<_> = sub.missed.unwrap().iter().map(|e| e.data.clone()).collect();
        assert_eq!(missed, ["2", "3"]);
        assert!(
            hub.subscribe(Some(&hub.event_id(3)))
                .missed
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_id_from_another_run_or_too_old_means_reload() {
        let hub = EventHub::new();
        hub.publish("rating", &1);
        assert!(hub.subscribe(Some("deadbeef-1")).missed.is_none());
        assert!(hub.subscribe(Some("garbage")).missed.is_none());
        assert!(hub.subscribe(Some(&hub.event_id(7))).missed.is_none());
        for i in 0..REPLAY + 5 {
            hub.publish("rating", &i);
        }
        assert!(hub.subscribe(Some(&hub.event_id(2))).missed.is_none());
        assert!(hub.subscribe(None).missed.unwrap().is_empty());
    }

    #[tokio::test]
    async fn live_events_follow_the_replay_without_a_gap() {
        let hub = EventHub::new();
        hub.publish("rating", &1);
        let mut sub = hub.subscribe(Some(&hub.event_id(0)));
        hub.publish("rating", &2);
        assert_eq!(sub.missed.unwrap().len(), 1);
        assert_eq!(sub.rx.recv().await.unwrap().data, "2");
    }
}
