//! A printable A4 PDF of charts and tables, its text real text in the embedded font.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::chart::{Chart, chart_rgb};
use super::{FONT, display};
use crate::table::Table;

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
