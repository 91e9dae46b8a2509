//! Start with the system: the `start_with_system` setting as the system's own login entry
//! (~/.config/autostart/Otklik.desktop on Linux, the `Otklik` value of this user's Run key on
//! Windows, a launch agent on macOS). The entry starts `otklik --autostart`: the engine and the
//! tray, no main window.

use auto_launch::{AutoLaunch, AutoLaunchBuilder};

fn entry() -> Result<AutoLaunch, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    // An AppImage is mounted at another path each time: the entry names the AppImage itself.
    #[cfg(target_os = "linux")]
    let exe = std::env::var_os("APPIMAGE").map_or(exe, std::path::PathBuf::from);
    let mut builder = AutoLaunchBuilder::new();
    builder
        .set_app_name("Otklik")
        .set_app_path(&exe.display().to_string())
        .set_args(&[crate::AUTOSTART_ARG]);
    // This user's Run key only. The crate's default tries HKLM first: started elevated (setup's
    // "Run Otklik"), the app would start for every user of the PC, and turning the setting off
    // from a normal start could not remove it (found under Wine, tests/windows/desktop.sh).
    #[cfg(windows)]
    builder.set_windows_enable_mode(auto_launch::WindowsEnableMode::CurrentUser);
    builder.build().map_err(|e| e.to_string())
}

/// Makes the system's start entry match the setting. On, the entry is written again each time,
/// so that it names this binary even after it moved.
pub fn apply(on: bool) {
    let result = entry().and_then(|entry| {
        let changed = if on {
            entry.enable()
        } else if entry.is_enabled().unwrap_or(true) {
            entry.disable()
        } else {
            Ok(())
        };
        changed.map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => tracing::info!(on, "start with the system"),
        Err(e) => tracing::error!(on, "cannot change starting with the system: {e}"),
    }
}
