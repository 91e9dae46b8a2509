//! Report exports read back by independent readers: the `csv` crate, Python's openpyxl, poppler's
//! `pdftotext` and the `png` decoder.
//!
//! Needs `pdftotext` (Debian `poppler-utils`, installed by scripts/system-deps.sh) and
//! `python3` with `venv`; openpyxl is installed into target/pyenv on first use.
//! Set `EXPORTS_KEEP=DIR` to keep the produced files there for a look.

use std::path::{Path, PathBuf};
use std::process::Command;

use otklik_reports::export::{self, Chart};
use otklik_reports::table::{Cell, Column, Table};
use serde_json::Value;

fn column(key: &str, title: &str, kind: &'static str) -> Column {
    Column {
        key: key.into(),
        title: title.into(),
        kind,
    }
}

fn registrars(rows: Vec<Vec<Cell>>) -> Table {
    Table {
        name: "registrars".into(),
        title: "Регистраторы, 01.11.2026 – 30.11.2026".into(),
        columns: vec![
            column("registrar", "Регистратор", "text"),
            column("count", "Оценок", "int"),
            column("satisfaction", "Довольны", "share"),
            column("net", "Индекс", "num"),
        ],
        rows,
    }
}

fn sample() -> Table {
    registrars(vec![
        vec![
            Cell::Text("Анна Иванова".into()),
            Cell::Int(42),
            Cell::Share(0.6667),
            Cell::Num(-0.125),
        ],
        vec![
            Cell::Text("Пётр \"Петя\" Сидоров, ст.".into()),
            Cell::Int(7),
            Cell::Share(1.0),
            Cell::Num(0.5),
        ],
        vec![
            Cell::Text("Без оценок".into()),
            Cell::Int(0),
            Cell::Empty,
            Cell::Empty,
        ],
    ])
}

fn trend() -> Chart {
    Chart {
        title: "Довольные пациенты по дням".into(),
        labels: (1..=10).map(|d| format!("{d:02}.11")).collect(),
        series: vec![
            (
                "Окно 1".into(),
                vec![0.5, 0.6, 0.55, f64::NAN, 0.7, 0.72, 0.8, 0.75, 0.78, 0.9],
            ),
            (
                "Окно 2".into(),
                vec![0.4, 0.45, 0.5, 0.52, 0.5, 0.6, 0.58, 0.62, 0.66, 0.7],
            ),
        ],
    }
}

/// Saves an export to `$EXPORTS_KEEP/name` when asked, for looking at it.
fn keep(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("EXPORTS_KEEP") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(name), bytes).unwrap();
    }
}

fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let body = bytes
        .strip_prefix("\u{feff}".as_bytes())
        .expect("CSV starts with a UTF-8 BOM");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn csv_reads_back_with_titles_and_dot_decimals() {
    let bytes = export::csv(&sample());
    keep("registrars.csv", &bytes);
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(text.contains("\r\n"), "RFC 4180 line ends");
    let rows = parse_csv(&bytes);
    assert_eq!(rows[0], ["Регистратор", "Оценок", "Довольны", "Индекс"]);
    assert_eq!(rows[1], ["Анна Иванова", "42", "0.6667", "-0.125"]);
    assert_eq!(rows[2], ["Пётр \"Петя\" Сидоров, ст.", "7", "1", "0.5"]);
    assert_eq!(rows[3], ["Без оценок", "0", "", ""]);
    assert_eq!(rows.len(), 4);
}

#[test]
fn csv_guards_text_that_looks_like_a_formula() {
    let names = [
        "=HYPERLINK(\"http://x\")",
        "+7 999",
        "-1",
        "@SUM(A1)",
        "\tTab",
        "\rCR",
        "Обычное",
    ];
    let rows = names.iter().map(|n| {
        vec![
            Cell::Text((*n).into()),
            Cell::Int(1),
            Cell::Share(0.5),
            Cell::Num(-1.0),
        ]
    });
    let rows = parse_csv(&export::csv(&registrars(rows.collect())));
    let firsts: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        firsts,
        [
            "'=HYPERLINK(\"http://x\")",
            "'+7 999",
            "'-1",
            "'@SUM(A1)",
            "'\tTab",
            "'\rCR",
            "Обычное"
        ]
    );
    // Figures are not text: a negative number keeps its sign and no apostrophe.
    assert_eq!(rows[1][3], "-1");
}

