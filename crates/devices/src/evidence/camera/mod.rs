//! Cameras for the photo of a press: an IP camera's HTTP snapshot URL ([`IpCamera`], in `ip`;
//! its Basic and Digest authentication in `http_auth`), and a live stream read on its own thread
//! ([`StreamCamera`], in `stream`; the past frames it keeps in `ring`) from a USB webcam
//! ([`NokhwaSource`], in `usb`) or a synthetic stand-in for tests ([`StandInSource`], in
//! `stand_in`). Every photo is re-encoded by [`to_jpeg`] (in `jpeg`), so the size and quality
//! settings apply whatever the camera sends.

mod http_auth;
mod ip;
mod jpeg;
mod ring;
mod stand_in;
mod stream;
#[cfg(test)]
mod test_frames;
mod usb;

use std::sync::{Mutex, MutexGuard, PoisonError};

pub use ip::IpCamera;
pub use jpeg::{JpegSettings, to_jpeg};
pub use stand_in::{StandInSource, StandInSwitch};
pub use stream::{FrameSource, StreamCamera, StreamSettings};
pub use usb::NokhwaSource;

use super::DeviceState;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the camera down with it: the data stays usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a camera reports; logged when it changes.
struct Status {
    state: Mutex<DeviceState>,
}

impl Status {
    fn new(state: &str, detail: impl Into<String>, error: &str) -> Status {
        Status {
            state: Mutex::new(DeviceState::new(state, detail, Some(error.to_string()))),
        }
    }

    fn get(&self) -> DeviceState {
        lock(&self.state).clone()
    }

    fn set_detail(&self, detail: String) {
        lock(&self.state).detail = detail;
    }

    /// `connected` without an error, `waiting` with one.
    fn set(&self, error: Option<String>) {
        let mut state = lock(&self.state);
        let name = if error.is_none() {
            "connected"
        } else {
            "waiting"
        };
        if state.state == name && state.error == error {
            return;
        }
        match &error {
            None => tracing::info!(camera = %state.detail, "camera connected"),
            Some(e) => tracing::warn!(camera = %state.detail, error = %e, "camera waiting"),
        }
        *state = DeviceState::new(name, state.detail.clone(), error);
    }
}
