//! The desktop shell: one instance per machine, the engine in this process, and a window that
//! shows the same screens a LAN browser gets from the engine's HTTP server. With the
//! `kiosk_display` setting, a second window shows the wall display full-screen on another monitor.
//! A tray icon shows the engine's health and has quick actions; closing the main window hides it
//! there, since the engine keeps serving the wall displays and taking ratings.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use otklik_api::Server;
use otklik_engine::Engine;
use otklik_engine::engine::default_data_dir;
use otklik_store::settings::{Settings, SettingsPatch};
use tauri::{App, AppHandle, Manager, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use tauri_plugin_window_state::StateFlags;
use tokio::sync::broadcast::error::RecvError;

use crate::autostart;
use crate::tray::{self, Action, Tray};

const MAIN: &str = "main";
const DISPLAY: &str = "display";

/// `autostarted`: started by the system's start entry, so the main window stays hidden (the tray
/// and, if set, the kiosk display show).
pub fn run(autostarted: bool) -> ExitCode {
    let result = tauri::Builder::default()
        // A second start just brings the running window forward.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            // The system's start entry while Otklik already runs: nothing to show.
            if args.get(1).map(String::as_str) != Some(crate::AUTOSTART_ARG) {
                show_main(app, None);
            }
        }))
        // The main window reopens where it was left; the kiosk display always goes to its monitor.
        // Not whether it was visible: hidden in the tray, it still opens at the next start.
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_denylist(&[DISPLAY])
                .with_state_flags(StateFlags::all() - StateFlags::VISIBLE)
                .build(),
        )
        .setup(move |app| {
            let server = start_engine()?;
            let settings = server.engine.store.settings();
            let screens = Screens::find();
            app.manage(screens);
            match screens {
                Screens::Windows => {
                    WebviewWindowBuilder::new(app, MAIN, ui_url(server.addr, "")?)
                        .title("Otklik")
                        .inner_size(1280.0, 800.0)
                        .min_inner_size(800.0, 600.0)
                        .visible(!autostarted)
                        .build()?;
                    // The reception desk works without the wall display: not fatal.
                    if settings.kiosk_display {
                        let url = ui_url(server.addr, DISPLAY)?;
                        if let Err(e) = open_kiosk_display(app, url, settings.kiosk_monitor) {
                            tracing::error!("cannot open the kiosk display: {e:#}");
                        }
                    }
                }
                Screens::Browser => {
                    if !autostarted {
                        open_in_browser(server.addr, "");
                    }
                    if settings.kiosk_display {
                        tracing::error!(
                            "no kiosk display without WebView2: open /display in a browser on that screen"
                        );
                    }
                }
            }
            let handle = app.handle().clone();
            // Without a tray (no libayatana-appindicator3) the app still works; closing the
            // main window then quits.
            let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Tray::build(&handle, &settings, on_tray_action)
            }));
            match built {
                Ok(Ok(tray)) => {
                    app.manage(tray);
                    tray::watch_health(handle.clone(), server.engine.clone());
                }
                Ok(Err(e)) => tracing::error!("no tray icon: {e:#}"),
                Err(_) => tracing::error!("no tray icon: the tray library could not be loaded"),
            }
            autostart::apply(settings.start_with_system);
            watch_settings(handle, server.engine.clone(), settings);
            app.manage(server);
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == MAIN
                && tray_shown(window.app_handle())
            {
                api.prevent_close();
                if let Err(e) = window.hide() {
                    tracing::warn!("cannot hide the main window: {e}");
                }
            }
        })
        .run(tauri::generate_context!());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otklik: {e}");
            ExitCode::from(2)
        }
    }
}

/// Where the screens show: in this app's windows, or (no WebView2 on this Windows PC) in the
/// default browser, which gets the same screens from the engine. The engine, the tray, the one
/// instance and the start entry work the same either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Screens {
    Windows,
    Browser,
}

impl Screens {
    fn find() -> Self {
        match tauri::webview_version() {
            Ok(version) => {
                tracing::info!(%version, "webview");
                Self::Windows
            }
            Err(e) => {
                tracing::error!(
                    "no WebView2 runtime ({e}): the screens open in the browser; install \
                     Microsoft Edge WebView2 Runtime for Otklik's own windows"
                );
                Self::Browser
            }
        }
    }
}

fn in_browser(app: &AppHandle) -> bool {
    app.try_state::<Screens>()
        .is_some_and(|s| *s == Screens::Browser)
}

