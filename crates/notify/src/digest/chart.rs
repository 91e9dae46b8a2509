//! The report's chart: a PNG of stacked bars per registrar, red to green.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::format::{cut, shown_of};
use super::report::group_name;
use otklik_domain::words::{self, Language, level_names};
use otklik_reports::export::{Canvas, FONT, register_chart_font};
use otklik_reports::figures::{Group, Report};

/// The report chart's size in pixels.
pub const CHART_SIZE: (u32, u32) = (1000, 560);

/// Grey of the chart's notes.
pub(super) const MUTED: RGBColor = RGBColor(110, 110, 110);

/// Registrars drawn in the chart at most (those with the most ratings).
pub(super) const CHART_ROWS: usize = 12;

/// The chart's colour of a level: the screens' `hsl(hue 70% 45%)`, red to green.
pub(super) fn level_colour(level: usize, levels: usize) -> HSLColor {
    let hue = if levels <= 1 {
        120.0
    } else {
        level as f64 / (levels - 1) as f64 * 120.0
    };
    HSLColor(hue / 360.0, 0.7, 0.45)
}

/// The chart of a report as a PNG of [`CHART_SIZE`]: per registrar a horizontal bar of their
/// ratings stacked by level (red to green, as on the screens), the level words in a legend on
/// the right, the most rated [`CHART_ROWS`] when there are more; with no ratings, a picture
/// that says so. Drawn with the embedded font, so Cyrillic needs no fontconfig.
pub fn report_chart(r: &Report, title: &str, lang: Language) -> Result<Vec<u8>, String> {
    let (width, height) = CHART_SIZE;
    register_chart_font()?;
    let w = words::of(lang);
    let levels = usize::from(r.scale).max(1);
    let names = level_names(lang, r.scale);
    let mut rows: Vec<&Group> = r
        .registrars
        .iter()
        .filter(|g| g.figures.count > 0)
        .collect();
    let all_rows = rows.len();
    if rows.len() > CHART_ROWS {
        rows.sort_by_key(|g| std::cmp::Reverse(g.figures.count));
        rows.truncate(CHART_ROWS);
    }

    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    {
        let bitmap = BitMapBackend::with_buffer(&mut buffer, (width, height));
        let font = ab_glyph::FontRef::try_from_slice(FONT).map_err(|e| e.to_string())?;
        let root = Canvas { bitmap, font }.into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let size = 18.0;
        let sized = |scale: f64| ("sans-serif", size * scale).into_font();
        let body = root
            .margin(12, 4, 12, 12)
            .titled(&cut(title, 70), sized(1.4))
            .map_err(err)?;
        let (body_w, body_h) = body.dim_in_pixel();
        if rows.is_empty() {
            let style = TextStyle::from(sized(1.3))
                .color(&MUTED)
                .pos(Pos::new(HPos::Center, VPos::Center));
            let centre = (body_w as i32 / 2, body_h as i32 / 2);
            body.draw(&Text::new(w.messages.no_ratings.to_string(), centre, style))
                .map_err(err)?;
            root.present().map_err(err)?;
        } else {
            let legend_w = names
                .iter()
                .filter_map(|n| {
                    body.estimate_text_size(n, &TextStyle::from(sized(1.0)))
                        .ok()
                })
                .map(|(x, _)| x)
                .max()
                .unwrap_or(100)
                + 56;
            let (plot, legend) = body.split_horizontally(body_w.saturating_sub(legend_w) as i32);
            let labels: Vec<String> = rows.iter().map(|g| cut(&group_name(g, w), 22)).collect();
            let label_w = labels
                .iter()
                .filter_map(|n| {
                    body.estimate_text_size(n, &TextStyle::from(sized(1.0)))
                        .ok()
                })
                .map(|(x, _)| x)
                .max()
                .unwrap_or(100);
            let n = rows.len();
            let max = rows
                .iter()
                .map(|g| g.figures.count)
                .max()
                .unwrap_or(1)
                .max(1);
            let x_high = max + max / 8 + 1;
            let mut chart = ChartBuilder::on(&plot)
                .margin(8)
                .x_label_area_size((size * 2.8) as u32)
                .y_label_area_size(label_w + 14)
                .build_cartesian_2d(0..x_high, (0..n - 1).into_segmented())
                .map_err(err)?;
            // Row 0 is drawn at the bottom; the first registrar goes on top.
            let row_of = |k: usize| n - 1 - k;
            let label = |v: &SegmentValue<usize>| match v {
                SegmentValue::CenterOf(i) if *i < n => labels[row_of(*i)].clone(),
                _ => String::new(),
            };
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n)
                .y_label_formatter(&label)
                .x_labels(8)
                .x_label_formatter(&|v| v.to_string())
                .x_desc(w.common.ratings)
                .label_style(sized(1.0))
                .axis_desc_style(sized(0.9))
                .bold_line_style(RGBColor(225, 225, 225))
                .light_line_style(TRANSPARENT)
                .draw()
                .map_err(err)?;
            let bar_px = (f64::from(body_h) - size * 4.0) / n as f64;
            let gap = (bar_px * 0.18).clamp(1.0, 20.0) as u32;
            for (k, g) in rows.iter().enumerate() {
                let i = row_of(k);
                let top = if i + 1 < n {
                    SegmentValue::Exact(i + 1)
                } else {
                    SegmentValue::Last
                };
                let mut start = 0u64;
                for (l, &c) in g.figures.levels.iter().enumerate().take(levels) {
                    if c == 0 {
                        continue;
                    }
                    let mut bar = Rectangle::new(
                        [(start, SegmentValue::Exact(i)), (start + c, top.clone())],
                        level_colour(l, levels).filled(),
                    );
                    bar.set_margin(gap, gap, 0, 0);
                    chart.draw_series([bar]).map_err(err)?;
                    start += c;
                }
                let style = TextStyle::from(sized(0.95)).pos(Pos::new(HPos::Left, VPos::Center));
                let at = (start, SegmentValue::CenterOf(i));
                chart
                    .draw_series([EmptyElement::at(at)
                        + Text::new(g.figures.count.to_string(), (6, 0), style)])
                    .map_err(err)?;
            }
            // The legend: the best level on top, as the bars read left to right worst first.
            let left = 12;
            let mut y = 24;
            for (l, name) in names.iter().enumerate().rev() {
                legend
                    .draw(&Rectangle::new(
                        [(left, y - 9), (left + 20, y + 9)],
                        level_colour(l, levels).filled(),
                    ))
                    .map_err(err)?;
                let style = TextStyle::from(sized(1.0)).pos(Pos::new(HPos::Left, VPos::Center));
                legend
                    .draw(&Text::new(name.clone(), (left + 30, y), style))
                    .map_err(err)?;
                y += 30;
            }
            if rows.len() < all_rows {
                let note = shown_of(lang, &w.messages.chart_shown, rows.len(), all_rows);
                // Bottom right, under the legend, where the axis leaves room.
                let style = TextStyle::from(sized(0.85))
                    .color(&MUTED)
                    .pos(Pos::new(HPos::Right, VPos::Bottom));
                let corner = (body_w as i32 - 4, body_h as i32 - 4);
                body.draw(&Text::new(note, corner, style)).map_err(err)?;
            }
            root.present().map_err(err)?;
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&buffer)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}
