//! Report exports for people: CSV, XLSX, chart PNGs and a printable PDF.
//!
//! Formats, chosen once for all exports so the same figure reads the same everywhere:
//! - CSV: figures as plain decimals with a dot, at most four places (`0.6667`, `-0.125`), so any
//!   program parses them; shares stay fractions (0..1) as in [`Cell::Share`].
//! - XLSX: figures are numbers; a share shows as `66.7%` (format `0.0%`), other numbers as
//!   `-0.125` (format `0.0##`).
//! - PDF: the spreadsheet's rendering, as text: `66.7%`, `-0.125`.
//!
//! Every picture and PDF uses the DejaVu Sans font shipped in `assets/fonts` (Bitstream Vera
//! licence, see `DejaVu-LICENSE` there), so Cyrillic renders on any machine, with no fontconfig.

use std::collections::HashSet;
use std::sync::OnceLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

use super::table::{Cell, Table};

pub const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

// ---------------------------------------------------------------------------------------------
// CSV

/// RFC 4180 CSV: `,` separators, CRLF line ends, a header row of the column titles, then one
/// line per row.
///
/// Starts with a UTF-8 byte-order mark: without it Excel on Windows reads the file as the
/// local ANSI code page and garbles Cyrillic. `,` rather than `;`: a Russian-locale Excel
/// splits on `;` when double-clicked, but every other program (and Excel's import dialog)
/// expects `,`, and the dot decimals below would be misread with `;` anyway.
///
/// Figures are written as plain decimals with a dot, at most four places, trailing zeros
/// dropped: a share of two thirds is `0.6667`, a net score `-0.125`, a count `42`.
///
/// Text that a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, tab or
/// CR) gets a leading `'`, so a registrar named `=HYPERLINK(...)` stays text (CSV injection).
pub fn csv(table: &Table) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let header: Vec<String> = table.columns.iter().map(|c| csv_text(&c.title)).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in &table.rows {
        let fields: Vec<String> = row
            .iter()
            .map(|cell| match cell {
                Cell::Text(s) => csv_text(s),
                Cell::Int(n) => n.to_string(),
                Cell::Share(v) | Cell::Num(v) => decimal(*v, 4),
                Cell::Empty => String::new(),
            })
            .collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// One text field: formula guard first, then RFC 4180 quoting.
fn csv_text(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// `v` with at most `places` decimals, trailing zeros dropped; never `-0`.
fn decimal(v: f64, places: usize) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let s = format!("{v:.places$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// How the PDF shows a figure: as the XLSX formats below render it.
fn display(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => s.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Share(v) if v.is_finite() => format!("{:.1}%", v * 100.0),
        Cell::Num(v) if v.is_finite() => {
            // `0.0##`: one decimal at least, three at most.
            let s = decimal(*v, 3);
            if s.contains('.') { s } else { format!("{s}.0") }
        }
        Cell::Share(_) | Cell::Num(_) | Cell::Empty => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// XLSX

/// An Excel workbook with one worksheet per table.
///
/// Layout of each sheet: row 1 holds the table's title (bold, larger), row 2 the column titles
/// (bold, frozen, with an autofilter), data from row 3 on. Counts and figures are numbers, not
/// text, so they can be summed; shares keep their 0..1 value with the `0.0%` format, other
/// numbers use `0.0##`. Sheet names come from `table.name`, cleaned of characters Excel
/// forbids, cut to 31 characters and made unique. Text cells are written as strings, never as
/// formulas, so no injection guard is needed here.
pub fn xlsx(tables: &[Table]) -> Result<Vec<u8>, String> {
    // Excel's sheet limits; checked first so the casts below cannot wrap.
    for table in tables {
        if table.columns.len() > 16_384 || table.rows.len() + 2 > 1_048_576 {
            return Err(format!(
                "table {} is larger than an Excel sheet",
                table.name
            ));
        }
    }
    write_xlsx(tables).map_err(|e| e.to_string())
}

fn write_xlsx(tables: &[Table]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};

    let title = Format::new().set_bold().set_font_size(13);
    let bold = Format::new().set_bold();
    let share = Format::new().set_num_format("0.0%");
    let num = Format::new().set_num_format("0.0##");
    let mut workbook = Workbook::new();
    let mut used = HashSet::new();
    for (index, table) in tables.iter().enumerate() {
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name(&table.name, index, &mut used))?;
        sheet.write_string_with_format(0, 0, &table.title, &title)?;
        for (c, column) in table.columns.iter().enumerate() {
            sheet.write_string_with_format(1, c as u16, &column.title, &bold)?;
            // Width in characters from the longest shown value; the title row is left out, it
            // may overflow into empty neighbours.
            let values = table.rows.iter().filter_map(|row| row.get(c)).map(display);
            let longest = values
                .map(|v| v.chars().count())
                .fold(column.title.chars().count(), usize::max);
            sheet.set_column_width(c as u16, (longest as f64 + 2.0).clamp(8.0, 60.0))?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = r as u32 + 2;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) => sheet.write_string(r, c, s)?,
                    Cell::Int(n) => sheet.write_number(r, c, *n as f64)?,
                    Cell::Share(v) if v.is_finite() => {
                        sheet.write_number_with_format(r, c, *v, &share)?
                    }
                    Cell::Num(v) if v.is_finite() => {
                        sheet.write_number_with_format(r, c, *v, &num)?
                    }
                    Cell::Share(_) | Cell::Num(_) | Cell::Empty => continue,
                };
            }
        }
        sheet.set_freeze_panes(2, 0)?;
        if let Some(last) = table.columns.len().checked_sub(1) {
            sheet.autofilter(1, 0, table.rows.len() as u32 + 1, last as u16)?;
        }
    }
    workbook.save_to_buffer()
}

