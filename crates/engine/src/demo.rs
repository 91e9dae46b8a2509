//! `otklik demo`: fills a fresh data directory with a realistic history, to show the screens and
//! reports without a clinic, and to benchmark with millions of ratings.
//!
//! The history ends now: six desks, twelve registrars, two shifts a day in the clinic's time zone
//! (weekends lighter, Sundays closed or nearly), ratings with a daily rhythm (morning peak, lunch
//! dip, afternoon peak) and a weekly one (Mondays busiest), two excellent and two weak
//! registrars, a few bad days at one desk, a few ratings while nobody was at the desk, a few
//! annulled ratings.
//!
//! Rows are written directly in one transaction, not through the engine's writer (one commit per
//! group of changes would take hours for five million). Every rating is still what the engine
//! would have stored given the same presses: bound to the session open at that desk at that
//! moment, and stored by the engine's own `ratings::append` (chained, flagged `no_session` or
//! `burst` by the same rule, rolled up by the same triggers), so `otklik verify` passes and the
//! engine carries on from the chain's head.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, TransactionBehavior, params};
use serde_json::json;

use crate::engine::DB_FILE;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, now_ms, to_datetime};
use otklik_store::audit;
use otklik_store::db;
use otklik_store::ledger::{ChainState, Link};
use otklik_store::ratings::{self, Rules};
use otklik_store::settings::Settings;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Ratings in all; the history holds exactly this many.
    pub ratings: u64,
    /// Days of history, today included.
    pub days: u32,
    /// The same seed (and the same `now`) gives the same history.
    pub seed: u64,
    /// Where the history ends; `None` = now.
    pub now: Option<Millis>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            ratings: 20_000,
            days: 60,
            seed: 1,
            now: None,
        }
    }
}

/// What `fill` wrote.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub db_path: PathBuf,
    /// Size of the database file when done.
    pub db_bytes: u64,
    pub desks: u64,
    pub registrars: u64,
    pub sessions: u64,
    pub ratings: u64,
    /// Ratings given while nobody had a session open at the desk.
    pub unassigned: u64,
    pub flagged_no_session: u64,
    pub flagged_burst: u64,
    /// Ratings annulled by a supervisor (each with its correction).
    pub annulled: u64,
    /// Days on which one desk had many low ratings.
    pub bad_days: u64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub timezone: String,
    /// Levels of the scale the ratings were given on (the installation's `scale` setting).
    pub scale: u8,
}

/// How far `fill` is; reported once when the writing starts (`written` = 0), then about every
/// hundredth of the way, then at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub written: u64,
    pub total: u64,
}

pub const MAX_RATINGS: u64 = 100_000_000;
pub const MAX_DAYS: u32 = 3650;

const DESKS: usize = 6;
/// How busy each desk is: the first windows are nearest the entrance.
const DESK_LOAD: [f64; DESKS] = [1.15, 1.1, 1.0, 1.0, 0.9, 0.85];
/// Windows 1-4 have button remotes; 5 and 6, newer, a tablet with the patient panel.
const DESK_SOURCE: [&str; DESKS] = ["keys", "keys", "keys", "keys", "panel", "panel"];

/// Registrars, with the shares of bad and middling ratings their patients tend to give (the rest
/// are top ratings): two excellent, two weak, the others in between.
const REGISTRARS: [(&str, f64, f64); 12] = [
    ("Анна Смирнова", 0.015, 0.05),  // excellent
    ("Мария Кузнецова", 0.02, 0.06), // excellent
    ("Елена Иванова", 0.05, 0.12),
    ("Ольга Попова", 0.06, 0.13),
    ("Наталья Васильева", 0.05, 0.15),
    ("Татьяна Петрова", 0.07, 0.14),
    ("Ирина Соколова", 0.06, 0.11),
    ("Светлана Михайлова", 0.08, 0.16),
    ("Екатерина Новикова", 0.07, 0.12),
    ("Дмитрий Фёдоров", 0.06, 0.15),
    ("Юлия Морозова", 0.20, 0.25), // weak
    ("Сергей Волков", 0.24, 0.26), // weak
];
/// A bad day at a desk (a broken queue display, a long wait): many 1s whoever works there.
const BAD_DAY_QUALITY: (f64, f64) = (0.45, 0.25);
/// One bad day in about this many.
const DAYS_PER_BAD_DAY: u32 = 20;

