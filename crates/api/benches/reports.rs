//! Reports benchmark: `cargo bench -p otklik-api --bench reports`.
//!
//! Fills (once, then reuses) a data directory with 5 million ratings over four years of a large
//! clinic (`otklik demo`), then times each report on the database on disk: the first run on a
//! fresh connection with the OS page cache dropped where the machine allows it ("cold"), then
//! the median of 5 runs ("warm").

use std::path::Path;
use std::time::{Duration, Instant};

use otklik_domain::time::{Span, now_ms};
use otklik_engine::demo::{DemoOptions, fill_with_progress};
use otklik_reports::figures::{Filter, report};

const RATINGS: u64 = 5_000_000;
const DAYS: u32 = 1460;
const DAY: i64 = 24 * 3_600_000;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data/reports-5m");
    let done = dir.join("filled");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let start = Instant::now();
        let summary = fill_with_progress(
            &dir,
            &DemoOptions {
                ratings: RATINGS,
                days: DAYS,
                seed: 1,
                now: None,
            },
            &mut |_| {},
        )
        .unwrap();
        println!(
            "filled {:?} in {:.0} s",
            summary,
            start.elapsed().as_secs_f64()
        );
        std::fs::write(&done, "").unwrap();
    }
    let db = dir.join("otklik.db");
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let tz: chrono_tz::Tz = "Europe/Moscow".parse().unwrap();
    let now = now_ms();
    println!(
        "Otklik reports benchmark: {RATINGS} ratings over {DAYS} days, database {:.0} MB on disk",
        size as f64 / 1e6
    );
    let cases: [(&str, i64, Filter); 5] = [
        (
            "month, per registrar (and all tables)",
            30,
            Filter {
                registrar_id: None,
                desk_id: None,
            },
        ),
        (
            "month, one registrar",
            30,
            Filter {
                registrar_id: Some(3),
                desk_id: None,
            },
        ),
        (
            "quarter",
            91,
            Filter {
                registrar_id: None,
                desk_id: None,
            },
        ),
        (
            "year",
            365,
            Filter {
                registrar_id: None,
                desk_id: None,
            },
        ),
        (
            "three years (the heaviest)",
            3 * 365,
            Filter {
                registrar_id: None,
                desk_id: None,
            },
        ),
    ];
    let dropped = std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok();
    println!(
        "cold = first run on a fresh connection{}",
        if dropped {
            ", OS page cache dropped"
        } else {
            " (the OS page cache could not be dropped here: it may be warm)"
        }
    );
    for (name, days, filter) in cases {
        let span = Span {
            from: now - days * DAY,
            to: now,
        };
        let _ = dropped && std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok();
        let conn = otklik_store::db::open_reader(&db).unwrap();
        let t = Instant::now();
        let r = report(&conn, span, filter, tz, 3).unwrap();
        let cold = t.elapsed();
        let mut warm: Vec<Duration> = (0..5)
            .map(|_| {
                let t = Instant::now();
                report(&conn, span, filter, tz, 3).unwrap();
                t.elapsed()
            })
            .collect();
        warm.sort();
        println!(
            "{name:<40} {:>9} ratings: cold {:>7.1} ms, warm {:>7.1} ms",
            r.totals.count + r.totals.flagged + r.totals.annulled,
            cold.as_secs_f64() * 1000.0,
            warm[2].as_secs_f64() * 1000.0
        );
    }
}