/// A worksheet name Excel accepts: no `[]:*?/\`, no apostrophe at either end, not blank, not
/// the reserved "History", at most 31 UTF-16 units, unique ignoring case.
fn sheet_name(name: &str, index: usize, used: &mut HashSet<String>) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim_matches('\'').trim();
    let base = if cleaned.is_empty() || cleaned.eq_ignore_ascii_case("history") {
        format!("Sheet{}", index + 1)
    } else {
        cleaned.to_owned()
    };
    let mut suffix = String::new();
    for n in 2.. {
        // A cut may leave an apostrophe at the end, which Excel refuses.
        let cut = cut_utf16(&base, 31 - suffix.len()).trim_end_matches('\'');
        let candidate = format!("{cut}{suffix}");
        if used.insert(candidate.to_lowercase()) {
            return candidate;
        }
        suffix = format!("~{n}");
    }
    unreachable!("the loop above returns")
}

fn cut_utf16(s: &str, max: usize) -> &str {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            return &s[..i];
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Charts

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
fn chart_rgb(chart: &Chart, width: u32, height: u32) -> Result<Vec<u8>, String> {
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

// ---------------------------------------------------------------------------------------------
// PDF

const PAGE: (f32, f32) = (595.28, 841.89); // A4 in points
const MARGIN: f32 = 42.0;
const CONTENT_WIDTH: f32 = PAGE.0 - 2.0 * MARGIN;
const CELL_SIZE: f32 = 9.0;
const ROW_HEIGHT: f32 = 15.0;
const CELL_PAD: f32 = 4.0;
/// Charts are drawn at this many pixels per point (~144 dpi): sharp in print, small in file.
const CHART_SCALE: f32 = 2.0;

/// A printable A4 PDF: the title, each chart as a picture, then each table with its title and
/// a header row repeated on every page it runs over. Text is real text in DejaVu Sans (the
/// glyphs used are embedded with a Unicode map), so it can be searched, copied and extracted
/// by `pdftotext`. Figures look as in the XLSX: `66.7%`, `-0.125`.
pub fn pdf(title: &str, tables: &[Table], charts: &[Chart]) -> Result<Vec<u8>, String> {
    let face = ttf_parser::Face::parse(FONT, 0).map_err(|e| e.to_string())?;
    let mut layout = Layout {
        face: &face,
        pages: vec![Vec::new()],
        y: PAGE.1 - MARGIN,
    };
    for line in layout.wrap(title, 16.0, CONTENT_WIDTH) {
        layout.text_line(&line, 16.0, 22.0);
    }
    layout.y -= 8.0;

    let mut images = Vec::new();
    for chart in charts {
        let width = (CONTENT_WIDTH * CHART_SCALE) as u32;
        let height = width / 2;
        images.push((chart_rgb(chart, width, height)?, width, height));
        let h = CONTENT_WIDTH / 2.0;
        layout.room_for(h + 12.0);
        layout.y -= h;
        let image = images.len() - 1;
        let (x, y, w) = (MARGIN, layout.y, CONTENT_WIDTH);
        layout.page().push(Op::Image { image, x, y, w, h });
        layout.y -= 12.0;
    }
    for table in tables {
        layout.table(table);
    }
    // Page numbers, bottom right, for printed reports that get shuffled.
    let count = layout.pages.len();
    for (i, page) in layout.pages.iter_mut().enumerate() {
        let text = format!("{}/{count}", i + 1);
        let x = PAGE.0 - MARGIN - layout_width(&face, &text, 8.0);
        page.push(Op::Text {
            x,
            y: MARGIN / 2.0,
            size: 8.0,
            text,
        });
    }
    write_pdf(title, &face, &layout.pages, &images)
}

/// How wide `text` is at `size` points, from the font's advances (no kerning: PDF text here is
/// drawn without it too).
fn layout_width(face: &ttf_parser::Face<'_>, text: &str, size: f32) -> f32 {
    let advances = text.chars().map(|c| {
        let glyph = face.glyph_index(c).unwrap_or_default();
        f32::from(face.glyph_hor_advance(glyph).unwrap_or(0))
    });
    advances.sum::<f32>() * size / f32::from(face.units_per_em())
}

/// What a page shows, laid out first so the font can then be cut down to the glyphs used.
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    Image {
        image: usize,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    /// A filled rectangle in the given grey (0 black, 1 white).
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        grey: f32,
    },
}

struct Layout<'a> {
    face: &'a ttf_parser::Face<'a>,
    pages: Vec<Vec<Op>>,
    /// The baseline of the next thing, from the page's bottom (PDF coordinates).
    y: f32,
}

