//! USB webcams through nokhwa (V4L2 on Linux, Media Foundation on Windows, AVFoundation on
//! macOS).

use std::fmt;

use image::{ImageFormat, RgbImage};

use super::stream::FrameSource;

/// Which webcam: by index (0 is the first) or by a part of its name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CameraPick {
    Index(u32),
    Name(String),
}

impl fmt::Display for CameraPick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CameraPick::Index(i) => write!(f, "camera {i}"),
            CameraPick::Name(name) => write!(f, "camera '{name}'"),
        }
    }
}

/// A USB webcam (V4L2 on Linux, Media Foundation on Windows, AVFoundation on macOS).
pub struct NokhwaSource {
    pick: CameraPick,
    width: u32,
    height: u32,
    camera: Option<nokhwa::Camera>,
    /// The device's own name, once opened.
    name: Option<String>,
}

impl NokhwaSource {
    /// The webcam at `index` (0 is the first). Asks for 640×480 (or the nearest the camera
    /// has), MJPEG or else YUYV.
    pub fn new(index: u32) -> NokhwaSource {
        NokhwaSource::pick(CameraPick::Index(index))
    }

    /// The first webcam whose name contains `name` (any case), looked up at each opening.
    pub fn named(name: impl Into<String>) -> NokhwaSource {
        NokhwaSource::pick(CameraPick::Name(name.into()))
    }

    fn pick(pick: CameraPick) -> NokhwaSource {
        NokhwaSource {
            pick,
            width: 640,
            height: 480,
            camera: None,
            name: None,
        }
    }

    pub fn with_resolution(mut self, width: u32, height: u32) -> NokhwaSource {
        self.width = width;
        self.height = height;
        self
    }

    fn index(&self) -> Result<nokhwa::utils::CameraIndex, String> {
        use nokhwa::utils::{ApiBackend, CameraIndex};
        match &self.pick {
            CameraPick::Index(i) => Ok(CameraIndex::Index(*i)),
            CameraPick::Name(wanted) => {
                let cameras = nokhwa::query(ApiBackend::Auto)
                    .map_err(|e| format!("no camera named '{wanted}': cannot list cameras: {e}"))?;
                let wanted_lower = wanted.to_lowercase();
                cameras
                    .iter()
                    .find(|c| c.human_name().to_lowercase().contains(&wanted_lower))
                    .map(|c| c.index().clone())
                    .ok_or_else(|| {
                        let names: Vec<String> = cameras.iter().map(|c| c.human_name()).collect();
                        let found = if names.is_empty() {
                            "none".into()
                        } else {
                            names.join(", ")
                        };
                        format!("no camera named '{wanted}' (cameras found: {found})")
                    })
            }
        }
    }
}

impl FrameSource for NokhwaSource {
    fn open(&mut self) -> Result<(), String> {
        use nokhwa::utils::{CameraFormat, FrameFormat, RequestedFormat, RequestedFormatType};
        // Release the old handle first: the device cannot be opened twice.
        self.camera = None;
        self.name = None;
        let index = self.index()?;
        let wanted = |format| {
            RequestedFormatType::Closest(CameraFormat::new_from(
                self.width,
                self.height,
                format,
                30,
            ))
        };
        // nokhwa's "closest" needs the exact size among a format's modes; failing that, any
        // MJPEG or YUYV mode will do, since frames are scaled down anyway.
        let requests = [
            (wanted(FrameFormat::MJPEG), &[FrameFormat::MJPEG][..]),
            (wanted(FrameFormat::YUYV), &[FrameFormat::YUYV][..]),
            (
                RequestedFormatType::None,
                &[FrameFormat::MJPEG, FrameFormat::YUYV][..],
            ),
        ];
        let mut last_error = String::new();
        for (request, formats) in requests {
            let request = RequestedFormat::with_formats(request, formats);
            match nokhwa::Camera::new(index.clone(), request) {
                Ok(mut camera) => {
                    camera
                        .open_stream()
                        .map_err(|e| format!("no {}: cannot start the stream: {e}", self.pick))?;
                    self.name = Some(camera.info().human_name());
                    self.camera = Some(camera);
                    return Ok(());
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(format!("no {}: {last_error}", self.pick))
    }

    fn next_frame(&mut self) -> Result<RgbImage, String> {
        let label = self.describe();
        let camera = self
            .camera
            .as_mut()
            .ok_or_else(|| format!("{label}: not open"))?;
        let buffer = camera.frame().map_err(|e| format!("{label}: {e}"))?;
        if buffer.source_frame_format() == nokhwa::utils::FrameFormat::MJPEG {
            // nokhwa's own MJPEG decoder is mozjpeg (C); `image` does it here.
            image::load_from_memory_with_format(buffer.buffer(), ImageFormat::Jpeg)
                .map(|i| i.to_rgb8())
                .map_err(|e| format!("{label}: a bad MJPEG frame: {e}"))
        } else {
            buffer
                .decode_image::<nokhwa::pixel_format::RgbFormat>()
                .map_err(|e| format!("{label}: cannot decode a frame: {e}"))
        }
    }

    fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("{} ({name})", self.pick),
            None => self.pick.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Camera;
    use crate::evidence::camera::stream::StreamCamera;
    use crate::evidence::camera::test_frames::wait_for;

    #[test]
    fn nokhwa_without_a_camera_fails_cleanly() {
        // This machine has no camera at all; on one with a webcam, it must stream.
        let mut first = NokhwaSource::new(0);
        match first.open() {
            Err(e) => assert!(e.starts_with("no camera 0: "), "{e}"),
            Ok(()) => {
                let frame = first.next_frame().unwrap();
                assert!(frame.width() > 0);
            }
        }
        drop(first);
        let err = NokhwaSource::named("No Such Camera 9000")
            .open()
            .unwrap_err();
        assert!(
            err.starts_with("no camera named 'No Such Camera 9000'"),
            "{err}"
        );

        let cam = StreamCamera::start(NokhwaSource::new(57));
        wait_for("the first failure", || {
            cam.state().error.as_deref() != Some("opening")
        });
        let state = cam.state();
        assert_eq!(state.state, "waiting");
        assert_eq!(state.detail, "camera 57");
        assert!(state.error.unwrap().starts_with("no camera 57: "));
    }
}
