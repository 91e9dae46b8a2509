//! The command line shared by the desktop binary: `serve`, `token`, `verify`, `backup`,
//! `restore`, `demo`, `hub`, `desk-pc`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use otklik_api::Server;
use otklik_engine::{DB_FILE, Engine, default_data_dir};

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
    /// Backs the database up now (Otklik may be running): into the `backup_dir` setting's folder,
    /// or the one given; keeps the newest `backup_keep`.
    Backup {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The folder to write to [default: the `backup_dir` setting, or `backups` in the data directory]
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Checks a backup file and stages it: it replaces the database at the next start, and the
    /// current database is kept aside as otklik-before-restore-<time>.db.
    Restore {
        /// The backup file (otklik-YYYYMMDD-HHMMSS.db)
        file: PathBuf,
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
    /// The network hub on PostgreSQL: `otklik hub serve`, `token`, `add-site`, `sites`.
    Hub {
        #[command(subcommand)]
        command: crate::hub::HubCommand,
    },
    /// The engine as a Windows service, for a PC that serves the screens with nobody signed in:
    /// `otklik service install`, `uninstall`.
    #[cfg(windows)]
    Service {
        #[command(subcommand)]
        command: crate::service::ServiceCommand,
    },
    /// This PC at a desk, forwarding its presses to the reception's Otklik: `otklik desk-pc pair`.
    DeskPc {
        #[command(subcommand)]
        command: DeskPcCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeskPcCommand {
    /// Pairs this PC with the reception, with the code its console shows for this desk's desk
    /// PC (Desks → Panels); from then on every press made here is forwarded there.
    Pair {
        /// The reception's Otklik, http://HOST:PORT
        #[arg(long)]
        reception: String,
        /// The six digits the reception's console shows
        #[arg(long)]
        code: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

/// Logs to stderr; `otklik_engine::logs::init` adds the files once the data directory is known.
pub fn init_logging() {
    otklik_engine::logs::init_subscriber();
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
            match otklik_store::token::load_or_create(&dir) {
                Ok(t) => {
                    println!("{t}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Verify { data_dir } => {
            let path = data_dir.unwrap_or_else(default_data_dir).join(DB_FILE);
            match otklik_store::ledger::verify(&path) {
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
        Command::Backup { data_dir, to } => backup(&data_dir.unwrap_or_else(default_data_dir), to),
        Command::Restore { file, data_dir } => {
            restore(&data_dir.unwrap_or_else(default_data_dir), &file)
        }
        Command::Hub { command } => crate::hub::run(command),
        #[cfg(windows)]
        Command::Service { command } => crate::service::run(command),
        Command::DeskPc {
            command:
                DeskPcCommand::Pair {
                    reception,
                    code,
                    data_dir,
                },
        } => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => return fail(&format!("cannot start: {e}")),
            };
            runtime.block_on(pair_desk_pc(
                &data_dir.unwrap_or_else(default_data_dir),
                &reception,
                &code,
            ))
        }
        Command::Demo {
            data_dir,
            ratings,
            days,
            seed,
        } => demo(
            &data_dir,
            &otklik_engine::demo::DemoOptions {
                ratings,
                days,
                seed,
                now: None,
            },
        ),
    }
}

/// `otklik demo`: fills the directory, saying how far it is every tenth of the way.
fn demo(data_dir: &std::path::Path, opts: &otklik_engine::demo::DemoOptions) -> ExitCode {
    use otklik_engine::demo::thousands;
    let started = std::time::Instant::now();
    let mut tenths_told = 0;
    let filled = otklik_engine::demo::fill_with_progress(data_dir, opts, &mut |p| {
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

/// `otklik backup`: the same online backup the schedule makes.
fn backup(data_dir: &std::path::Path, to: Option<PathBuf>) -> ExitCode {
    let db_path = data_dir.join(DB_FILE);
    let settings = match otklik_store::db::open_reader(&db_path)
        .and_then(|c| otklik_store::settings::Settings::load(&c))
    {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let dir = match to {
        Some(dir) => dir,
        None => {
            let dir = otklik_engine::backup::dir_for(data_dir, &settings.backup_dir);
            if settings.backup_dir.trim().is_empty()
                && let Err(e) = std::fs::create_dir_all(&dir)
            {
                return fail(&format!("cannot create {}: {e}", dir.display()));
            }
            dir
        }
    };
    match otklik_engine::backup::backup_now(&db_path, &dir, settings.backup_keep) {
        Ok(info) => {
            println!(
                "{}: {} ratings, {:.1} MB, integrity checked",
                std::path::Path::new(&info.dir).join(&info.file).display(),
                info.ratings,
                info.bytes as f64 / 1e6
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// `otklik restore FILE`: checks and stages it for the next start.
fn restore(data_dir: &std::path::Path, file: &std::path::Path) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(data_dir) {
        return fail(&format!("cannot create {}: {e}", data_dir.display()));
    }
    let label = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let upload = otklik_engine::backup::upload_path(data_dir);
    if let Err(e) = std::fs::copy(file, &upload) {
        let _ = std::fs::remove_file(&upload);
        return fail(&format!("cannot read {}: {e}", file.display()));
    }
    match otklik_engine::backup::stage(data_dir, &upload, &label) {
        Ok(Ok(p)) => {
            println!(
                "{label}: {} ratings, schema version {}. Staged: it replaces the database when Otklik next starts (the current one is kept aside as otklik-before-restore-<time>.db).",
                p.ratings, p.schema_version
            );
            ExitCode::SUCCESS
        }
        Ok(Err(why)) => {
            eprintln!("otklik: {why}. Nothing changed");
            ExitCode::from(1)
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// `otklik desk-pc pair`: what the desk PC's `POST /api/v1/desk-pc/pair` does, without starting
/// the engine (a running one picks the link up at its next look).
async fn pair_desk_pc(data_dir: &std::path::Path, reception: &str, code: &str) -> ExitCode {
    match otklik_engine::desk_pc::pair_offline(data_dir, reception, code).await {
        Ok(paired) => {
            println!(
                "Paired with the reception at {} as the desk PC of desk {} ({}): presses made here are forwarded there.",
                paired.url, paired.desk_id, paired.desk_name
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// Opens the engine in `data_dir` and starts its HTTP server (`serve`, and the Windows service).
pub(crate) async fn start_server(
    data_dir: &std::path::Path,
    listen: Option<SocketAddr>,
) -> Result<Server, String> {
    otklik_engine::logs::init(data_dir);
    let engine = Engine::open(data_dir).map_err(|e| e.to_string())?;
    let listen = match listen {
        Some(l) => l,
        None => engine
            .store
            .settings()
            .listen
            .parse()
            .map_err(|_| "the `listen` setting is not an address; pass --listen".to_string())?,
    };
    Server::start(engine, listen)
        .await
        .map_err(|e| e.to_string())
}

/// `otklik serve`: runs until Ctrl+C or SIGTERM.
async fn serve(data_dir: PathBuf, listen: Option<SocketAddr>) -> ExitCode {
    let server = match start_server(&data_dir, listen).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    // Scripts and tests read the address from this line (useful with port 0).
    println!("Otklik listening on http://{}", server.addr);
    if server.addr.ip().is_unspecified() {
        // 0.0.0.0 is no address to open: a browser asking for it is refused by the Host check.
        println!(
            "open it at http://127.0.0.1:{port} on this PC, or by this PC's name or address on the LAN",
            port = server.addr.port()
        );
    }
    let _ = std::io::stdout().flush();
    shutdown_signal().await;
    tracing::info!("stopping");
    server.stop().await;
    ExitCode::SUCCESS
}

pub(crate) async fn shutdown_signal() {
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

pub(crate) fn fail(msg: &str) -> ExitCode {
    eprintln!("otklik: {msg}");
    ExitCode::from(2)
}
