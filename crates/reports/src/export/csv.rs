//! CSV for any program: RFC 4180, figures as dot decimals.

use super::decimal;
use crate::table::{Cell, Table};

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
