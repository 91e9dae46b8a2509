//! What happens after a rating is stored at a desk that collects evidence: the photo nearest the
//! press is taken at once; the clip is cut when its "after" part has been recorded. Ratings close
//! together at one desk share one clip, stretched to cover them all, rather than multiplying
//! recordings. Everything here runs after the rating's commit and never holds it up.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::evidence::camera::JpegSettings;
use crate::evidence::{Camera, Microphone};
use otklik_domain::time::{Millis, now_ms};
use otklik_store::media::{self, NewMedia};
use otklik_store::writer::Writer;

/// The longest clip, however many ratings keep stretching it.
pub const MAX_CLIP_MS: Millis = 120_000;

/// A desk's evidence devices, as its settings made them.
#[derive(Clone, Default)]
pub struct DeskDevices {
    /// `Some(Err(reason))` when photos are on but the camera could not be set up.
    pub camera: Option<std::result::Result<Arc<dyn Camera>, String>>,
    pub microphone: Option<std::result::Result<Arc<dyn Microphone>, String>>,
}

struct PendingClip {
    ratings: Vec<i64>,
    from: Millis,
    to: Millis,
}

/// What runs once a clip's record is committed (it may only look at committed rows).
pub type AfterCommit = Box<dyn FnOnce() + Send>;

/// Runs in the transaction that records a saved clip: (connection, now, its ratings, its file
/// name under media/); may return what to do once that transaction is committed.
pub type AudioHook = Box<
    dyn Fn(
            &rusqlite::Connection,
            Millis,
            &[i64],
            &str,
        ) -> otklik_domain::Result<Option<AfterCommit>>
        + Send
        + Sync,
>;

pub struct Recorder {
    data_dir: PathBuf,
    devices: Mutex<HashMap<i64, DeskDevices>>,
    pending: Arc<Mutex<HashMap<i64, PendingClip>>>,
    on_audio: Arc<Mutex<Option<AudioHook>>>,
}

/// What the recorder needs from the settings for one rating, read when it is stored.
#[derive(Clone)]
pub struct Capture {
    pub before_ms: Millis,
    pub after_ms: Millis,
    pub jpeg: JpegSettings,
}

impl Recorder {
    pub fn new(data_dir: PathBuf) -> Recorder {
        Recorder {
            data_dir,
            devices: Mutex::default(),
            pending: Arc::default(),
            on_audio: Arc::default(),
        }
    }

    /// What happens when a clip is saved (its alerts' voice messages are queued).
    pub fn on_audio(&self, hook: AudioHook) {
        *self.on_audio.lock().expect("hook lock") = Some(hook);
    }

    /// Whether the desk takes a photo at each rating (an alert then waits for it, briefly).
    pub fn takes_photos(&self, desk_id: i64) -> bool {
        self.devices
            .lock()
            .expect("devices lock")
            .get(&desk_id)
            .is_some_and(|d| matches!(d.camera, Some(Ok(_))))
    }

    /// Replaces a desk's devices (None: the desk collects nothing).
    pub fn set_devices(&self, desk_id: i64, devices: Option<DeskDevices>) {
        let mut all = self.devices.lock().expect("devices lock");
        match devices {
            Some(d) => all.insert(desk_id, d),
            None => all.remove(&desk_id),
        };
    }

    pub fn devices(&self) -> Vec<(i64, DeskDevices)> {
        let mut v: Vec<_> = self
            .devices
            .lock()
            .expect("devices lock")
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        v.sort_by_key(|d| d.0);
        v
    }

