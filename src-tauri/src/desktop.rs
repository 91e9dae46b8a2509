//! The desktop shell: one instance per machine, the engine in this process, and a window that
//! shows the same screens a LAN browser gets from the engine's HTTP server. With the
//! `kiosk_display` setting, a second window shows the wall display full-screen on another monitor.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context;
use otklik_engine::engine::default_data_dir;
use otklik_engine::{Engine, Server};
use tauri::{App, Manager, WebviewUrl, WebviewWindowBuilder};

const MAIN: &str = "main";
const DISPLAY: &str = "display";

pub fn run() -> ExitCode {
    let result = tauri::Builder::default()
        // A second start just brings the running window forward.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(w) = app.get_webview_window(MAIN) {
                let _ = w.unminimize();
                let _ = w.show();
                let _ = w.set_focus();
            }
        }))
        // The main window reopens where it was left; the kiosk display always goes to its monitor.
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_denylist(&[DISPLAY])
                .build(),
        )
        .setup(|app| {
            let server = start_engine()?;
            WebviewWindowBuilder::new(app, MAIN, ui_url(server.addr, "")?)
                .title("Otklik")
                .inner_size(1280.0, 800.0)
                .min_inner_size(800.0, 600.0)
                .build()?;
            let settings = server.engine.settings();
            if settings.kiosk_display {
                // The reception desk works without the wall display: a failure here is not fatal.
                let url = ui_url(server.addr, DISPLAY)?;
                if let Err(e) = open_kiosk_display(app, url, settings.kiosk_monitor) {
                    tracing::error!("cannot open the kiosk display: {e:#}");
                }
            }
            app.manage(server);
            Ok(())
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

fn start_engine() -> anyhow::Result<Server> {
    let data_dir = std::env::var_os("OTKLIK_DATA_DIR").map_or_else(default_data_dir, Into::into);
    let engine = Engine::open(&data_dir)?;
    // OTKLIK_LISTEN overrides the `listen` setting for this run (tests use it for a free port).
    let listen = std::env::var("OTKLIK_LISTEN").unwrap_or_else(|_| engine.settings().listen);
    let listen: SocketAddr = listen
        .parse()
        .with_context(|| format!("the listen address `{listen}` is not an address"))?;
    Ok(tauri::async_runtime::block_on(Server::start(
        engine, listen,
    ))?)
}

/// The window talks to the engine over loopback even when it listens on every interface.
fn ui_url(addr: SocketAddr, path: &str) -> anyhow::Result<WebviewUrl> {
    let host = if addr.ip().is_unspecified() {
        Ipv4Addr::LOCALHOST.into()
    } else {
        addr.ip()
    };
    let url = format!("http://{}/{path}", SocketAddr::new(host, addr.port()));
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
