//! A microphone through cpal's real ALSA path, fed a spoken sentence (espeak-ng, through sox).
//!
//! - `pulse_fed_microphone_keeps_the_voice_around_a_press`: a private PulseAudio daemon
//!   (`tests/audio/pulse.rs`) has a null sink; `paplay` plays the sentence into it at a known
//!   wall-clock moment, and ALSA's `pulse` plugin records its monitor as the capture device
//!   `otkmic`: a source paced in real time. The microphone starts before the daemon (waiting),
//!   picks it up, keeps 5 s before and 4 s after a "press", and the clip goes through Ogg/Opus
//!   and `opusdec`; then the daemon goes away and comes back.
//! - `file_fed_microphone_is_paced`: ALSA's `file` plugin makes a capture device of the raw
//!   sentence, delivered as fast as it is read; the microphone paces it to real time.
//!
//! ALSA reads its configuration once per process, so each test writes one into a temporary
//! directory and runs this binary again as a child (the `#[ignore]`d `child_*` tests) with
//! `ALSA_CONFIG_PATH` pointing at it and `HOME` in that directory: the user's own sound set-up
//! is never read nor touched.
//!
//! Needs pulseaudio, paplay and pactl (pulseaudio-utils), espeak-ng, sox, opusdec (opus-tools)
//! and libasound2-plugins: without them it prints SKIPPED, unless `OTKLIK_REQUIRE_AUDIO=1`.

#[path = "../../../tests/audio/pulse.rs"]
mod pulse;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use otklik_devices::evidence::audio::{CpalMicrophone, RATE, encode_ogg_opus};
use otklik_devices::evidence::{DeviceState, Microphone};
use otklik_domain::time::{Millis, now_ms};

const SENTENCE: &str = "Good morning. The registrar was very kind, and helped me quickly.";
/// The clip a rating keeps: this long before the press and after it (ms).
const BEFORE: i64 = 5_000;
const AFTER: i64 = 4_000;
/// The "press" comes this long after the sentence starts playing (ms).
const PRESS_AFTER_PLAY: i64 = 1_500;
/// Envelopes: RMS over 50 ms windows, one every 10 ms.
const WINDOW: usize = RATE as usize / 20;
const HOP: usize = RATE as usize / 100;

#[test]
fn pulse_fed_microphone_keeps_the_voice_around_a_press() {
    let tools = [
        "pulseaudio",
        "paplay",
        "pactl",
        "espeak-ng",
        "sox",
        "opusdec",
    ];
    if !pulse::available("microphone test (PulseAudio)", &tools, true) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = pulse::alsa_config(dir.path(), &["otkmic"]);
    run_child("child_pulse", dir.path(), &conf);
}

#[test]
fn file_fed_microphone_is_paced() {
    if !pulse::available("microphone test (ALSA file)", &["espeak-ng", "sox"], false) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let raw = dir.path().join("speech.raw");
    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            "</usr/share/alsa/alsa.conf>\n\
             pcm.filemic_raw {{ type file slave.pcm \"null\" file \"/dev/null\" infile \"{}\" format \"raw\" }}\n\
             pcm.filemic {{ type plug slave {{ pcm \"filemic_raw\" format S16_LE rate 16000 channels 1 }} }}\n",
            raw.display()
        ),
    )
    .expect("write asound.conf");
    run_child("child_file", dir.path(), &conf);
}

fn run_child(test: &str, dir: &Path, conf: &Path) {
    let status = Command::new(std::env::current_exe().expect("this test binary"))
        .args([test, "--exact", "--ignored", "--nocapture"])
        .env("ALSA_CONFIG_PATH", conf)
        .env("HOME", dir)
        .env("OTKLIK_MIC_TEST_DIR", dir)
        .status()
        .expect("run the child test");
    assert!(status.success(), "{test} (in a child process) failed");
}

