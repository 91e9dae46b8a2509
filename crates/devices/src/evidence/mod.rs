//! Evidence around a rating: a photo of the moment and the patient's voice before and after.
//! Devices run on their own threads and keep what a rating will need (a camera's latest frame,
//! a microphone's last seconds); a rating only asks them afterwards, once it is safely stored,
//! so capture never delays nor loses a rating.

pub mod audio;
pub mod camera;
pub mod config;
pub mod recorder;

use serde::Serialize;
use utoipa::ToSchema;

use otklik_domain::time::Millis;

/// A device's state, as `/healthz` and the console show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeviceState {
    /// `connected`, `waiting` (absent or busy, retrying) or `error`.
    pub state: String,
    /// What it is: a device name, a URL without credentials.
    pub detail: String,
    pub error: Option<String>,
}

impl DeviceState {
    pub fn new(state: &str, detail: impl Into<String>, error: Option<String>) -> DeviceState {
        DeviceState {
            state: state.to_string(),
            detail: detail.into(),
            error,
        }
    }
}

/// A photo as saved: JPEG bytes and when the frame was taken.
#[derive(Debug, Clone)]
pub struct Photo {
    pub jpeg: Vec<u8>,
    pub taken_at: Millis,
    pub width: u32,
    pub height: u32,
}

/// A camera: a USB webcam (nokhwa), an IP camera's snapshot URL, or a stand-in for tests.
pub trait Camera: Send + Sync {
    /// The frame nearest to `at` (a press a moment ago), as a JPEG sized as `jpeg` says (the
    /// settings when it is asked, so a change applies to the next photo); or why there is none.
    /// May block, but never longer than the camera's own timeout.
    fn photo(&self, at: Millis, jpeg: &camera::JpegSettings) -> Result<Photo, String>;
    fn state(&self) -> DeviceState;
}

/// Mono 16-bit PCM cut from a microphone's ring buffer.
#[derive(Debug, Clone)]
pub struct Clip {
    pub rate: u32,
    pub samples: Vec<i16>,
    /// Wall-clock time of the first sample.
    pub from: Millis,
}

/// A microphone: captures all the time into a ring buffer of the last N seconds.
pub trait Microphone: Send + Sync {
    /// The audio between `from` and `to` (wall-clock ms). Called once `to` has passed; returns
    /// what the buffer still holds of that span (an error if nothing).
    fn clip(&self, from: Millis, to: Millis) -> Result<Clip, String>;
    fn state(&self) -> DeviceState;
}

/// A desk's evidence device as `/healthz` and the console show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeskDevice {
    pub desk_id: i64,
    /// `camera` or `microphone`.
    pub kind: &'static str,
    #[serde(flatten)]
    pub state: DeviceState,
}

impl recorder::Recorder {
    /// Every camera's and microphone's state.
    pub fn states(&self) -> Vec<DeskDevice> {
        let mut out = Vec::new();
        for (desk_id, d) in self.devices() {
            let state = |r: &Result<DeviceState, String>| match r {
                Ok(s) => s.clone(),
                Err(reason) => DeviceState::new("error", "", Some(reason.clone())),
            };
            if let Some(c) = &d.camera {
                out.push(DeskDevice {
                    desk_id,
                    kind: "camera",
                    state: state(&c.as_ref().map(|c| c.state()).map_err(Clone::clone)),
                });
            }
            if let Some(m) = &d.microphone {
                out.push(DeskDevice {
                    desk_id,
                    kind: "microphone",
                    state: state(&m.as_ref().map(|m| m.state()).map_err(Clone::clone)),
                });
            }
        }
        out
    }
}

/// Opens the devices a desk's setting asks for; `None` if it collects nothing. Nothing here
/// depends on the installation's settings: photos are sized when taken and the microphone keeps
/// enough for the longest clip, so a change of the settings needs no new devices.
pub fn open_devices(
    ev: &config::DeskEvidence,
    camera_password: Option<String>,
) -> Option<recorder::DeskDevices> {
    if !ev.photo && !ev.audio {
        return None;
    }
    let camera = ev
        .photo
        .then(|| open_camera(ev.camera.as_ref(), camera_password));
    let microphone = ev.audio.then(|| {
        Ok(std::sync::Arc::new(audio::CpalMicrophone::start(
            ev.microphone.clone(),
            audio::BUFFER_SECS,
        )) as std::sync::Arc<dyn Microphone>)
    });
    Some(recorder::DeskDevices { camera, microphone })
}

fn open_camera(
    cfg: Option<&config::CameraConfig>,
    password: Option<String>,
) -> Result<std::sync::Arc<dyn Camera>, String> {
    match cfg {
        None => Err("photos are on but no camera is set".into()),
        Some(config::CameraConfig::Ip { url, user, .. }) => Ok(std::sync::Arc::new(
            camera::IpCamera::new(url.clone(), user.clone(), password),
        )),
        Some(config::CameraConfig::Usb { index }) => Ok(std::sync::Arc::new(
            camera::StreamCamera::start(camera::NokhwaSource::new(*index)),
        )),
    }
}
