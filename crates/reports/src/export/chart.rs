//! Line charts as pictures, with their own text drawing, for the PNGs, the PDF and the digests.

use std::sync::OnceLock;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

use super::{FONT, decimal};

/// A line chart: one line per series over the labels (usually days).
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    /// X axis labels, e.g. "01.11"; a series' i-th value belongs to the i-th label.
    pub labels: Vec<String>,
    /// Name and values; a non-finite value (a day without ratings) leaves a gap.
    pub series: Vec<(String, Vec<f64>)>,
}

/// The chart as a PNG of `width` × `height` pixels.
pub fn chart_png(chart: &Chart, width: u32, height: u32) -> Result<Vec<u8>, String> {
    let rgb = chart_rgb(chart, width, height)?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

const SERIES_COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Draws the chart into an RGB buffer (3 bytes a pixel), shared by the PNG and the PDF.
pub(super) fn chart_rgb(chart: &Chart, width: u32, height: u32) -> Result<Vec<u8>, String> {
    if width < 100 || height < 80 {
        return Err(format!("chart too small: {width}×{height}"));
    }
    register_chart_font()?;
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    {
        let bitmap = BitMapBackend::with_buffer(&mut buffer, (width, height));
        let font = ab_glyph::FontRef::try_from_slice(FONT).map_err(|e| e.to_string())?;
        let root = Canvas { bitmap, font }.into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let points = chart
            .series
            .iter()
            .map(|(_, v)| v.len())
            .chain([chart.labels.len(), 1]);
        let count = points.max().unwrap_or(1);
        let finite = || {
            chart
                .series
                .iter()
                .flat_map(|(_, v)| v)
                .copied()
                .filter(|v| v.is_finite())
        };
        // Zero stays on the axis so small changes don't look dramatic.
        let low = finite().fold(0.0, f64::min);
        let high = finite().fold(0.0, f64::max);
        // Text sized from the picture so a thumbnail and a print both read.
        let text = f64::from(height.min(width)) / 28.0;
        // Headroom above the highest point for the legend (upper right), as a share of the
        // plot's height (roughly 70% of the picture).
        let legend = (chart.series.len() as f64 * 1.3 + 1.5) * text / (f64::from(height) * 0.7);
        let range = if high > low { high - low } else { 1.0 };
        let low = if low < 0.0 { low - range * 0.08 } else { 0.0 };
        let high = high + range * (0.08 + legend);
        let sized = |scale: f64| ("sans-serif", (text * scale).max(10.0)).into_font();
        let mut plot = ChartBuilder::on(&root)
            .caption(&chart.title, sized(1.4))
            .margin((text * 0.8) as u32)
            .x_label_area_size((text * 2.5) as u32)
            .y_label_area_size((text * 4.0) as u32)
            .build_cartesian_2d((0..count - 1).into_segmented(), low..high)
            .map_err(err)?;
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => chart.labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        plot.configure_mesh()
            .disable_x_mesh()
            .x_labels(count.min(15))
            .x_label_formatter(&label)
            .y_label_formatter(&|v| decimal(*v, 2))
            .label_style(sized(1.0))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(err)?;
        for (k, (name, values)) in chart.series.iter().enumerate() {
            let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
            let line = colour.stroke_width((text / 5.0).max(2.0) as u32);
            let point = |(i, v): (usize, &f64)| (SegmentValue::CenterOf(i), *v);
            // Each run of finite values is its own line, so gaps stay gaps.
            let runs = values.split(|v| !v.is_finite());
            let mut start = 0;
            for run in runs {
                let run_points = run.iter().enumerate().map(|(i, v)| point((start + i, v)));
                plot.draw_series(LineSeries::new(run_points, line))
                    .map_err(err)?;
                start += run.len() + 1;
            }
            let marks = values.iter().enumerate().filter(|(_, v)| v.is_finite());
            let radius = (text / 4.0).max(2.0) as i32;
            plot.draw_series(marks.map(|p| Circle::new(point(p), radius, colour.filled())))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], line));
        }
        if !chart.series.is_empty() {
            plot.configure_series_labels()
                .label_font(sized(1.0))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(buffer)
}