/// Patients per half hour relative to the average, from 07:30 to 20:30 on the wall clock.
const RHYTHM: [f64; 26] = [
    0.3, // 07:30
    0.6, 1.0, 1.4, 1.6, 1.6, 1.5, 1.3, 1.1, // 08:00-11:59, the morning peak
    0.9, 0.6, 0.45, 0.5, // 12:00-13:59, the lunch dip
    0.7, 0.9, 1.1, 1.3, 1.4, 1.45, 1.4, 1.2, // 14:00-17:59, the afternoon peak
    1.0, 0.8, 0.6, 0.4, // 18:00-19:59
    0.2, // 20:00
];
const RHYTHM_FROM: Millis = (7 * 60 + 30) * MINUTE;
const SLOT: Millis = 30 * MINUTE;
/// At peak hours the queue is long and patients are a little less pleased.
const BUSY_RATE: f64 = 1.4;

const MINUTE: Millis = 60_000;
/// Patients at one desk rate at least this far apart (one is served at a time), unless a
/// session holds more ratings than that allows; so the burst rule does not fire by chance.
const MIN_GAP: Millis = 30_000;
/// Ratings with nobody at the desk fall this close to a session: just before the registrar
/// checked in, or after they left.
const NEAR_SESSION: Millis = 30 * MINUTE;

const ANNUL_REASONS: [&str; 5] = [
    "Пациент нажал не ту кнопку",
    "Оценка относилась к врачу, а не к регистратору",
    "Ребёнок нажимал кнопки, пока мама оформляла документы",
    "Проверка кнопки после замены батарейки",
    "Жалоба разобрана: задержка из-за сбоя МИС, регистратор не виновата",
];

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Fills `data_dir` (created if needed) with a demo history; refuses a directory whose database
/// already holds desks, registrars, sessions or ratings, changing nothing.
pub fn fill(data_dir: &Path, opts: &DemoOptions) -> Result<DemoSummary> {
    fill_with_progress(data_dir, opts, &mut |_| {})
}

/// As [`fill`], reporting its progress.
pub fn fill_with_progress(
    data_dir: &Path,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<DemoSummary> {
    if !(1..=MAX_RATINGS).contains(&opts.ratings) {
        return Err(Error::invalid(
            "ratings",
            format!("must be 1 to {}", thousands(MAX_RATINGS)),
        ));
    }
    if !(1..=MAX_DAYS).contains(&opts.days) {
        return Err(Error::invalid("days", format!("must be 1 to {MAX_DAYS}")));
    }
    let path = data_dir.join(DB_FILE);
    // A database with a history is refused before it is even opened for writing, so not even a
    // migration touches it.
    if path.exists() {
        refuse_unless_fresh(&db::open_reader(&path)?, &path)?;
    }
    std::fs::create_dir_all(data_dir).map_err(|e| {
        Error::io(
            format!("cannot create the data directory {}", data_dir.display()),
            e,
        )
    })?;
    let mut conn = db::open_writer(&path)?;
    // A rollback journal instead of WAL while filling: pages appended to a fresh file are not
    // journaled, so millions of rows are written once, not to the WAL and then again to the
    // file, and an interrupted fill rolls back to the empty database. Leaving WAL needs the
    // file to ourselves, which also tells us that no engine is running on it.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
        .unwrap_or_default();
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(Error::Conflict(format!(
            "cannot have {} to myself: is Otklik running on this data directory? Stop it and run the demo again. Nothing changed",
            path.display()
        )));
    }
    // Plenty of cache: the indexes' insertion points stay in memory.
    conn.pragma_update(None, "cache_size", -65_536)?;
    // Each insert into `ratings` runs a trigger (the hourly roll-up), so SQLite keeps a
    // statement journal to undo just that row if it fails. Once one statement's journal outgrows
    // 64 KiB it moves to a temporary file for the rest of the transaction, and every later row
    // then costs a few page writes to it; in memory it costs a copy.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    let written = write_history(&mut conn, &path, opts, progress);
    // Back to the engine's mode whatever happened (a failed fill has been rolled back).
    let back: rusqlite::Result<String> =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0));
    let mut summary = written?;
    back?;
    drop(conn);
    summary.db_bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    Ok(summary)
}

