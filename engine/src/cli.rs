//! The command line shared by the desktop binary: `serve`, `token`, `verify`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::engine::{DB_FILE, Engine, Server, default_data_dir};

#[derive(Debug, Parser)]
#[command(
    name = "otklik",
    version,
    about = "Patient ratings at the reception desk: live leaderboard, alerts, reports.\nWith no command, opens the desktop app."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the engine without a window: the API, the event stream and the screens for browsers.
    Serve {
        /// Where the database and files live [default: the OS data directory]
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address and port to listen on; 0.0.0.0:8787 opens it to the LAN [default: the `listen` setting, 127.0.0.1:8787]
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Prints the API token (creating it if there is none yet).
    Token {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Checks that no rating was changed or removed outside Otklik.
    Verify {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OTKLIK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a command that needs no window.
pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Serve { data_dir, listen } => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => return fail(&format!("cannot start: {e}")),
            };
            runtime.block_on(serve(data_dir.unwrap_or_else(default_data_dir), listen))
        }
        Command::Token { data_dir } => {
            let dir = data_dir.unwrap_or_else(default_data_dir);
            if let Err(e) = std::fs::create_dir_all(&dir) {
                return fail(&format!("cannot create {}: {e}", dir.display()));
            }
            match crate::token::load_or_create(&dir) {
                Ok(t) => {
                    println!("{t}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Verify { data_dir } => {
            let path = data_dir.unwrap_or_else(default_data_dir).join(DB_FILE);
            match crate::ledger::verify(&path) {
                Ok(report) if report.problems.is_empty() => {
                    println!(
                        "{}: {} ratings checked, none changed or removed",
                        path.display(),
                        report.checked
                    );
                    ExitCode::SUCCESS
                }
                Ok(report) => {
                    println!(
                        "{}: {} ratings checked, {} problems:",
                        path.display(),
                        report.checked,
                        report.problems.len()
                    );
                    for p in &report.problems {
                        println!("  - {p}");
                    }
                    ExitCode::from(1)
                }
                Err(e) => fail(&e.to_string()),
            }
        }
    }
}

async fn serve(data_dir: PathBuf, listen: Option<SocketAddr>) -> ExitCode {
    let engine = match Engine::open(&data_dir) {
        Ok(e) => e,
        Err(e) => return fail(&e.to_string()),
    };
    let listen = match listen {
        Some(l) => l,
        None => match engine.settings().listen.parse() {
            Ok(l) => l,
            Err(_) => return fail("the `listen` setting is not an address; pass --listen"),
        },
    };
    let server = match Server::start(engine, listen).await {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    // Scripts and tests read the address from this line (useful with port 0).
    println!("Otklik listening on http://{}", server.addr);
    let _ = std::io::stdout().flush();
    shutdown_signal().await;
    tracing::info!("stopping");
    server.stop().await;
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("otklik: {msg}");
    ExitCode::from(2)
}
