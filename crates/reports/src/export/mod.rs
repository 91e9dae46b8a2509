//! Report exports for people: CSV, XLSX, chart PNGs and a printable PDF.
//!
//! Formats, chosen once for all exports so the same figure reads the same everywhere:
//! - CSV: figures as plain decimals with a dot, at most four places (`0.6667`, `-0.125`), so any
//!   program parses them; shares stay fractions (0..1) as in [`Cell::Share`].
//! - XLSX: figures are numbers; a share shows as `66.7%` (format `0.0%`), other numbers as
//!   `-0.125` (format `0.0##`).
//! - PDF: the spreadsheet's rendering, as text: `66.7%`, `-0.125`; its charts are vectors.
//!
//! Every picture and PDF uses the DejaVu Sans font shipped in `assets/fonts` (Bitstream Vera
//! licence, see `DejaVu-LICENSE` there), so Cyrillic renders on any machine, with no fontconfig.

mod chart;
mod csv;
mod pdf;
mod xlsx;

pub use self::chart::{Canvas, Chart, chart_png, register_chart_font};
pub use self::csv::csv;
pub use self::pdf::{Block, Document, Trend, document_pdf, pdf};
pub use self::xlsx::xlsx;

use super::table::Cell;

pub const FONT: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");

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

/// How the PDF shows a figure, and how wide the XLSX makes a column for it: as the XLSX formats
/// (`0.0%`, `0.0##`) render it.
pub(crate) fn display(cell: &Cell) -> String {
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