/// As [`fill`], but through a connection already inside a transaction that the caller commits
/// or rolls back: the running engine's writer (`POST /api/v1/demo`), so its screens update live.
/// Refuses, changing nothing, unless the database holds no desks, registrars, sessions or
/// ratings. The caller reloads the hash chain's head (`ChainState::load`) afterwards.
pub fn fill_in(conn: &Connection, opts: &DemoOptions) -> Result<DemoSummary> {
    if !(1..=MAX_RATINGS).contains(&opts.ratings) {
        return Err(Error::invalid(
            "ratings",
            format!("must be 1 to {}", thousands(MAX_RATINGS)),
        ));
    }
    if !(1..=MAX_DAYS).contains(&opts.days) {
        return Err(Error::invalid("days", format!("must be 1 to {MAX_DAYS}")));
    }
    let found = existing(conn)?;
    if !found.is_empty() {
        // Ratings are append-only: demo data mixed into a real history could never be taken out.
        return Err(Error::Conflict(format!(
            "this installation already holds {}; demo data goes only into a fresh one. Nothing changed",
            found.join(", ")
        )));
    }
    let settings = Settings::load(conn)?;
    let levels = settings.scale;
    let now = opts.now.unwrap_or_else(now_ms);
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let plan = plan(opts, settings.tz(), levels, now, &mut rng)?;
    let written = write_rows(conn, &plan, &settings, now, &mut rng, opts, &mut |_| {})?;
    Ok(summary(PathBuf::new(), &plan, &written, &settings))
}

/// What the database already holds that a demo history would be mixed into.
fn existing(conn: &Connection) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for (table, what) in [
        ("ratings", "ratings"),
        ("work_sessions", "work sessions"),
        ("registrars", "registrars"),
        ("desks", "desks"),
    ] {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [table],
            |r| r.get(0),
        )?;
        if !exists {
            continue;
        }
        let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        if n > 0 {
            found.push(format!("{} {what}", thousands(n as u64)));
        }
    }
    Ok(found)
}

fn refuse_unless_fresh(conn: &Connection, path: &Path) -> Result<()> {
    let found = existing(conn)?;
    if found.is_empty() {
        return Ok(());
    }
    // Ratings are append-only: demo data mixed into a real history could never be taken out.
    Err(Error::Conflict(format!(
        "{} already holds {}; `otklik demo` fills only a fresh data directory. Nothing changed",
        path.display(),
        found.join(", ")
    )))
}

/// One calendar day of the history.
struct Day {
    date: NaiveDate,
    /// The instant the wall clock would have shown 00:00 had the day's offset held since
    /// midnight (it holds across working hours), so that ms after it = wall-clock time.
    wall_origin: Millis,
    /// How busy an open desk is on this day of the week.
    load: f64,
}

struct Session {
    id: i64,
    day: usize,
    desk: usize,
    registrar: usize,
    start: Millis,
    end: Millis,
    /// Still open now: stored with no end.
    open: bool,
    /// Ratings allotted to it.
    ratings: u64,
    /// A bad day at its desk.
    bad: bool,
}

impl Session {
    /// Where its ratings may fall: from its start until its end, or until a second ago.
    fn span(&self, now: Millis) -> (Millis, Millis) {
        (self.start, if self.open { now - 1000 } else { self.end })
    }
}

/// A rating before it gets its id.
#[derive(Debug, Clone, Copy)]
struct Planned {
    day: usize,
    desk: usize,
    at: Millis,
    /// (session id, registrar id), or none if nobody was at the desk.
    session: Option<(i64, i64)>,
    score: u8,
}

/// The instant of a wall-clock time on a date; in a DST gap, the first instant after it.
fn local_ms(tz: Tz, date: NaiveDate, minutes: i64) -> Millis {
    let mut t = date.and_time(NaiveTime::MIN) + Duration::minutes(minutes);
    for _ in 0..16 {
        if let Some(d) = tz.from_local_datetime(&t).earliest() {
            return d.timestamp_millis();
        }
        t += Duration::minutes(15);
    }
    t.and_utc().timestamp_millis()
}

/// Desks open in the morning and in the afternoon shift, and how busy each open desk is.
fn staffing(day: Weekday, rng: &mut StdRng) -> (usize, usize, f64) {
    match day {
        Weekday::Mon => (6, 6, 1.3),
        Weekday::Tue => (6, rng.random_range(5..=6), 1.1),
        Weekday::Wed | Weekday::Thu => (rng.random_range(5..=6), 5, 1.0),
        Weekday::Fri => (5, 4, 0.9),
        Weekday::Sat => (3, 2, 0.75),
        // Closed; now and then one desk opens in the morning (a check-up day, say).
        Weekday::Sun => (usize::from(rng.random_bool(0.25)), 0, 0.5),
    }
}

/// The parts of `[a, b)` (ms after the wall clock's midnight) in each half hour of the rhythm,
/// with that half hour's rate.
fn rhythm_pieces(a: Millis, b: Millis) -> impl Iterator<Item = (Millis, Millis, f64)> {
    RHYTHM.iter().enumerate().filter_map(move |(k, &rate)| {
        let from = (RHYTHM_FROM + k as Millis * SLOT).max(a);
        let to = (RHYTHM_FROM + (k as Millis + 1) * SLOT).min(b);
        (from < to).then_some((from, to, rate))
    })
}

