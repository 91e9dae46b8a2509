//! Microphones and voice clips.
//!
//! [`CpalMicrophone`] captures all the time (cpal; ALSA on Linux) into a fixed ring buffer of the
//! last seconds, mono 16-bit at [`RATE`], and maps its samples to the wall clock so that a rating
//! can ask for "5 s before to 4 s after the press". [`encode_ogg_opus`] turns a clip into an
//! Ogg/Opus file that Telegram takes as a voice message. [`StandInMicrophone`] is fed by tests.
//!
//! Timestamps. When a callback brings audio, its newest sample is taken to end *now* (the wall
//! clock at the callback) and earlier samples are placed before it by the sample rate. Only the
//! newest anchor is kept, so the device's clock drifting from the wall clock never accumulates.
//! Two things would break the rule "sample n is n/rate before the newest one", and both are
//! handled where the audio arrives:
//! - samples lost (an overrun, a device that went away and came back): the wall-clock gap since
//!   the previous audio, beyond callback jitter, is filled with silence, so older samples keep
//!   their times;
//! - a source that delivers faster than real time (ALSA's `file` plugin reads its file as fast as
//!   it is asked): once the audio received outruns the wall clock by more than half a second the
//!   stream is taken as unpaced, and from then on the capture callback sleeps until the wall
//!   clock has caught up with the audio received, which paces the source to real time (times
//!   then hold within one callback's length). A real device cannot deliver audio before it was
//!   recorded, so it never trips this: its backlog after a stall is at most cpal's two periods.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};

use super::{Clip, DeviceState, Microphone};
use otklik_domain::time::{Millis, to_rfc3339};

/// The rate of every buffer and clip: plenty for speech, native to Opus.
pub const RATE: u32 = 16_000;
/// How much audio a desk's microphone keeps, in seconds: the longest clip (however the audio
/// settings are set, and however far later ratings stretch it) and the moment it takes to cut
/// it once its end has passed. About 4 MB; a smaller ring sized from the settings would need a
/// new microphone at each change of them.
pub const BUFFER_SECS: u32 = (super::recorder::MAX_CLIP_MS / 1000) as u32 + 5;

/// Between two attempts to open an absent or busy device.
const RETRY: Duration = Duration::from_secs(3);
/// No audio for this long from an open stream: the device is taken as gone and reopened.
const STALL: Duration = Duration::from_secs(3);
/// Audio this far ahead of the wall clock marks a source that is not paced in real time.
const UNPACED_AHEAD_SECS: f64 = 0.5;
/// `clip` waits at most this long for audio up to `to` still on its way from the device.
const CLIP_WAIT: Duration = Duration::from_millis(1500);

fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the microphone down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The last seconds of mono audio at [`RATE`], and where they sit on the wall clock.
/// Allocated once; writing never allocates.
struct Ring {
    buf: Vec<i16>,
    /// Samples ever written; the newest is at `(written - 1) % buf.len()`.
    written: u64,
    /// Wall-clock time (ms) at the end of the newest sample.
    end_ms: f64,
}

impl Ring {
    fn new(secs: u32) -> Ring {
        Ring {
            buf: vec![0; secs.max(1) as usize * RATE as usize],
            written: 0,
            end_ms: 0.0,
        }
    }

    fn push(&mut self, sample: i16) {
        let len = self.buf.len() as u64;
        self.buf[(self.written % len) as usize] = sample;
        self.written += 1;
    }

    /// Before audio of `incoming_secs` that ends at `now_ms`: fills with silence the time since
    /// the previous audio that no samples account for (lost in an overrun, or while the device
    /// was away), so that the samples already held keep their times.
    fn fill_gap(&mut self, now_ms: f64, incoming_secs: f64) {
        if self.written == 0 {
            return;
        }
        let gap_secs = (now_ms - self.end_ms) / 1000.0 - incoming_secs;
        // Callbacks jitter; only a gap clearly longer than that is lost audio.
        if gap_secs > incoming_secs.max(0.25) {
            let n = (gap_secs * f64::from(RATE)) as u64;
            for _ in 0..n.min(self.buf.len() as u64) {
                self.push(0);
            }
        }
    }

