//! The frames a live stream keeps, so that a photo asked for after the press can still be the
//! frame nearest to it.

use std::collections::VecDeque;
use std::sync::Arc;

use image::RgbImage;

use super::stream::StreamSettings;
use otklik_domain::time::Millis;

#[derive(Clone)]
pub(super) struct Frame {
    pub(super) at: Millis,
    pub(super) image: Arc<RgbImage>,
}

pub(super) fn nearest(frames: &VecDeque<Frame>, at: Millis) -> Option<&Frame> {
    frames.iter().min_by_key(|f| f.at.abs_diff(at))
}

/// Adds the newest frame; the previous newest stays only if it is `spacing` older than the one
/// before it, so older frames thin out instead of the ring covering only the last few ms.
pub(super) fn keep(frames: &mut VecDeque<Frame>, frame: Frame, settings: &StreamSettings) {
    let spacing = i64::try_from(settings.spacing.as_millis()).unwrap_or(i64::MAX);
    if frames.len() >= 2 {
        let before = frames[frames.len() - 2].at;
        if frames.back().is_some_and(|last| last.at - before < spacing) {
            frames.pop_back();
        }
    }
    frames.push_back(frame);
    while frames.len() > settings.frames.max(1) {
        frames.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_frame_and_thins_older_ones() {
        let settings = StreamSettings {
            frames: 5,
            ..StreamSettings::default()
        };
        let image = Arc::new(RgbImage::new(1, 1));
        let mut frames = VecDeque::new();
        for at in (0..=1000).step_by(10) {
            let frame = Frame {
                at,
                image: image.clone(),
            };
            keep(&mut frames, frame, &settings);
        }
        let times: Vec<Millis> = frames.iter().map(|f| f.at).collect();
        assert_eq!(times, [600, 700, 800, 900, 1000]);
        assert_eq!(nearest(&frames, 749).map(|f| f.at), Some(700));
        assert_eq!(nearest(&frames, 751).map(|f| f.at), Some(800));
        assert_eq!(nearest(&frames, 5000).map(|f| f.at), Some(1000));
        assert!(nearest(&VecDeque::new(), 0).is_none());
    }
}
