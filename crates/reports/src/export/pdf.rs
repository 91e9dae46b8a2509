//! A printable A4 PDF, laid out by hand over `pdf-writer`: its text real text in the embedded
//! font, its charts drawn as vector lines.
//!
//! Nothing is ever cut: columns are measured with the font's own advances and are as wide as
//! their figures, names and headers wrap at spaces (and after hyphens) onto more lines, the page
//! turns to landscape when a table would not fit upright, and only a table too wide even then is
//! set in a smaller size.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::chart::Chart;
use super::{FONT, decimal, display};
use crate::table::Table;

const A4: (f32, f32) = (595.28, 841.89); // in points
const MARGIN: f32 = 36.0;
const CELL_SIZE: f32 = 8.5;
/// Below this a table is not shrunk further (its cells wrap instead).
const MIN_CELL_SIZE: f32 = 6.0;
const CELL_PAD: f32 = 3.5;
const LINE: f32 = 1.22; // line height, in font sizes
const BLACK: Rgb = [0.0, 0.0, 0.0];
const MUTED: Rgb = [0.38, 0.38, 0.38];
const RULE: Rgb = [0.8, 0.8, 0.8];
const HEADER: Rgb = [0.88, 0.9, 0.93];
const STRIPE: Rgb = [0.96, 0.96, 0.96];
/// The PNG charts' series colours, as fractions.
const SERIES: [Rgb; 6] = [
    [0.122, 0.467, 0.706],
    [0.839, 0.153, 0.157],
    [0.173, 0.627, 0.173],
    [1.0, 0.498, 0.055],
    [0.58, 0.404, 0.741],
    [0.549, 0.337, 0.294],
];
const BAR_COLOUR: Rgb = [0.8, 0.84, 0.88];

type Rgb = [f32; 3];

/// A trend for print: the chart's lines on the left axis and, when given, counts as bars on the
/// right one.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub chart: Chart,
    /// The bars' name and one value per label (e.g. ratings per day).
    pub bars: Option<(String, Vec<f64>)>,
    /// The left axis' top when it is fixed (100 for percentages), else from the values.
    pub line_max: Option<f64>,
}

/// One thing a printed report shows, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The next block starts a page of its own.
    NewPage,
    Heading(String),
    /// A paragraph in the body size.
    Text(String),
    /// A paragraph in small grey type: what the columns mean.
    Note(String),
    /// Key figures in a row of boxes: label and value.
    Facts(Vec<(String, String)>),
    Trend(Trend),
    Table(Table),
}

/// A printed report: the title on top of the first page, then the blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

/// A printable PDF of the title, each chart, then each table (see [`document_pdf`]).
pub fn pdf(title: &str, tables: &[Table], charts: &[Chart]) -> Result<Vec<u8>, String> {
    let mut blocks: Vec<Block> = charts
        .iter()
        .map(|c| {
            Block::Trend(Trend {
                chart: c.clone(),
                bars: None,
                line_max: None,
            })
        })
        .collect();
    blocks.extend(tables.iter().cloned().map(Block::Table));
    document_pdf(&Document {
        title: title.to_owned(),
        blocks,
    })
}

