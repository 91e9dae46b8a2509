//! A camera read continuously on its own thread from a [`FrameSource`].

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use image::RgbImage;

use super::jpeg::{JpegSettings, photo_of};
use super::ring::{Frame, keep, nearest};
use super::{Status, lock};
use crate::evidence::{Camera, DeviceState, Photo};
use otklik_domain::time::{Millis, now_ms};

/// Where a [`StreamCamera`] gets its frames. Called only from the camera's own thread.
pub trait FrameSource: Send + 'static {
    /// Opens (or reopens, after a failure) the device.
    fn open(&mut self) -> Result<(), String>;
    /// The next frame; blocks until there is one.
    fn next_frame(&mut self) -> Result<RgbImage, String>;
    /// What it is, as the console shows it (never a password).
    fn describe(&self) -> String;
}

#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// Frames kept in the ring, the newest and older ones at least `spacing` apart, so the
    /// ring covers about `frames × spacing` of the past whatever the camera's frame rate.
    pub frames: usize,
    pub spacing: Duration,
    /// A frame further than this from the press is not a photo of it.
    pub max_gap: Duration,
    /// How long `photo(at)` waits for a frame taken at or after `at` when it has none yet.
    pub wait: Duration,
    /// After a failure, the device is opened again this often.
    pub retry: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            frames: 10,
            spacing: Duration::from_millis(100),
            max_gap: Duration::from_secs(1),
            wait: Duration::from_millis(500),
            retry: Duration::from_secs(1),
        }
    }
}

/// A camera read continuously on its own thread, keeping the last frames so that a photo can
/// be the frame nearest to the press even though it is asked for afterwards.
pub struct StreamCamera<S: FrameSource> {
    shared: Arc<Shared>,
    settings: StreamSettings,
    _source: PhantomData<fn() -> S>,
}

struct Shared {
    frames: Mutex<VecDeque<Frame>>,
    arrived: Condvar,
    status: Status,
    stop: AtomicBool,
}

impl<S: FrameSource> StreamCamera<S> {
    /// Starts reading `source` on a thread of its own, which ends when the camera is dropped;
    /// the settings at their defaults.
    pub fn start(source: S) -> StreamCamera<S> {
        StreamCamera::start_with(source, StreamSettings::default())
    }

    pub fn start_with(source: S, settings: StreamSettings) -> StreamCamera<S> {
        let shared = Arc::new(Shared {
            frames: Mutex::new(VecDeque::new()),
            arrived: Condvar::new(),
            status: Status::new("waiting", source.describe(), "opening"),
            stop: AtomicBool::new(false),
        });
        let thread_shared = shared.clone();
        let thread_settings = settings.clone();
        thread::Builder::new()
            .name("camera".into())
            .spawn(move || run(source, &thread_shared, &thread_settings))
            // Only fails if the OS cannot make a thread at all, which is not a device problem.
            .expect("spawn camera thread");
        StreamCamera {
            shared,
            settings,
            _source: PhantomData,
        }
    }
}