/// How many patients `[a, b)` brings, relatively.
fn rhythm_weight(a: Millis, b: Millis) -> f64 {
    rhythm_pieces(a, b)
        .map(|(from, to, rate)| (to - from) as f64 * rate)
        .sum()
}

/// A moment in `[a, b)` drawn with the rhythm's density.
fn rhythm_draw(a: Millis, b: Millis, total: f64, rng: &mut StdRng) -> f64 {
    if total <= 0.0 {
        return a as f64 + rng.random::<f64>() * (b - a) as f64;
    }
    let mut u = rng.random::<f64>() * total;
    for (from, to, rate) in rhythm_pieces(a, b) {
        let w = (to - from) as f64 * rate;
        if u < w {
            return from as f64 + u / rate;
        }
        u -= w;
    }
    (b - 1) as f64
}

fn rhythm_rate(wall: Millis) -> f64 {
    let k = (wall - RHYTHM_FROM).div_euclid(SLOT);
    usize::try_from(k)
        .ok()
        .and_then(|k| RHYTHM.get(k))
        .copied()
        .unwrap_or(0.0)
}

/// Pushes sorted instants at least `gap` apart within `[a, b]`; needs `(n - 1) * gap <= b - a`.
fn space_out(times: &mut [f64], a: f64, b: f64, gap: f64) {
    let mut floor = a;
    for t in times.iter_mut() {
        *t = t.max(floor);
        floor = *t + gap;
    }
    let mut ceiling = b;
    for t in times.iter_mut().rev() {
        *t = t.min(ceiling);
        ceiling = *t - gap;
    }
}

/// Splits `total` in proportion to `weights`, exactly (largest remainders get the rest).
fn apportion(weights: &[f64], total: u64) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let shares: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut counts: Vec<u64> = shares.iter().map(|s| s.floor() as u64).collect();
    let given: u64 = counts.iter().sum();
    // Only where there is room: a session with no hours left gets none.
    let mut order: Vec<usize> = (0..weights.len()).filter(|&i| weights[i] > 0.0).collect();
    order.sort_by(|&i, &j| {
        let (fi, fj) = (shares[i] - shares[i].floor(), shares[j] - shares[j].floor());
        fj.total_cmp(&fi).then(i.cmp(&j))
    });
    for &i in order
        .iter()
        .cycle()
        .take(total.saturating_sub(given) as usize)
    {
        counts[i] += 1;
    }
    counts
}

/// A rating on the usual 3-level scale (1 bad, 2 middling, 3 top) given on a `levels` scale: the
/// ends stay mostly at the ends, the middle spreads over the middle levels.
fn on_scale(score3: u8, levels: u8, rng: &mut StdRng) -> u8 {
    match (score3, levels) {
        (_, 3) => score3,
        (1, l) if l >= 5 && rng.random_bool(0.3) => 2,
        (1, _) => 1,
        (3, l) if rng.random_bool(0.25) => l - 1,
        (3, l) => l,
        (_, l) => rng.random_range(2..l),
    }
}

fn draw_score(quality: (f64, f64), busy: bool, levels: u8, rng: &mut StdRng) -> u8 {
    let (mut bad, mut middling) = quality;
    if busy {
        bad += 0.02;
        middling += 0.03;
    }
    let u = rng.random::<f64>();
    let score3 = if u < bad {
        1
    } else if u < bad + middling {
        2
    } else {
        3
    };
    on_scale(score3, levels, rng)
}

/// The calendar, the shifts and where ratings go, before anything is written.
struct Plan {
    days: Vec<Day>,
    /// In order of start, ids 1, 2, ...
    sessions: Vec<Session>,
    /// Ratings with nobody at the desk, in time order.
    unassigned: Vec<Planned>,
    /// After each of these rating ids, the next low rating bound to a registrar gets annulled
    /// (a supervisor upheld a registrar's complaint about it).
    annul_after: Vec<i64>,
    bad_days: u64,
}