/// The document as an A4 PDF: upright, or landscape when a table needs the width. Each table
/// keeps its title with its header and first row, and repeats its header on every page it runs
/// over. Text is real text in DejaVu Sans (the glyphs used are embedded with a Unicode map), so
/// it can be searched, copied and extracted by `pdftotext`. Figures look as in the XLSX:
/// `66.7%`, `-0.125`. Pages are numbered.
pub fn document_pdf(doc: &Document) -> Result<Vec<u8>, String> {
    let face = ttf_parser::Face::parse(FONT, 0).map_err(|e| e.to_string())?;
    let measure = Measure { face: &face };
    let upright = A4.0 - 2.0 * MARGIN;
    let landscape = doc.blocks.iter().any(|b| match b {
        Block::Table(t) => measure.table_widths(t, CELL_SIZE, upright, true).is_none(),
        _ => false,
    });
    let page = if landscape { (A4.1, A4.0) } else { A4 };
    let mut layout = Layout {
        m: measure,
        page,
        width: page.0 - 2.0 * MARGIN,
        pages: vec![Vec::new()],
        y: page.1 - MARGIN,
    };
    layout.paragraph(&doc.title, 16.0, BLACK);
    layout.y -= 4.0;
    for block in &doc.blocks {
        match block {
            Block::NewPage => layout.new_page(),
            Block::Heading(h) => {
                layout.room_for(60.0);
                layout.y -= 4.0;
                layout.paragraph(h, 13.0, BLACK);
            }
            Block::Text(t) => layout.paragraph(t, 9.5, BLACK),
            Block::Note(t) => layout.paragraph(t, 7.5, MUTED),
            Block::Facts(f) => layout.facts(f),
            Block::Trend(t) => layout.trend(t),
            Block::Table(t) => layout.table(t),
        }
    }
    // Page numbers, bottom right, for printed reports that get shuffled.
    let count = layout.pages.len();
    for (i, ops) in layout.pages.iter_mut().enumerate() {
        let text = format!("{}/{count}", i + 1);
        let x = page.0 - MARGIN - measure.width(&text, 8.0);
        ops.push(Op::text(x, MARGIN / 2.0, 8.0, MUTED, text));
    }
    write_pdf(&doc.title, &face, page, &layout.pages)
}

/// What a page shows, laid out first so the font can then be cut down to the glyphs used.
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        rgb: Rgb,
        text: String,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        rgb: Rgb,
    },
    /// A polyline, solid or dashed.
    Stroke {
        points: Vec<(f32, f32)>,
        width: f32,
        rgb: Rgb,
        dash: bool,
    },
    Dot {
        x: f32,
        y: f32,
        r: f32,
        rgb: Rgb,
    },
}

impl Op {
    fn text(x: f32, y: f32, size: f32, rgb: Rgb, text: String) -> Op {
        Op::Text {
            x,
            y,
            size,
            rgb,
            text,
        }
    }
}

#[derive(Clone, Copy)]
struct Measure<'a> {
    face: &'a ttf_parser::Face<'a>,
}

