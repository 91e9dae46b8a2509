//! Where ratings come from besides the API: key bindings (a wireless remote whose receiver types
//! keys), serial button boxes, the patient panel. Each device runs on its own thread and only
//! hands `Press`es to the engine, which debounces, flags and stores them; a slow or broken device
//! never delays a rating from another.

pub mod config;
pub mod keys;
pub mod serial;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use config::{DeskInput, Kind};

use serde::Serialize;
use utoipa::ToSchema;

use otklik_domain::time::{Millis, now_ms, to_rfc3339};

/// What a button of a device stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Button {
    /// A rating: 1 (lowest) upwards; checked against the scale when stored.
    Score(i64),
    /// The registrar's serve key: a patient is being served, or is done (it toggles).
    Serve,
}

/// One button press from a device, as the device saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    pub desk_id: i64,
    pub button: Button,
    /// `keys` or `serial`.
    pub source: &'static str,
    pub at: Millis,
}

/// Where presses go: the engine's ingest task.
pub type PressSink = tokio::sync::mpsc::UnboundedSender<Press>;

/// A device's state as `/healthz` and the console show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InputStatus {
    pub desk_id: i64,
    /// `keys`, `serial`, `panel` or `api`.
    pub kind: String,
    /// `connected`, `ready` (a panel or API input: no device to wait for), `waiting` (not there
    /// yet, retrying) or `error`.
    pub state: String,
    /// What it is connected to: the keys bound, the serial port.
    pub detail: String,
    pub last_event: Option<String>,
    pub error: Option<String>,
}

/// The state of every device, keyed by desk.
#[derive(Default)]
pub struct StatusBoard(Mutex<HashMap<i64, InputStatus>>);

impl StatusBoard {
    pub fn set(&self, desk_id: i64, kind: &str, detail: &str, state: &str, error: Option<String>) {
        let mut map = self.0.lock().expect("status lock");
        let last_event = map
            .get(&desk_id)
            .filter(|s| s.kind == kind)
            .and_then(|s| s.last_event.clone());
        map.insert(
            desk_id,
            InputStatus {
                desk_id,
                kind: kind.to_string(),
                state: state.to_string(),
                detail: detail.to_string(),
                last_event,
                error,
            },
        );
    }

    /// A press arrived: the device is evidently connected.
    pub fn event(&self, desk_id: i64, at: Millis) {
        if let Some(s) = self.0.lock().expect("status lock").get_mut(&desk_id) {
            s.last_event = Some(to_rfc3339(at));
            s.state = "connected".into();
            s.error = None;
        }
    }

    pub fn remove(&self, desk_id: i64) {
        self.0.lock().expect("status lock").remove(&desk_id);
    }

    pub fn all(&self) -> Vec<InputStatus> {
        let mut v: Vec<_> = self
            .0
            .lock()
            .expect("status lock")
            .values()
            .cloned()
            .collect();
        v.sort_by_key(|s| s.desk_id);
        v
    }
}

/// Milliseconds now, for devices that stamp presses as they read them.
pub fn stamp() -> Millis {
    now_ms()
}

/// Whether a press at `at` falls within `window_ms` of the desk's last counted press, and so
/// counts as the same press (a bouncing contact, an impatient double press).
pub fn is_bounce(last_counted: Option<Millis>, at: Millis, window_ms: Millis) -> bool {
    last_counted.is_some_and(|last| at >= last && at - last < window_ms)
}

/// The running devices: the keys thread, one thread per serial box, and every desk's setting.
pub struct Inputs {
    pub status: Arc<StatusBoard>,
    sink: PressSink,
    keys: keys::Keys,
    serial: Mutex<HashMap<i64, (DeskInput, Arc<AtomicBool>)>>,
    settings: Mutex<HashMap<i64, DeskInput>>,
    stop: Arc<AtomicBool>,
}

impl Inputs {
    pub fn new(sink: PressSink) -> Inputs {
        let status = Arc::new(StatusBoard::default());
        let stop = Arc::new(AtomicBool::new(false));
        Inputs {
            keys: keys::Keys::spawn(sink.clone(), status.clone(), stop.clone()),
            status,
            sink,
            serial: Mutex::default(),
            settings: Mutex::default(),
            stop,
        }
    }

    /// The setting of a desk (the panel if it has none).
    pub fn setting(&self, desk_id: i64) -> DeskInput {
        self.settings
            .lock()
            .expect("inputs lock")
            .get(&desk_id)
            .cloned()
            .unwrap_or_else(|| DeskInput::panel(desk_id))
    }

    /// Starts, stops and reconfigures devices to match `all` (every desk with a setting).
    pub fn apply(&self, all: Vec<DeskInput>) {
        let mut settings = self.settings.lock().expect("inputs lock");
        for old in settings.keys() {
            if !all.iter().any(|i| i.desk_id == *old) {
                self.status.remove(*old);
            }
        }
        *settings = all.iter().map(|i| (i.desk_id, i.clone())).collect();
        drop(settings);

        self.keys.configure(
            all.iter()
                .filter(|i| i.kind == Kind::Keys)
                .map(|i| (i.desk_id, i.bindings()))
                .collect(),
        );

        let mut serial = self.serial.lock().expect("inputs lock");
        serial.retain(|desk_id, (running, stop)| {
            let keep = all.iter().any(|i| i == running && i.desk_id == *desk_id);
            if !keep {
                stop.store(true, Ordering::Relaxed);
            }
            keep
        });
        for i in all.iter().filter(|i| i.kind == Kind::Serial) {
            if serial.contains_key(&i.desk_id) {
                continue;
            }
            let stop = Arc::new(AtomicBool::new(false));
            serial::spawn(
                i.desk_id,
                serial::SerialConfig {
                    path: i.path.clone().unwrap_or_default(),
                    baud: i.baud.unwrap_or(9600),
                },
                self.sink.clone(),
                self.status.clone(),
                stop.clone(),
            );
            serial.insert(i.desk_id, (i.clone(), stop));
        }
        for i in &all {
            match i.kind {
                Kind::Panel => self.status.set(i.desk_id, "panel", "", "ready", None),
                Kind::Api => self.status.set(i.desk_id, "api", "", "ready", None),
                Kind::Keys | Kind::Serial => {}
            }
        }
    }
}

impl Drop for Inputs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for (_, stop) in self.serial.lock().expect("inputs lock").values() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presses_within_the_window_of_the_last_counted_one_are_bounces() {
        assert!(!is_bounce(None, 5_000, 1000));
        assert!(is_bounce(Some(5_000), 5_000, 1000));
        assert!(is_bounce(Some(5_000), 5_999, 1000));
        assert!(
            !is_bounce(Some(5_000), 6_000, 1000),
            "the window's end counts again"
        );
        assert!(
            !is_bounce(Some(5_000), 4_000, 1000),
            "a clock set back is not a bounce"
        );
        assert!(!is_bounce(Some(5_000), 5_000, 0), "0 turns debounce off");
    }
}
