//! `otklik service`: the engine as a Windows service, for a PC that serves the wall displays,
//! panels and buttons with nobody signed in. `install` registers `otklik service run` with the
//! service manager (starts with Windows, as LocalSystem, restarted after a failure) and starts
//! it; `uninstall` stops and removes it and keeps the data. `run` is what the service manager
//! starts: the same engine as `otklik serve`, stopped by the manager instead of Ctrl+C.

use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap::Subcommand;
use windows_service::service::{
    Service, ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use crate::cli::fail;

const DEFAULT_NAME: &str = "Otklik";
/// How long install and uninstall wait for the service to start or stop: opening a large
/// database for the first time after an upgrade runs its migrations.
const WAIT: Duration = Duration::from_secs(90);

// Win32 error codes the messages explain.
const ACCESS_DENIED: i32 = 5;
const SERVICE_DOES_NOT_EXIST: i32 = 1060;
const NOT_STARTED_BY_THE_MANAGER: i32 = 1063;
const SERVICE_EXISTS: i32 = 1073;

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Registers the engine as a service that starts with Windows, before anyone signs in, and
    /// starts it. Run it from a Command Prompt opened as administrator.
    Install {
        /// The service's name
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
        /// Where the database and files live; only SYSTEM and administrators can open it [default: %ProgramData%\Otklik]
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address and port to listen on; 0.0.0.0:8787 opens it to the LAN [default: the `listen` setting, 127.0.0.1:8787]
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Stops the service and removes it; the data directory stays.
    Uninstall {
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    /// What the service manager starts (from a console, use `otklik serve`).
    #[command(hide = true)]
    Run {
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
}

pub fn run(command: ServiceCommand) -> ExitCode {
    let done = match command {
        ServiceCommand::Install {
            name,
            data_dir,
            listen,
        } => install(&name, data_dir, listen),
        ServiceCommand::Uninstall { name } => uninstall(&name),
        ServiceCommand::Run {
            name,
            data_dir,
            listen,
        } => return dispatch(name, data_dir, listen),
    };
    match done {
        Ok(said) => {
            println!("{said}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn install(
    name: &str,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
) -> Result<String, String> {
    let data_dir = match data_dir {
        Some(dir) => std::path::absolute(&dir).map_err(|e| format!("{}: {e}", dir.display()))?,
        None => std::env::var_os("ProgramData")
            .map(PathBuf::from)
            .ok_or("%ProgramData% is not set; pass --data-dir")?
            .join("Otklik"),
    };
    let exe = std::env::current_exe().map_err(|e| format!("cannot find otklik.exe itself: {e}"))?;
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .map_err(|e| explain(e, name))?;
    if manager
        .open_service(name, ServiceAccess::QUERY_STATUS)
        .is_ok()
    {
        return Err(format!(
            "a service named {name} is already installed; `otklik service uninstall --name {name}` first, or give another --name"
        ));
    }
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    acl::owner_only(&data_dir)?;

    let mut arguments: Vec<OsString> = vec![
        "service".into(),
        "run".into(),
        "--name".into(),
        name.into(),
        "--data-dir".into(),
        data_dir.clone().into(),
    ];
    if let Some(listen) = listen {
        arguments.extend(["--listen".into(), listen.to_string().into()]);
    }
    let info = ServiceInfo {
        name: name.into(),
        display_name: if name == DEFAULT_NAME {
            "Otklik".into()
        } else {
            format!("Otklik ({name})").into()
        },
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: exe,
        launch_arguments: arguments,
        dependencies: vec![],
        account_name: None, // LocalSystem
        account_password: None,
    };
    let service = manager
        .create_service(
            &info,
            ServiceAccess::CHANGE_CONFIG
                | ServiceAccess::START
                | ServiceAccess::QUERY_STATUS
                | ServiceAccess::DELETE,
        )
        .map_err(|e| explain(e, name))?;
    // Not needed to serve: a manager that refuses it gets a warning, not a rollback.
    if let Err(e) = service.set_description(
        "Otklik: patient ratings at the reception desk. The engine, its API and the screens for browsers on the LAN.",
    ) {
        eprintln!("otklik: warning: the service has no description: {}", describe(&e));
    }
    restart_on_failure(&service);
    let started = service
        .start(&[] as &[&OsStr])
        .map_err(|e| explain(e, name))
        .and_then(|()| wait_for(&service, ServiceState::Running));
    if let Err(e) = started {
        // Nothing half-made stays behind: the service goes, the data directory was empty or is kept.
        let _ = service.delete();
        let why = last_error_logged(&data_dir)
            .map(|line| format!("; its log says: {line}"))
            .unwrap_or_default();
        return Err(format!(
            "the service {name} did not start ({e}){why}. It is not installed"
        ));
    }
    let address = listen.map_or_else(
        || "the `listen` setting's address (127.0.0.1:8787 unless changed)".to_string(),
        |l| format!("http://{l}"),
    );
    Ok(format!(
        "Installed and started the Windows service {name}: it starts with Windows and serves {address}.\n\
         Data: {data} (SYSTEM and administrators only). The API token: otklik token --data-dir \"{data}\"\n\
         Stop or start it with `sc stop {name}` / `sc start {name}`; remove it with `otklik service uninstall`.",
        data = data_dir.display()
    ))
}

/// Restarts after 5, 30 and 60 s, counted afresh each day. A manager that refuses gets a warning:
/// neither is needed to serve.
fn restart_on_failure(service: &Service) {
    let restart = |secs| ServiceAction {
        action_type: ServiceActionType::Restart,
        delay: Duration::from_secs(secs),
    };
    let actions = ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(24 * 3600)),
        reboot_msg: None,
        command: None,
        actions: Some(vec![restart(5), restart(30), restart(60)]),
    };
    if let Err(e) = service.update_failure_actions(actions) {
        eprintln!(
            "otklik: warning: Windows will not restart the service after a crash: {}",
            describe(&e)
        );
    } else if let Err(e) = service.set_failure_actions_on_non_crash_failures(true) {
        // The database unreadable, the port taken: stops with an error of its own, not crashes.
        eprintln!(
            "otklik: warning: Windows will restart the service after a crash, not after it stops with an error: {}",
            describe(&e)
        );
    }
}

fn uninstall(name: &str) -> Result<String, String> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(|e| explain(e, name))?;
    let service = manager
        .open_service(
            name,
            ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
        )
        .map_err(|e| explain(e, name))?;
    let state = service
        .query_status()
        .map_err(|e| explain(e, name))?
        .current_state;
    if state != ServiceState::Stopped {
        if state != ServiceState::StopPending {
            service.stop().map_err(|e| explain(e, name))?;
        }
        wait_for(&service, ServiceState::Stopped)?;
    }
    service.delete().map_err(|e| explain(e, name))?;
    Ok(format!(
        "Stopped and removed the Windows service {name}; its data directory is kept."
    ))
}

fn wait_for(service: &Service, wanted: ServiceState) -> Result<(), String> {
    let began = Instant::now();
    loop {
        let status = service.query_status().map_err(|e| describe(&e))?;
        if status.current_state == wanted {
            return Ok(());
        }
        if wanted == ServiceState::Running && status.current_state == ServiceState::Stopped {
            return Err(match status.exit_code {
                ServiceExitCode::ServiceSpecific(code) => format!("it stopped with code {code}"),
                ServiceExitCode::Win32(code) => format!("it stopped with Windows error {code}"),
            });
        }
        if began.elapsed() > WAIT {
            return Err(format!(
                "still {:?} after {} s",
                status.current_state,
                WAIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The newest ERROR line of the engine's log files, for saying why the service did not start.
fn last_error_logged(data_dir: &Path) -> Option<String> {
    let (_, newest) = otklik_engine::logs::files(&otklik_engine::logs::log_dir(data_dir)).pop()?;
    let text = std::fs::read_to_string(newest).ok()?;
    // "<time> ERROR <module>: <message>": the message is what the administrator needs.
    let line = text.lines().rev().find(|l| l.contains(" ERROR "))?;
    let (_, rest) = line.split_once(" ERROR ")?;
    Some(
        rest.split_once(": ")
            .map_or(rest, |(_, m)| m)
            .trim()
            .to_string(),
    )
}

fn explain(e: windows_service::Error, name: &str) -> String {
    let code = match &e {
        windows_service::Error::Winapi(io) => io.raw_os_error(),
        _ => None,
    };
    match code {
        Some(ACCESS_DENIED) => {
            "access denied: run it from a Command Prompt opened as administrator".into()
        }
        Some(SERVICE_DOES_NOT_EXIST) => format!("there is no service named {name}"),
        Some(SERVICE_EXISTS) => format!("a service named {name} is already installed"),
        _ => format!("the service manager refused: {}", describe(&e)),
    }
}

/// The error with Windows' own words: the crate's Display says only "IO error in winapi call".
fn describe(e: &windows_service::Error) -> String {
    match e {
        windows_service::Error::Winapi(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// What `service run` was given, for the service's main function the dispatcher calls.
static RUN: OnceLock<(String, PathBuf, Option<SocketAddr>)> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

fn dispatch(name: String, data_dir: PathBuf, listen: Option<SocketAddr>) -> ExitCode {
    let _ = RUN.set((name.clone(), data_dir, listen));
    match service_dispatcher::start(&name, ffi_service_main) {
        Ok(()) => ExitCode::SUCCESS,
        Err(windows_service::Error::Winapi(e))
            if e.raw_os_error() == Some(NOT_STARTED_BY_THE_MANAGER) =>
        {
            fail(
                "`otklik service run` is started by Windows' service manager; from a console use `otklik serve`",
            )
        }
        Err(e) => fail(&format!("cannot run as a service: {}", describe(&e))),
    }
}

fn service_main(_arguments: Vec<OsString>) {
    let Some((name, data_dir, listen)) = RUN.get() else {
        return;
    };
    // Its errors are in the log, written before the manager hears it stopped (`install` reads it).
    let _ = run_service(name, data_dir, *listen);
}

fn run_service(name: &str, data_dir: &Path, listen: Option<SocketAddr>) -> Result<(), String> {
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            stop_tx.send_replace(true);
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let status = service_control_handler::register(name, handler).map_err(|e| describe(&e))?;
    let report = |state, accepted, code: u32, wait_secs| {
        let exit_code = if code == 0 {
            ServiceExitCode::Win32(0)
        } else {
            ServiceExitCode::ServiceSpecific(code)
        };
        let reported = status.set_service_status(ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: accepted,
            exit_code,
            checkpoint: 0,
            wait_hint: Duration::from_secs(wait_secs),
            process_id: None,
        });
        if let Err(e) = reported {
            tracing::warn!(
                "cannot tell the service manager the state {state:?}: {}",
                describe(&e)
            );
        }
    };
    report(
        ServiceState::StartPending,
        ServiceControlAccept::empty(),
        0,
        WAIT.as_secs(),
    );
    let result =
        tokio::runtime::Runtime::new()
            .map_err(|e| format!("cannot start: {e}"))
            .and_then(|runtime| {
                runtime.block_on(async {
                let server = crate::cli::start_server(data_dir, listen).await?;
                tracing::info!(service = name, addr = %server.addr, "running as a Windows service");
                report(
                    ServiceState::Running,
                    ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
                    0,
                    0,
                );
                let _ = stop_rx.wait_for(|stop| *stop).await;
                report(ServiceState::StopPending, ServiceControlAccept::empty(), 0, 30);
                tracing::info!("stopping: asked by the service manager");
                server.stop().await;
                Ok(())
            })
            });
    if let Err(e) = &result {
        tracing::error!("the service {name} cannot run: {e}");
    }
    report(
        ServiceState::Stopped,
        ServiceControlAccept::empty(),
        if result.is_err() { 2 } else { 0 }, // 2: as `otklik serve` exits on an error
        0,
    );
    result
}

/// The data directory's permissions: a service's files would otherwise inherit
/// %ProgramData%'s, which let every user of the PC read them (the API token among them).
mod acl {
    use std::os::windows::ffi::OsStrExt;
    use std::path::Path;

    use windows_sys::Win32::Foundation::{ERROR_SUCCESS, LocalFree};
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1, SE_FILE_OBJECT,
        SetNamedSecurityInfoW,
    };
    use windows_sys::Win32::Security::{
        ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl,
        PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
    };

    /// Full control for SYSTEM and Administrators, inherited by everything inside; nothing
    /// inherited from above. Applied to what is already there too.
    const OWNER_ONLY: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

    #[allow(unsafe_code)]
    pub fn owner_only(dir: &Path) -> Result<(), String> {
        let wide = |s: &std::ffi::OsStr| s.encode_wide().chain(Some(0)).collect::<Vec<u16>>();
        let sddl = wide(OWNER_ONLY.as_ref());
        let path = wide(dir.as_os_str());
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `sddl` is NUL-terminated; `sd` receives a LocalAlloc'd descriptor, freed below.
        let made = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if made == 0 {
            return Err(format!(
                "cannot make the data directory's permissions: {}",
                std::io::Error::last_os_error()
            ));
        }
        let mut present = 0;
        let mut defaulted = 0;
        let mut dacl: *mut ACL = std::ptr::null_mut();
        // SAFETY: `sd` is the valid descriptor made above; the DACL pointer points into it.
        let code = unsafe {
            if GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted) == 0 {
                std::io::Error::last_os_error().raw_os_error().unwrap_or(-1) as u32
            } else {
                SetNamedSecurityInfoW(
                    path.as_ptr(),
                    SE_FILE_OBJECT,
                    DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    dacl,
                    std::ptr::null(),
                )
            }
        };
        // SAFETY: `sd` came from LocalAlloc (ConvertStringSecurityDescriptor…) and is not used after.
        unsafe { LocalFree(sd) };
        if code == ERROR_SUCCESS {
            Ok(())
        } else {
            Err(format!(
                "cannot limit {} to SYSTEM and administrators: {}",
                dir.display(),
                std::io::Error::from_raw_os_error(code as i32)
            ))
        }
    }
}
