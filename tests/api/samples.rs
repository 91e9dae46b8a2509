//! Sample messages for the README, made by the real code path and written to docs/notify/: an
//! engine with four desks and six registrars on shift, Telegram on against the fake Bot API,
//! a paired group, a stand-in camera at one desk, an alert rule on the lowest score and a daily
//! report rule. What the fake Bot API received is written as it came: the alert's photo, HTML
//! caption and buttons (and the voice's caption), the report's chart and HTML.
//! tests/browser/render-samples.mjs draws them as a chat; scripts/notify-samples.sh runs both.
//!
//! Ignored: it takes about two minutes. Sessions cannot start in the past and a rating before
//! its registrar's session has nobody on it, so the ratings are given with `at` between the
//! sessions' start and now, and the report is a `daily@HH:MM` rule closing at the first whole
//! minute at least 100 s after the start: it covers local midnight to then, all of them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use otklik_devices::evidence::camera::JpegSettings;
use otklik_devices::evidence::recorder::DeskDevices;
use otklik_devices::evidence::{Camera, DeviceState, Photo};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::botapi::{BotApi, Call};
use crate::common::App;
use crate::evidence::ToneMic;

const TOKEN: &str = "123456789:AAH-sample-token-value-0000";
const GROUP: i64 = -1_001_987_654_321;
const GROUP_TITLE: &str = "Регистратура и качество";
const CLINIC: &str = "Городская поликлиника №5";
/// Europe/Moscow has been UTC+3 all year since 2014.
const MSK_SECS: i32 = 3 * 3600;
/// The camera desk (index into the desks).
const CAMERA_DESK: usize = 2;

