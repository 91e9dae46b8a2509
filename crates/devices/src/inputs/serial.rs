//! A serial (USB CDC) button box: a small board with score buttons that shows up as a serial
//! port (`/dev/ttyACM0`, `COM3`) and sends one line per press.
//!
//! # Line protocol
//!
//! - The box sends one line per press: the score as ASCII digits, e.g. `1\n`, `2\n`, `3\n`.
//! - CR, LF or CRLF end a line. Spaces and tabs around the digits are ignored. An empty (or
//!   all-blank) line is ignored.
//! - A score is one or two digits with a value from 1 to 99 (leading zero allowed: `01` is 1);
//!   whether it fits the clinic's scale is checked when the press is stored, not here.
//! - `S` (or `s`) is the registrar's serve key: a patient is being served, or is done (it
//!   toggles; see the armed rating window).
//! - Anything else (`x`, `12a`, `0`, a line over 16 bytes, bytes that are not UTF-8) is not a
//!   press: it is ignored and shown in the device status's `error` (the line escaped and
//!   truncated), and the box keeps being read. The next valid press clears the error.
//! - The port is opened at the configured baud rate, 8 data bits, no parity, 1 stop bit, no flow
//!   control. Nothing is ever sent to the box.
//!
//! # Connection
//!
//! Each box is read on its own OS thread (`serial-desk-<id>`). If the port cannot be opened or
//! goes away (unplugged), the status says `waiting` with the reason and the port is tried again
//! every second, so a box that is plugged back in resumes without a restart.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{Button, Press, PressSink, StatusBoard, stamp};

/// Longest line that can be a press, ending excluded; longer lines are errors, not presses.
pub const MAX_LINE: usize = 16;

/// How long one read waits for data: also how quickly `stop` is noticed.
const READ_TIMEOUT: Duration = Duration::from_millis(200);
/// Wait between attempts to open a port that is missing or failed.
const RETRY_EVERY: Duration = Duration::from_secs(1);

const KIND: &str = "serial";

/// Which port a desk's box is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialConfig {
    /// `/dev/ttyACM0`, `/dev/serial/by-id/...`, `COM3`.
    pub path: String,
    pub baud: u32,
}

/// Parses one line from the box, its ending already removed: `Ok(Some(score))` for a press,
/// `Ok(None)` for a blank line, `Err(message)` naming the line for anything else.
pub fn parse_line(line: &[u8]) -> Result<Option<Button>, String> {
    if line.len() > MAX_LINE {
        return Err(format!(
            "ignored line {}: longer than {MAX_LINE} bytes, not a score",
            shown(line)
        ));
    }
    if std::str::from_utf8(line).is_err() {
        return Err(format!("ignored line {}: not UTF-8 text", shown(line)));
    }
    let digits = line.trim_ascii();
    if digits.is_empty() {
        return Ok(None);
    }
    if digits.eq_ignore_ascii_case(b"s") {
        return Ok(Some(Button::Serve));
    }
    if digits.len() <= 2 && digits.iter().all(u8::is_ascii_digit) {
        let score = digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0'));
        if score >= 1 {
            return Ok(Some(Button::Score(score)));
        }
    }
    Err(format!(
        "ignored line {}: not a score (expected digits from 1 to 99, like \"3\", or S)",
        shown(line)
    ))
}

/// A line as it goes into a message: quoted, non-printable bytes escaped, cut at `MAX_LINE`.
fn shown(line: &[u8]) -> String {
    let cut = &line[..line.len().min(MAX_LINE)];
    let more = if line.len() > MAX_LINE { "…" } else { "" };
    format!("\"{}{more}\"", cut.escape_ascii())
}

/// Reads the box of `desk_id` on its own thread until `stop` is set (noticed within ~200 ms) or
/// `sink` is closed, reconnecting whenever the port is missing or goes away. Progress and problems
/// go to `status` (kind `serial`, detail the path); on exit the status is left for the caller to
/// remove.
pub fn spawn(
    desk_id: i64,
    cfg: SerialConfig,
    sink: PressSink,
    status: Arc<StatusBoard>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    thread::Builder::new()
        .name(format!("serial-desk-{desk_id}"))
        .spawn(move || {
            Reader {
                desk_id,
                cfg,
                sink,
                status,
                stop,
            }
            .run()
        })
        // Only fails if the OS cannot make a thread at all, which is not a device problem.
        .expect("spawn serial input thread")
}

