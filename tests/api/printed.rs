//! The printed report as a head of reception gets it: a month of 12 registrars with long names
//! fetched through the HTTP API and read back by poppler (`pdftotext` for every name and figure,
//! `pdftoppm` for the pages as pictures), a day's hourly trend, and the PDF the scheduled email
//! carries (through the real SMTP server on loopback).
//!
//! Set `PRINTED_KEEP=DIR` to keep the PDFs and the rendered pages there for a look.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::App;
use crate::smtp::SmtpServer;
use otklik_store::ratings::{self, NewRating, Rules};

const NAMES: [&str; 12] = [
    "Светлана Александровна Кузнецова-Петровская",
    "Анна Кузнецова",
    "Екатерина Владимировна Римская-Корсакова",
    "Мария Ивановна Сидорова",
    "Ольга Николаевна Преображенская",
    "Наталья Сергеевна Волконская-Оболенская",
    "Татьяна Викторовна Белозерская",
    "Елена Павловна Ковалевская",
    "Ирина Михайловна Голенищева-Кутузова",
    "Юлия Андреевна Салтыкова-Щедрина",
    "Александра Дмитриевна Меньшикова",
    "Валентина Григорьевна Мусина-Пушкина",
];

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// A desk per registrar, each on shift over `[from, to)`; returns the desks.
async fn staff(app: &App, names: &[&str], from: i64, to: i64) -> Vec<i64> {
    let mut desks = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let desk = app.desk(&format!("Окно {}", i + 1)).await;
        let reg = app.registrar(name).await;
        desks.push((desk, reg));
    }
    let engine = app.server.as_ref().unwrap().engine.clone();
    let pairs = desks.clone();
    engine
        .store
        .writer
        .write(move |ctx| {
            for (desk, reg) in &pairs {
                ctx.conn.execute(
                    "INSERT INTO work_sessions (desk_id, registrar_id, started_at, ended_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    (desk, reg, from, to),
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    desks.into_iter().map(|(d, _)| d).collect()
}

/// Ratings `(desk, score, at)` written as the engine writes them.
async fn rate_at(app: &App, ratings: Vec<(i64, i64, i64)>, levels: u8) {
    let engine = app.server.as_ref().unwrap().engine.clone();
    engine
        .store
        .writer
        .write(move |ctx| {
            let rules = Rules {
                levels,
                burst_count: 0,
                burst_ms: 0,
                window: Default::default(),
            };
            for (desk_id, score, at) in ratings {
                let rating = NewRating {
                    desk_id,
                    score,
                    source: None,
                    at: Some(at),
                };
                ratings::add(ctx, &rating, rules)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

async fn fetch(app: &App, path: &str) -> Vec<u8> {
    let resp = app
        .http
        .get(app.url(path))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    resp.bytes().await.unwrap().to_vec()
}

fn keep(name: &str, from: &Path) {
    if let Some(dir) = std::env::var_os("PRINTED_KEEP") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(from, Path::new(&dir).join(name)).unwrap();
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .expect("poppler-utils is installed (scripts/system-deps.sh)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The PDF's text: as laid out (a table row on one line) and in reading order.
fn texts(pdf: &Path) -> (String, String) {
    let layout = run(Command::new("pdftotext").arg("-layout").arg(pdf).arg("-"));
    let plain = run(Command::new("pdftotext").arg(pdf).arg("-"));
    (layout, plain)
}

/// Each page as a PNG at `dpi`, decoded: (width, height, RGB).
fn pages(pdf: &Path, dpi: u32) -> Vec<(u32, u32, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("pdftoppm")
        .args(["-png", "-r", &dpi.to_string()])
        .arg(pdf)
        .arg(dir.path().join("page")));
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            keep(
                &format!("{}-{name}", pdf.file_stem().unwrap().to_string_lossy()),
                f,
            );
            let decoder =
                png::Decoder::new(std::io::BufReader::new(std::fs::File::open(f).unwrap()));
            let mut reader = decoder.read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut buf).unwrap();
            buf.truncate(info.buffer_size());
            let rgb = match info.color_type {
                png::ColorType::Rgb => buf,
                png::ColorType::Rgba => buf.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
                other => panic!("pdftoppm wrote {other:?}"),
            };
            (info.width, info.height, rgb)
        })
        .collect()
}

/// Pixels of the trend line's blue (anti-aliased edges aside).
fn line_pixels(rgb: &[u8]) -> usize {
    rgb.chunks(3)
        .filter(|p| {
            let d = |a: u8, b: u8| (i32::from(a) - b as i32).abs();
            d(p[0], 31) < 40 && d(p[1], 119) < 40 && d(p[2], 180) < 40
        })
        .count()
}

/// A figure as the report shows it (the XLSX's `0.0%` and `0.0##`).
fn pct(v: &Value) -> String {
    format!("{:.1}%", v.as_f64().unwrap() * 100.0)
}

fn num(v: &Value) -> String {
    let s = format!("{:.3}", v.as_f64().unwrap());
    let s = s.trim_end_matches('0');
    let s = if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_string()
    };
    if s == "-0.0" { "0.0".into() } else { s }
}

/// A registrar's row in the PDF, after the name: count, each level, satisfied, net, flagged,
/// annulled, satisfied before.
fn row_figures(g: &Value) -> Vec<String> {
    let mut v = vec![g["count"].to_string()];
    v.extend(g["levels"].as_array().unwrap().iter().map(Value::to_string));
    v.extend([
        pct(&g["satisfaction"]),
        num(&g["net"]),
        g["flagged"].to_string(),
        g["annulled"].to_string(),
    ]);
    if g["previous"]["count"].as_u64().unwrap() > 0 {
        v.push(pct(&g["previous"]["satisfaction"]));
    }
    v
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn a_month_of_twelve_long_named_registrars_prints_every_name_and_figure_whole() {
    let app = App::start().await;
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({"timezone": "Europe/Moscow", "scale": 5, "suspicion_burst_count": 0,
                   "clinic_name": "Поликлиника №5", "language": "ru"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (from, to) = ("2026-11-01T00:00:00+03:00", "2026-12-01T00:00:00+03:00");
    let desks = staff(&app, &NAMES, ms("2026-10-01T00:00:00+03:00"), ms(to)).await;
    let mut list = Vec::new();
    for (i, desk) in desks.iter().enumerate() {
        // October (the previous period) and November, up to a few ratings a day at varied
        // hours, each registrar with their own spread of levels; the first one only ever gets
        // the top level (100.0%).
        let i = i as i64;
        let spread = i % 4 + 2;
        for day in 0..61i64 {
            for k in 0..(i + day * (i % 3 + 1)) % 4 {
                if day % 7 >= 5 && k > 0 {
                    continue; // quieter weekends
                }
                let score = if i == 0 {
                    5
                } else {
                    5 - (day * 3 + k * 7 + i) % spread
                };
                let hour = 8 + (i + day + k * 3) % 11;
                let at = ms("2026-10-01T00:00:00+03:00") + day * 86_400_000 + hour * 3_600_000;
                list.push((*desk, score, at));
            }
        }
    }
    rate_at(&app, list, 5).await;

    let q = format!(
        "from={}&to={}",
        from.replace('+', "%2B"),
        to.replace('+', "%2B")
    );
    let (s, report) = app.get(&format!("/api/v1/reports?{q}")).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let groups = report["registrars"].as_array().unwrap();
    assert_eq!(groups.len(), 12, "{report}");
    let pdf = fetch(&app, &format!("/api/v1/reports/export?format=pdf&{q}")).await;
    let path = app.dir.path().join("month.pdf");
    std::fs::write(&path, &pdf).unwrap();
    keep("month.pdf", &path);
    let (layout, plain) = texts(&path);
    assert!(!plain.contains('…'), "nothing is cut:\n{plain}");
    let flat = squash(&plain);
    assert!(
        flat.contains("Отчёт об оценках, 01.11.2026 – 30.11.2026"),
        "{flat}"
    );
    // The column headers are whole words: the levels' own names.
    for word in [
        "Очень плохо",
        "Нормально",
        "Отлично",
        "Довольны",
        "Подозрительных",
    ] {
        assert!(flat.contains(word), "{word} in {flat}");
    }
    assert!(
        flat.contains("от −1 до 1"),
        "the key to the columns: {flat}"
    );

    // The registrars' table: each row carries the name's first line and every figure in full.
    for g in groups {
        let name = g["name"].as_str().unwrap();
        assert!(NAMES.contains(&name), "{name}");
        let want = row_figures(g);
        let words: Vec<&str> = name.split(' ').collect();
        let row = layout.lines().find(|l| {
            let tokens: Vec<&str> = l.split_whitespace().collect();
            tokens.len() > want.len()
                && tokens[tokens.len() - want.len()..] == want[..]
                && tokens[0] == words[0]
        });
        assert!(row.is_some(), "{name}: a row with {want:?} in\n{layout}");
        // The whole name, on the registrar's own page.
        assert!(flat.contains(name), "{name} whole in {flat}");
    }
    assert!(
        groups[0]["name"] == NAMES[0] && row_figures(&groups[0]).contains(&"100.0%".into()),
        "the best first, at 100.0%: {}",
        groups[0]
    );

    // A page per registrar, after the report's own: their name, their place, their figures
    // and their trend by day.
    let texts: Vec<String> = plain.split('\u{c}').map(squash).collect();
    for (place, g) in groups.iter().enumerate() {
        let name = g["name"].as_str().unwrap();
        let page = texts
            .iter()
            .find(|p| p.starts_with(name))
            .unwrap_or_else(|| panic!("{name}'s page in {texts:#?}"));
        assert!(
            page.contains(&format!("Место {} из 12", place + 1)),
            "{page}"
        );
        assert!(
            page.contains("Довольны по дням") && page.contains("01.11"),
            "{page}"
        );
        assert!(
            page.contains("Этот период") && page.contains("Прошлый период"),
            "{page}"
        );
        for figure in row_figures(g) {
            assert!(page.contains(&figure), "{figure} on {name}'s page: {page}");
        }
    }

    // As paper: every page renders, the first with the trend's line drawn across the month.
    let rendered = pages(&path, 72);
    assert_eq!(rendered.len(), texts.len() - 1, "a PNG per page");
    assert!(rendered.len() >= 13, "{} pages", rendered.len());
    let (w, h, first) = &rendered[0];
    assert!(w > h, "landscape for the wide table: {w}×{h}");
    assert!(
        line_pixels(first) > 300,
        "{} line pixels",
        line_pixels(first)
    );
    if let Ok(out) = std::env::var("REPORT_PAGE_PNG") {
        // The README's picture: the first page, at a size that reads on a screen.
        let dir = tempfile::tempdir().unwrap();
        run(Command::new("pdftoppm")
            .args(["-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&path)
            .arg(dir.path().join("page")));
        std::fs::copy(dir.path().join("page.png"), out).unwrap();
    }
    app.stop().await;
}

#[tokio::test]
async fn a_day_prints_its_trend_by_hour() {
    let app = App::start().await;
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({"timezone": "Europe/Moscow", "suspicion_burst_count": 0, "language": "ru"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let day = "2026-11-23T00:00:00+03:00";
    let desks = staff(&app, &NAMES[..2], ms(day), ms(day) + 86_400_000).await;
    let mut list = Vec::new();
    for (hour, score) in [(9, 3), (9, 1), (10, 3), (12, 2), (13, 3), (15, 3), (17, 1)] {
        for desk in &desks {
            list.push((*desk, score, ms(day) + hour * 3_600_000 + 600_000));
        }
    }
    rate_at(&app, list, 3).await;
    let q = "from=2026-11-23T00:00:00%2B03:00&to=2026-11-24T00:00:00%2B03:00";
    let pdf = fetch(&app, &format!("/api/v1/reports/export?format=pdf&{q}")).await;
    let path = app.dir.path().join("day.pdf");
    std::fs::write(&path, &pdf).unwrap();
    keep("day.pdf", &path);
    let (_, plain) = texts(&path);
    let flat = squash(&plain);
    assert!(flat.contains("Довольны по часам"), "{flat}");
    assert!(!flat.contains("Довольны по дням"), "{flat}");
    // Every hour from the first rated to the last, the empty ones too.
    for hour in 9..=17 {
        assert!(
            flat.contains(&format!("{hour:02}:00")),
            "{hour}:00 in {flat}"
        );
    }
    assert!(!flat.contains("08:00") && !flat.contains("18:00"), "{flat}");
    let rendered = pages(&path, 72);
    // A line across the day's hours, not a lone dot.
    assert!(
        line_pixels(&rendered[0].2) > 300,
        "{} line pixels",
        line_pixels(&rendered[0].2)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_email_report_carries_the_printed_pdf() {
    let smtp = SmtpServer::start().await;
    let app = App::start().await;
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({"suspicion_burst_count": 0, "language": "ru", "clinic_name": "Поликлиника №5"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Ratings in the last full hour, by two registrars on shift.
    let now = chrono::Utc::now().timestamp_millis();
    let hour = now / 3_600_000 * 3_600_000 - 3_600_000;
    let desks = staff(&app, &NAMES[..2], hour - 3_600_000, now).await;
    let list = desks
        .iter()
        .flat_map(|d| [(*d, 3, hour + 600_000), (*d, 1, hour + 1_200_000)])
        .collect();
    rate_at(&app, list, 3).await;
    let (s, b) = app
        .put(
            "/api/v1/notify/secrets",
            json!({ "smtp_password": smtp.password }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = app
        .put(
            "/api/v1/notify",
            json!({
                "email": smtp.config(),
                "alerts": [],
                "reports": [{ "every": "1h", "condition": "always", "channels": ["email"] }],
                "retry_max_secs": 1,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let engine = app.server.as_ref().unwrap().engine.clone();
    engine.notify.reports_due(now).await.unwrap();
    let got = smtp.wait_for(1, Duration::from_secs(40)).await;
    let report = &got[0];
    let attachments = report["attachments"].as_array().unwrap();
    let types: Vec<&str> = attachments
        .iter()
        .map(|a| a["content_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["image/png", "application/pdf"], "{report}");
    let pdf = &attachments[1];
    assert!(
        pdf["filename"]
            .as_str()
            .unwrap()
            .starts_with("otklik-report-"),
        "{pdf}"
    );
    let path = Path::new(pdf["saved"].as_str().unwrap());
    keep("email.pdf", path);
    let (_, plain) = texts(path);
    let flat = squash(&plain);
    // The email's own title, the clinic, the hourly trend, both registrars whole with a page
    // each.
    assert!(flat.starts_with("Отчёт за "), "{flat}");
    assert!(flat.contains("Поликлиника №5"), "{flat}");
    assert!(flat.contains("Довольны по часам"), "{flat}");
    for name in &NAMES[..2] {
        assert!(flat.contains(name), "{name} in {flat}");
    }
    assert!(
        pages(path, 50).len() >= 3,
        "the report and a page per registrar"
    );
    app.stop().await;
}
