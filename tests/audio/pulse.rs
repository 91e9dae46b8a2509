//! A private PulseAudio daemon for the microphone test and benchmark (included with `#[path]`).
//!
//! ALSA's `file` plugin is not paced in real time, so the audio comes from a PulseAudio null
//! sink instead: `paplay` plays into it, and ALSA's `pulse` plugin (libasound2-plugins) records
//! its monitor. cpal then captures through its real ALSA path from a source that runs on the
//! wall clock. The daemon, its socket, its state and the ALSA configuration all live in one
//! temporary directory; the user's own sound set-up is never read nor touched. A process sees
//! the devices when started with `ALSA_CONFIG_PATH` pointing at [`alsa_config`]'s file (ALSA
//! reads it once, when the process first opens a device, so the tests run a child process).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The null sink; its monitor is the capture source.
pub const SINK: &str = "otklik_test";

/// Whether the tools (and, if asked, ALSA's pulse plugin) are here. If not: with
/// `OTKLIK_REQUIRE_AUDIO=1` this panics; otherwise it prints SKIPPED and returns false.
pub fn available(what: &str, tools: &[&str], pulse_plugin: bool) -> bool {
    let on_path = |t: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
    };
    let mut missing: Vec<String> = tools
        .iter()
        .filter(|t| !on_path(t))
        .map(|t| t.to_string())
        .collect();
    if pulse_plugin && !pulse_plugin_present() {
        missing.push("ALSA's pulse plugin (libasound2-plugins)".into());
    }
    if missing.is_empty() {
        return true;
    }
    let why = format!("{what}: missing {}", missing.join(", "));
    if std::env::var("OTKLIK_REQUIRE_AUDIO").as_deref() == Ok("1") {
        panic!("{why} (OTKLIK_REQUIRE_AUDIO=1; scripts/system-deps.sh installs them)");
    }
    println!("SKIPPED {why}");
    false
}

fn pulse_plugin_present() -> bool {
    let Ok(dirs) = std::fs::read_dir("/usr/lib") else {
        return false;
    };
    let mut candidates: Vec<PathBuf> = dirs.flatten().map(|d| d.path().join("alsa-lib")).collect();
    candidates.extend(["/usr/lib/alsa-lib", "/usr/lib64/alsa-lib"].map(PathBuf::from));
    candidates
        .iter()
        .any(|d| d.join("libasound_module_pcm_pulse.so").is_file())
}

/// Writes `dir/asound.conf`: ALSA's own configuration plus capture devices `names`, each
/// recording the null sink's monitor through the daemon at `dir/pulse.sock`.
pub fn alsa_config(dir: &Path, names: &[&str]) -> PathBuf {
    let socket = dir.join("pulse.sock");
    let mut conf = String::from("</usr/share/alsa/alsa.conf>\n");
    for name in names {
        conf.push_str(&format!(
            "pcm.{name} {{ type pulse server \"unix:{}\" device \"{SINK}.monitor\" }}\n",
            socket.display()
        ));
    }
    let path = dir.join("asound.conf");
    std::fs::write(&path, conf).expect("write asound.conf");
    path
}

/// A PulseAudio daemon of our own, stopped when dropped.
pub struct Pulse {
    dir: PathBuf,
    child: Option<Child>,
}

impl Pulse {
    /// Starts the daemon in `dir` and waits until it answers.
    pub fn start(dir: &Path) -> Pulse {
        let runtime = dir.join("runtime");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        let socket = dir.join("pulse.sock");
        let _ = std::fs::remove_file(&socket);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("pulse.log"))
            .expect("pulse.log");
        let child = Command::new("pulseaudio")
            .args([
                "--daemonize=no",
                "--system=false",
                "-n", // no default.pa: only the modules below
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--disable-shm=yes",
                "--realtime=no",
                "--high-priority=no",
                "--log-target=stderr",
                "-L",
                &format!("module-null-sink sink_name={SINK} rate=16000 channels=1"),
                "-L",
                &format!(
                    "module-native-protocol-unix socket={} auth-anonymous=1",
                    socket.display()
                ),
            ])
            .env("HOME", dir)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("PULSE_RUNTIME_PATH", runtime.join("pulse"))
            .env("PULSE_STATE_PATH", dir.join("state"))
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start pulseaudio");
        let pulse = Pulse {
            dir: dir.to_path_buf(),
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !pulse
            .client("pactl")
            .arg("info")
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(
                Instant::now() < deadline,
                "pulseaudio did not start; its log: {}",
                std::fs::read_to_string(dir.join("pulse.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        pulse
    }

    /// A PulseAudio client command talking to this daemon only.
    fn client(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env(
            "PULSE_SERVER",
            format!("unix:{}", self.dir.join("pulse.sock").display()),
        )
        .env("HOME", &self.dir)
        .env("XDG_CONFIG_HOME", self.dir.join("config"))
        .env("XDG_RUNTIME_DIR", self.dir.join("runtime"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        c
    }

    /// Starts playing a WAV file into the null sink.
    pub fn play(&self, wav: &Path) -> Child {
        self.client("paplay")
            .arg(format!("--device={SINK}"))
            .arg(wav)
            .spawn()
            .expect("start paplay")
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a command, panicking with its output if it fails.
pub fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