    /// The samples covering `[from, to]` that are still held.
    fn clip(&self, from: Millis, to: Millis) -> Result<Clip, String> {
        if to <= from {
            return Err(format!("an empty span: {from}..{to}"));
        }
        if self.written == 0 {
            return Err("the microphone has captured no audio yet".into());
        }
        let per_ms = f64::from(RATE) / 1000.0;
        let oldest = self.written.saturating_sub(self.buf.len() as u64);
        // Sample i spans [end - (written - i) / rate, end - (written - i - 1) / rate).
        let index = |t: Millis| self.written as f64 - (self.end_ms - t as f64) * per_ms;
        let first = index(from)
            .floor()
            .clamp(oldest as f64, self.written as f64) as u64;
        let last = index(to).ceil().clamp(oldest as f64, self.written as f64) as u64;
        if last <= first {
            let held_from = self.end_ms - (self.written - oldest) as f64 / per_ms;
            return Err(format!(
                "no audio for {} .. {}: the microphone holds {} .. {}",
                to_rfc3339(from),
                to_rfc3339(to),
                to_rfc3339(held_from as Millis),
                to_rfc3339(self.end_ms as Millis)
            ));
        }
        let len = self.buf.len() as u64;
        let samples = (first..last)
            .map(|i| self.buf[(i % len) as usize])
            .collect();
        Ok(Clip {
            rate: RATE,
            samples,
            from: (self.end_ms - (self.written - first) as f64 / per_ms).round() as Millis,
        })
    }
}

/// Turns a device's rate into [`RATE`] with a box filter: each output sample is the mean of the
/// input samples within its period (a crude low-pass, enough for speech), repeated when the
/// device is slower than [`RATE`]. Exact at the same rate.
struct Resampler {
    in_rate: u32,
    phase: u32,
    sum: f32,
    n: u32,
    last: i16,
}

impl Resampler {
    fn new(in_rate: u32) -> Resampler {
        Resampler {
            in_rate,
            phase: 0,
            sum: 0.0,
            n: 0,
            last: 0,
        }
    }

