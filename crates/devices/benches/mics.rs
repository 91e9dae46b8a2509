//! Two microphones capturing, the process otherwise idle: its CPU share and resident memory.
//! Targets: under 2% of one core and under 60 MB. Run: `cargo bench -p otklik-devices --bench mics`.
//!
//! Both microphones record a private PulseAudio null sink's monitor through ALSA's `pulse`
//! plugin (`tests/audio/pulse.rs`), each as its own ALSA device with its own PulseAudio stream,
//! so each has cpal's capture thread, our supervising thread and ring buffer, as in the clinic.
//! ALSA reads its configuration once per process, so the benchmark runs itself again as a child
//! with `ALSA_CONFIG_PATH` set, and measures that child (the daemon is another process).
//!
//! The measured stretch starts 3 s after both are connected: while the pulse plugin's stream
//! starts, cpal's ALSA thread polls busily (the plugin's descriptor reads ready before a whole
//! period is there) for about half a second. That one-off cost per opening is printed apart.

#[path = "../../../tests/audio/pulse.rs"]
mod pulse;

use std::process::Command;
use std::time::{Duration, Instant};

use otklik_devices::evidence::Microphone;
use otklik_devices::evidence::audio::{BUFFER_SECS, CpalMicrophone};

const SECS: u64 = 20;
const CHILD: &str = "OTKLIK_MICS_BENCH_CHILD";

fn main() {
    if std::env::var_os(CHILD).is_some() {
        measure();
        return;
    }
    if !pulse::available("mics benchmark", &["pulseaudio", "pactl"], true) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = pulse::alsa_config(dir.path(), &["otkmic1", "otkmic2"]);
    let _daemon = pulse::Pulse::start(dir.path());
    let status = Command::new(std::env::current_exe().expect("this binary"))
        .env(CHILD, "1")
        .env("ALSA_CONFIG_PATH", &conf)
        .env("HOME", dir.path())
        .status()
        .expect("run the measuring child");
    assert!(status.success(), "the measuring child failed");
}

fn measure() {
    let before_open = cpu_ticks();
    let mics = ["otkmic1", "otkmic2"].map(|d| CpalMicrophone::start(Some(d.into()), BUFFER_SECS));
    let deadline = Instant::now() + Duration::from_secs(20);
    while mics.iter().any(|m| m.state().state != "connected") {
        assert!(
            Instant::now() < deadline,
            "not connected: {:?}",
            mics.each_ref().map(|m| m.state())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let start-up settle, then measure a stretch of plain capturing.
    std::thread::sleep(Duration::from_secs(3));
    let (ticks, started) = (cpu_ticks(), Instant::now());
    let opening_secs = (ticks - before_open) as f64 / clock_ticks_per_sec();
    std::thread::sleep(Duration::from_secs(SECS));
    let cpu_secs = (cpu_ticks() - ticks) as f64 / clock_ticks_per_sec();
    let cpu = cpu_secs / started.elapsed().as_secs_f64() * 100.0;
    let rss_mb = vm_rss_kb() as f64 / 1024.0;

    // Both really captured all along.
    let now = otklik_domain::time::now_ms();
    for m in &mics {
        let clip = m.clip(now - 10_000, now - 1_000).expect("a clip");
        assert!(
            clip.samples.len() >= 9 * 16_000 - 32,
            "{}",
            clip.samples.len()
        );
    }
    println!("two microphones, {SECS} s: CPU {cpu:.2}% of one core, RSS {rss_mb:.1} MB");
    println!("(opening both, once: {opening_secs:.2} s of CPU)");
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "targets: CPU under 2% {}, RSS under 60 MB {}",
        verdict(cpu < 2.0),
        verdict(rss_mb < 60.0)
    );
}

/// This process's user + system CPU time, in clock ticks (`/proc/self/stat`, fields 14 and 15).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0)
}

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn vm_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