#[test]
#[ignore = "run by pulse_fed_microphone_keeps_the_voice_around_a_press with ALSA_CONFIG_PATH set"]
fn child_pulse() {
    let Some(dir) = std::env::var_os("OTKLIK_MIC_TEST_DIR") else {
        return;
    };
    let dir = Path::new(&dir);
    let source = make_speech(dir);

    // No daemon yet: the device cannot open, and the microphone waits for it.
    let mic = CpalMicrophone::start(Some("otkmic".into()), 15);
    wait_for(&mic, "waiting", |s| s.error.as_deref() != Some("starting"));
    println!("before the daemon: {:?}", mic.state());

    // The daemon starts: the microphone picks the device up by itself.
    let mut daemon = pulse::Pulse::start(dir);
    wait_for(&mic, "connected", |_| true);
    println!("after it started: {:?}", mic.state());
    assert_eq!(mic.state().detail, "otkmic");

    // Let the buffer fill past what the clip needs before the sentence, then play it.
    std::thread::sleep(Duration::from_millis(
        (BEFORE - PRESS_AFTER_PLAY + 1_000) as u64,
    ));
    let played_at = now_ms();
    let mut player = daemon.play(&dir.join("speech.wav"));
    let press = played_at + PRESS_AFTER_PLAY;
    let (from, to) = (press - BEFORE, press + AFTER);
    while now_ms() < to + 300 {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(player.wait().expect("paplay").success(), "paplay failed");
    let clip = mic.clip(from, to).expect("a clip");

    // It covers the configured span: from 5 s before the press to 4 s after.
    println!(
        "clip: starts {} ms from the asked start, {} samples ({} ms)",
        clip.from - from,
        clip.samples.len(),
        clip.samples.len() as i64 * 1000 / i64::from(RATE)
    );
    assert_eq!(clip.rate, RATE);
    assert!(
        (clip.from - from).abs() <= 1,
        "starts at {} not {from}",
        clip.from
    );
    let expected_len = ((to - from) * i64::from(RATE) / 1000) as usize;
    let len = clip.samples.len();
    assert!(len.abs_diff(expected_len) <= 32, "{len} samples");

    // As Ogg/Opus it decodes with opusdec, to as much audio.
    let ogg = encode_ogg_opus(&clip).expect("encode");
    let (opus_file, decoded_file) = (dir.join("clip.opus"), dir.join("decoded.wav"));
    std::fs::write(&opus_file, &ogg).expect("write clip.opus");
    let args = [
        "--quiet",
        "--rate",
        "16000",
        &path(&opus_file),
        &path(&decoded_file),
    ];
    pulse::run("opusdec", &args);
    let decoded = read_wav(&decoded_file);
    let kbits = ogg.len() as i64 * 8 / (to - from);
    println!(
        "Ogg/Opus: {} bytes, {kbits} kbit/s; decoded {} samples",
        ogg.len(),
        decoded.len()
    );
    assert!(decoded.len().abs_diff(len) <= 320, "{}", decoded.len());

    // It holds the sentence where it was played: the loudness envelope of the decoded clip
    // follows the source's, placed at the moment paplay started, and is near-silent around it.
    // The tolerance on where: the player starts a little late, and the null sink renders a
    // block ahead, so its monitor hands out audio up to a block early (seen: -100..0 ms).
    let lag = assert_holds_speech(&decoded, clip.from, &source, played_at);
    assert!((-300..=400).contains(&lag), "the speech is {lag} ms off");

    // The daemon goes away: the microphone waits; it comes back: picked up without a restart.
    daemon.stop();
    wait_for(&mic, "waiting", |_| true);
    println!("daemon gone: {:?}", mic.state());
    let _daemon = pulse::Pulse::start(dir);
    wait_for(&mic, "connected", |_| true);
    std::thread::sleep(Duration::from_millis(500));
    let now = now_ms();
    assert!(mic.clip(now - 300, now).is_ok());
    println!("daemon back: {:?}", mic.state());
}

#[test]
#[ignore = "run by file_fed_microphone_is_paced with ALSA_CONFIG_PATH set"]
fn child_file() {
    let Some(dir) = std::env::var_os("OTKLIK_MIC_TEST_DIR") else {
        return;
    };
    let dir = Path::new(&dir);
    let source = make_speech(dir);
    let mic = CpalMicrophone::start(Some("filemic".into()), 15);
    wait_for(&mic, "connected", |_| true);
    let started = now_ms();
    // Unpaced, the plugin would fill the 15 s buffer with the sentence and then silence within
    // milliseconds; paced, the sentence is still there, spread over the seconds it lasts.
    while now_ms() < started + 6_000 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let clip = mic.clip(started - 2_000, started + 6_000).expect("a clip");
    // The sentence starts when the device does (the first half second comes at once, and the
    // microphone then waits until the wall clock has caught up with it).
    let lag = assert_holds_speech(&clip.samples, clip.from, &source, started);
    assert!((-500..=300).contains(&lag), "the speech is {lag} ms off");
}

/// Says `SENTENCE` into `dir/speech.wav` and `dir/speech.raw` (16 kHz mono 16-bit) and
/// returns its samples.
fn make_speech(dir: &Path) -> Vec<i16> {
    let spoken = path(&dir.join("espeak.wav"));
    pulse::run("espeak-ng", &["-w", &spoken, SENTENCE]);
    let format = ["-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer"];
    for out in ["speech.wav", "speech.raw"] {
        let out = path(&dir.join(out));
        pulse::run(
            "sox",
            &[&[spoken.as_str()], &format[..], &[out.as_str()]].concat(),
        );
    }
    read_wav(&dir.join("speech.wav"))
}

/// Checks that `got` (starting at wall-clock `from`) holds `source` played at `played_at`:
/// their envelopes correlate, speech is heard where the source speaks, and near-silence is
/// where it is silent. Returns how late (ms) the speech is found in `got`.
fn assert_holds_speech(got: &[i16], from: Millis, source: &[i16], played_at: Millis) -> i64 {
    let mut expected = vec![0i16; got.len()];
    let offset = usize::try_from((played_at - from) * i64::from(RATE) / 1000).unwrap_or(0);
    for (e, s) in expected.iter_mut().skip(offset).zip(source) {
        *e = *s;
    }
    let (got, want) = (envelope(got), envelope(&expected));
    let (lag, corr) = (-150..=150)
        .map(|lag| (lag, correlation(&got, &want, lag)))
        .fold((0, f64::MIN), |best, x| if x.1 > best.1 { x } else { best });
    println!(
        "envelope: correlation {corr:.3} with the source {} ms later",
        lag * 10
    );
    assert!(corr > 0.85, "correlation {corr:.3}");

    // The source's envelope moved by that lag, step for step with the one captured.
    let aligned: Vec<f64> = (0..got.len() as i64)
        .map(|i| {
            usize::try_from(i - lag)
                .ok()
                .and_then(|j| want.get(j))
                .copied()
        })
        .map(|v| v.unwrap_or(0.0))
        .collect();
    let (got_max, want_max) = (max(&got), max(&aligned));
    let (mut speech, mut speech_heard, mut silence, mut silence_quiet) = (0, 0, 0, 0);
    for (i, g) in got.iter().enumerate() {
        // Silence means no speech within 100 ms either side (the edges of words blur).
        let around = max(&aligned[i.saturating_sub(10)..(i + 11).min(aligned.len())]);
        if aligned[i] > 0.2 * want_max {
            speech += 1;
            speech_heard += usize::from(*g > 0.05 * got_max);
        } else if around == 0.0 {
            silence += 1;
            silence_quiet += usize::from(*g < 0.01 * got_max);
        }
    }
    println!(
        "speech steps heard: {speech_heard}/{speech}; silent steps quiet: {silence_quiet}/{silence}"
    );
    assert!(speech >= 100 && speech_heard * 10 >= speech * 9);
    assert!(silence >= 100 && silence_quiet * 20 >= silence * 19);
    lag * 10
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Waits (at most 20 s: a retry is due every 3 s) for a state.
fn wait_for(mic: &CpalMicrophone, state: &str, also: impl Fn(&DeviceState) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = mic.state();
        if s.state == state && also(&s) {
            return;
        }
        assert!(Instant::now() < deadline, "still {s:?}, not {state}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The samples of a 16 kHz mono 16-bit WAV file.
fn read_wav(p: &Path) -> Vec<i16> {
    let bytes = std::fs::read(p).expect("read wav");
    assert_eq!(&bytes[..4], b"RIFF");
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        let body = &bytes[at + 8..(at + 8 + size).min(bytes.len())];
        if id == b"fmt " {
            let channels = u16::from_le_bytes([body[2], body[3]]);
            let rate = u32::from_le_bytes(body[4..8].try_into().unwrap());
            let bits = u16::from_le_bytes([body[14], body[15]]);
            assert_eq!((channels, rate, bits), (1, RATE, 16), "{}", p.display());
        } else if id == b"data" {
            return body
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
        }
        at += 8 + size + size % 2;
    }
    panic!("no data in {}", p.display());
}

/// RMS over 50 ms windows, one every 10 ms.
fn envelope(samples: &[i16]) -> Vec<f64> {
    (0..samples.len().saturating_sub(WINDOW) / HOP)
        .map(|k| &samples[k * HOP..k * HOP + WINDOW])
        .map(|w| (w.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / WINDOW as f64).sqrt())
        .collect()
}

/// Pearson correlation of `a` with `b` delayed by `lag` steps.
fn correlation(a: &[f64], b: &[f64], lag: i64) -> f64 {
    let pairs: Vec<(f64, f64)> = (0..a.len())
        .filter_map(|i| {
            let j = usize::try_from(i as i64 - lag).ok()?;
            b.get(j).map(|y| (a[i], *y))
        })
        .collect();
    let n = pairs.len() as f64;
    let mean_a = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_b = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let cov: f64 = pairs.iter().map(|(x, y)| (x - mean_a) * (y - mean_b)).sum();
    let var_a: f64 = pairs.iter().map(|(x, _)| (x - mean_a).powi(2)).sum();
    let var_b: f64 = pairs.iter().map(|(_, y)| (y - mean_b).powi(2)).sum();
    cov / (var_a * var_b).sqrt().max(f64::MIN_POSITIVE)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}