    fn push(&mut self, x: f32, ring: &mut Ring) {
        self.sum += x;
        self.n += 1;
        self.phase += RATE;
        while self.phase >= self.in_rate {
            self.phase -= self.in_rate;
            if self.n > 0 {
                let mean = self.sum / self.n as f32;
                self.last = (mean * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                self.sum = 0.0;
                self.n = 0;
            }
            ring.push(self.last);
        }
    }
}

/// Notices a source that delivers audio faster than real time and says how long to wait to
/// pace it (see the module's documentation).
#[derive(Default)]
struct Pacer {
    /// Seconds of audio received beyond the wall-clock time elapsed (never below zero).
    ahead: f64,
    last: Option<Instant>,
    unpaced: bool,
}

impl Pacer {
    /// `secs` of audio arrived at `now`: how long to sleep before taking it.
    fn wait(&mut self, secs: f64, now: Instant) -> Option<Duration> {
        let elapsed = self
            .last
            .map_or(0.0, |l| now.saturating_duration_since(l).as_secs_f64());
        // The 2% leak keeps a device whose clock runs a little fast from ever adding up.
        self.ahead = (self.ahead + secs - elapsed * 1.02).max(0.0);
        self.last = Some(now);
        // Beyond cpal's two periods (a real device's worst backlog) and half a second.
        if self.ahead > UNPACED_AHEAD_SECS.max(3.0 * secs) {
            self.unpaced = true;
        }
        if !self.unpaced || self.ahead <= 0.0 {
            return None;
        }
        let wait = Duration::from_secs_f64(self.ahead);
        self.ahead = 0.0;
        self.last = Some(now + wait);
        Some(wait)
    }
}

/// What the capture thread and the callbacks share with the [`CpalMicrophone`].
struct Shared {
    ring: Mutex<Ring>,
    /// Notified after each callback's audio is in the ring.
    fresh: Condvar,
    state: Mutex<DeviceState>,
    /// A stream is open and delivering.
    live: AtomicBool,
    stop: AtomicBool,
    /// When audio last arrived, and the error the stream reported, if any.
    last_audio: Mutex<Instant>,
    failure: Mutex<Option<String>>,
}

/// A microphone through cpal (ALSA on Linux), captured on its own thread.
pub struct CpalMicrophone {
    shared: Arc<Shared>,
}

impl CpalMicrophone {
    /// Starts capturing from `device_name` (an ALSA PCM name such as `plughw:1,0` or a name
    /// from ALSA's configuration, or a device's description; `None`: the default input),
    /// keeping the last `buffer_secs` seconds. Never fails: an absent or busy device shows as
    /// `waiting` and is retried every few seconds, also after it disappears mid-way.
    pub fn start(device_name: Option<String>, buffer_secs: u32) -> CpalMicrophone {
        let label = device_name.clone().unwrap_or_else(|| "default".into());
        let shared = Arc::new(Shared {
            ring: Mutex::new(Ring::new(buffer_secs)),
            fresh: Condvar::new(),
            state: Mutex::new(DeviceState::new("waiting", label, Some("starting".into()))),
            live: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            last_audio: Mutex::new(Instant::now()),
            failure: Mutex::new(None),
        });
        let thread_shared = shared.clone();
        let spawned = thread::Builder::new()
            .name("microphone".into())
            .spawn(move || supervise(&thread_shared, device_name.as_deref()));
        if let Err(e) = spawned {
            *lock(&shared.state) = DeviceState::new(
                "error",
                "microphone",
                Some(format!("cannot start a thread: {e}")),
            );
        }
        CpalMicrophone { shared }
    }
}

impl Drop for CpalMicrophone {
    fn drop(&mut self) {
        // The thread sees this within a fraction of a second and closes the device.
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

impl Microphone for CpalMicrophone {
    fn clip(&self, from: Millis, to: Millis) -> Result<Clip, String> {
        // The newest audio may still be in the device's buffer: wait briefly for it.
        let deadline = Instant::now() + CLIP_WAIT;
        let mut ring = lock(&self.shared.ring);
        while ring.end_ms < to as f64 && self.shared.live.load(Ordering::Relaxed) {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            ring = self
                .shared
                .fresh
                .wait_timeout(ring, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        ring.clip(from, to)
    }

    fn state(&self) -> DeviceState {
        lock(&self.shared.state).clone()
    }
}

/// The capture thread: opens the device, watches it, reopens it when it fails.
fn supervise(shared: &Arc<Shared>, device_name: Option<&str>) {
    let label = device_name.unwrap_or("default");
    while !shared.stop.load(Ordering::Relaxed) {
        // The stream stays on this thread: cpal's streams need not be `Send`.
        let (state, why) = match open(shared, device_name) {
            Ok((stream, name)) => {
                *lock(&shared.state) = DeviceState::new("connected", name, None);
                let why = watch(shared);
                shared.live.store(false, Ordering::Relaxed);
                drop(stream);
                ("waiting", why)
            }
            Err(Failure::Waiting(why)) => ("waiting", why),
            Err(Failure::Permanent(why)) => ("error", why),
        };
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        *lock(&shared.state) = DeviceState::new(state, label, Some(why));
        let retry_at = Instant::now() + RETRY;
        while Instant::now() < retry_at && !shared.stop.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Returns why the open stream is no longer good (or that we were asked to stop).
fn watch(shared: &Shared) -> String {
    loop {
        thread::sleep(Duration::from_millis(200));
        if shared.stop.load(Ordering::Relaxed) {
            return "stopped".into();
        }
        if let Some(e) = lock(&shared.failure).take() {
            return e;
        }
        if lock(&shared.last_audio).elapsed() > STALL {
            return format!("no audio from the device for {} s", STALL.as_secs());
        }
    }
}

enum Failure {
    /// Absent, busy, refused for now: retried, shown as `waiting`.
    Waiting(String),
    /// Nothing a retry will change (no usable format): still retried, shown as `error`.
    Permanent(String),
}

fn open(
    shared: &Arc<Shared>,
    device_name: Option<&str>,
) -> Result<(cpal::Stream, String), Failure> {
    let waiting = |what: &str, e: cpal::Error| Failure::Waiting(format!("{what}: {e}"));
    let host = cpal::default_host();
    let device = match device_name {
        None => host
            .default_input_device()
            .ok_or_else(|| Failure::Waiting("no default input device".into()))?,
        Some(name) => find(&host, name)?,
    };
    let name = device_name.map_or_else(|| device.to_string(), str::to_string);
    let (config, format) = choose_config(&device)?;
    *lock(&shared.failure) = None;
    *lock(&shared.last_audio) = Instant::now();
    let stream = match format {
        SampleFormat::I16 => build::<i16>(&device, config, shared),
        SampleFormat::I32 => build::<i32>(&device, config, shared),
        SampleFormat::F32 => build::<f32>(&device, config, shared),
        SampleFormat::U8 => build::<u8>(&device, config, shared),
        other => return Err(Failure::Permanent(format!("unsupported format {other}"))),
    }
    .map_err(|e| waiting(&format!("cannot open '{name}'"), e))?;
    stream
        .play()
        .map_err(|e| waiting(&format!("cannot start '{name}'"), e))?;
    shared.live.store(true, Ordering::Relaxed);
    Ok((stream, name))
}

/// A device by ALSA PCM name (cpal's id), else by its description or display name.
fn find(host: &cpal::Host, name: &str) -> Result<cpal::Device, Failure> {
    if let Some(d) = host.device_by_id(&cpal::DeviceId::new(host.id(), name)) {
        return Ok(d);
    }
    let devices: Vec<cpal::Device> = host
        .devices()
        .map_err(|e| Failure::Waiting(format!("cannot list audio devices: {e}")))?
        .collect();
    let described = |d: &cpal::Device| d.description().is_ok_and(|x| x.name() == name);
    if let Some(d) = devices
        .iter()
        .find(|d| d.to_string() == name || described(d))
    {
        return Ok(d.clone());
    }
    let known: Vec<String> = devices
        .iter()
        .filter_map(|d| d.id().ok().map(|id| id.id().to_string()))
        .collect();
    Err(Failure::Waiting(format!(
        "no audio device '{name}' (present: {})",
        known.join(", ")
    )))
}

const FORMATS: [SampleFormat; 4] = [
    SampleFormat::I16,
    SampleFormat::F32,
    SampleFormat::I32,
    SampleFormat::U8,
];

/// [`RATE`] itself if the device offers it (fewest channels, i16 first), else the device's
/// default rate (typically 48 or 44.1 kHz), which the callback resamples.
fn choose_config(device: &cpal::Device) -> Result<(StreamConfig, SampleFormat), Failure> {
    let ranges: Vec<_> = device
        .supported_input_configs()
        .map_err(|e| Failure::Waiting(format!("cannot query the device: {e}")))?
        .filter(|r| FORMATS.contains(&r.sample_format()))
        .collect();
    let rank = |f: SampleFormat| FORMATS.iter().position(|x| *x == f);
    let native = ranges
        .iter()
        .filter(|r| r.min_sample_rate() <= RATE && RATE <= r.max_sample_rate())
        .min_by_key(|r| (r.channels(), rank(r.sample_format())));
    let chosen = match native {
        Some(r) => r.with_sample_rate(RATE),
        None => match device.default_input_config() {
            Ok(c) if FORMATS.contains(&c.sample_format()) => c,
            _ => ranges
                .first()
                .map(|r| r.with_sample_rate(r.max_sample_rate().min(48_000)))
                .ok_or_else(|| {
                    Failure::Permanent("the device offers no 8/16/32-bit or float input".into())
                })?,
        },
    };
    Ok((chosen.config(), chosen.sample_format()))
}

fn build<T>(
    device: &cpal::Device,
    config: StreamConfig,
    shared: &Arc<Shared>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let in_rate = config.sample_rate;
    let mut resampler = Resampler::new(in_rate);
    let mut pacer = Pacer::default();
    let on_data = {
        let shared = shared.clone();
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            let secs = (data.len() / channels) as f64 / f64::from(in_rate);
            let wait = pacer.wait(secs, Instant::now()).unwrap_or_default();
            thread::sleep(wait);
            let now = wall_ms();
            let mut ring = lock(&shared.ring);
            // The time spent pacing is no audio lost.
            ring.fill_gap(now - wait.as_secs_f64() * 1000.0, secs);
            for frame in data.chunks_exact(channels) {
                let sum: f32 = frame.iter().map(|s| s.to_sample::<f32>()).sum();
                resampler.push(sum / channels as f32, &mut ring);
            }
            ring.end_ms = now;
            drop(ring);
            shared.fresh.notify_all();
            *lock(&shared.last_audio) = Instant::now();
        }
    };
    let on_error = {
        let shared = shared.clone();
        move |e: cpal::Error| {
            // An overrun loses a little audio (the gap is filled); anything else reopens.
            if e.kind() != cpal::ErrorKind::Xrun {
                *lock(&shared.failure) = Some(e.to_string());
            }
        }
    };
    device.build_input_stream(config, on_data, on_error, Some(Duration::from_secs(5)))
}

/// A microphone fed by its caller, for tests of what uses microphones.
pub struct StandInMicrophone {
    ring: Mutex<Ring>,
    state: Mutex<DeviceState>,
}

impl StandInMicrophone {
    /// Holds the last `buffer_secs` of what is pushed; `connected` as "stand-in".
    pub fn new(buffer_secs: u32) -> StandInMicrophone {
        StandInMicrophone {
            ring: Mutex::new(Ring::new(buffer_secs)),
            state: Mutex::new(DeviceState::new("connected", "stand-in", None)),
        }
    }

    /// Adds mono samples at [`RATE`] whose last one ends at `end` (wall-clock ms).
    pub fn push(&self, samples: &[i16], end: Millis) {
        let mut ring = lock(&self.ring);
        ring.fill_gap(end as f64, samples.len() as f64 / f64::from(RATE));
        samples.iter().for_each(|s| ring.push(*s));
        ring.end_ms = end as f64;
    }

    pub fn set_state(&self, state: DeviceState) {
        *lock(&self.state) = state;
    }
}

impl Microphone for StandInMicrophone {
    fn clip(&self, from: Millis, to: Millis) -> Result<Clip, String> {
        lock(&self.ring).clip(from, to)
    }

    fn state(&self) -> DeviceState {
        lock(&self.state).clone()
    }
}

/// Speech bitrate: clear voice, ~3 KB per second.
const OPUS_BITRATE: i32 = 24_000;

/// A clip as an Ogg/Opus file (RFC 7845): mono, 20 ms frames, what Telegram's `sendVoice` takes.
pub fn encode_ogg_opus(clip: &Clip) -> Result<Vec<u8>, String> {
    use ogg::writing::{PacketWriteEndInfo, PacketWriter};
    if clip.samples.is_empty() {
        return Err("an empty clip".into());
    }
    if ![8_000, 12_000, 16_000, 24_000, 48_000].contains(&clip.rate) {
        return Err(format!("Opus cannot encode at {} Hz", clip.rate));
    }
    let opus_err = |e: opus::Error| format!("Opus: {e}");
    let mut encoder = opus::Encoder::new(clip.rate, opus::Channels::Mono, opus::Application::Voip)
        .map_err(opus_err)?;
    encoder
        .set_bitrate(opus::Bitrate::Bits(OPUS_BITRATE))
        .map_err(opus_err)?;
    // Ogg/Opus counts everything in 48 kHz samples, whatever the input rate.
    let scale = u64::from(48_000 / clip.rate);
    let lookahead = usize::try_from(encoder.get_lookahead().map_err(opus_err)?).unwrap_or(0);
    let pre_skip = lookahead as u64 * scale;
    let total = pre_skip + clip.samples.len() as u64 * scale;

    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(1); // channels
    head.extend_from_slice(&u16::try_from(pre_skip).unwrap_or(u16::MAX).to_le_bytes());
    head.extend_from_slice(&clip.rate.to_le_bytes()); // the input's rate, for information
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // channel mapping family 0: mono or stereo, no table
    let vendor = format!("Otklik ({})", opus::version());
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor.as_bytes());
    tags.extend_from_slice(&0u32.to_le_bytes()); // no comments

    // Any serial number will do; derive one from the clip's time.
    let serial = (clip.from as u64 ^ 0x4f74_6b6c) as u32;
    let mut out = PacketWriter::new(Vec::with_capacity(clip.samples.len() / 4 + 1024));
    let io_err = |e: std::io::Error| format!("Ogg: {e}");
    // Each header packet alone on its page, granule 0.
    out.write_packet(head, serial, PacketWriteEndInfo::EndPage, 0)
        .map_err(io_err)?;
    out.write_packet(tags, serial, PacketWriteEndInfo::EndPage, 0)
        .map_err(io_err)?;

    // The encoder lags by its lookahead: feed that much silence after the clip so its end is
    // decoded too, then trim with the last page's granule position.
    let frame = clip.rate as usize / 50;
    let padded = clip.samples.len() + lookahead;
    let frames = padded.div_ceil(frame);
    let mut pcm = vec![0i16; frame];
    let mut packet = vec![0u8; 4000];
    for k in 0..frames {
        let start = (k * frame).min(clip.samples.len());
        let end = ((k + 1) * frame).min(clip.samples.len());
        pcm.fill(0);
        pcm[..end - start].copy_from_slice(&clip.samples[start..end]);
        let n = encoder.encode(&pcm, &mut packet).map_err(opus_err)?;
        let granule = ((k as u64 + 1) * frame as u64 * scale).min(total);
        let end_info = if k + 1 == frames {
            PacketWriteEndInfo::EndStream
        } else if (k + 1) % 50 == 0 {
            PacketWriteEndInfo::EndPage // a page a second
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        out.write_packet(packet[..n].to_vec(), serial, end_info, granule)
            .map_err(io_err)?;
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, rate: u32, hz: f32) -> impl Iterator<Item = f32> {
        (0..n).map(move |i| 0.5 * (i as f32 * hz * std::f32::consts::TAU / rate as f32).sin())
    }

    #[test]
    fn clip_maps_samples_to_the_wall_clock() {
        let mic = StandInMicrophone::new(2);
        // 1 s of a ramp ending at t = 10 000 ms: sample i starts at 9 000 + i / 16 ms.
        let ramp: Vec<i16> = (0..16_000).map(|i| (i / 16) as i16).collect();
        mic.push(&ramp, 10_000);
        let clip = mic.clip(9_500, 9_750).unwrap();
        assert_eq!(clip.from, 9_500);
        assert_eq!(clip.samples.len(), 4_000);
        assert_eq!(clip.samples[0], 500);
        // A span reaching past what is held gives what is held.
        let clip = mic.clip(8_000, 12_000).unwrap();
        assert_eq!((clip.from, clip.samples.len()), (9_000, 16_000));
        let err = mic.clip(11_000, 12_000).unwrap_err();
        assert!(err.contains("no audio"), "{err}");
    }

    #[test]
    fn the_ring_keeps_only_the_last_seconds_and_fills_gaps() {
        let mic = StandInMicrophone::new(4);
        for s in 1..=5 {
            mic.push(&[s as i16; 16_000], s * 1000);
        }
        let clip = mic.clip(0, 5_000).unwrap();
        assert_eq!(clip.from, 1_000);
        assert_eq!(clip.samples[0], 2);
        assert_eq!(clip.samples[3 * 16_000], 5);
        // Nothing arrived between 5 s and 7 s: that is silence, and the older audio stays where
        // it was.
        mic.push(&[7; 16_000], 8_000);
        let clip = mic.clip(0, 8_000).unwrap();
        assert_eq!(clip.from, 4_000);
        assert_eq!(clip.samples[0], 5);
        assert_eq!(clip.samples[16_000], 0);
        assert_eq!(clip.samples[3 * 16_000], 7);
    }

    #[test]
    fn a_desk_microphone_holds_the_longest_clip_when_it_is_cut() {
        use crate::evidence::recorder::MAX_CLIP_MS;
        // The recorder cuts a clip 300 ms after its end; give it a second more to get there.
        let mic = StandInMicrophone::new(BUFFER_SECS);
        let end = 1_000_000;
        let cut_at = end + 1_300;
        let from = end - MAX_CLIP_MS;
        let secs = (cut_at - from) / 1000;
        for s in 1..=secs {
            mic.push(&[s as i16; RATE as usize], from + s * 1000);
        }
        let clip = mic.clip(from, end).unwrap();
        assert_eq!(clip.from, from, "nothing of its start is lost");
        assert_eq!(
            clip.samples.len() as i64,
            MAX_CLIP_MS * i64::from(RATE) / 1000
        );
    }

    #[test]
    fn resampling_to_16_khz_keeps_a_tone() {
        for in_rate in [8_000, 16_000, 44_100, 48_000] {
            let mut ring = Ring::new(2);
            let mut r = Resampler::new(in_rate);
            tone(in_rate as usize, in_rate, 440.0).for_each(|x| r.push(x, &mut ring));
            assert!(
                ring.written.abs_diff(16_000) <= 1,
                "{in_rate}: {}",
                ring.written
            );
            let got: Vec<f32> = ring.buf[..16_000]
                .iter()
                .map(|s| *s as f32 / 32768.0)
                .collect();
            // Correlate with the ideal 16 kHz tone, allowing the box filter's half-sample lag.
            let best = (0..4)
                .map(|lag| {
                    let ideal: Vec<f32> = tone(16_000 + 4, RATE, 440.0).skip(lag).collect();
                    let dot: f32 = got.iter().zip(&ideal).map(|(a, b)| a * b).sum();
                    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    dot / (norm(&got) * norm(&ideal[..16_000]))
                })
                .fold(f32::MIN, f32::max);
            assert!(best > 0.98, "{in_rate}: {best}");
        }
    }

    #[test]
    fn a_real_time_source_is_never_paced_but_a_fast_one_is() {
        let t0 = Instant::now();
        let block = Duration::from_millis(128);
        // Real time, with a late callback and the backlog after it.
        let mut p = Pacer::default();
        let mut t = t0;
        for k in 0..200 {
            t += if k == 100 { block * 3 } else { block };
            assert_eq!(p.wait(0.128, t), None);
            if k == 100 {
                assert_eq!(p.wait(0.128, t), None);
                assert_eq!(p.wait(0.128, t), None);
            }
        }
        // A file read as fast as asked: paced once it is half a second ahead, then every block.
        let mut p = Pacer::default();
        let waits: Vec<_> = (0..8).map(|_| p.wait(0.128, t0)).collect();
        assert_eq!(waits[..3], [None, None, None]);
        assert!(waits[4..].iter().all(|w| w.is_some()));
    }

    #[test]
    fn ogg_opus_has_rfc_7845_headers_and_granules() {
        use ogg::reading::PacketReader;
        let samples: Vec<i16> = tone(16_000 * 2 + 123, RATE, 300.0)
            .map(|x| (x * 20_000.0) as i16)
            .collect();
        let clip = Clip {
            rate: RATE,
            samples,
            from: 0,
        };
        let bytes = encode_ogg_opus(&clip).unwrap();
        // ~24 kbit/s: 2 s in well under 10 KB.
        assert!(bytes.len() < 10_000, "{}", bytes.len());
        let mut reader = PacketReader::new(std::io::Cursor::new(bytes));
        let head = reader.read_packet_expected().unwrap();
        assert_eq!(&head.data[..8], b"OpusHead");
        assert_eq!((head.data[8], head.data[9]), (1, 1));
        let pre_skip = u64::from(u16::from_le_bytes([head.data[10], head.data[11]]));
        assert!(pre_skip > 0);
        assert_eq!(&head.data[12..16], &16_000u32.to_le_bytes());
        let tags = reader.read_packet_expected().unwrap();
        assert_eq!(&tags.data[..8], b"OpusTags");
        let (mut packets, mut last) = (0, None);
        while let Some(p) = reader.read_packet().unwrap() {
            assert_eq!(opus::packet::get_nb_samples(&p.data, 48_000).unwrap(), 960);
            packets += 1;
            last = Some((p.absgp_page(), p.last_in_stream()));
        }
        assert!(packets > 2 * 50);
        assert_eq!(last, Some((pre_skip + 3 * 32_123, true)));
    }
}