impl Measure<'_> {
    /// How wide `text` is at `size` points, from the font's advances (no kerning: PDF text here
    /// is drawn without it too).
    fn width(&self, text: &str, size: f32) -> f32 {
        let advances = text.chars().map(|c| {
            let glyph = self.face.glyph_index(c).unwrap_or_default();
            f32::from(self.face.glyph_hor_advance(glyph).unwrap_or(0))
        });
        advances.sum::<f32>() * size / f32::from(self.face.units_per_em())
    }

    /// The widest piece that [`Measure::wrap`] will not break.
    fn widest_word(&self, text: &str, size: f32) -> f32 {
        words(text)
            .iter()
            .map(|w| self.width(w.trim_end(), size))
            .fold(0.0, f32::max)
    }

    /// The least width that sets `text` on two lines (its width when it is one word).
    fn two_lines(&self, text: &str, size: f32) -> f32 {
        let pieces = words(text);
        (1..pieces.len())
            .map(|k| {
                let first = pieces[..k].concat();
                let second = pieces[k..].concat();
                self.width(first.trim_end(), size)
                    .max(self.width(second.trim_end(), size))
            })
            .fold(self.width(text, size), f32::min)
    }

    /// Breaks text into lines no wider than `max`: at spaces and after hyphens; a single word
    /// wider than `max` is broken between letters rather than cut.
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for word in words(text) {
            let candidate = format!("{line}{word}");
            if line.is_empty() || self.width(candidate.trim_end(), size) <= max {
                line = candidate;
            } else {
                lines.push(line.trim_end().to_owned());
                line = word;
            }
            // A word wider than the line on its own: break it by letters.
            while self.width(line.trim_end(), size) > max && line.chars().count() > 1 {
                let mut head = String::new();
                for c in line.chars() {
                    if !head.is_empty() && self.width(&format!("{head}{c}"), size) > max {
                        break;
                    }
                    head.push(c);
                }
                line = line[head.len()..].to_owned();
                lines.push(head);
            }
        }
        if !line.trim_end().is_empty() || lines.is_empty() {
            lines.push(line.trim_end().to_owned());
        }
        lines
    }

    /// Column widths for `table` set in `size` within `max` points, or `None` when it cannot
    /// fit so. Figures' columns are as wide as their widest figure or their header on two lines;
    /// text columns as their widest text, narrowed down to two lines when the page needs it
    /// (`strict`) or, failing that, a word a line; headers then a word a line too.
    fn table_widths(&self, table: &Table, size: f32, max: f32, strict: bool) -> Option<Vec<f32>> {
        let shown = shown(table);
        let cells = |c: usize| shown.iter().filter_map(move |r| r.get(c));
        let mut natural = Vec::new();
        // The least width with headers on at most two lines, and with headers a word a line.
        let (mut two, mut least) = (Vec::new(), Vec::new());
        for (c, col) in table.columns.iter().enumerate() {
            let head_word = self.widest_word(&col.title, size);
            let head_two = self.two_lines(&col.title, size);
            let head_full = self.width(&col.title, size);
            let widest = cells(c).map(|s| self.width(s, size)).fold(0.0, f32::max);
            let pad = 2.0 * CELL_PAD;
            let (cell_two, cell_word) = if col.kind == "text" {
                let most = |f: &dyn Fn(&str) -> f32| cells(c).map(|s| f(s)).fold(0.0, f32::max);
                (
                    most(&|s| self.two_lines(s, size)),
                    most(&|s| self.widest_word(s, size)),
                )
            } else {
                (widest, widest)
            };
            natural.push(widest.max(head_full) + pad);
            two.push(cell_two.max(head_two) + pad);
            least.push(cell_word.max(head_word) + pad);
        }
        let sum = |v: &[f32]| v.iter().sum::<f32>();
        if sum(&natural) <= max {
            return Some(natural);
        }
        if sum(&two) <= max {
            least = two;
        } else if strict || sum(&least) > max {
            return None;
        }
        // Headers wrap first: figures' columns go down to their least; text columns share what
        // is left, each in proportion to what it would like beyond its own least.
        let text: Vec<bool> = table.columns.iter().map(|c| c.kind == "text").collect();
        let mut widths: Vec<f32> = (0..natural.len())
            .map(|c| {
                if text[c] {
                    natural[c].max(least[c])
                } else {
                    least[c]
                }
            })
            .collect();
        let total = sum(&widths);
        if total > max {
            let fixed: f32 = (0..widths.len())
                .filter(|&c| !text[c])
                .map(|c| widths[c])
                .sum();
            let text_least: f32 = (0..widths.len())
                .filter(|&c| text[c])
                .map(|c| least[c])
                .sum();
            let want: f32 = (0..widths.len())
                .filter(|&c| text[c])
                .map(|c| widths[c] - least[c])
                .sum();
            let share = ((max - fixed - text_least) / want.max(1e-3)).clamp(0.0, 1.0);
            for c in 0..widths.len() {
                if text[c] {
                    widths[c] = least[c] + (widths[c] - least[c]) * share;
                }
            }
        }
        Some(widths)
    }
}

/// The pieces text wraps between: each word with its trailing space, and a hyphenated word
/// split after each hyphen ("Кузнецова-" "Петровская").
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        word.push(c);
        if c == ' ' || (c == '-' && word.chars().count() > 1) {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn shown(table: &Table) -> Vec<Vec<String>> {
    table
        .rows
        .iter()
        .map(|row| row.iter().map(display).collect())
        .collect()
}

struct Layout<'a> {
    m: Measure<'a>,
    page: (f32, f32),
    /// The width between the margins.
    width: f32,
    pages: Vec<Vec<Op>>,
    /// The top of the next thing, from the page's bottom (PDF coordinates).
    y: f32,
}