impl<S: FrameSource> Drop for StreamCamera<S> {
    /// Not joined: a device stuck in a read must not hang whoever drops the camera; the
    /// thread ends after its current read.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

impl<S: FrameSource> Camera for StreamCamera<S> {
    fn photo(&self, at: Millis, jpeg: &JpegSettings) -> Result<Photo, String> {
        let give_up = Instant::now() + self.settings.wait;
        let mut frames = lock(&self.shared.frames);
        while frames.back().is_none_or(|f| f.at < at) {
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            frames = self
                .shared
                .arrived
                .wait_timeout(frames, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let frame = nearest(&frames, at).cloned();
        drop(frames);

        let Some(frame) = frame else {
            let why = self.shared.status.get().error;
            return Err(format!(
                "no frame yet: {}",
                why.as_deref().unwrap_or("starting")
            ));
        };
        let gap = frame.at.abs_diff(at);
        if u128::from(gap) > self.settings.max_gap.as_millis() {
            let why = match self.shared.status.get().error {
                Some(e) => format!(" ({e})"),
                None => String::new(),
            };
            return Err(format!(
                "no frame near the press: the nearest is {gap} ms away{why}"
            ));
        }
        photo_of(&frame.image, jpeg, frame.at)
    }

    fn state(&self) -> DeviceState {
        self.shared.status.get()
    }
}

/// The camera thread: open, read until a failure, wait, open again; until told to stop.
fn run<S: FrameSource>(mut source: S, shared: &Shared, settings: &StreamSettings) {
    while !shared.stop.load(Ordering::Relaxed) {
        if let Err(e) = source.open() {
            shared.status.set(Some(e));
        } else {
            // The source may know its device's name once open.
            shared.status.set_detail(source.describe());
            while !shared.stop.load(Ordering::Relaxed) {
                match source.next_frame() {
                    Ok(image) if image.width() > 0 && image.height() > 0 => {
                        let frame = Frame {
                            at: now_ms(),
                            image: Arc::new(image),
                        };
                        keep(&mut lock(&shared.frames), frame, settings);
                        shared.arrived.notify_all();
                        shared.status.set(None);
                    }
                    Ok(_) => {
                        shared
                            .status
                            .set(Some("the camera sent an empty frame".into()));
                        break;
                    }
                    Err(e) => {
                        shared.status.set(Some(e));
                        break;
                    }
                }
            }
        }
        let until = Instant::now() + settings.retry;
        while !shared.stop.load(Ordering::Relaxed) && Instant::now() < until {
            thread::sleep(Duration::from_millis(50).min(settings.retry));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::camera::stand_in::{StandInSource, StandInSwitch};
    use crate::evidence::camera::test_frames::{decode, wait_for};

    fn stand_in(settings: StreamSettings) -> (StreamCamera<StandInSource>, StandInSwitch) {
        let source = StandInSource::new(320, 240, 50);
        let switch = source.switch();
        let cam = StreamCamera::start_with(source, settings);
        wait_for("the stand-in to stream", || {
            cam.state().state == "connected"
        });
        (cam, switch)
    }

    #[test]
    fn stream_photo_is_the_frame_nearest_the_press() {
        // A long wait: a busy test machine may starve the camera thread for a while.
        let settings = StreamSettings {
            wait: Duration::from_secs(5),
            ..StreamSettings::default()
        };
        let (cam, _switch) = stand_in(settings);
        assert_eq!(cam.state().detail, "stand-in camera 320x240");
        thread::sleep(Duration::from_millis(700));

        // A press a moment ago: the kept frame nearest to it.
        let at = now_ms() - 300;
        let expected = nearest(&lock(&cam.shared.frames), at).map(|f| f.at);
        let photo = cam.photo(at, &JpegSettings::default()).unwrap();
        assert_eq!(Some(photo.taken_at), expected);
        assert!(
            photo.taken_at.abs_diff(at) <= 300,
            "{} vs {at}",
            photo.taken_at
        );
        assert_eq!((photo.width, photo.height), (320, 240));
        assert_eq!(decode(&photo.jpeg).dimensions(), (320, 240));

        // A press ahead of the newest frame: waits until frames reach it, then takes the one
        // nearest the press (which may be the last one just before it: frames come every 20 ms),
        // never a frame already kept when the photo was asked for.
        let newest_before = lock(&cam.shared.frames).back().map(|f| f.at).unwrap();
        let at = now_ms() + 100;
        let photo = cam.photo(at, &JpegSettings::default()).unwrap();
        assert!(
            photo.taken_at > newest_before,
            "{} is not newer than {newest_before}",
            photo.taken_at
        );

        // Long before anything kept.
        let err = cam
            .photo(now_ms() - 10_000, &JpegSettings::default())
            .unwrap_err();
        assert!(err.starts_with("no frame near the press"), "{err}");
    }

    #[test]
    fn stream_unplugged_waits_and_resumes() {
        let settings = StreamSettings {
            retry: Duration::from_millis(100),
            max_gap: Duration::from_millis(300),
            ..StreamSettings::default()
        };
        let (cam, switch) = stand_in(settings);
        switch.unplug();
        wait_for("waiting", || cam.state().state == "waiting");
        let state = cam.state();
        assert_eq!(state.error.as_deref(), Some("stand-in camera unplugged"));
        thread::sleep(Duration::from_millis(400));
        let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
        assert!(err.starts_with("no frame near the press"), "{err}");
        assert!(err.ends_with("(stand-in camera unplugged)"), "{err}");

        switch.plug_in();
        wait_for("connected again", || cam.state().state == "connected");
        assert_eq!(cam.state().error, None);
        wait_for("a photo again", || {
            cam.photo(now_ms(), &JpegSettings::default()).is_ok()
        });
    }

    #[test]
    fn stream_that_never_opens_says_why() {
        let source = StandInSource::new(64, 48, 10);
        source.switch().unplug();
        let cam = StreamCamera::start(source);
        wait_for("the first failure", || {
            cam.state().error.as_deref() != Some("opening")
        });
        assert_eq!(cam.state().state, "waiting");
        let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
        assert_eq!(err, "no frame yet: stand-in camera unplugged");
    }
}