/// A Python in target/pyenv that has openpyxl, installed there on first use.
fn python_with_openpyxl() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv");
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import openpyxl"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "python3 -m venv failed (Debian: python3-venv)"
        );
        let pip = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "openpyxl"])
            .status();
        assert!(
            pip.is_ok_and(|s| s.success()),
            "pip install openpyxl failed"
        );
        assert!(ready(), "openpyxl still not importable");
    }
    python
}

/// Every sheet as rows of cells, each `{v: value, t: python type, f: number format, b: bold}`.
fn read_xlsx(bytes: &[u8]) -> Value {
    let file = tempfile::Builder::new().suffix(".xlsx").tempfile().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let script = r#"
import json, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1])
print(json.dumps({ws.title: [[{"v": c.value, "t": type(c.value).__name__, "f": c.number_format,
                               "b": bool(c.font.b)} for c in row] for row in ws.iter_rows()]
                  for ws in book.worksheets}))
"#;
    let out = Command::new(python_with_openpyxl())
        .args(["-c", script])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openpyxl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn xlsx_opens_in_openpyxl_with_numbers_as_numbers() {
    let mut long = sample();
    long.name = "очень длинное имя листа: [часы/дни] больше 31 знака".into();
    let twin = long.clone();
    let bytes = export::xlsx(&[sample(), long, twin]).unwrap();
    keep("report.xlsx", &bytes);
    let book = read_xlsx(&bytes);
    let names: Vec<&String> = book.as_object().unwrap().keys().collect();
    assert_eq!(names.len(), 3, "one sheet per table: {names:?}");
    assert!(names.iter().all(|n| n.chars().count() <= 31), "{names:?}");
    assert!(
        names.iter().all(|n| !n.contains(['[', ']', ':', '/'])),
        "{names:?}"
    );

    let sheet = &book["registrars"];
    assert_eq!(sheet[0][0]["v"], "Регистраторы, 01.11.2026 – 30.11.2026");
    let header: Vec<&Value> = sheet[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["v"])
        .collect();
    assert_eq!(header, ["Регистратор", "Оценок", "Довольны", "Индекс"]);
    assert!(
        sheet[1].as_array().unwrap().iter().all(|c| c["b"] == true),
        "bold header"
    );

    let anna = &sheet[2];
    assert_eq!(anna[0]["v"], "Анна Иванова");
    assert_eq!(
        (&anna[1]["v"], &anna[1]["t"]),
        (&Value::from(42), &Value::from("int"))
    );
    assert_eq!(
        (&anna[2]["v"], &anna[2]["t"]),
        (&Value::from(0.6667), &Value::from("float"))
    );
    assert_eq!(anna[2]["f"], "0.0%");
    assert_eq!(
        (&anna[3]["v"], &anna[3]["t"]),
        (&Value::from(-0.125), &Value::from("float"))
    );
    assert_eq!(anna[3]["f"], "0.0##");
    assert_eq!(sheet[3][0]["v"], "Пётр \"Петя\" Сидоров, ст.");
    assert_eq!(sheet[4][2]["v"], Value::Null, "no share: an empty cell");
}