fn plan(opts: &DemoOptions, tz: Tz, levels: u8, now: Millis, rng: &mut StdRng) -> Result<Plan> {
    let today = to_datetime(now).with_timezone(&tz).date_naive();
    let mut days: Vec<Day> = (0..opts.days)
        .rev()
        .map(|back| {
            let date = today - Duration::days(i64::from(back));
            Day {
                date,
                wall_origin: local_ms(tz, date, 12 * 60) - 12 * 60 * MINUTE,
                load: 0.0,
            }
        })
        .collect();

    // Shifts: whoever has worked the fewest shifts so far comes in (ties drawn by lot), nobody
    // twice a day; each registrar opens a desk a few minutes around 08:00 or just after 14:00.
    let mut sessions = Vec::new();
    let mut worked = [0u32; REGISTRARS.len()];
    for (d, day) in days.iter_mut().enumerate() {
        let (morning, afternoon, load) = staffing(day.date.weekday(), rng);
        day.load = load;
        let mut keyed: Vec<(u32, u32, usize)> = (0..REGISTRARS.len())
            .map(|r| (worked[r], rng.random(), r))
            .collect();
        keyed.sort_unstable();
        let mut people = keyed.into_iter().map(|k| k.2);
        for (afternoon_shift, desks) in [(false, morning), (true, afternoon)] {
            for desk in 0..desks {
                let registrar = people
                    .next()
                    .expect("12 registrars for at most 12 desk shifts");
                worked[registrar] += 1;
                // Minutes after midnight; the morning ends before 14:00, the afternoon starts
                // at 14:00 or later, so sessions at one desk never overlap.
                let (from, to) = if afternoon_shift {
                    (
                        14 * 60 + rng.random_range(0..=6),
                        20 * 60 + rng.random_range(-5..=12),
                    )
                } else {
                    (
                        8 * 60 + rng.random_range(-8..=5),
                        13 * 60 + rng.random_range(53..=59),
                    )
                };
                let start = local_ms(tz, day.date, from) + rng.random_range(0..MINUTE);
                let end = local_ms(tz, day.date, to) + rng.random_range(0..MINUTE);
                if start >= now {
                    continue; // not begun yet
                }
                sessions.push(Session {
                    id: 0,
                    day: d,
                    desk,
                    registrar,
                    start,
                    end,
                    open: end > now,
                    ratings: 0,
                    bad: false,
                });
            }
        }
    }
    sessions.sort_by_key(|s| (s.start, s.desk));
    for (i, s) in sessions.iter_mut().enumerate() {
        s.id = i as i64 + 1;
    }

    // Bad days: one desk, a whole day (both shifts), not today.
    let mut worked_days: Vec<usize> = sessions.iter().map(|s| s.day).collect();
    worked_days.dedup();
    if worked_days.len() > 1 {
        worked_days.retain(|&d| d + 1 < days.len());
    }
    let mut bad_days = 0;
    for _ in 0..opts.days.div_ceil(DAYS_PER_BAD_DAY) {
        if worked_days.is_empty() {
            break;
        }
        let day = worked_days.swap_remove(rng.random_range(0..worked_days.len()));
        let that_day: Vec<usize> = (0..sessions.len())
            .filter(|&i| sessions[i].day == day)
            .collect();
        let desk = sessions[that_day[rng.random_range(0..that_day.len())]].desk;
        for i in that_day {
            if sessions[i].desk == desk {
                sessions[i].bad = true;
            }
        }
        bad_days += 1;
    }

    // Nobody at the desk: shortly before a registrar checked in or after they left.
    let mut near: Vec<(usize, usize, Millis, Millis)> = Vec::new();
    for desk in 0..DESKS {
        let at_desk: Vec<&Session> = sessions.iter().filter(|s| s.desk == desk).collect();
        for (i, s) in at_desk.iter().enumerate() {
            let previous_end = if i > 0 {
                at_desk[i - 1].end
            } else {
                Millis::MIN
            };
            let from = (s.start - NEAR_SESSION).max(previous_end);
            if from < s.start {
                near.push((s.day, desk, from, s.start));
            }
            if !s.open {
                let next_start = at_desk.get(i + 1).map_or(Millis::MAX, |n| n.start);
                let to = (s.end + NEAR_SESSION).min(next_start).min(now - 1000);
                if s.end < to {
                    near.push((s.day, desk, s.end, to));
                }
            }
        }
    }
    let wanted = (opts.ratings / 1000).max(3).min(opts.ratings / 10);
    let mut unassigned = Vec::new();
    let gaps: Vec<Millis> = near
        .iter()
        .scan(0, |sum, &(_, _, from, to)| {
            *sum += to - from;
            Some(*sum)
        })
        .collect();
    if let Some(&total_gap) = gaps.last() {
        for i in 0..wanted {
            let x = rng.random_range(0..total_gap);
            let (day, desk, from, to) = near[gaps.partition_point(|&g| g <= x)];
            let at = rng.random_range(from..to);
            // Half are top ratings: a registrar pressing green for themselves before checking
            // in is what the `no_session` flag is for; the rest, patients at an empty desk.
            unassigned.push(Planned {
                day,
                desk,
                at,
                session: None,
                score: if i % 2 == 0 {
                    levels
                } else {
                    rng.random_range(1..levels)
                },
            });
        }
    }
    unassigned.sort_by_key(|p| (p.at, p.desk));

    // Ratings per session: the desk's load that day times the rhythm over its hours, with a
    // little day-to-day noise; exactly the number asked for in all.
    let weights: Vec<f64> = sessions
        .iter()
        .map(|s| {
            let day = &days[s.day];
            let (a, b) = s.span(now);
            let w = rhythm_weight(a - day.wall_origin, b - day.wall_origin);
            day.load * DESK_LOAD[s.desk] * w * rng.random_range(0.85..1.15)
        })
        .collect();
    if weights.iter().sum::<f64>() <= 0.0 {
        return Err(Error::invalid(
            "days",
            format!(
                "the last {} days hold no working hours yet (the desks open at 08:00, Sundays are closed); ask for more days",
                opts.days
            ),
        ));
    }
    let in_sessions = opts.ratings - unassigned.len() as u64;
    for (s, n) in sessions.iter_mut().zip(apportion(&weights, in_sessions)) {
        s.ratings = n;
    }

    let annulments = (opts.ratings / 2000).max(3).min(opts.ratings / 20);
    let mut annul_after: Vec<i64> = (0..annulments)
        .map(|_| rng.random_range(1..=opts.ratings as i64))
        .collect();
    annul_after.sort_unstable();

    Ok(Plan {
        days,
        sessions,
        unassigned,
        annul_after,
        bad_days,
    })
}