fn open_in_browser(addr: SocketAddr, path: &str) {
    let url = format!("http://{}/{path}", loopback(addr));
    match crate::browser::open(&url) {
        Ok(()) => tracing::info!(%url, "opened in the browser"),
        Err(e) => tracing::error!(%url, "cannot open the browser: {e}"),
    }
}

/// Whether the tray icon is there for the hidden main window to come back from.
fn tray_shown(app: &AppHandle) -> bool {
    app.try_state::<Tray>().is_some() && tray_host_present()
}

/// A Linux desktop shows tray icons when a StatusNotifierWatcher is on the session bus (KDE,
/// XFCE, Cinnamon, MATE, LXQt, GNOME with the AppIndicator extension; plain GNOME has none).
#[cfg(target_os = "linux")]
fn tray_host_present() -> bool {
    use gio::glib::{ToVariant, VariantTy};

    let ask = || -> Result<bool, gio::glib::Error> {
        let bus = gio::bus_get_sync(gio::BusType::Session, gio::Cancellable::NONE)?;
        let reply = bus.call_sync(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            Some(&("org.kde.StatusNotifierWatcher",).to_variant()),
            Some(VariantTy::new("(b)").expect("a variant type")),
            gio::DBusCallFlags::NONE,
            1000,
            gio::Cancellable::NONE,
        )?;
        Ok(reply.get::<(bool,)>().is_some_and(|(owned,)| owned))
    };
    match ask() {
        Ok(present) => present,
        Err(e) => {
            tracing::warn!("cannot ask the session bus for a tray: {e}");
            false
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn tray_host_present() -> bool {
    true
}

fn on_tray_action(app: &AppHandle, action: Action) {
    match action {
        Action::OpenConsole => show_main(app, Some("admin")),
        Action::OpenDisplay => open_display(app),
        Action::TogglePause => toggle_capture(app),
        Action::Quit => {
            tracing::info!("quit from the tray");
            app.exit(0);
        }
    }
}

/// Shows the main window (made again if it is gone), at `/<path>` when a path is given.
fn show_main(app: &AppHandle, path: Option<&str>) {
    if in_browser(app) {
        open_in_browser(app.state::<Server>().addr, path.unwrap_or(""));
        return;
    }
    let shown = || -> anyhow::Result<()> {
        let window = match app.get_webview_window(MAIN) {
            Some(w) => w,
            None => {
                let addr = app.state::<Server>().addr;
                WebviewWindowBuilder::new(app, MAIN, ui_url(addr, path.unwrap_or(""))?)
                    .title("Otklik")
                    .inner_size(1280.0, 800.0)
                    .min_inner_size(800.0, 600.0)
                    .build()?
            }
        };
        if let Some(path) = path {
            let mut url = window.url()?;
            if url.path() != format!("/{path}") {
                url.set_path(path);
                url.set_query(None);
                window.navigate(url)?;
            }
        }
        window.unminimize()?;
        window.show()?;
        window.set_focus()?;
        Ok(())
    };
    if let Err(e) = shown() {
        tracing::error!("cannot show the main window: {e:#}");
    }
}

/// Brings the wall display forward, or opens it in a normal window when there is no kiosk display.
fn open_display(app: &AppHandle) {
    if in_browser(app) {
        open_in_browser(app.state::<Server>().addr, DISPLAY);
        return;
    }
    let shown = || -> anyhow::Result<()> {
        let window = match app.get_webview_window(DISPLAY) {
            Some(w) => w,
            None => {
                let addr = app.state::<Server>().addr;
                WebviewWindowBuilder::new(app, DISPLAY, ui_url(addr, DISPLAY)?)
                    .title("Otklik display")
                    .inner_size(1280.0, 720.0)
                    .build()?
            }
        };
        window.unminimize()?;
        window.show()?;
        window.set_focus()?;
        Ok(())
    };
    if let Err(e) = shown() {
        tracing::error!("cannot open the display: {e:#}");
    }
}

/// Pauses capture when it runs, resumes it when paused; the tray's label follows the settings event.
fn toggle_capture(app: &AppHandle) {
    let engine = app.state::<Server>().engine.clone();
    tauri::async_runtime::spawn(async move {
        let paused = !engine.store.settings().capture_paused;
        let patch = SettingsPatch {
            capture_paused: Some(paused),
            ..Default::default()
        };
        match engine.store.update_settings(patch, "tray").await {
            Ok(_) => tracing::info!(paused, "capture paused from the tray"),
            Err(e) => tracing::error!("cannot pause or resume capture: {e}"),
        }
    });
}

/// Follows the settings however they change (console, API, tray): the tray's language and pause
/// label, and the system's start entry.
fn watch_settings(app: AppHandle, engine: Arc<Engine>, mut last: Settings) {
    let mut events = engine.store.events.subscribe(None, false).rx;
    tauri::async_runtime::spawn(async move {
        loop {
            let new = match events.recv().await {
                Ok(event) if event.name == "settings" => {
                    match serde_json::from_str::<Settings>(&event.data) {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::warn!("unreadable settings event: {e}");
                            engine.store.settings()
                        }
                    }
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => engine.store.settings(),
                Err(RecvError::Closed) => return,
            };
            if new.start_with_system != last.start_with_system {
                autostart::apply(new.start_with_system);
            }
            if let Some(tray) = app.try_state::<Tray>() {
                tray.set_settings(&new);
            }
            last = new;
        }
    });
}

fn start_engine() -> anyhow::Result<Server> {
    let data_dir = std::env::var_os("OTKLIK_DATA_DIR").map_or_else(default_data_dir, Into::into);
    // The daily log files live in the data directory, known only now.
    otklik_engine::logs::init(&data_dir);
    let engine = Engine::open(&data_dir)?;
    // OTKLIK_LISTEN overrides the `listen` setting for this run (tests use it for a free port).
    let listen = std::env::var("OTKLIK_LISTEN").unwrap_or_else(|_| engine.store.settings().listen);
    let listen: SocketAddr = listen
        .parse()
        .with_context(|| format!("the listen address `{listen}` is not an address"))?;
    Ok(tauri::async_runtime::block_on(Server::start(
        engine, listen,
    ))?)
}

/// The windows and the tray talk to the engine over loopback even when it listens on every interface.
fn loopback(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    }
}

fn ui_url(addr: SocketAddr, path: &str) -> anyhow::Result<WebviewUrl> {
    let url = format!("http://{}/{path}", loopback(addr));
    Ok(WebviewUrl::External(url.parse()?))
}

/// Opens the wall display full-screen and undecorated on monitor `wanted` (counted from 1).
fn open_kiosk_display(app: &App, url: WebviewUrl, wanted: u32) -> anyhow::Result<()> {
    let window = WebviewWindowBuilder::new(app, DISPLAY, url)
        .title("Otklik display")
        .decorations(false)
        .visible(false)
        .build()?;
    let monitors = app.available_monitors()?;
    match kiosk_monitor_index(wanted, monitors.len()) {
        Some(i) => {
            let monitor = &monitors[i];
            if i + 1 != wanted as usize {
                tracing::warn!(
                    wanted,
                    used = i + 1,
                    name = monitor.name().map_or("?", |n| n.as_str()),
                    "no such monitor for the kiosk display; using the last one"
                );
            }
            // Full screen fills the monitor the window is on, so move it there first.
            window.set_position(*monitor.position())?;
        }
        None => tracing::warn!("no monitors reported; the kiosk display opens where it may"),
    }
    window.set_fullscreen(true)?;
    window.show()?;
    Ok(())
}

/// Index into the monitor list for monitor number `wanted` (from 1), or the last one.
fn kiosk_monitor_index(wanted: u32, count: usize) -> Option<usize> {
    let i = (wanted as usize).saturating_sub(1);
    if i < count {
        Some(i)
    } else {
        count.checked_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kiosk_monitor_falls_back_to_the_last() {
        assert_eq!(kiosk_monitor_index(2, 3), Some(1));
        assert_eq!(kiosk_monitor_index(1, 1), Some(0));
        assert_eq!(kiosk_monitor_index(2, 1), Some(0));
        assert_eq!(kiosk_monitor_index(5, 2), Some(1));
        assert_eq!(kiosk_monitor_index(0, 2), Some(0));
        assert_eq!(kiosk_monitor_index(2, 0), None);
    }

    #[test]
    fn ui_url_uses_loopback_for_an_unspecified_address() {
        let url = |addr: &str, path| match ui_url(addr.parse().unwrap(), path).unwrap() {
            WebviewUrl::External(u) => u.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(url("0.0.0.0:8787", ""), "http://127.0.0.1:8787/");
        assert_eq!(
            url("127.0.0.1:9000", "display"),
            "http://127.0.0.1:9000/display"
        );
        assert_eq!(url("[::1]:9000", "display"), "http://[::1]:9000/display");
    }
}