fn pdftotext(pdf: &[u8]) -> String {
    let file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(file.path(), pdf).unwrap();
    let out = Command::new("pdftotext").arg(file.path()).arg("-").output();
    let out = out.expect("pdftotext not found: run scripts/system-deps.sh (poppler-utils)");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn pdf_text_extracts_with_cyrillic_and_figures() {
    let pdf = export::pdf("Отчёт за ноябрь 2026", &[sample()], &[trend()]).unwrap();
    keep("report.pdf", &pdf);
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdftotext(&pdf);
    for wanted in [
        "Отчёт за ноябрь 2026",
        "Регистраторы, 01.11.2026 – 30.11.2026",
        "Регистратор",
        "Анна Иванова",
        "42",
        "66.7%",
        "-0.125",
        "100.0%",
        "0.5",
    ] {
        assert!(text.contains(wanted), "{wanted:?} not in:\n{text}");
    }
    // The chart is drawn as vectors with real text: its title, legend and labels.
    for wanted in ["Довольные пациенты по дням", "Окно 1", "01.11", "100"]
    {
        assert!(text.contains(wanted), "{wanted:?} not in:\n{text}");
    }
    // Only the glyphs used are embedded, so a report stays small.
    assert!(pdf.len() < 300_000, "{} bytes", pdf.len());
}

#[test]
fn pdf_pages_a_long_table_and_repeats_its_header() {
    let rows = (1..=150)
        .map(|i| {
            vec![
                Cell::Text(format!("Регистратор №{i}")),
                Cell::Int(i),
                Cell::Share(0.5),
                Cell::Num(0.25),
            ]
        })
        .collect();
    let pdf = export::pdf("Длинный отчёт", &[registrars(rows)], &[]).unwrap();
    keep("long.pdf", &pdf);
    let text = pdftotext(&pdf);
    let pages = text.matches('\u{c}').count();
    assert!(pages >= 3, "150 rows take several A4 pages, got {pages}");
    assert!(
        text.contains("Регистратор №1\n") || text.contains("Регистратор №1 "),
        "{text}"
    );
    assert!(text.contains("Регистратор №150"), "the last row is there");
    assert!(
        text.matches("Довольны").count() >= pages,
        "header on every page"
    );
    assert!(text.contains(&format!("{pages}/{pages}")), "page numbers");
}

#[test]
fn pdf_wraps_a_wide_table_without_cutting_a_word() {
    let columns =
        (1..=12).map(|i| column(&format!("c{i}"), &format!("Длинный заголовок {i}"), "text"));
    let row = (1..=12)
        .map(|i| Cell::Text(format!("Очень длинное значение ячейки {i}")))
        .collect();
    let wide = Table {
        columns: columns.collect(),
        rows: vec![row],
        ..sample()
    };
    let pdf = export::pdf("Широкий", &[wide], &[]).unwrap();
    keep("wide.pdf", &pdf);
    // Nothing is cut: the cells wrap, every word whole.
    let text = pdftotext(&pdf);
    assert!(!text.contains('…'), "{text}");
    let words: Vec<&str> = text.split_whitespace().collect();
    for i in 1..=12 {
        for word in [
            "Длинный",
            "заголовок",
            "Очень",
            "длинное",
            "значение",
            "ячейки",
        ] {
            assert!(words.contains(&word), "{word} whole in {text}");
        }
        assert!(words.contains(&i.to_string().as_str()), "{i} in {text}");
    }
}

fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

fn dark_pixels(rgb: &[u8]) -> usize {
    rgb.chunks(3).filter(|p| p.iter().all(|&c| c < 100)).count()
}

#[test]
fn chart_png_has_the_size_lines_and_drawn_cyrillic() {
    let png = export::chart_png(&trend(), 800, 400).unwrap();
    keep("trend.png", &png);
    let (width, height, rgb) = decode_png(&png);
    assert_eq!((width, height), (800, 400));
    let white = rgb.chunks(3).filter(|p| p == &[255, 255, 255]).count();
    assert!(white < rgb.len() / 3, "not blank");
    // The first series' blue line is drawn.
    let blue = rgb.chunks(3).filter(|p| p == &[31, 119, 180]).count();
    assert!(blue > 500, "only {blue} blue pixels");

    // The Cyrillic title is drawn as glyphs, not skipped: it adds dark pixels.
    let untitled = Chart {
        title: String::new(),
        ..trend()
    };
    let (_, _, plain) = decode_png(&export::chart_png(&untitled, 800, 400).unwrap());
    assert!(
        dark_pixels(&rgb) > dark_pixels(&plain) + 300,
        "title adds ink"
    );
}

#[test]
fn chart_png_copes_with_no_data() {
    let empty = Chart {
        title: "Нет данных".into(),
        labels: vec![],
        series: vec![],
    };
    let (width, height, _) = decode_png(&export::chart_png(&empty, 320, 200).unwrap());
    assert_eq!((width, height), (320, 200));
    assert!(export::chart_png(&empty, 10, 10).is_err());
}