fn msk(at_ms: i64) -> DateTime<FixedOffset> {
    DateTime::from_timestamp_millis(at_ms)
        .unwrap()
        .with_timezone(&FixedOffset::east_opt(MSK_SECS).unwrap())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn sleep_until(at_ms: i64) {
    let wait = at_ms - now_ms();
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// A stand-in camera: a plausible frame of a reception desk, drawn at the moment asked for, with
// the time overlay a CCTV camera burns in.

struct DeskCamera;

impl Camera for DeskCamera {
    fn photo(&self, at: i64, _: &JpegSettings) -> Result<Photo, String> {
        let (width, height) = (640, 480);
        Ok(Photo {
            jpeg: frame(width, height, at),
            taken_at: at,
            width,
            height,
        })
    }

    fn state(&self) -> DeviceState {
        DeviceState::new("connected", "sample camera", None)
    }
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// The scene before the camera's softness and noise: a wall, a glass partition, a registrar
/// behind it with a monitor, the counter with a sheet of paper on it.
fn scene(x: f32, y: f32, w: f32, h: f32) -> [f32; 3] {
    let (u, v) = (x / w, y / h);
    // Wall: warm grey, lit from a ceiling lamp up left.
    let lamp = (-((u - 0.3).powi(2) * 6.0 + v.powi(2) * 3.0)).exp();
    let mut c = mix([178.0, 184.0, 186.0], [214.0, 208.0, 194.0], v * 1.4);
    c = mix(c, [245.0, 240.0, 226.0], lamp * 0.55);
    // Behind the glass: a notice board on the back wall, a monitor side on, the registrar.
    let in_glass = (0.10..0.90).contains(&u) && (0.12..0.63).contains(&v);
    if in_glass {
        if (0.72..0.86).contains(&u) && (0.17..0.31).contains(&v) {
            c = mix(c, [150.0, 175.0, 200.0], 0.75);
            if (0.735..0.845).contains(&u) && (0.19..0.29).contains(&v) {
                c = mix(c, [236.0, 236.0, 230.0], 0.8);
            }
        }
        if (0.67..0.83).contains(&u) && (0.37..0.55).contains(&v) {
            c = [46.0, 50.0, 56.0];
            if (0.68..0.82).contains(&u) && (0.38..0.54).contains(&v) {
                c = mix([58.0, 74.0, 96.0], [90.0, 120.0, 150.0], (u - 0.68) * 6.0);
            }
        }
        if (0.74..0.76).contains(&u) && (0.55..0.63).contains(&v) {
            c = [60.0, 62.0, 66.0];
        }
        // Neck, then the body: a white coat with a blue collar, shoulders widening downwards.
        if (u - 0.42).abs() < 0.022 && (0.40..0.47).contains(&v) {
            c = [212.0, 176.0, 150.0];
        }
        let top = 0.45;
        if v > top {
            let half = 0.12 + (v - top) * 0.5;
            let d = (u - 0.42).abs();
            if d < half.min(0.17) {
                c = mix([236.0, 238.0, 240.0], [205.0, 210.0, 216.0], d / 0.17);
                if d < 0.035 - (v - top) * 0.12 {
                    c = [64.0, 104.0, 152.0];
                }
            }
        }
        // Hair, and the face in front of it below the fringe.
        let (hx, hy) = ((u - 0.42) / 0.058, (v - 0.335) / 0.105);
        if hx * hx + hy * hy < 1.0 && v < 0.43 {
            c = [78.0, 56.0, 44.0];
        }
        let (fx, fy) = ((u - 0.42) / 0.047, (v - 0.355) / 0.085);
        if fx * fx + fy * fy < 1.0 && fy > -0.45 {
            c = mix(
                [228.0, 192.0, 166.0],
                [200.0, 160.0, 134.0],
                (fx + 1.0) / 2.5,
            );
        }
        // The glass: a faint cool tint and a diagonal reflection.
        c = mix(c, [200.0, 222.0, 230.0], 0.10);
        let streak = ((u - 0.55) + (v - 0.2) * 0.6).abs();
        if streak < 0.05 {
            c = mix(c, [250.0, 252.0, 255.0], 0.22 * (1.0 - streak / 0.05));
        }
    }
    // The partition's aluminium frame.
    let frame_u = (0.09..0.10).contains(&u) || (0.90..0.91).contains(&u);
    let frame_v = (0.11..0.12).contains(&v);
    if (frame_u && (0.11..0.63).contains(&v)) || (frame_v && (0.09..0.91).contains(&u)) {
        c = [196.0, 199.0, 203.0];
    }
    if (0.615..0.625).contains(&u) && (0.12..0.63).contains(&v) {
        c = [186.0, 189.0, 193.0];
    }
    // The counter: its top edge, the wood, the front panel.
    if v >= 0.63 {
        c = if v < 0.655 {
            [206.0, 168.0, 124.0]
        } else if v < 0.83 {
            let grain = ((y * 0.9 + (x * 0.02).sin() * 6.0).sin() * 0.5 + 0.5) * 0.12;
            mix(
                [176.0, 130.0, 88.0],
                [150.0, 106.0, 70.0],
                (v - 0.655) * 3.0 + grain,
            )
        } else {
            mix(
                [214.0, 206.0, 192.0],
                [196.0, 188.0, 174.0],
                (v - 0.83) * 5.0,
            )
        };
        // A sheet of paper and a pen on the counter.
        let (pu, pv) = (u - 0.22, v - 0.72);
        let (ru, rv) = (pu * 0.97 + pv * 0.4, pv * 0.97 - pu * 0.25);
        if (0.0..0.11).contains(&ru) && (0.0..0.06).contains(&rv) {
            c = [244.0, 244.0, 240.0];
        }
        if (0.36..0.44).contains(&u) && (0.70..0.71).contains(&v) {
            c = [30.0, 60.0, 140.0];
        }
    }
    c
}

/// 5×7 glyphs of the time overlay.
fn glyph(ch: char) -> [&'static str; 7] {
    match ch {
        '0' => [
            " ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### ",
        ],
        '1' => [
            "  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### ",
        ],
        '2' => [
            " ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####",
        ],
        '3' => [
            "#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### ",
        ],
        '4' => [
            "   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # ",
        ],
        '5' => [
            "#####", "#    ", "#### ", "    #", "    #", "#   #", " ### ",
        ],
        '6' => [
            "  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### ",
        ],
        '7' => [
            "#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   ",
        ],
        '8' => [
            " ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### ",
        ],
        '9' => [
            " ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  ",
        ],
        '-' => [
            "     ", "     ", "     ", "#####", "     ", "     ", "     ",
        ],
        ':' => [
            "     ", " ##  ", " ##  ", "     ", " ##  ", " ##  ", "     ",
        ],
        'C' => [
            " ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### ",
        ],
        'A' => [
            " ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #",
        ],
        'M' => [
            "#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #",
        ],
        _ => ["     "; 7],
    }
}

/// Burns `text` in white on a dark band at (x, y), glyphs scaled by 2.
fn overlay(img: &mut image::RgbImage, x: u32, y: u32, text: &str) {
    let scale = 2;
    let advance = 6 * scale;
    let (bw, bh) = (text.chars().count() as u32 * advance + 8, 7 * scale + 8);
    for py in y..(y + bh).min(img.height()) {
        for px in x..(x + bw).min(img.width()) {
            let p = img.get_pixel_mut(px, py);
            for c in p.0.iter_mut() {
                *c = (f32::from(*c) * 0.45) as u8;
            }
        }
    }
    for (i, ch) in text.chars().enumerate() {
        for (row, bits) in glyph(ch).iter().enumerate() {
            for (col, b) in bits.chars().enumerate() {
                if b != '#' {
                    continue;
                }
                for sy in 0..scale {
                    for sx in 0..scale {
                        let px = x + 4 + i as u32 * advance + col as u32 * scale + sx;
                        let py = y + 4 + row as u32 * scale + sy;
                        if px < img.width() && py < img.height() {
                            img.put_pixel(px, py, image::Rgb([240, 240, 240]));
                        }
                    }
                }
            }
        }
    }
}

/// The camera's JPEG of the desk at `at`: the scene, softened, with sensor noise, darker
/// corners, and the date and time burnt in.
fn frame(width: u32, height: u32, at: i64) -> Vec<u8> {
    let (w, h) = (width as f32, height as f32);
    let sharp = image::Rgb32FImage::from_fn(width, height, |x, y| {
        image::Rgb(scene(x as f32, y as f32, w, h))
    });
    let soft = image::imageops::blur(&sharp, 1.3);
    let mut seed: u32 = 0x2545_f491;
    let mut img = image::RgbImage::from_fn(width, height, |x, y| {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = ((seed >> 24) as f32 / 255.0 - 0.5) * 6.0;
        let (dx, dy) = (x as f32 / w - 0.5, y as f32 / h - 0.5);
        let vignette = 1.0 - (dx * dx + dy * dy) * 0.55;
        let p = soft.get_pixel(x, y).0;
        image::Rgb(p.map(|c| (c * vignette + noise).clamp(0.0, 255.0) as u8))
    });
    let stamp = msk(at).format("%Y-%m-%d %H:%M:%S").to_string();
    overlay(&mut img, 10, 10, &stamp);
    overlay(&mut img, width - 70, height - 32, "CAM3");
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82)
        .encode_image(&img)
        .unwrap();
    out
}

// ---------------------------------------------------------------------------------------------
// What the chat got

/// Seconds of an Ogg/Opus file: the last page's granule position (48 kHz) less the pre-skip.
fn ogg_opus_secs(ogg: &[u8]) -> Option<f64> {
    let head = ogg.windows(8).position(|w| w == b"OpusHead")?;
    let pre_skip = u16::from_le_bytes([*ogg.get(head + 10)?, *ogg.get(head + 11)?]);
    let last = ogg.windows(4).rposition(|w| w == b"OggS")?;
    let granule = u64::from_le_bytes(ogg.get(last + 6..last + 14)?.try_into().ok()?);
    Some(granule.saturating_sub(u64::from(pre_skip)) as f64 / 48_000.0)
}

fn button_rows(call: &Call) -> Value {
    let rows = call
        .reply_markup
        .as_ref()
        .and_then(|m| m["inline_keyboard"].as_array())
        .cloned()
        .unwrap_or_default();
    Value::Array(
        rows.iter()
            .map(|row| {
                Value::Array(
                    row.as_array()
                        .into_iter()
                        .flatten()
                        .map(|b| b["text"].clone())
                        .collect(),
                )
            })
            .collect(),
    )
}

/// The time Telegram would show under the message ("14:05", the clinic's zone).
fn shown_time(bot: &BotApi, call: &Call) -> Value {
    call.message_id
        .and_then(|id| bot.message(GROUP, id))
        .and_then(|m| m["date"].as_i64())
        .map(|secs| json!(msk(secs * 1000).format("%H:%M").to_string()))
        .unwrap_or(Value::Null)
}

fn out_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("docs/notify")
}

fn write(path: PathBuf, bytes: &[u8]) {
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
}

fn write_json(name: &str, v: &Value) {
    let mut text = serde_json::to_string_pretty(v).unwrap();
    text.push('\n');
    write(out_dir().join(name), text.as_bytes());
}

// ---------------------------------------------------------------------------------------------
// The scene

fn ok(what: &str, r: (StatusCode, Value)) -> Value {
    assert!(r.0.is_success(), "{what}: {} {}", r.0, r.1);
    r.1
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "writes docs/notify/ for the README; run by scripts/notify-samples.sh (about 2 min)"]
async fn write_notify_samples() {
    let bot = BotApi::start().await;
    let app = App::start().await;
    ok(
        "settings",
        app.patch(
            "/api/v1/settings",
            json!({
                "language": "ru",
                "clinic_name": CLINIC,
                "timezone": "Europe/Moscow",
                "min_ratings": 1,
                "audio_before_secs": 5,
                "audio_after_secs": 3,
            }),
        )
        .await,
    );

    // The report closes at the first whole minute at least 100 s ahead (Moscow keeps whole
    // hours from UTC, so a UTC minute is a Moscow one).
    let t0 = now_ms();
    let close = ((t0 + 100_000) / 60_000 + 1) * 60_000;
    assert_eq!(
        msk(t0).date_naive(),
        msk(close).date_naive(),
        "too close to midnight in Moscow for a report of the day so far; run again after 00:05 MSK"
    );
    let every = format!("daily@{}", msk(close).format("%H:%M"));

    let mut desks = Vec::new();
    for i in 1..=4 {
        desks.push(app.desk(&format!("Окно {i}")).await);
    }
    let mut regs = Vec::new();
    for name in [
        "Смирнова Ольга",
        "Кузнецова Анна",
        "Иванова Мария",
        "Попова Елена",
        "Соколова Татьяна",
        "Александрова Екатерина",
    ] {
        regs.push(app.registrar(name).await);
    }
    for (d, r) in desks.iter().zip(&regs) {
        app.start_session(*d, *r).await;
    }
    app.server.as_ref().unwrap().engine.evidence.set_devices(
        desks[CAMERA_DESK],
        Some(DeskDevices {
            camera: Some(Ok(Arc::new(DeskCamera))),
            microphone: Some(Ok(Arc::new(ToneMic))),
        }),
    );

    ok(
        "bot token",
        app.put("/api/v1/notify/secrets", json!({ "telegram_token": TOKEN }))
            .await,
    );
    ok(
        "notify config",
        app.put(
            "/api/v1/notify",
            json!({
                "telegram": { "enabled": true, "api_url": bot.url(), "min_interval_ms": 0 },
                "alerts": [{ "scores": [1], "channels": ["telegram"], "escalate_after_mins": 15 }],
                "reports": [{ "every": every, "condition": "always", "channels": ["telegram"] }],
                "link_base": "http://192.168.1.10:8787",
                "retry_max_secs": 1,
            }),
        )
        .await,
    );
    let pairing = ok(
        "pairing code",
        app.post("/api/v1/notify/pairing", json!({})).await,
    );
    let code = pairing["code"].as_str().unwrap().to_string();
    bot.push_message(
        GROUP,
        GROUP_TITLE,
        "Ольга",
        &format!("/pair@otklik_test_bot {code}"),
        None,
    );
    bot.wait_for("the pairing answer", Duration::from_secs(20), |calls| {
        calls
            .iter()
            .any(|c| c.is_delivery() && c.chat_id == Some(GROUP))
    })
    .await;

    // Ratings at each desk, 8 per desk at fixed fractions of the time from the sessions' start to
    // just before the low one at the camera desk (more than 10 s apart at one desk, so three top
    // ratings never fall within the 20 s of a burst); two desks change hands at 3/8 of it, between
    // ratings. They are given at the end, all in the past, then the low one at the camera desk.
    let low_at = close - 15_000;
    let (from, to) = (t0 + 1_500, low_at - 2_000);
    let step = (to - from) / 8;
    assert!(step > 10_100, "ratings at one desk would look like a burst");
    sleep_until(from + 3 * step).await;
    app.start_session(desks[1], regs[4]).await;
    app.start_session(desks[3], regs[5]).await;
    let scores: [[i64; 8]; 4] = [
        [3, 3, 2, 3, 3, 3, 3, 3],
        [3, 2, 3, 3, 3, 3, 2, 3],
        [2, 3, 2, 3, 3, 2, 3, 2],
        [3, 3, 2, 3, 3, 1, 3, 3],
    ];
    let mut planned = Vec::new();
    for (d, row) in scores.iter().enumerate() {
        for (k, score) in row.iter().enumerate() {
            planned.push((from + k as i64 * step + d as i64 * step / 4, d, *score));
        }
    }
    planned.sort();
    sleep_until(low_at).await;
    for (at, d, score) in planned {
        let when = DateTime::from_timestamp_millis(at).unwrap().to_rfc3339();
        let r = ok(
            "rating",
            app.post(
                "/api/v1/ratings",
                json!({ "desk_id": desks[d], "score": score, "at": when }),
            )
            .await,
        );
        assert!(r["registrar_id"].is_i64(), "bound to nobody: {r}");
        assert!(r["flag"].is_null(), "flagged: {r}");
    }
    let low = app.rate(desks[CAMERA_DESK], 1).await;
    assert_eq!(low["registrar_id"], regs[CAMERA_DESK], "{low}");

    // The alert with its photo, then the voice.
    let calls = bot
        .wait_for(
            "the alert with photo and its voice",
            Duration::from_secs(40),
            |calls| {
                calls
                    .iter()
                    .any(|c| c.is_delivery() && c.method == "sendVoice")
            },
        )
        .await;
    let alert = calls
        .iter()
        .find(|c| {
            c.is_delivery()
                && c.method == "sendPhoto"
                && c.callback_data().iter().any(|d| d.starts_with("take:"))
        })
        .expect("the alert went with its photo")
        .clone();
    let voice = calls
        .iter()
        .find(|c| c.is_delivery() && c.method == "sendVoice")
        .unwrap()
        .clone();
    let photo = alert.file.as_ref().unwrap();
    assert!(photo.bytes.starts_with(&[0xff, 0xd8]), "a JPEG");

    // The report after its closing time: the chart, with the text as its caption or after it.
    let wait = (close - now_ms()).max(0) as u64 + 40_000;
    let calls = bot
        .wait_for("the report", Duration::from_millis(wait), |calls| {
            calls.iter().enumerate().any(|(i, c)| {
                c.is_delivery()
                    && c.method == "sendPhoto"
                    && c.file.as_ref().is_some_and(|f| f.name.ends_with(".png"))
                    && (c.text.is_some()
                        || calls[i + 1..]
                            .iter()
                            .any(|n| n.is_delivery() && n.method == "sendMessage"))
            })
        })
        .await;
    let at = calls
        .iter()
        .position(|c| {
            c.is_delivery()
                && c.method == "sendPhoto"
                && c.file.as_ref().is_some_and(|f| f.name.ends_with(".png"))
        })
        .unwrap();
    let chart = calls[at].clone();
    let text = calls[at + 1..]
        .iter()
        .find(|n| n.is_delivery() && n.method == "sendMessage")
        .filter(|_| chart.text.is_none())
        .cloned();
    let report_html = chart
        .text
        .clone()
        .or_else(|| text.as_ref().and_then(|t| t.text.clone()))
        .unwrap();
    for want in [
        CLINIC,
        "Смирнова Ольга",
        "Иванова Мария",
        "Низкие оценки (2)",
    ] {
        assert!(
            report_html.contains(want),
            "{want} missing in:\n{report_html}"
        );
    }

    let dir = out_dir();
    std::fs::create_dir_all(&dir).unwrap();
    write(dir.join("alert-photo.jpg"), &photo.bytes);
    write_json(
        "alert.json",
        &json!({
            "chat": GROUP_TITLE,
            "method": alert.method,
            "parse_mode": alert.parse_mode,
            "caption": alert.text,
            "buttons": button_rows(&alert),
            "photo": { "name": photo.name, "bytes": photo.bytes.len() },
            "time": shown_time(&bot, &alert),
            "voice": {
                "method": voice.method,
                "parse_mode": voice.parse_mode,
                "caption": voice.text,
                "seconds": voice.file.as_ref().and_then(|f| ogg_opus_secs(&f.bytes)),
                "bytes": voice.file.as_ref().map(|f| f.bytes.len()),
                "time": shown_time(&bot, &voice),
            },
        }),
    );
    let png = &chart.file.as_ref().unwrap().bytes;
    write(dir.join("report-chart.png"), png);
    write_json(
        "report.json",
        &json!({
            "chat": GROUP_TITLE,
            "rule": every,
            "chart": {
                "method": chart.method,
                "parse_mode": chart.parse_mode,
                "caption": chart.text,
                "name": chart.file.as_ref().unwrap().name,
                "bytes": png.len(),
                "time": shown_time(&bot, &chart),
            },
            "text": text.as_ref().map(|t| json!({
                "method": t.method,
                "parse_mode": t.parse_mode,
                "text": t.text,
                "time": shown_time(&bot, t),
            })),
        }),
    );
}