/// A session's ratings: drawn with the day's rhythm over its hours, one patient at a time.
fn session_ratings(
    s: &Session,
    day: &Day,
    levels: u8,
    now: Millis,
    rng: &mut StdRng,
    out: &mut Vec<Planned>,
) {
    if s.ratings == 0 {
        return;
    }
    let n = s.ratings as usize;
    let (from, to) = s.span(now);
    // Wall-clock ms after midnight, as the rhythm is given.
    let (a, b) = (from - day.wall_origin, to - day.wall_origin);
    let last = b - 1;
    let total = rhythm_weight(a, b);
    let mut times: Vec<f64> = (0..n).map(|_| rhythm_draw(a, b, total, rng)).collect();
    times.sort_unstable_by(f64::total_cmp);
    let gap = (MIN_GAP as f64).min((last - a) as f64 / (2 * n) as f64);
    space_out(&mut times, a as f64, last as f64, gap);
    let quality = if s.bad {
        BAD_DAY_QUALITY
    } else {
        let (_, bad, middling) = REGISTRARS[s.registrar];
        (bad, middling)
    };
    for t in times {
        let wall = (t.floor() as Millis).clamp(a, last);
        let busy = rhythm_rate(wall) >= BUSY_RATE;
        out.push(Planned {
            day: s.day,
            desk: s.desk,
            at: wall + day.wall_origin,
            session: Some((s.id, s.registrar as i64 + 1)),
            score: draw_score(quality, busy, levels, rng),
        });
    }
}

#[derive(Default)]
struct Written {
    ratings: u64,
    no_session: u64,
    burst: u64,
    annulled: u64,
}

