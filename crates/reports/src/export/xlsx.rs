//! XLSX workbooks: one sheet per table, figures as numbers.

use std::collections::HashSet;

use super::display;

use crate::table::{Cell, Table};

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
