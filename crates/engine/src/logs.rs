//! Logging: structured lines (`time LEVEL target: message key=value ...`) to stderr and, once the
//! data directory is known, to one file a day in `<data dir>/logs/otklik-YYYY-MM-DD.log` (the
//! clinic's local date). Files older than the `log_keep_days` setting are deleted at start and
//! daily. Plain lines rather than JSON: the person reading them is usually a clinic's IT person
//! with a text editor, and `key=value` fields still grep and parse well.
//!
//! Secrets are kept out of log lines where they are made (tokens and passwords are never passed
//! to a log macro; errors that could carry them are scrubbed first). As a second line of
//! defence, every line is checked against the secrets the engine knows (refreshed every minute)
//! and any found is replaced by `[secret removed]` before it is written anywhere.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, Once, RwLock};

use chrono::NaiveDate;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The environment variable with the log filter (`info` when unset), e.g. `debug` or
/// `info,otklik=debug`.
pub const ENV: &str = "OTKLIK_LOG";
/// Secrets shorter than this are not searched for: they would match ordinary words and numbers.
pub const MIN_SECRET_LEN: usize = 8;
const REMOVED: &str = "[secret removed]";

struct Sink {
    file: Mutex<Option<DayFile>>,
    /// Per data directory (tests run several engines in one process).
    secrets: RwLock<HashMap<PathBuf, Vec<String>>>,
}

struct DayFile {
    dir: PathBuf,
    day: NaiveDate,
    file: File,
}

static SINK: LazyLock<Sink> = LazyLock::new(|| Sink {
    file: Mutex::new(None),
    secrets: RwLock::new(HashMap::new()),
});
static INIT: Once = Once::new();

/// `<data dir>/logs`.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

fn file_name(day: NaiveDate) -> String {
    format!("otklik-{}.log", day.format("%Y-%m-%d"))
}

/// The day of a log file from its name; `None` for any other file.
pub fn file_day(name: &str) -> Option<NaiveDate> {
    let date = name.strip_prefix("otklik-")?.strip_suffix(".log")?;
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// The log files in `dir`, oldest first.
pub fn files(dir: &Path) -> Vec<(NaiveDate, PathBuf)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let day = file_day(&e.file_name().to_string_lossy())?;
            Some((day, e.path()))
        })
        .collect();
    out.sort();
    out
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// Installs the logger: stderr now, the file once [`init`] names the data directory. Later
/// calls do nothing.
pub fn init_subscriber() {
    INIT.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env(ENV)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let stderr = tracing_subscriber::fmt::layer()
            .with_timer(LocalTime)
            .with_writer(Redacting(std::io::stderr));
        let file = tracing_subscriber::fmt::layer()
            .with_timer(LocalTime)
            .with_ansi(false)
            .with_writer(Redacting(|| FileWriter));
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(stderr)
            .with(file)
            .try_init();
    });
}

/// Starts writing the log into `<data dir>/logs/` as well (installing the logger if needed).
/// Call it before [`crate::Engine::open`], so the start itself is in the file.
pub fn init(data_dir: &Path) {
    init_subscriber();
    let dir = log_dir(data_dir);
    let day = today();
    match open_day(&dir, day) {
        Ok(file) => {
            *SINK.file.lock().unwrap_or_else(|e| e.into_inner()) = Some(DayFile {
                dir: dir.clone(),
                day,
                file,
            });
            tracing::info!(dir = %dir.display(), version = env!("CARGO_PKG_VERSION"), "logging to files");
        }
        Err(e) => {
            tracing::warn!(dir = %dir.display(), %e, "cannot write log files; logging to stderr only")
        }
    }
}

fn open_day(dir: &Path, day: NaiveDate) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(file_name(day)))
}

/// Deletes log files more than `keep_days` days old (today's is day 0); returns how many.
pub fn prune(dir: &Path, keep_days: u32) -> usize {
    let oldest = today() - chrono::Days::new(u64::from(keep_days.max(1)));
    let mut n = 0;
    for (day, path) in files(dir) {
        if day < oldest {
            match std::fs::remove_file(&path) {
                Ok(()) => n += 1,
                Err(e) => {
                    tracing::warn!(path = %path.display(), %e, "cannot delete an old log file")
                }
            }
        }
    }
    if n > 0 {
        tracing::info!(files = n, keep_days, "old log files deleted");
    }
    n
}

/// The secrets to remove from log lines for this data directory (replacing the last list).
pub fn set_secrets(data_dir: &Path, secrets: Vec<String>) {
    let secrets: Vec<String> = secrets
        .into_iter()
        .filter(|s| s.len() >= MIN_SECRET_LEN)
        .collect();
    SINK.secrets
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(data_dir.to_path_buf(), secrets);
}

/// `text` with every known secret replaced.
pub fn redact(text: &[u8]) -> Cow<'_, [u8]> {
    let all = SINK.secrets.read().unwrap_or_else(|e| e.into_inner());
    let mut out: Option<String> = None;
    for secret in all.values().flatten() {
        let current: &str = match &out {
            Some(s) => s,
            None => match std::str::from_utf8(text) {
                Ok(s) => s,
                Err(_) => return Cow::Borrowed(text),
            },
        };
        if current.contains(secret.as_str()) {
            out = Some(current.replace(secret.as_str(), REMOVED));
        }
    }
    match out {
        Some(s) => Cow::Owned(s.into_bytes()),
        None => Cow::Borrowed(text),
    }
}

/// Local time with its offset, to the millisecond: what the clinic's clocks showed.
struct LocalTime;

impl FormatTime for LocalTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        write!(
            w,
            "{}",
            chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        )
    }
}

/// Removes secrets from each line before the inner writer sees it. The formatter hands over
/// one whole event per `write`.
struct Redacting<M>(M);

struct RedactingWriter<W>(W);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(&redact(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Today's log file; a new one after local midnight. Lines are written unbuffered, so a crash
/// loses none.
struct FileWriter;

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut guard = SINK.file.lock().unwrap_or_else(|e| e.into_inner());
        let Some(current) = guard.as_mut() else {
            return Ok(buf.len());
        };
        let day = today();
        if day != current.day
            && let Ok(file) = open_day(&current.dir, day)
        {
            current.file = file;
            current.day = day;
        }
        // A full disk must not take the engine down: the line is lost, nothing else.
        let _ = current.file.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_their_day() {
        let day = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        assert_eq!(file_day(&file_name(day)), Some(day));
        assert_eq!(file_day("otklik-2025-13-01.log"), None);
        assert_eq!(file_day("other.log"), None);
    }

    #[test]
    fn old_files_are_pruned_and_others_left() {
        let dir = tempfile::tempdir().unwrap();
        let t = today();
        for age in [0u64, 1, 13, 14, 15, 40] {
            std::fs::write(dir.path().join(file_name(t - chrono::Days::new(age))), "x").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        assert_eq!(prune(dir.path(), 14), 2);
        let left: Vec<_> = files(dir.path()).into_iter().map(|(d, _)| d).collect();
        assert_eq!(left.len(), 4);
        assert!(left.contains(&(t - chrono::Days::new(14))));
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn known_secrets_are_removed_from_lines() {
        let key = Path::new("/nonexistent/redact-test");
        set_secrets(key, vec!["s3cret-Value-123".into(), "short".into()]);
        let line = b"error sending to http://x/bots3cret-Value-123/send: short";
        let out = redact(line);
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("s3cret-Value-123"), "{text}");
        assert!(text.contains(REMOVED));
        assert!(text.contains("short"), "short values are left: {text}");
        set_secrets(key, Vec::new());
    }
}