/// Why reading a connected port ended.
enum Ended {
    /// `stop` was set or the sink closed: the thread should exit.
    Finished,
    /// The port failed (unplugged, read error, EOF): reconnect.
    Lost(String),
}

struct Reader {
    desk_id: i64,
    cfg: SerialConfig,
    sink: PressSink,
    status: Arc<StatusBoard>,
    stop: Arc<AtomicBool>,
}

impl Reader {
    fn run(&self) {
        tracing::info!(desk_id = self.desk_id, path = %self.cfg.path, "serial input started");
        // The last `waiting` message, so the log says it once rather than every second.
        let mut last_problem = None;
        while !self.finished() {
            let problem = match self.open() {
                Ok(port) => {
                    tracing::info!(desk_id = self.desk_id, path = %self.cfg.path, "serial box connected");
                    self.set_status("connected", None);
                    match self.read_lines(port) {
                        Ended::Finished => break,
                        Ended::Lost(why) => format!("lost {}: {why}", self.cfg.path),
                    }
                }
                Err(e) => format!("cannot open {}: {e}", self.cfg.path),
            };
            let problem = format!("{problem} (retrying every second)");
            if last_problem.as_ref() != Some(&problem) {
                tracing::warn!(desk_id = self.desk_id, "{problem}");
            }
            self.set_status("waiting", Some(problem.clone()));
            last_problem = Some(problem);
            self.pause(RETRY_EVERY);
        }
        tracing::info!(desk_id = self.desk_id, path = %self.cfg.path, "serial input stopped");
    }

    fn finished(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.sink.is_closed()
    }

    fn set_status(&self, state: &str, error: Option<String>) {
        self.status
            .set(self.desk_id, KIND, &self.cfg.path, state, error);
    }

