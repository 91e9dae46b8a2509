//! `otklik`: the desktop app with no arguments; `serve`, `token`, `verify` without a window.

// Windows: the desktop app opens no console window behind it (commands attach to the console
// they were started from, see `attach_console`). Debug builds keep theirs for the log.
#![cfg_attr(
    all(windows, feature = "desktop", not(debug_assertions)),
    windows_subsystem = "windows"
)]

use std::ffi::OsString;
use std::process::ExitCode;

use crate::cli::{Cli, init_logging, run};
use clap::Parser;

#[cfg(feature = "desktop")]
mod autostart;
#[cfg(feature = "desktop")]
mod browser;
mod cli;
#[cfg(feature = "desktop")]
mod desktop;
mod hub;
#[cfg(windows)]
mod service;
#[cfg(feature = "desktop")]
mod status;
#[cfg(feature = "desktop")]
mod tray;

/// What the system's start entry runs: `otklik --autostart` (see autostart.rs).
const AUTOSTART_ARG: &str = "--autostart";

fn main() -> ExitCode {
    attach_console();
    let (autostarted, args) = take_autostart(std::env::args_os().collect());
    let cli = Cli::parse_from(args);
    init_logging();
    match cli.command {
        Some(command) => run(command),
        None => open_desktop(autostarted),
    }
}

/// Whether the first argument is `--autostart`, and the arguments without it (clap does not
/// know it: it belongs to the desktop shell, not to the engine's command line).
fn take_autostart(mut args: Vec<OsString>) -> (bool, Vec<OsString>) {
    let autostarted = args.get(1).is_some_and(|a| a == AUTOSTART_ARG);
    if autostarted {
        args.remove(1);
    }
    (autostarted, args)
}

/// A GUI-subsystem program has no console: print `serve`'s log, `token`, `--help` into the one
/// it was started from, if any.
#[cfg(all(windows, feature = "desktop", not(debug_assertions)))]
#[allow(unsafe_code)]
fn attach_console() {
    use windows_sys::Win32::System::Console::{ATTACH_PARENT_PROCESS, AttachConsole};
    // SAFETY: no preconditions; without a parent console it fails and nothing changes.
    unsafe {
        AttachConsole(ATTACH_PARENT_PROCESS);
    }
}

#[cfg(not(all(windows, feature = "desktop", not(debug_assertions))))]
fn attach_console() {}

#[cfg(feature = "desktop")]
fn open_desktop(autostarted: bool) -> ExitCode {
    desktop::run(autostarted)
}

#[cfg(not(feature = "desktop"))]
fn open_desktop(_autostarted: bool) -> ExitCode {
    eprintln!(
        "otklik: this build has no desktop window; run `otklik serve` and open the screens in a browser"
    );
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn autostart_is_taken_only_as_the_first_argument() {
        assert_eq!(
            take_autostart(args(&["otklik", "--autostart"])),
            (true, args(&["otklik"]))
        );
        assert_eq!(
            take_autostart(args(&["otklik"])),
            (false, args(&["otklik"]))
        );
        assert_eq!(
            take_autostart(args(&["otklik", "serve", "--autostart"])),
            (false, args(&["otklik", "serve", "--autostart"]))
        );
    }
}
