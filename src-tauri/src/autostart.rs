//! Start with the system: the `start_with_system` setting applied through tauri-plugin-autostart
//! (an entry in ~/.config/autostart on Linux, the Run registry key on Windows, a launch agent on
//! macOS). The entry starts `otklik --autostart`: the engine and the tray, no main window.

use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Wry};
use tauri_plugin_autostart::ManagerExt;

pub fn plugin() -> TauriPlugin<Wry> {
    tauri_plugin_autostart::Builder::new()
        .app_name("Otklik")
        .arg(crate::AUTOSTART_ARG)
        .build()
}

/// Makes the system's start entry match the setting. On, the entry is written again each time,
/// so that it names this binary even after it moved.
pub fn apply(app: &AppHandle, on: bool) {
    let manager = app.autolaunch();
    let result = if on {
        manager.enable()
    } else {
        match manager.is_enabled() {
            Ok(false) => return,
            _ => manager.disable(),
        }
    };
    match result {
        Ok(()) => tracing::info!(on, "start with the system"),
        Err(e) => tracing::error!(on, "cannot change starting with the system: {e}"),
    }
}
