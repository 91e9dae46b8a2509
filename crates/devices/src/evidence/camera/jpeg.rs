//! Every photo as a JPEG of the set width and quality, whatever the camera sends.

use std::borrow::Cow;

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;

use crate::evidence::Photo;
use otklik_domain::time::Millis;

/// How photos are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegSettings {
    /// Wider frames are scaled down to this width, keeping the aspect ratio; 0 keeps the size.
    pub max_width: u32,
    /// JPEG quality, 1..=100.
    pub quality: u8,
}

impl JpegSettings {
    /// How photos are saved, from `photo_max_width` and `photo_quality`.
    pub fn from_settings(s: &otklik_store::settings::Settings) -> JpegSettings {
        JpegSettings {
            max_width: s.photo_max_width,
            quality: s.photo_quality.clamp(1, 100) as u8,
        }
    }
}

impl Default for JpegSettings {
    fn default() -> Self {
        JpegSettings {
            max_width: 640,
            quality: 70,
        }
    }
}

/// The frame as a JPEG, scaled down to `max_width` if wider.
pub fn to_jpeg(frame: &RgbImage, settings: &JpegSettings) -> Result<Vec<u8>, String> {
    encode(&fit(frame, settings.max_width), settings.quality)
}

/// A [`Photo`] of the frame, encoded as [`to_jpeg`] does.
pub(super) fn photo_of(
    frame: &RgbImage,
    settings: &JpegSettings,
    taken_at: Millis,
) -> Result<Photo, String> {
    let fitted = fit(frame, settings.max_width);
    Ok(Photo {
        jpeg: encode(&fitted, settings.quality)?,
        taken_at,
        width: fitted.width(),
        height: fitted.height(),
    })
}

fn fit(frame: &RgbImage, max_width: u32) -> Cow<'_, RgbImage> {
    let (w, h) = frame.dimensions();
    if max_width == 0 || w <= max_width {
        return Cow::Borrowed(frame);
    }
    let height = (u64::from(h) * u64::from(max_width) + u64::from(w) / 2) / u64::from(w);
    let height = u32::try_from(height.max(1)).unwrap_or(u32::MAX);
    Cow::Owned(image::imageops::resize(
        frame,
        max_width,
        height,
        FilterType::Triangle,
    ))
}

pub(super) fn encode(frame: &RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    let mut jpeg = Vec::with_capacity(64 * 1024);
    JpegEncoder::new_with_quality(&mut jpeg, quality.clamp(1, 100))
        .encode_image(frame)
        .map_err(|e| format!("cannot encode the photo: {e}"))?;
    Ok(jpeg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::camera::test_frames::{decode, scene};

    #[test]
    fn jpeg_is_scaled_down_keeping_the_aspect_ratio() {
        let settings = JpegSettings::default();
        let wide = decode(&to_jpeg(&scene(1280, 720), &settings).unwrap());
        assert_eq!(wide.dimensions(), (640, 360));

        let typical = to_jpeg(&scene(640, 480), &settings).unwrap();
        assert!(typical.len() < 60_000, "{} bytes", typical.len());
        assert_eq!(decode(&typical).dimensions(), (640, 480));

        // Never enlarged; 0 keeps the size.
        let small = to_jpeg(&scene(320, 240), &settings).unwrap();
        assert_eq!(decode(&small).dimensions(), (320, 240));
        let keep = JpegSettings {
            max_width: 0,
            quality: 50,
        };
        assert_eq!(
            decode(&to_jpeg(&scene(800, 600), &keep).unwrap()).width(),
            800
        );

        let worse = JpegSettings {
            max_width: 640,
            quality: 30,
        };
        assert!(to_jpeg(&scene(640, 480), &worse).unwrap().len() < typical.len());
    }
}