impl Layout<'_> {
    fn page(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("there is always a page")
    }

    /// Starts a new page unless `height` still fits on this one.
    fn room_for(&mut self, height: f32) -> bool {
        if self.y - height >= MARGIN {
            return false;
        }
        self.pages.push(Vec::new());
        self.y = PAGE.1 - MARGIN;
        true
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        layout_width(self.face, text, size)
    }

    /// Breaks text at spaces into lines no wider than `max`.
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for word in text.split(' ') {
            match lines.last_mut() {
                Some(line) if self.width(&format!("{line} {word}"), size) <= max => {
                    line.push(' ');
                    line.push_str(word);
                }
                _ => lines.push(word.to_owned()),
            }
        }
        lines
    }

    /// Cuts text to `max` points wide, marking the cut with an ellipsis.
    fn fit(&self, text: &str, size: f32, max: f32) -> String {
        if self.width(text, size) <= max {
            return text.to_owned();
        }
        let mut cut: String = text.to_owned();
        while !cut.is_empty() && self.width(&format!("{cut}…"), size) > max {
            cut.pop();
        }
        format!("{cut}…")
    }

    fn text_line(&mut self, text: &str, size: f32, height: f32) {
        self.room_for(height);
        self.y -= height;
        let y = self.y + (height - size) / 2.0;
        let text = text.to_owned();
        self.page().push(Op::Text {
            x: MARGIN,
            y,
            size,
            text,
        });
    }

    fn table(&mut self, table: &Table) {
        let shown: Vec<Vec<String>> = table
            .rows
            .iter()
            .map(|row| row.iter().map(display).collect())
            .collect();
        // Columns as wide as their widest value, shrunk together if the page is too narrow.
        let mut widths: Vec<f32> = (0..table.columns.len())
            .map(|c| {
                let title = self.width(&table.columns[c].title, CELL_SIZE);
                let cells = shown
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| self.width(s, CELL_SIZE));
                cells.fold(title, f32::max) + 2.0 * CELL_PAD
            })
            .collect();
        let total: f32 = widths.iter().sum();
        if total > CONTENT_WIDTH {
            widths.iter_mut().for_each(|w| *w *= CONTENT_WIDTH / total);
        }
        let right_aligned: Vec<bool> = table.columns.iter().map(|c| c.kind != "text").collect();

        // Keep the table's title with its header and first row.
        self.room_for(20.0 + 2.0 * ROW_HEIGHT + 12.0);
        self.y -= 12.0;
        for line in self.wrap(&table.title, 12.0, CONTENT_WIDTH) {
            self.text_line(&line, 12.0, 18.0);
        }
        let header: Vec<String> = table.columns.iter().map(|c| c.title.clone()).collect();
        self.row(&header, &widths, &right_aligned, 0.88);
        for (i, row) in shown.iter().enumerate() {
            if self.room_for(ROW_HEIGHT) {
                self.row(&header, &widths, &right_aligned, 0.88);
            }
            // Zebra stripes help the eye along wide rows on paper.
            self.row(
                row,
                &widths,
                &right_aligned,
                if i % 2 == 1 { 0.96 } else { 1.0 },
            );
        }
    }

    fn row(&mut self, cells: &[String], widths: &[f32], right: &[bool], grey: f32) {
        self.room_for(ROW_HEIGHT);
        self.y -= ROW_HEIGHT;
        let y = self.y;
        if grey < 1.0 {
            let w = widths.iter().sum();
            self.page().push(Op::Fill {
                x: MARGIN,
                y,
                w,
                h: ROW_HEIGHT,
                grey,
            });
        }
        let mut x = MARGIN;
        for ((text, &width), &right) in cells.iter().zip(widths).zip(right) {
            let text = self.fit(text, CELL_SIZE, width - 2.0 * CELL_PAD);
            let inset = if right {
                width - CELL_PAD - self.width(&text, CELL_SIZE)
            } else {
                CELL_PAD
            };
            let baseline = y + (ROW_HEIGHT - CELL_SIZE) / 2.0 + 1.5;
            self.page().push(Op::Text {
                x: x + inset,
                y: baseline,
                size: CELL_SIZE,
                text,
            });
            x += width;
        }
    }
}

