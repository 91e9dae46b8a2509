//! `otklik`: the desktop app with no arguments; `serve`, `token`, `verify` without a window.

use std::process::ExitCode;

use clap::Parser;
use otklik_engine::cli::{Cli, init_logging, run};

#[cfg(feature = "desktop")]
mod desktop;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Some(command) => run(command),
        None => open_desktop(),
    }
}

#[cfg(feature = "desktop")]
fn open_desktop() -> ExitCode {
    desktop::run()
}

#[cfg(not(feature = "desktop"))]
fn open_desktop() -> ExitCode {
    eprintln!(
        "otklik: this build has no desktop window; run `otklik serve` and open the screens in a browser"
    );
    ExitCode::from(2)
}