/// A bitmap that draws its own text. plotters 0.3.7 places ab_glyph glyphs without their side
/// bearings, so letters wobble ("п о дням"); here each glyph sits at its pen position. Text is
/// still measured by plotters (the registered font, same advances), so its layout holds.
pub struct Canvas<'a> {
    pub bitmap: BitMapBackend<'a>,
    pub font: ab_glyph::FontRef<'static>,
}

type Drawn = Result<(), DrawingErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>>;

impl DrawingBackend for Canvas<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Drawn {
        use ab_glyph::{Font, ScaleFont, point};
        use plotters_backend::text_anchor::{HPos, VPos};

        let colour = style.color();
        if !matches!(style.transform(), FontTransform::None) || colour.alpha == 0.0 {
            return self.bitmap.draw_text(text, style, pos); // not used by our charts
        }
        let ((left, top), (right, bottom)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (w, h) = ((right - left) as f32, (bottom - top) as f32);
        let x = pos.0 as f32
            - match style.anchor().h_pos {
                HPos::Left => 0.0,
                HPos::Center => w / 2.0,
                HPos::Right => w,
            };
        let y = pos.1 as f32
            - match style.anchor().v_pos {
                VPos::Top => 0.0,
                VPos::Center => h / 2.0,
                VPos::Bottom => h,
            };
        let scaled = self.font.as_scaled(style.size() as f32);
        // Capitals centred in plotters' text box: DejaVu's cap height is 0.63 of the scale.
        let baseline = y + h / 2.0 + 0.315 * style.size() as f32;
        let mut caret = x;
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(previous) = previous {
                caret += scaled.kern(previous, id);
            }
            previous = Some(id);
            let glyph = id.with_scale_and_position(scaled.scale(), point(caret, baseline));
            caret += scaled.h_advance(id);
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue;
            };
            let origin = outline.px_bounds().min;
            let mut result = Ok(());
            outline.draw(|gx, gy, coverage| {
                let at = (origin.x as i32 + gx as i32, origin.y as i32 + gy as i32);
                let ink = BackendColor {
                    alpha: colour.alpha * f64::from(coverage),
                    rgb: colour.rgb,
                };
                if result.is_ok() {
                    result = self.bitmap.draw_pixel(at, ink);
                }
            });
            result?;
        }
        Ok(())
    }

    // The rest is the bitmap's own drawing.
    fn get_size(&self) -> (u32, u32) {
        self.bitmap.get_size()
    }
    fn ensure_prepared(&mut self) -> Drawn {
        self.bitmap.ensure_prepared()
    }
    fn present(&mut self) -> Drawn {
        self.bitmap.present()
    }
    fn draw_pixel(&mut self, point: BackendCoord, colour: BackendColor) -> Drawn {
        self.bitmap.draw_pixel(point, colour)
    }
    fn draw_line<S: plotters_backend::BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Drawn {
        self.bitmap.draw_line(from, to, style)
    }
    fn draw_rect<S: plotters_backend::BackendStyle>(
        &mut self,
        a: BackendCoord,
        b: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Drawn {
        self.bitmap.draw_rect(a, b, style, fill)
    }
    fn draw_path<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Drawn {
        self.bitmap.draw_path(path, style)
    }
    fn draw_circle<S: plotters_backend::BackendStyle>(
        &mut self,
        c: BackendCoord,
        r: u32,
        style: &S,
        fill: bool,
    ) -> Drawn {
        self.bitmap.draw_circle(c, r, style, fill)
    }
    fn fill_polygon<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Drawn {
        self.bitmap.fill_polygon(vert, style)
    }
    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Drawn {
        self.bitmap.blit_bitmap(pos, size, src)
    }
}

/// plotters looks fonts up by family name in a global table; fill it once.
pub fn register_chart_font() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if *ok {
        Ok(())
    } else {
        Err("the embedded chart font is unreadable".to_owned())
    }
}
