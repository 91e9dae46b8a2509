//! Frames and waits the camera tests share.

use std::thread;
use std::time::{Duration, Instant};

use image::{ImageFormat, Rgb, RgbImage};

/// A frame with some detail, roughly what a desk camera sees.
pub(super) fn scene(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let stripe = if (x / 40 + y / 30) % 2 == 0 { 40 } else { 0 };
        let lamp = if (x as i64 - w as i64 / 3).pow(2) + (y as i64 - h as i64 / 2).pow(2)
            < (h as i64 / 5).pow(2)
        {
            90
        } else {
            0
        };
        Rgb([
            (x * 200 / w + stripe) as u8,
            (y * 150 / h + lamp) as u8,
            (100 + (x ^ y) % 16) as u8,
        ])
    })
}

pub(super) fn decode(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
        .expect("a JPEG")
        .to_rgb8()
}

pub(super) fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < give_up, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}
