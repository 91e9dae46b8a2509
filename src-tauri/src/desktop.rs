//! The desktop shell: one instance per machine, the engine in this process, and a window that
//! shows the same screens a LAN browser gets from the engine's HTTP server.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use otklik_engine::engine::default_data_dir;
use otklik_engine::{Engine, Server};
use tauri::{Manager, WebviewUrl, WebviewWindowBuilder};

const MAIN: &str = "main";

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
        .setup(|app| {
            let server = start_engine()?;
            let url = ui_url(server.addr).parse()?;
            WebviewWindowBuilder::new(app, MAIN, WebviewUrl::External(url))
                .title("Otklik")
                .inner_size(1280.0, 800.0)
                .min_inner_size(800.0, 600.0)
                .build()?;
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

fn start_engine() -> Result<Server, Box<dyn std::error::Error>> {
    let data_dir = std::env::var_os("OTKLIK_DATA_DIR").map_or_else(default_data_dir, Into::into);
    let engine = Engine::open(&data_dir)?;
    let listen: SocketAddr = engine.settings().listen.parse()?;
    Ok(tauri::async_runtime::block_on(Server::start(
        engine, listen,
    ))?)
}

/// The window talks to the engine over loopback even when it listens on every interface.
fn ui_url(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        Ipv4Addr::LOCALHOST.into()
    } else {
        addr.ip()
    };
    format!("http://{}/", SocketAddr::new(host, addr.port()))
}