    /// Sleeps for `total`, waking early when it is time to finish.
    fn pause(&self, total: Duration) {
        let until = Instant::now() + total;
        while !self.finished() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            thread::sleep(left.min(Duration::from_millis(100)));
        }
    }

    fn open(&self) -> serialport::Result<Box<dyn serialport::SerialPort>> {
        // This works on a Linux pseudo-terminal too (the tests use socat's): a pty accepts any
        // baud rate and the TIOCEXCL/flock serialport takes, so no plain-file fallback is
        // needed. Those exclusive locks also keep a second reader from splitting the lines.
        serialport::new(&self.cfg.path, self.cfg.baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(READ_TIMEOUT)
            .open()
    }

    /// Reads lines from an open port and hands on the presses, until it is time to finish or the
    /// port fails.
    fn read_lines(&self, mut port: Box<dyn serialport::SerialPort>) -> Ended {
        // The current line, kept to MAX_LINE + 1 bytes: enough for parse_line to call it too long
        // without letting a box that never sends a newline grow it without end.
        let mut line = Vec::with_capacity(MAX_LINE + 1);
        let mut buf = [0u8; 64];
        loop {
            if self.finished() {
                return Ended::Finished;
            }
            let n = match port.read(&mut buf) {
                // A read on a tty returns 0 only when the other end is gone.
                Ok(0) => return Ended::Lost("end of file".into()),
                Ok(n) => n,
                // The read timeout: nothing pressed, just look at `stop` again.
                Err(e) if e.kind() == io::ErrorKind::TimedOut => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // serialport reports POLLHUP as a broken pipe: the usual sign of an unplugged
                // USB box (and of a pty whose other side closed).
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    return Ended::Lost("the device hung up, probably unplugged".into());
                }
                // Other failures, e.g. EIO from a device being removed.
                Err(e) => return Ended::Lost(e.to_string()),
            };
            for &byte in &buf[..n] {
                if byte == b'\n' || byte == b'\r' {
                    // CRLF is a line and then an empty one, which is ignored.
                    if !self.line_done(&line) {
                        return Ended::Finished;
                    }
                    line.clear();
                } else if line.len() <= MAX_LINE {
                    line.push(byte);
                }
            }
        }
    }

    /// Handles one complete line; false once the sink is closed.
    fn line_done(&self, line: &[u8]) -> bool {
        match parse_line(line) {
            Ok(None) => true,
            Ok(Some(button)) => {
                let at = stamp();
                let press = Press {
                    desk_id: self.desk_id,
                    button,
                    source: KIND,
                    at,
                };
                if self.sink.send(press).is_err() {
                    return false;
                }
                self.status.event(self.desk_id, at);
                true
            }
            Err(message) => {
                // Only debug: a box at the wrong baud rate sends garbage all day, and the status
                // already shows the latest bad line.
                tracing::debug!(desk_id = self.desk_id, path = %self.cfg.path, "{message}");
                self.set_status("connected", Some(message));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_blank_lines() {
        assert_eq!(parse_line(b"1"), Ok(Some(Button::Score(1))));
        assert_eq!(parse_line(b"3"), Ok(Some(Button::Score(3))));
        assert_eq!(parse_line(b"  2 "), Ok(Some(Button::Score(2))));
        assert_eq!(parse_line(b"\t5\t"), Ok(Some(Button::Score(5))));
        assert_eq!(parse_line(b"10"), Ok(Some(Button::Score(10))));
        assert_eq!(parse_line(b"99"), Ok(Some(Button::Score(99))));
        assert_eq!(parse_line(b"01"), Ok(Some(Button::Score(1))));
        assert_eq!(parse_line(b""), Ok(None));
        assert_eq!(parse_line(b"   "), Ok(None));
        assert_eq!(parse_line(b"S"), Ok(Some(Button::Serve)));
        assert_eq!(parse_line(b" s "), Ok(Some(Button::Serve)));
        // Exactly MAX_LINE bytes is still a line, and blanks around a score count towards it.
        assert_eq!(parse_line(b"               7"), Ok(Some(Button::Score(7))));
        assert_eq!(parse_line(&[b' '; MAX_LINE]), Ok(None));
    }

    #[test]
    fn anything_else_is_an_error_naming_the_line() {
        for (line, named) in [
            (&b"x"[..], "\"x\""),
            (b"12a", "\"12a\""),
            (b"0", "\"0\""),
            (b"00", "\"00\""),
            (b"100", "\"100\""),
            (b"-1", "\"-1\""),
            (b"+1", "\"+1\""),
            (b"1 2", "\"1 2\""),
            (b"SS", "\"SS\""),
            (b"\xff", "\"\\xff\""),
            (b"1\xc3", "\"1\\xc3\""),
            (b"\x1b[A", "\"\\x1b[A\""),
            ("١".as_bytes(), "\"\\xd9\\xa1\""), // Arabic-Indic one: not an ASCII digit
            (b"say \"hi\"", "\"say \\\"hi\\\"\""),
        ] {
            let err = parse_line(line).expect_err(&format!("{line:?} is not a press"));
            assert!(err.contains(named), "{err:?} should name {named}");
        }
        let long = [b'1'; MAX_LINE + 1];
        let err = parse_line(&long).unwrap_err();
        assert!(err.contains("longer than 16 bytes"), "{err}");
        assert!(
            err.contains("\"1111111111111111…\""),
            "shown truncated: {err}"
        );
        let err = parse_line(&[b'z'; 4000]).unwrap_err();
        assert!(err.len() < 100, "message stays short: {err}");
    }

    /// Random byte strings from a small deterministic PRNG (xorshift), biased towards the bytes
    /// that matter: never a panic, and a press only for 1..=99 written in digits.
    #[test]
    fn fuzz_never_panics_and_only_accepts_scores() {
        const ALPHABET: &[u8] = b"0123456789  \t\r\nx-+\xff\xc3\xa9";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..100_000 {
            let len = (next() % 20) as usize;
            let line: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        (r >> 8) as u8 // any byte at all
                    } else {
                        ALPHABET[(r >> 8) as usize % ALPHABET.len()]
                    }
                })
                .collect();
            match parse_line(&line) {
                Ok(Some(Button::Serve)) => {
                    let text = std::str::from_utf8(&line).unwrap().trim();
                    assert!(text.eq_ignore_ascii_case("s"), "{line:?}");
                }
                Ok(Some(Button::Score(n))) => {
                    assert!((1..=99).contains(&n), "{line:?} gave {n}");
                    let text = std::str::from_utf8(&line).unwrap().trim();
                    assert!(text.bytes().all(|b| b.is_ascii_digit()), "{line:?}");
                    assert_eq!(text.parse::<i64>().unwrap(), n, "{line:?}");
                }
                Ok(None) => assert!(line.iter().all(u8::is_ascii_whitespace), "{line:?}"),
                Err(e) => assert!(!e.is_empty() && e.len() < 200, "{line:?}: {e}"),
            }
        }
    }

    /// A port that is not there: `waiting` with the reason, and the thread still ends on request.
    #[test]
    fn missing_port_waits_and_ends_on_stop_or_closed_sink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ttyACM9").display().to_string();
        for close_sink in [false, true] {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let board = Arc::new(StatusBoard::default());
            let stop = Arc::new(AtomicBool::new(false));
            let cfg = SerialConfig {
                path: path.clone(),
                baud: 115_200,
            };
            let thread = spawn(7, cfg, tx, board.clone(), stop.clone());
            let until = Instant::now() + Duration::from_secs(10);
            let status = loop {
                if let Some(s) = board.all().pop() {
                    break s;
                }
                assert!(Instant::now() < until, "no status for a missing port");
                thread::sleep(Duration::from_millis(20));
            };
            assert_eq!((status.desk_id, status.kind.as_str()), (7, "serial"));
            assert_eq!(status.state, "waiting");
            // The reason is the OS's own words ("No such file or directory", "File not found.").
            let error = status.error.as_deref().unwrap_or_default();
            let reason = error
                .strip_prefix(&format!("cannot open {path}: "))
                .and_then(|rest| rest.strip_suffix(" (retrying every second)"));
            assert!(reason.is_some_and(|r| !r.is_empty()), "{error}");
            if close_sink {
                drop(rx);
            } else {
                stop.store(true, Ordering::Relaxed);
            }
            thread.join().expect("serial thread ends cleanly");
        }
    }

    /// The whole source against a pty pair made by socat: presses, a bad line, an unplug (socat
    /// killed) and a replug (socat started again on the same paths).
    mod pty {
        use std::fs::{File, OpenOptions};
        use std::io::Write;
        use std::path::{Path, PathBuf};
        use std::process::{Child, Command, Stdio};

        use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

        use super::super::*;
        use crate::inputs::InputStatus;

        const PATIENCE: Duration = Duration::from_secs(10);
        const DESK: i64 = 3;

        /// socat joining `box` (where the test writes, as the box would) and `host` (which the
        /// source reads); killed when dropped so a failing test leaves no process behind.
        struct Socat {
            child: Child,
            box_end: PathBuf,
        }

        impl Socat {
            fn start(dir: &Path) -> Socat {
                let (box_end, host) = (dir.join("box"), dir.join("host"));
                // Dangling links, should an earlier socat have died without removing them.
                let _ = std::fs::remove_file(&box_end);
                let _ = std::fs::remove_file(&host);
                let link = |p: &Path| format!("pty,raw,echo=0,link={}", p.display());
                let child = Command::new("socat")
                    .args(["-d", "-d", &link(&box_end), &link(&host)])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start socat");
                let socat = Socat { child, box_end };
                wait_for("socat to make its ptys", || {
                    socat.box_end.exists() && host.exists()
                });
                socat
            }

            fn open_box(&self) -> File {
                OpenOptions::new()
                    .write(true)
                    .open(&self.box_end)
                    .expect("open the box end")
            }

            /// Like pulling the USB cable: the host pty loses its other side and its path goes.
            /// SIGTERM, not SIGKILL, so socat removes its links as the device node of a real box
            /// disappears; a dangling link would point at a /dev/pts number that anything may
            /// reuse meanwhile.
            fn unplug(mut self) {
                let pid = self.child.id().to_string();
                let termed = Command::new("kill")
                    .args(["-TERM", &pid])
                    .status()
                    .is_ok_and(|s| s.success());
                if !termed {
                    let _ = self.child.kill();
                }
                let _ = self.child.wait();
            }
        }

        impl Drop for Socat {
            fn drop(&mut self) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }

        fn socat_installed() -> bool {
            match Command::new("socat").arg("-V").output() {
                Ok(out) => out.status.success(),
                Err(_) => false,
            }
        }

        fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
            let until = Instant::now() + PATIENCE;
            while !done() {
                assert!(Instant::now() < until, "timed out waiting for {what}");
                thread::sleep(Duration::from_millis(20));
            }
        }

        fn next_press(rx: &mut UnboundedReceiver<Press>) -> Press {
            let mut got = None;
            wait_for("a press", || {
                got = rx.try_recv().ok();
                got.is_some()
            });
            got.unwrap()
        }

        fn desk_status(board: &StatusBoard) -> Option<InputStatus> {
            board.all().into_iter().find(|s| s.desk_id == DESK)
        }

        fn wait_status(board: &StatusBoard, what: &str, ok: impl Fn(&InputStatus) -> bool) {
            wait_for(what, || desk_status(board).is_some_and(|s| ok(&s)));
        }

        #[test]
        fn presses_errors_unplug_and_replug() {
            if !socat_installed() {
                assert!(
                    std::env::var("OTKLIK_REQUIRE_SOCAT").as_deref() != Ok("1"),
                    "socat is not installed but OTKLIK_REQUIRE_SOCAT=1"
                );
                println!("SKIPPED inputs::serial pty test: socat is not installed");
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let host = dir.path().join("host").display().to_string();
            let socat = Socat::start(dir.path());

            let (tx, mut rx) = unbounded_channel();
            let board = Arc::new(StatusBoard::default());
            let stop = Arc::new(AtomicBool::new(false));
            let cfg = SerialConfig {
                path: host.clone(),
                baud: 9600,
            };
            let thread = spawn(DESK, cfg, tx, board.clone(), stop.clone());
            assert_eq!(thread.thread().name(), Some("serial-desk-3"));
            wait_status(&board, "connected", |s| s.state == "connected");

            let mut box_end = socat.open_box();
            box_end.write_all(b"1\n3\r\n  2 \nx\n").unwrap();
            for score in [1, 3, 2] {
                let press = next_press(&mut rx);
                assert_eq!(
                    (press.desk_id, press.button, press.source),
                    (DESK, Button::Score(score), "serial")
                );
            }
            wait_status(&board, "an error naming x", |s| {
                s.error.as_deref().is_some_and(|e| e.contains("\"x\""))
            });
            let s = desk_status(&board).unwrap();
            assert_eq!((s.kind.as_str(), s.state.as_str()), ("serial", "connected"));
            assert_eq!(s.detail, host);
            assert!(s.last_event.is_some());

            drop(box_end);
            socat.unplug();
            wait_status(&board, "waiting after unplug", |s| {
                s.state == "waiting" && s.error.is_some()
            });
            let err = desk_status(&board).unwrap().error.unwrap();
            println!("status after unplug: {err}");
            assert!(err.contains(&host) && err.contains("retrying"), "{err}");

            let socat = Socat::start(dir.path());
            wait_status(&board, "connected after replug", |s| s.state == "connected");
            // Kept open until read: socat may stop when the box end closes.
            let mut box_end = socat.open_box();
            box_end.write_all(b"3\n").unwrap();
            let press = next_press(&mut rx);
            assert_eq!(
                (press.desk_id, press.button, press.source),
                (DESK, Button::Score(3), "serial")
            );
            let s = desk_status(&board).unwrap();
            assert_eq!((s.state.as_str(), s.error), ("connected", None));

            stop.store(true, Ordering::Relaxed);
            thread.join().expect("serial thread ends cleanly");
            assert!(rx.try_recv().is_err(), "no stray presses");
        }
    }
}
