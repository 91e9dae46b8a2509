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
    /// Fills a fresh data directory with a realistic demo history ending now: 6 desks, 12
    /// registrars, shifts, ratings. Refuses a directory that already has a history.
    Demo {
        /// The directory to fill; required, so that demo ratings never land in a real installation
        #[arg(long)]
        data_dir: PathBuf,
        /// Ratings in all
        #[arg(long, default_value_t = 20_000)]
        ratings: u64,
        /// Days of history, today included
        #[arg(long, default_value_t = 60)]
        days: u32,
        /// The same seed gives the same history (for the same moment)
        #[arg(long, default_value_t = 1)]
        seed: u64,
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
        Command::Demo {
            data_dir,
            ratings,
            days,
            seed,
        } => demo(
            &data_dir,
            &crate::demo::DemoOptions {
                ratings,
                days,
                seed,
                now: None,
            },
        ),
    }
}

/// `otklik demo`: fills the directory, saying how far it is every tenth of the way.
fn demo(data_dir: &std::path::Path, opts: &crate::demo::DemoOptions) -> ExitCode {
    use crate::demo::thousands;
    let started = std::time::Instant::now();
    let mut tenths_told = 0;
    let filled = crate::demo::fill_with_progress(data_dir, opts, &mut |p| {
        if p.written == 0 {
            println!(
                "Writing {} demo ratings over {} days into {}",
                thousands(p.total),
                opts.days,
                data_dir.display()
            );
        } else if p.written < p.total && p.written * 10 >= p.total * (tenths_told + 1) {
            tenths_told = p.written * 10 / p.total;
            println!(
                "written {} of {} ratings…",
                thousands(p.written),
                thousands(p.total)
            );
        }
        let _ = std::io::stdout().flush();
    });
    let s = match filled {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    println!(
        "Done in {:.1} s: {} desks, {} registrars, {} work sessions, {} ratings from {} to {} (time zone {}, scale 1..{})",
        started.elapsed().as_secs_f64(),
        s.desks,
        s.registrars,
        thousands(s.sessions),
        thousands(s.ratings),
        s.first_day,
        s.last_day,
        s.timezone,
        s.scale
    );
    println!(
        "  {} given while nobody was at the desk ({} flagged no_session), {} flagged burst, {} annulled, {} bad days",
        thousands(s.unassigned),
        thousands(s.flagged_no_session),
        thousands(s.flagged_burst),
        thousands(s.annulled),
        s.bad_days
    );
    println!(
        "  {}: {:.1} MB. See it with: otklik serve --data-dir {}",
        s.db_path.display(),
        s.db_bytes as f64 / 1e6,
        data_dir.display()
    );
    ExitCode::SUCCESS
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
