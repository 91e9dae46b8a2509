//! A camera stand-in for tests and demonstrations: synthetic frames that can be unplugged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};

use super::stream::FrameSource;

/// Synthetic frames: a gradient with the frame number drawn on it, at a set frame rate. Its
/// [`StandInSwitch`] unplugs it and plugs it back.
pub struct StandInSource {
    width: u32,
    height: u32,
    interval: Duration,
    count: u64,
    next_at: Option<Instant>,
    unplugged: Arc<AtomicBool>,
}

/// Makes a [`StandInSource`] fail (as an unplugged camera) or work again.
#[derive(Debug, Clone)]
pub struct StandInSwitch(Arc<AtomicBool>);

impl StandInSwitch {
    pub fn unplug(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn plug_in(&self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

impl StandInSource {
    pub fn new(width: u32, height: u32, fps: u32) -> StandInSource {
        StandInSource {
            width: width.max(1),
            height: height.max(1),
            interval: Duration::from_secs(1) / fps.max(1),
            count: 0,
            next_at: None,
            unplugged: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn switch(&self) -> StandInSwitch {
        StandInSwitch(self.unplugged.clone())
    }

    fn check(&self) -> Result<(), String> {
        if self.unplugged.load(Ordering::Relaxed) {
            Err("stand-in camera unplugged".into())
        } else {
            Ok(())
        }
    }

    fn draw(&self) -> RgbImage {
        let (w, h) = (self.width, self.height);
        let shade = (self.count * 8 % 256) as u8;
        let mut frame = RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, shade])
        });
        draw_number(&mut frame, self.count, 8, 8, (h / 40).max(2));
        frame
    }
}

impl FrameSource for StandInSource {
    fn open(&mut self) -> Result<(), String> {
        self.check()?;
        self.next_at = None;
        Ok(())
    }

    fn next_frame(&mut self) -> Result<RgbImage, String> {
        let now = Instant::now();
        if let Some(next_at) = self.next_at {
            thread::sleep(next_at.saturating_duration_since(now));
        }
        self.next_at = Some(self.next_at.unwrap_or(now).max(now) + self.interval);
        self.check()?;
        self.count += 1;
        Ok(self.draw())
    }

    fn describe(&self) -> String {
        format!("stand-in camera {}x{}", self.width, self.height)
    }
}

/// Draws `n` in white 3×5 block digits, each cell `scale` pixels.
fn draw_number(frame: &mut RgbImage, n: u64, left: u32, top: u32, scale: u32) {
    // Rows of 3 bits, top to bottom, for 0..=9.
    const DIGITS: [[u8; 5]; 10] = [
        [7, 5, 5, 5, 7],
        [2, 6, 2, 2, 7],
        [7, 1, 7, 4, 7],
        [7, 1, 7, 1, 7],
        [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7],
        [7, 4, 7, 5, 7],
        [7, 1, 1, 1, 1],
        [7, 5, 7, 5, 7],
        [7, 5, 7, 1, 7],
    ];
    for (i, digit) in n.to_string().bytes().enumerate() {
        let rows = DIGITS[usize::from(digit - b'0')];
        let x0 = left + i as u32 * 4 * scale;
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..3 {
                if bits >> (2 - col) & 1 == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (x, y) = (x0 + col * scale + dx, top + row as u32 * scale + dy);
                        if x < frame.width() && y < frame.height() {
                            frame.put_pixel(x, y, Rgb([255, 255, 255]));
                        }
                    }
                }
            }
        }
    }
}