impl Layout<'_> {
    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("there is always a page")
    }

    fn new_page(&mut self) {
        if !self.ops().is_empty() {
            self.pages.push(Vec::new());
        }
        self.y = self.page.1 - MARGIN;
    }

    /// Starts a new page unless `height` still fits on this one.
    fn room_for(&mut self, height: f32) -> bool {
        if self.y - height >= MARGIN {
            return false;
        }
        self.new_page();
        true
    }

    fn paragraph(&mut self, text: &str, size: f32, rgb: Rgb) {
        for line in self.m.wrap(text, size, self.width) {
            let height = size * LINE + 2.0;
            self.room_for(height);
            self.y -= height;
            let y = self.y + 0.3 * size;
            self.ops().push(Op::text(MARGIN, y, size, rgb, line));
        }
        self.y -= 3.0;
    }

    /// Boxes side by side, each a big value over its label.
    fn facts(&mut self, facts: &[(String, String)]) {
        if facts.is_empty() {
            return;
        }
        let gap = 6.0;
        let n = facts.len() as f32;
        let w = (self.width - gap * (n - 1.0)) / n;
        let label_size = 7.5;
        let labels: Vec<Vec<String>> = facts
            .iter()
            .map(|(l, _)| self.m.wrap(l, label_size, w - 8.0))
            .collect();
        let label_lines = labels.iter().map(Vec::len).max().unwrap_or(1) as f32;
        let value_size = facts
            .iter()
            .map(|(_, v)| (14.0 * (w - 8.0) / self.m.width(v, 14.0).max(1.0)).min(14.0))
            .fold(14.0, f32::min);
        let h = value_size * 1.4 + label_lines * label_size * LINE + 10.0;
        self.room_for(h + 8.0);
        self.y -= h;
        let y = self.y;
        for (i, ((_, value), label)) in facts.iter().zip(&labels).enumerate() {
            let x = MARGIN + i as f32 * (w + gap);
            self.ops().push(Op::Fill {
                x,
                y,
                w,
                h,
                rgb: STRIPE,
            });
            let top = y + h - 5.0 - value_size;
            self.ops()
                .push(Op::text(x + 4.0, top, value_size, BLACK, value.clone()));
            for (k, line) in label.iter().enumerate() {
                let ly = top - 4.0 - (k as f32 + 1.0) * label_size * LINE + 1.5;
                self.ops()
                    .push(Op::text(x + 4.0, ly, label_size, MUTED, line.clone()));
            }
        }
        self.y -= 8.0;
    }

    /// A trend chart drawn as vectors: counts as grey bars against the right axis, each series
    /// as a line with a dot per value against the left one; labels thinned to what fits.
    fn trend(&mut self, t: &Trend) {
        let chart = &t.chart;
        let h = (self.width * 0.3).clamp(150.0, 210.0);
        self.room_for(h + 10.0);
        let top = self.y;
        self.y -= h;
        let bottom = self.y;
        let m = self.m;
        let (tick, title_size) = (7.0, 10.0);
        let title_y = top - title_size;
        self.ops().push(Op::text(
            MARGIN,
            title_y,
            title_size,
            BLACK,
            chart.title.clone(),
        ));

        // The legend, right-aligned on the title's line.
        let mut legend: Vec<(String, Rgb, bool)> = chart
            .series
            .iter()
            .enumerate()
            .map(|(k, (name, _))| (name.clone(), SERIES[k % SERIES.len()], true))
            .collect();
        if let Some((name, _)) = &t.bars {
            legend.push((name.clone(), BAR_COLOUR, false));
        }
        let mut x = MARGIN + self.width;
        for (name, rgb, line) in legend.iter().rev() {
            x -= m.width(name, tick + 0.5);
            self.ops()
                .push(Op::text(x, title_y, tick + 0.5, BLACK, name.clone()));
            x -= 18.0;
            if *line {
                self.ops().push(Op::Stroke {
                    points: vec![(x, title_y + 2.5), (x + 14.0, title_y + 2.5)],
                    width: 1.6,
                    rgb: *rgb,
                    dash: false,
                });
            } else {
                self.ops().push(Op::Fill {
                    x: x + 3.0,
                    y: title_y,
                    w: 8.0,
                    h: 6.0,
                    rgb: *rgb,
                });
            }
            x -= 12.0;
        }

        let n = chart
            .labels
            .len()
            .max(chart.series.iter().map(|(_, v)| v.len()).max().unwrap_or(0));
        let line_values: Vec<f64> = chart.series.iter().flat_map(|(_, v)| finite(v)).collect();
        let bar_values = t.bars.as_ref().map(|(_, v)| finite(v)).unwrap_or_default();
        let highest = line_values.iter().copied().fold(0.0, f64::max);
        let (left_max, left_ticks) = nice_axis(t.line_max.unwrap_or(highest).max(highest));
        let (right_max, right_ticks) = nice_axis(bar_values.iter().copied().fold(0.0, f64::max));
        let left_w = left_ticks
            .iter()
            .map(|v| m.width(&decimal(*v, 2), tick))
            .fold(0.0, f32::max)
            + 6.0;
        let right_w = if t.bars.is_some() {
            right_ticks
                .iter()
                .map(|v| m.width(&decimal(*v, 2), tick))
                .fold(0.0, f32::max)
                + 6.0
        } else {
            0.0
        };
        let plot = (
            MARGIN + left_w,
            bottom + tick * 2.4,
            self.width - left_w - right_w,
            h - title_size * 1.8 - tick * 2.4,
        );
        let (px, py, pw, ph) = plot;
        let y_of = |v: f64, max: f64| py + ph * (v / max) as f32;

        // Grid and the left axis' figures.
        for v in &left_ticks {
            let y = y_of(*v, left_max);
            self.ops().push(Op::Stroke {
                points: vec![(px, y), (px + pw, y)],
                width: 0.4,
                rgb: RULE,
                dash: false,
            });
            let s = decimal(*v, 2);
            let x = px - 3.0 - m.width(&s, tick);
            self.ops()
                .push(Op::text(x, y - tick * 0.35, tick, MUTED, s));
        }
        if t.bars.is_some() {
            for v in &right_ticks {
                let y = y_of(*v, right_max);
                let s = decimal(*v, 2);
                self.ops()
                    .push(Op::text(px + pw + 3.0, y - tick * 0.35, tick, MUTED, s));
            }
        }
        if n == 0 {
            return;
        }
        let slot = pw / n as f32;
        let centre = |i: usize| px + slot * (i as f32 + 0.5);
        if let Some((_, bars)) = &t.bars {
            for (i, v) in bars.iter().enumerate().filter(|(_, v)| v.is_finite()) {
                let top = y_of(*v, right_max);
                self.ops().push(Op::Fill {
                    x: centre(i) - slot * 0.32,
                    y: py,
                    w: slot * 0.64,
                    h: top - py,
                    rgb: BAR_COLOUR,
                });
            }
        }
        for (k, (_, values)) in chart.series.iter().enumerate() {
            let rgb = SERIES[k % SERIES.len()];
            // Across hours or days without ratings a thin dashed line, so the trend still reads
            let all: Vec<(f32, f32)> = values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, v)| (centre(i), y_of(*v, left_max)))
                .collect();
            if all.len() > 1 {
                self.ops().push(Op::Stroke {
                    points: all,
                    width: 0.7,
                    rgb,
                    dash: true,
                });
            }
            // and each run of days (hours) with ratings a solid line.
            let mut run = Vec::new();
            for (i, v) in values.iter().enumerate() {
                if v.is_finite() {
                    run.push((centre(i), y_of(*v, left_max)));
                } else if !run.is_empty() {
                    self.line(std::mem::take(&mut run), rgb);
                }
            }
            if !run.is_empty() {
                self.line(run, rgb);
            }
            let r = (slot * 0.18).clamp(1.2, 2.6);
            for (i, v) in values.iter().enumerate().filter(|(_, v)| v.is_finite()) {
                self.ops().push(Op::Dot {
                    x: centre(i),
                    y: y_of(*v, left_max),
                    r,
                    rgb,
                });
            }
        }
        self.ops().push(Op::Stroke {
            points: vec![(px, py), (px + pw, py)],
            width: 0.6,
            rgb: MUTED,
            dash: false,
        });
        // As many labels as fit side by side, evenly spaced.
        let widest = chart
            .labels
            .iter()
            .map(|l| m.width(l, tick))
            .fold(0.0, f32::max);
        let step = ((widest + 4.0) / slot).ceil().max(1.0) as usize;
        for (i, label) in chart.labels.iter().enumerate().step_by(step) {
            let x = centre(i) - m.width(label, tick) / 2.0;
            self.ops()
                .push(Op::text(x, py - tick * 1.4, tick, MUTED, label.clone()));
        }
        self.y -= 10.0;
    }

    fn line(&mut self, points: Vec<(f32, f32)>, rgb: Rgb) {
        if points.len() > 1 {
            self.ops().push(Op::Stroke {
                points,
                width: 1.6,
                rgb,
                dash: false,
            });
        }
    }

    fn table(&mut self, table: &Table) {
        // The largest size (down to a floor) at which every text fits on two lines; failing
        // that, a word a line at the floor; failing that, equal shares, words broken between
        // letters.
        let sizes = std::iter::successors(Some(CELL_SIZE), |s| {
            (*s > MIN_CELL_SIZE).then(|| (s - 0.5).max(MIN_CELL_SIZE))
        });
        let fitted = sizes
            .map(|s| (s, true))
            .chain([(MIN_CELL_SIZE, false)])
            .find_map(|(s, strict)| Some((s, self.m.table_widths(table, s, self.width, strict)?)));
        let (size, widths) = fitted.unwrap_or_else(|| {
            let n = table.columns.len().max(1);
            (MIN_CELL_SIZE, vec![self.width / n as f32; n])
        });
        let right: Vec<bool> = table.columns.iter().map(|c| c.kind != "text").collect();
        let header: Vec<String> = table.columns.iter().map(|c| c.title.clone()).collect();
        let rows = shown(table);
        let header_h = self.row_height(&header, &widths, size);
        let first_h = rows
            .first()
            .map_or(0.0, |r| self.row_height(r, &widths, size));

        // Keep the table's title with its header and first row.
        let title_lines = if table.title.is_empty() {
            0.0
        } else {
            self.m.wrap(&table.title, 11.0, self.width).len() as f32
        };
        self.room_for(title_lines * (11.0 * LINE + 2.0) + 9.0 + header_h + first_h);
        self.y -= 6.0;
        if !table.title.is_empty() {
            self.paragraph(&table.title, 11.0, BLACK);
        }
        self.row(&header, &widths, &right, size, Some(HEADER));
        for (i, row) in rows.iter().enumerate() {
            let h = self.row_height(row, &widths, size);
            if self.room_for(h) {
                self.row(&header, &widths, &right, size, Some(HEADER));
            }
            // Zebra stripes help the eye along wide rows on paper.
            let fill = (i % 2 == 1).then_some(STRIPE);
            self.row(row, &widths, &right, size, fill);
        }
        self.y -= 4.0;
    }

    fn row_height(&self, cells: &[String], widths: &[f32], size: f32) -> f32 {
        let lines = cells
            .iter()
            .zip(widths)
            .map(|(t, w)| self.m.wrap(t, size, w - 2.0 * CELL_PAD).len())
            .max()
            .unwrap_or(1);
        lines as f32 * size * LINE + 2.0 * CELL_PAD
    }

    /// One row, each cell's lines from the top (so a wrapped name's first line sits level with
    /// the row's figures), figures right-aligned.
    fn row(
        &mut self,
        cells: &[String],
        widths: &[f32],
        right: &[bool],
        size: f32,
        fill: Option<Rgb>,
    ) {
        let h = self.row_height(cells, widths, size);
        self.room_for(h);
        self.y -= h;
        let y = self.y;
        if let Some(rgb) = fill {
            let w = widths.iter().sum();
            self.ops().push(Op::Fill {
                x: MARGIN,
                y,
                w,
                h,
                rgb,
            });
        }
        let mut x = MARGIN;
        for ((text, &width), &right) in cells.iter().zip(widths).zip(right) {
            let lines = self.m.wrap(text, size, width - 2.0 * CELL_PAD);
            for (k, line) in lines.into_iter().enumerate() {
                let inset = if right {
                    width - CELL_PAD - self.m.width(&line, size)
                } else {
                    CELL_PAD
                };
                let baseline = y + h - CELL_PAD - (k as f32 + 1.0) * size * LINE + 0.28 * size;
                self.ops()
                    .push(Op::text(x + inset, baseline, size, BLACK, line));
            }
            x += width;
        }
    }
}