    /// Starts collecting the evidence of a rating just stored. Returns at once.
    pub fn on_rating(
        &self,
        writer: &Writer,
        rating_id: i64,
        desk_id: i64,
        at: Millis,
        times: Capture,
    ) {
        let Some(devices) = self
            .devices
            .lock()
            .expect("devices lock")
            .get(&desk_id)
            .cloned()
        else {
            return;
        };
        if let Some(camera) = devices.camera {
            let (writer, dir, jpeg) = (writer.clone(), self.data_dir.clone(), times.jpeg.clone());
            tokio::spawn(async move {
                let outcome = match camera {
                    Ok(cam) => tokio::task::spawn_blocking(move || cam.photo(at, &jpeg))
                        .await
                        .unwrap_or_else(|e| Err(format!("the camera thread failed: {e}")))
                        .and_then(|p| {
                            save(&dir, "jpg", &p.jpeg)
                                .map(|f| (f, "image/jpeg", p.jpeg.len() as i64))
                        }),
                    Err(reason) => Err(reason),
                };
                store(
                    &writer,
                    desk_id,
                    "photo",
                    vec![rating_id],
                    outcome,
                    None,
                    None,
                )
                .await;
            });
        }
        if let Some(mic) = devices.microphone {
            let from = at - times.before_ms;
            let to = at + times.after_ms;
            let mut pending = self.pending.lock().expect("pending lock");
            if let Some(p) = pending.get_mut(&desk_id)
                && from <= p.to
                && to - p.from <= MAX_CLIP_MS
            {
                // Overlaps the clip still being recorded: one longer clip for both.
                p.ratings.push(rating_id);
                p.to = p.to.max(to);
                return;
            }
            pending.insert(
                desk_id,
                PendingClip {
                    ratings: vec![rating_id],
                    from,
                    to,
                },
            );
            drop(pending);
            let (writer, dir, pending, hook) = (
                writer.clone(),
                self.data_dir.clone(),
                self.pending.clone(),
                self.on_audio.clone(),
            );
            tokio::spawn(async move {
                // Wait for the end of the clip, which later ratings may push back.
                let clip = loop {
                    let due = pending
                        .lock()
                        .expect("pending lock")
                        .get(&desk_id)
                        .map(|p| p.to)
                        .unwrap_or(to);
                    let now = now_ms();
                    if now >= due + 300 {
                        break pending.lock().expect("pending lock").remove(&desk_id);
                    }
                    tokio::time::sleep(Duration::from_millis((due + 300 - now) as u64)).await;
                };
                let Some(clip) = clip else { return };
                let span = (clip.from, clip.to);
                let outcome = match mic {
                    Ok(mic) => tokio::task::spawn_blocking(move || {
                        let pcm = mic.clip(span.0, span.1)?;
                        let ogg = super::audio::encode_ogg_opus(&pcm)?;
                        save(&dir, "ogg", &ogg).map(|f| (f, "audio/ogg", ogg.len() as i64))
                    })
                    .await
                    .unwrap_or_else(|e| Err(format!("the audio thread failed: {e}"))),
                    Err(reason) => Err(reason),
                };
                store(
                    &writer,
                    desk_id,
                    "audio",
                    clip.ratings,
                    outcome,
                    Some(span),
                    Some(hook),
                )
                .await;
            });
        }
    }
}

fn save(dir: &std::path::Path, ext: &str, bytes: &[u8]) -> std::result::Result<String, String> {
    let name = media::new_file_name(ext);
    media::write_file(dir, &name, bytes).map_err(|e| e.to_string())?;
    Ok(name)
}

async fn store(
    writer: &Writer,
    desk_id: i64,
    kind: &'static str,
    ratings: Vec<i64>,
    outcome: std::result::Result<(String, &'static str, i64), String>,
    span: Option<(Millis, Millis)>,
    hook: Option<Arc<Mutex<Option<AudioHook>>>>,
) {
    if let Err(reason) = &outcome {
        tracing::warn!(desk_id, kind, %reason, "evidence missing");
    }
    let file = outcome.as_ref().ok().map(|(f, _, _)| f.clone());
    let result = writer
        .write(move |ctx| {
            media::insert(
                ctx,
                &NewMedia {
                    desk_id,
                    kind,
                    ratings: &ratings,
                    outcome,
                    span,
                },
            )?;
            let mut after = None;
            if let (Some(hook), Some(file)) = (hook, file.as_deref())
                && let Some(hook) = hook.lock().expect("hook lock").as_ref()
            {
                after = hook(ctx.conn, ctx.now, &ratings, file)?;
            }
            Ok(after)
        })
        .await;
    match result {
        Ok(Some(after)) => after(),
        Ok(None) => {}
        Err(e) => tracing::error!(%e, desk_id, kind, "cannot record evidence"),
    }
}