fn write_history(
    conn: &mut Connection,
    path: &Path,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<DemoSummary> {
    let settings = Settings::load(conn)?;
    let tz = settings.tz();
    let levels = settings.scale;
    let now = opts.now.unwrap_or_else(now_ms);
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    // Again inside the transaction, so nothing can have slipped in since the first look.
    refuse_unless_fresh(&tx, path)?;
    let plan = plan(opts, tz, levels, now, &mut rng)?;
    progress(Progress {
        written: 0,
        total: opts.ratings,
    });
    let written = write_rows(&tx, &plan, &settings, now, &mut rng, opts, progress)?;
    tx.commit()?;
    Ok(summary(path.to_path_buf(), &plan, &written, &settings))
}

/// What a fill made (`db_bytes` is for the caller to measure).
fn summary(db_path: PathBuf, plan: &Plan, written: &Written, settings: &Settings) -> DemoSummary {
    DemoSummary {
        db_path,
        db_bytes: 0,
        desks: DESKS as u64,
        registrars: REGISTRARS.len() as u64,
        sessions: plan.sessions.len() as u64,
        ratings: written.ratings,
        unassigned: plan.unassigned.len() as u64,
        flagged_no_session: written.no_session,
        flagged_burst: written.burst,
        annulled: written.annulled,
        bad_days: plan.bad_days,
        first_day: plan.days[0].date,
        last_day: plan.days[plan.days.len() - 1].date,
        timezone: settings.timezone.clone(),
        scale: settings.scale,
    }
}

fn write_rows(
    tx: &Connection,
    plan: &Plan,
    settings: &Settings,
    now: Millis,
    rng: &mut StdRng,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Written> {
    let levels = settings.scale;
    // The rules the engine's writer hands to `ratings::add`.
    let rules = Rules::from_settings(settings);
    let tz = settings.tz();

    // Desks and registrars a month before the history begins.
    let created = local_ms(tz, plan.days[0].date, 0) - 30 * 24 * 60 * MINUTE;
    let mut desk =
        tx.prepare("INSERT INTO desks (id, name, active, created_at) VALUES (?1, ?2, 1, ?3)")?;
    for i in 1..=DESKS {
        desk.execute(params![i as i64, format!("Окно {i}"), created])?;
    }
    let mut registrar =
        tx.prepare("INSERT INTO registrars (id, name, active, created_at) VALUES (?1, ?2, 1, ?3)")?;
    for (i, (name, _, _)) in REGISTRARS.iter().enumerate() {
        registrar.execute(params![i as i64 + 1, name, created])?;
    }
    let mut session = tx.prepare(
        "INSERT INTO work_sessions (id, desk_id, registrar_id, started_at, ended_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for s in &plan.sessions {
        let end = (!s.open).then_some(s.end);
        session.execute(params![
            s.id,
            s.desk as i64 + 1,
            s.registrar as i64 + 1,
            s.start,
            end
        ])?;
    }

    let total = opts.ratings;
    let step = (total / 100).max(1);
    let mut written = Written::default();
    // The history is the first thing in the database: the chain starts here.
    let mut chain = ChainState::default();
    // Written in time order into an empty table: the burst window is counted in memory.
    let mut window = ratings::InOrder::default();
    let mut id: i64 = 0;
    let (mut annul_next, mut annul_pending) = (0, 0);
    let mut to_annul: Vec<(i64, Millis)> = Vec::new();
    let mut sessions = plan.sessions.iter().peekable();
    let mut unassigned = plan.unassigned.iter().peekable();
    let mut day_ratings: Vec<Planned> = Vec::new();
    // Reasons for about half the low ratings, the queue and waiting most often: drawn from a
    // stream of their own, so the same seed still gives the same ratings as before reasons.
    let mut reason_rng = StdRng::seed_from_u64(opts.seed ^ 0x5245_4153_4f4e);
    let reason_list: &[otklik_store::reasons::ReasonDef] = if settings.reasons_enabled {
        &settings.reasons
    } else {
        &[]
    };
    let mut reason_stmt = tx.prepare(
        "INSERT INTO rating_reasons (rating_id, code, label, picked_at, via) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    // A day at a time, to keep memory small however long the history.
    for (d, day) in plan.days.iter().enumerate() {
        day_ratings.clear();
        while let Some(s) = sessions.next_if(|s| s.day == d) {
            session_ratings(s, day, levels, now, rng, &mut day_ratings);
        }
        while let Some(u) = unassigned.next_if(|u| u.day == d) {
            day_ratings.push(*u);
        }
        // In the order the presses came in; ids follow time.
        day_ratings.sort_unstable_by_key(|p| (p.at, p.desk));
        for p in &day_ratings {
            id += 1;
            // Stored a few ms after the press, as by the engine.
            let received_at = p.at + rng.random_range(2..40);
            let link = Link {
                id,
                desk_id: p.desk as i64 + 1,
                score: i64::from(p.score),
                scale: i64::from(levels),
                source: DESK_SOURCE[p.desk],
                at: p.at,
                received_at,
                registrar_id: p.session.map(|s| s.1),
                session_id: p.session.map(|s| s.0),
            };
            if let Some(reason) =
                ratings::append(tx, &mut chain, &link, rules, Some(&mut window), false)?
            {
                if reason == "burst" {
                    written.burst += 1;
                } else {
                    written.no_session += 1;
                }
            }
            if !reason_list.is_empty()
                && otklik_store::contests::is_low(link.score, link.scale, levels)
                && reason_rng.random_bool(0.55)
            {
                // The first reasons of the list twice as likely as the rest.
                let weights: Vec<usize> = (0..reason_list.len())
                    .map(|i| if i < 2 { 2 } else { 1 })
                    .collect();
                let mut u = reason_rng.random_range(0..weights.iter().sum::<usize>());
                let pick = weights
                    .iter()
                    .position(|&w| {
                        let hit = u < w;
                        u = u.saturating_sub(w);
                        hit
                    })
                    .unwrap_or(0);
                let r = &reason_list[pick];
                let via = if link.source == "panel" {
                    "patient_panel"
                } else {
                    "registrar_panel"
                };
                reason_stmt.execute(params![
                    id,
                    r.code,
                    r.labels.of(settings.language),
                    received_at + reason_rng.random_range(2_000..12_000),
                    via
                ])?;
            }
            while plan
                .annul_after
                .get(annul_next)
                .is_some_and(|&after| after <= id)
            {
                annul_pending += 1;
                annul_next += 1;
            }
            if annul_pending > 0 && p.score == 1 && p.session.is_some() {
                to_annul.push((id, p.at));
                annul_pending -= 1;
            }
            if (id as u64).is_multiple_of(step) {
                progress(Progress {
                    written: id as u64,
                    total,
                });
            }
        }
    }
    written.ratings = id as u64;

    // Annulments as `ratings::correct` records them: the correction, the annulled mark and the
    // audit entry, a while after the rating (a supervisor looked into it), in time order.
    let mut corrections: Vec<(Millis, i64, &str)> = to_annul
        .iter()
        .map(|&(rating_id, at)| {
            let later = at + rng.random_range(20 * MINUTE..3 * 24 * 60 * MINUTE);
            let reason = ANNUL_REASONS[rng.random_range(0..ANNUL_REASONS.len())];
            (later.min(now).max(at), rating_id, reason)
        })
        .collect();
    corrections.sort_unstable();
    let mut correction = tx.prepare(
        "INSERT INTO rating_corrections (rating_id, action, reason, actor, at) VALUES (?1, 'annul', ?2, 'console', ?3)",
    )?;
    let mut annulled = tx.prepare("INSERT INTO annulled_ratings (rating_id) VALUES (?1)")?;
    for &(at, rating_id, reason) in &corrections {
        correction.execute(params![rating_id, reason, at])?;
        annulled.execute([rating_id])?;
        audit::record(
            tx,
            at,
            "console",
            "rating.annul",
            "rating",
            Some(rating_id),
            json!({ "reason": reason }),
        )?;
    }
    written.annulled = corrections.len() as u64;
    chain.save(tx)?;

    audit::record(
        tx,
        now,
        "demo",
        "demo.fill",
        "ratings",
        None,
        json!({
            "ratings": written.ratings,
            "days": opts.days,
            "seed": opts.seed,
            "desks": DESKS,
            "registrars": REGISTRARS.len(),
            "sessions": plan.sessions.len(),
            "unassigned": plan.unassigned.len(),
            "flagged": { "no_session": written.no_session, "burst": written.burst },
            "annulled": written.annulled,
            "bad_days": plan.bad_days,
            "timezone": settings.timezone,
            "scale": levels,
        }),
    )?;
    progress(Progress {
        written: written.ratings,
        total,
    });
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(5_000_000), "5,000,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn apportioning_gives_exactly_the_total() {
        let counts = apportion(&[1.0, 1.0, 1.0], 10);
        assert_eq!(counts.iter().sum::<u64>(), 10);
        assert!(counts.iter().all(|&c| c == 3 || c == 4));
        assert_eq!(apportion(&[0.0, 2.0, 1.0], 7), [0, 5, 2]);
        assert_eq!(apportion(&[0.0, 0.0], 5), [0, 0]);
    }

    #[test]
    fn spaced_instants_keep_their_bounds_and_gap() {
        let mut rng = StdRng::seed_from_u64(7);
        for n in [1, 2, 10, 500] {
            let (a, b) = (1_000.0, 100_000.0);
            let gap = 30_000f64.min((b - a) / (2 * n) as f64);
            let mut times: Vec<f64> = (0..n).map(|_| a + rng.random::<f64>() * (b - a)).collect();
            times.sort_unstable_by(f64::total_cmp);
            space_out(&mut times, a, b, gap);
            assert!(times.iter().all(|&t| (a..=b).contains(&t)), "{n}");
            assert!(times.windows(2).all(|w| w[1] - w[0] >= gap - 1e-6), "{n}");
        }
    }

    #[test]
    fn the_rhythm_has_its_peaks_and_dip() {
        let at = |h: i64, m: i64| rhythm_rate((h * 60 + m) * MINUTE);
        assert!(at(10, 0) > at(13, 0) && at(16, 30) > at(13, 0));
        assert_eq!(at(6, 0), 0.0);
        // A draw falls in the span, and where patients come.
        let mut rng = StdRng::seed_from_u64(1);
        let (a, b) = (8 * 60 * MINUTE, 14 * 60 * MINUTE);
        let w = rhythm_weight(a, b);
        let draws: Vec<f64> = (0..2000).map(|_| rhythm_draw(a, b, w, &mut rng)).collect();
        assert!(draws.iter().all(|&t| t >= a as f64 && t < b as f64));
        let in_peak = draws
            .iter()
            .filter(|&&t| t < (11 * 60) as f64 * MINUTE as f64)
            .count();
        assert!(in_peak > 1100, "{in_peak} of 2000 before 11:00");
    }
}