/// Writes the laid-out pages with the font embedded as a subset (a CID font addressed by glyph
/// id, which is what lets any Unicode text through) and a ToUnicode map for text extraction.
fn write_pdf(
    title: &str,
    face: &ttf_parser::Face<'_>,
    pages: &[Vec<Op>],
    images: &[(Vec<u8>, u32, u32)],
) -> Result<Vec<u8>, String> {
    // The subset: every glyph used, renumbered from 1 (0 is .notdef); remember one character
    // for each glyph for the ToUnicode map.
    let mut glyphs = subsetter::GlyphRemapper::new();
    let mut chars = std::collections::BTreeMap::new();
    for op in pages.iter().flatten() {
        if let Op::Text { text, .. } = op {
            for c in text.chars() {
                let old = face.glyph_index(c).map_or(0, |g| g.0);
                let new = glyphs.remap(old);
                if old != 0 {
                    chars.entry(new).or_insert(c);
                }
            }
        }
    }
    let font_data =
        subsetter::subset(FONT, 0, &glyphs).map_err(|e| format!("font subset: {e:?}"))?;

    let mut next = Ref::new(1);
    let catalog = next.bump();
    let tree = next.bump();
    let info = next.bump();
    let font = next.bump();
    let cid_font = next.bump();
    let descriptor = next.bump();
    let font_file = next.bump();
    let to_unicode = next.bump();
    let image_refs: Vec<Ref> = images.iter().map(|_| next.bump()).collect();
    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (next.bump(), next.bump())).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(page, _)| *page))
        .count(page_refs.len() as i32);
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("Otklik"));

    // Font: Type0 → CIDFontType2 → descriptor → subset TrueType file.
    let base = Name(b"OTKLIK+DejaVuSans");
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    pdf.type0_font(font)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_font)
        .to_unicode(to_unicode);
    let units = f32::from(face.units_per_em());
    let scale = |v: f32| v * 1000.0 / units;
    let advances: Vec<f32> = glyphs
        .remapped_gids()
        .map(|old| {
            scale(f32::from(
                face.glyph_hor_advance(ttf_parser::GlyphId(old))
                    .unwrap_or(0),
            ))
        })
        .collect();
    let mut cid = pdf.cid_font(cid_font);
    cid.subtype(CidFontType::Type2)
        .base_font(base)
        .system_info(system)
        .font_descriptor(descriptor)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid.widths().consecutive(0, advances);
    cid.finish();
    let bbox = face.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(base)
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            scale(f32::from(bbox.x_min)),
            scale(f32::from(bbox.y_min)),
            scale(f32::from(bbox.x_max)),
            scale(f32::from(bbox.y_max)),
        ))
        .italic_angle(0.0)
        .ascent(scale(f32::from(face.ascender())))
        .descent(scale(f32::from(face.descender())))
        .cap_height(scale(f32::from(
            face.capital_height().unwrap_or(face.ascender()),
        )))
        .stem_v(80.0)
        .font_file2(font_file);
    let compressed = deflate(&font_data);
    pdf.stream(font_file, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), font_data.len() as i32);
    let mut cmap = UnicodeCmap::new(Name(b"Otklik-UTF16"), system);
    for (new, c) in chars {
        cmap.pair(new, c);
    }
    pdf.cmap(to_unicode, cmap.finish().as_slice());

    for ((rgb, width, height), id) in images.iter().zip(&image_refs) {
        let data = deflate(rgb);
        let mut image = pdf.image_xobject(*id, &data);
        image.width(*width as i32).height(*height as i32);
        image.filter(Filter::FlateDecode);
        image.color_space().device_rgb();
        image.bits_per_component(8);
    }

    let image_names: Vec<Vec<u8>> = (0..images.len())
        .map(|i| format!("Im{i}").into_bytes())
        .collect();
    for (ops, (page_ref, content_ref)) in pages.iter().zip(&page_refs) {
        let mut page = pdf.page(*page_ref);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1))
            .contents(*content_ref);
        let mut resources = page.resources();
        resources.fonts().pair(Name(b"F1"), font);
        let mut xobjects = resources.x_objects();
        for (name, id) in image_names.iter().zip(&image_refs) {
            xobjects.pair(Name(name), *id);
        }
        xobjects.finish();
        resources.finish();
        page.finish();

        let mut content = Content::new();
        for op in ops {
            match op {
                Op::Text { x, y, size, text } => {
                    let encoded: Vec<u8> = text
                        .chars()
                        .map(|c| face.glyph_index(c).map_or(0, |g| g.0))
                        .flat_map(|old| glyphs.get(old).unwrap_or(0).to_be_bytes())
                        .collect();
                    content
                        .begin_text()
                        .set_font(Name(b"F1"), *size)
                        .next_line(*x, *y);
                    content.show(Str(&encoded)).end_text();
                }
                Op::Image { image, x, y, w, h } => {
                    content.save_state().transform([*w, 0.0, 0.0, *h, *x, *y]);
                    content.x_object(Name(&image_names[*image])).restore_state();
                }
                Op::Fill { x, y, w, h, grey } => {
                    content
                        .set_fill_gray(*grey)
                        .rect(*x, *y, *w, *h)
                        .fill_nonzero();
                    content.set_fill_gray(0.0);
                }
            }
        }
        pdf.stream(*content_ref, &deflate(&content.finish()))
            .filter(Filter::FlateDecode);
    }
    Ok(pdf.finish())
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}
