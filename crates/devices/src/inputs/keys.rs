//! Key bindings: the usual button remote's USB receiver presents itself as a keyboard and types a
//! key (or combination) per button. Global shortcuts catch those keys whichever window has the
//! focus, so the registrar's own software keeps working. One thread owns the OS registration
//! (X11 on Linux, a Win32 message loop on Windows) and hands presses to the engine.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use global_hotkey::hotkey::HotKey;
use global_hotkey::{GlobalHotKeyEvent, GlobalHotKeyManager, HotKeyState};

use super::{Button, Press, PressSink, StatusBoard, stamp};

/// A binding as written in the desk's settings: `F13`, `ctrl+shift+Digit1`, `alt+KeyG`.
pub fn parse(binding: &str) -> Result<HotKey, String> {
    HotKey::from_str(binding.trim()).map_err(|e| {
        format!("'{binding}' is not a key binding such as F13 or ctrl+shift+Digit1 ({e})")
    })
}

/// The desks' bindings: per desk, each key with the button it stands for.
pub type Bindings = Vec<(i64, Vec<(String, Button)>)>;

fn names(keys: &[(String, Button)]) -> String {
    keys.iter()
        .map(|k| k.0.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The handle of the keys thread: send it the bindings whenever they change.
pub struct Keys {
    tx: mpsc::Sender<Bindings>,
}

impl Keys {
    pub fn spawn(sink: PressSink, status: Arc<StatusBoard>, stop: Arc<AtomicBool>) -> Keys {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("input-keys".into())
            .spawn(move || run(rx, sink, status, stop))
            .expect("spawn the keys thread");
        Keys { tx }
    }

    pub fn configure(&self, bindings: Bindings) {
        let _ = self.tx.send(bindings);
    }
}

fn run(
    rx: mpsc::Receiver<Bindings>,
    sink: PressSink,
    status: Arc<StatusBoard>,
    stop: Arc<AtomicBool>,
) {
    // Created lazily: with no desk on keys, an installation without a desktop never needs X11.
    let mut manager: Option<GlobalHotKeyManager> = None;
    let mut registered: HashMap<u32, (i64, Button, HotKey)> = HashMap::new();
    let mut desks: Vec<i64> = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) || sink.is_closed() {
            if let Some(m) = &manager {
                let keys: Vec<HotKey> = registered.values().map(|r| r.2).collect();
                let _ = m.unregister_all(&keys);
            }
            return;
        }
        while let Ok(bindings) = rx.try_recv() {
            if let Some(m) = &manager {
                let keys: Vec<HotKey> = registered.values().map(|r| r.2).collect();
                let _ = m.unregister_all(&keys);
            }
            registered.clear();
            for d in desks.drain(..) {
                status.remove(d);
            }
            if bindings.is_empty() {
                continue;
            }
            if manager.is_none() {
                match GlobalHotKeyManager::new() {
                    Ok(m) => manager = Some(m),
                    Err(e) => {
                        for (desk_id, keys) in &bindings {
                            desks.push(*desk_id);
                            status.set(
                                *desk_id,
                                "keys",
                                &names(keys),
                                "error",
                                Some(format!(
                                    "global keys are unavailable here: {e} (they need a desktop session: X11 on Linux)"
                                )),
                            );
                        }
                        continue;
                    }
                }
            }
            let m = manager.as_ref().expect("created above");
            for (desk_id, keys) in bindings {
                desks.push(desk_id);
                let mut errors = Vec::new();
                for (binding, button) in &keys {
                    match parse(binding).and_then(|hk| {
                        m.register(hk)
                            .map(|()| hk)
                            .map_err(|e| format!("cannot take {binding}: {e}"))
                    }) {
                        Ok(hk) => {
                            registered.insert(hk.id(), (desk_id, *button, hk));
                        }
                        Err(e) => errors.push(e),
                    }
                }
                let (state, error) = if errors.is_empty() {
                    ("connected", None)
                } else {
                    ("error", Some(errors.join("; ")))
                };
                status.set(desk_id, "keys", &names(&keys), state, error);
            }
        }
        pump_messages();
        match GlobalHotKeyEvent::receiver().recv_timeout(Duration::from_millis(100)) {
            Ok(ev) if ev.state == HotKeyState::Pressed => {
                if let Some(&(desk_id, button, _)) = registered.get(&ev.id) {
                    let at = stamp();
                    status.event(desk_id, at);
                    let _ = sink.send(Press {
                        desk_id,
                        button,
                        source: "keys",
                        at,
                    });
                }
            }
            _ => {}
        }
    }
}

/// Windows delivers hotkeys as messages to a hidden window of this thread: they must be pumped.
#[cfg(windows)]
#[allow(unsafe_code)]
fn pump_messages() {
    use windows_sys::Win32::UI::WindowsAndMessaging::{
        DispatchMessageW, MSG, PM_REMOVE, PeekMessageW, TranslateMessage,
    };
    // SAFETY: a zeroed MSG is a valid out-parameter; the calls only touch this thread's queue.
    unsafe {
        let mut msg: MSG = std::mem::zeroed();
        while PeekMessageW(&mut msg, std::ptr::null_mut(), 0, 0, PM_REMOVE) != 0 {
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
    }
}

/// X11 (Linux) reads key events on global-hotkey's own thread: nothing to pump.
#[cfg(not(windows))]
fn pump_messages() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_parse_or_are_named() {
        for ok in ["F13", "F24", "ctrl+shift+Digit1", "alt+KeyG", " F14 "] {
            parse(ok).unwrap();
        }
        for bad in ["", "F99", "ctrl+", "Красная"] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }
}