fn finite(v: &[f64]) -> Vec<f64> {
    v.iter().copied().filter(|x| x.is_finite()).collect()
}

/// An axis from 0 to a round number at or above `max`, with its ticks (0, 20, … 100).
fn nice_axis(max: f64) -> (f64, Vec<f64>) {
    let max = if max > 0.0 { max } else { 1.0 };
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    // Whole steps for counts under 5 (an axis of 0, 0.2, 0.4 ratings reads oddly).
    let step = if max <= 5.0 && max.fract() == 0.0 {
        step.max(1.0)
    } else {
        step
    };
    let top = (max / step).ceil() * step;
    let ticks = (0..=((top / step).round() as usize))
        .map(|i| i as f64 * step)
        .collect();
    (top, ticks)
}

/// Writes the laid-out pages with the font embedded as a subset (a CID font addressed by glyph
/// id, which is what lets any Unicode text through) and a ToUnicode map for text extraction.
fn write_pdf(
    title: &str,
    face: &ttf_parser::Face<'_>,
    size: (f32, f32),
    pages: &[Vec<Op>],
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

    for (ops, (page_ref, content_ref)) in pages.iter().zip(&page_refs) {
        let mut page = pdf.page(*page_ref);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, size.0, size.1))
            .contents(*content_ref);
        page.resources().fonts().pair(Name(b"F1"), font);
        page.finish();

        let mut content = Content::new();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    rgb,
                    text,
                } => {
                    let encoded: Vec<u8> = text
                        .chars()
                        .map(|c| face.glyph_index(c).map_or(0, |g| g.0))
                        .flat_map(|old| glyphs.get(old).unwrap_or(0).to_be_bytes())
                        .collect();
                    content
                        .set_fill_rgb(rgb[0], rgb[1], rgb[2])
                        .begin_text()
                        .set_font(Name(b"F1"), *size)
                        .next_line(*x, *y);
                    content.show(Str(&encoded)).end_text();
                }
                Op::Fill { x, y, w, h, rgb } => {
                    content
                        .set_fill_rgb(rgb[0], rgb[1], rgb[2])
                        .rect(*x, *y, *w, *h)
                        .fill_nonzero();
                }
                Op::Stroke {
                    points,
                    width,
                    rgb,
                    dash,
                } => {
                    let pattern: &[f32] = if *dash { &[2.5, 2.0] } else { &[] };
                    content
                        .set_dash_pattern(pattern.iter().copied(), 0.0)
                        .set_stroke_rgb(rgb[0], rgb[1], rgb[2])
                        .set_line_width(*width)
                        .set_line_join(pdf_writer::types::LineJoinStyle::RoundJoin)
                        .set_line_cap(pdf_writer::types::LineCapStyle::RoundCap);
                    let mut points = points.iter();
                    if let Some((x, y)) = points.next() {
                        content.move_to(*x, *y);
                    }
                    for (x, y) in points {
                        content.line_to(*x, *y);
                    }
                    content.stroke();
                }
                Op::Dot { x, y, r, rgb } => {
                    // A circle of four Bézier quarters (k: the usual 0.5523 approximation).
                    let (x, y, r) = (*x, *y, *r);
                    let k = 0.5523 * r;
                    content
                        .set_fill_rgb(rgb[0], rgb[1], rgb[2])
                        .move_to(x + r, y)
                        .cubic_to(x + r, y + k, x + k, y + r, x, y + r)
                        .cubic_to(x - k, y + r, x - r, y + k, x - r, y)
                        .cubic_to(x - r, y - k, x - k, y - r, x, y - r)
                        .cubic_to(x + k, y - r, x + r, y - k, x + r, y)
                        .close_path()
                        .fill_nonzero();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn measure<T>(f: impl FnOnce(Measure<'_>) -> T) -> T {
        let face = ttf_parser::Face::parse(FONT, 0).unwrap();
        f(Measure { face: &face })
    }

    #[test]
    fn wrap_breaks_at_spaces_and_after_hyphens_and_keeps_every_letter() {
        measure(|m| {
            let name = "Светлана Александровна Кузнецова-Петровская";
            let wide = m.wrap(name, 9.0, 1000.0);
            assert_eq!(wide, [name]);
            let narrow = m.wrap(name, 9.0, m.width("Александровна", 9.0) + 1.0);
            assert_eq!(
                narrow,
                ["Светлана", "Александровна", "Кузнецова-", "Петровская"]
            );
            // A word wider than the line is broken between letters, never cut.
            let tiny = m.wrap("Подозрительных", 9.0, 20.0);
            assert!(tiny.len() > 2, "{tiny:?}");
            assert_eq!(tiny.concat(), "Подозрительных");
        });
    }

    #[test]
    fn nice_axes_end_on_round_numbers() {
        assert_eq!(
            nice_axis(100.0),
            (100.0, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0])
        );
        assert_eq!(nice_axis(3.0).1, vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(nice_axis(0.0).0, 1.0);
        assert_eq!(nice_axis(37.0).0, 40.0);
    }
}
