//! Email through a real SMTP server: `tests/support/smtp_server.py` (aiosmtpd, STARTTLS and AUTH
//! required, a self-signed certificate for IP:127.0.0.1 made with the `openssl` CLI), which
//! parses every message it accepts with Python's own `email` package and writes it down as JSON.
//!
//! Needs `openssl` and `python3` with `venv`; aiosmtpd is installed into target/pyenv (the venv
//! crates/reports/tests/exports.rs also uses) on first use.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use otklik_notify::config::{EmailConfig, Security};
use otklik_notify::email::Email;
use otklik_notify::message::{Attachment, AttachmentRole, Outgoing, SendError, Transport};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

const AIOSMTPD: &str = "aiosmtpd==1.4.6";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("src-tauri is in the workspace")
        .to_path_buf()
}

/// A Python in target/pyenv that has aiosmtpd, installed there on first use. A lock file keeps
/// two test processes (or threads) from making the venv or pip-installing at the same time.
fn python_with_aiosmtpd() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let target = workspace().join("target");
            let venv = target.join("pyenv");
            let python = venv.join("bin/python");
            let ready = || {
                std::process::Command::new(&python)
                    .args(["-c", "import aiosmtpd"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if ready() {
                return python;
            }
            std::fs::create_dir_all(&target).unwrap();
            let lock = std::fs::File::create(target.join("pyenv.lock")).unwrap();
            lock.lock().expect("lock target/pyenv.lock");
            if !ready() {
                if !python.exists() {
                    let made = std::process::Command::new("python3")
                        .args(["-m", "venv"])
                        .arg(&venv)
                        .status();
                    assert!(
                        made.is_ok_and(|s| s.success()),
                        "python3 -m venv failed (Debian: python3-venv)"
                    );
                }
                // A pip of crates/reports/tests/exports.rs (which takes no lock) may run at the same
                // time: try twice.
                for _ in 0..2 {
                    let pip = std::process::Command::new(&python)
                        .args(["-m", "pip", "install", "--quiet", AIOSMTPD])
                        .status();
                    if pip.is_ok_and(|s| s.success()) && ready() {
                        break;
                    }
                }
                assert!(ready(), "pip install {AIOSMTPD} into target/pyenv failed");
            }
            lock.unlock().ok();
            python
        })
        .clone()
}

/// A self-signed certificate for IP:127.0.0.1 (not a CA: webpki refuses a CA certificate as
/// the server's own) and its key, in `dir`.
fn make_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl CLI runs (Debian: openssl)");
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

struct Control {
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

/// The test SMTP server, stopped when dropped.
pub struct SmtpServer {
    pub port: u16,
    /// The server's self-signed certificate, to trust as `email.ca_file`.
    pub ca_file: PathBuf,
    pub user: String,
    pub password: String,
    /// Where the accepted messages are written, one NNNN.json each.
    pub out: PathBuf,
    control: Mutex<Control>,
    _child: Child,
    _dir: TempDir,
}

#[allow(dead_code)]
impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let (python, (cert, key)) =
            tokio::task::spawn_blocking(move || (python_with_aiosmtpd(), make_certificate(&path)))
                .await
                .unwrap();
        let out = dir.path().join("out");
        let user = "otklik".to_string();
        let password = "s3cret-Пароль-42".to_string();
        let script = workspace().join("tests/support/smtp_server.py");
        let mut child = Command::new(python)
            .arg(script)
            .args(["--port", "0", "--cert"])
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .args(["--user", &user, "--password", &password, "--out"])
            .arg(&out)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("smtp_server.py starts");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .expect("smtp_server.py says READY within 30 s")
            .unwrap()
            .expect("smtp_server.py exited before READY");
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("smtp_server.py said '{line}', not READY <port>"));
        SmtpServer {
            port,
            ca_file: cert,
            user,
            password,
            out,
            control: Mutex::new(Control { stdin, stdout }),
            _child: child,
            _dir: dir,
        }
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<Value> {
        let Ok(entries) = std::fs::read_dir(&self.out) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits until at least `n` messages are there; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                start.elapsed() < timeout,
                "the SMTP server got {} message(s), not {n}, within {timeout:?}: {messages:#?}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends a control command (`refuse`, `slow N`, `ok`, `stop`, `start`) and waits for its OK.
    pub async fn command(&self, cmd: &str) {
        let mut c = self.control.lock().await;
        c.stdin
            .write_all(format!("{cmd}\n").as_bytes())
            .await
            .unwrap();
        c.stdin.flush().await.unwrap();
        let line = tokio::time::timeout(Duration::from_secs(30), c.stdout.next_line())
            .await
            .unwrap_or_else(|_| panic!("no answer to '{cmd}' within 30 s"))
            .unwrap()
            .unwrap_or_else(|| panic!("smtp_server.py exited on '{cmd}'"));
        assert_eq!(line, format!("OK {cmd}"), "answer to '{cmd}'");
    }

    /// Settings that reach this server with STARTTLS and AUTH.
    pub fn config(&self) -> EmailConfig {
        EmailConfig {
            enabled: true,
            host: "127.0.0.1".into(),
            port: self.port,
            security: Security::Starttls,
            user: self.user.clone(),
            from: "Otklik <otklik@clinic.test>".into(),
            to: vec!["head@clinic.test".into()],
            escalation_to: Vec::new(),
            ca_file: self.ca_file.display().to_string(),
        }
    }

    pub fn email(&self) -> Email {
        Email::new(&self.config(), Some(&self.password)).expect("the email settings are good")
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    // No sha2 among the dev-dependencies: ask Python's hashlib, the server's own hasher.
    let out = std::process::Command::new(python_with_aiosmtpd())
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn simple(subject: &str) -> Outgoing {
    Outgoing {
        subject: subject.into(),
        text: format!("{subject}: text"),
        ..Outgoing::default()
    }
}

fn down(r: Result<otklik_notify::message::Sent, SendError>, what: &str) -> String {
    match r {
        Err(SendError::Down(text)) => text,
        other => panic!("{what}: expected Down, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_arrives_whole() {
    let server = SmtpServer::start().await;
    let files = tempfile::tempdir().unwrap();

    let chart = otklik_reports::export::chart_png(
        &otklik_reports::export::Chart {
            title: "Довольные пациенты".into(),
            labels: vec!["01.11".into(), "02.11".into(), "03.11".into()],
            series: vec![("Окно 1".into(), vec![0.5, 0.7, 0.9])],
        },
        320,
        200,
    )
    .unwrap();
    let photo = {
        let img =
            image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([x as u8 * 8, y as u8 * 10, 90]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
            .encode_image(&img)
            .unwrap();
        jpeg
    };
    assert!(chart.starts_with(b"\x89PNG") && photo.starts_with(b"\xff\xd8"));
    std::fs::write(files.path().join("chart.png"), &chart).unwrap();
    std::fs::write(files.path().join("photo.jpg"), &photo).unwrap();

    let text = "Пациент у окна 2 поставил «1» из 5.\nРегистратор: Анна Иванова.\n";
    let html = "<p><b>Пациент</b> у окна 2 поставил «1» из 5.</p>";
    let msg = Outgoing {
        subject: "Низкая оценка: окно 2, Анна Иванова".into(),
        text: text.into(),
        html: Some(html.into()),
        attachments: vec![
            Attachment {
                role: AttachmentRole::Chart,
                path: files.path().join("chart.png"),
                file_name: "График за день.png".into(),
                mime: "image/png".into(),
            },
            Attachment {
                role: AttachmentRole::Photo,
                path: files.path().join("photo.jpg"),
                file_name: "Фото у окна 2.jpg".into(),
                mime: "image/jpeg".into(),
            },
        ],
        buttons: Vec::new(),
    };
    let sent = server
        .email()
        .send("head@clinic.test, Заместитель <deputy@clinic.test>", &msg)
        .await
        .expect("sent");
    let message_id = sent.remote_ref.expect("the Message-ID is kept");

    let got = server.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m["subject"], "Низкая оценка: окно 2, Анна Иванова");
    assert_eq!(m["text"].as_str().unwrap().trim_end(), text.trim_end());
    assert_eq!(m["html"].as_str().unwrap().trim_end(), html);
    assert_eq!(m["mail_from"], "otklik@clinic.test");
    assert_eq!(m["from"], "Otklik <otklik@clinic.test>");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["head@clinic.test", "deputy@clinic.test"])
    );
    let to = m["to"].as_str().unwrap();
    assert!(
        to.contains("head@clinic.test") && to.contains("Заместитель <deputy@clinic.test>"),
        "{to}"
    );
    assert_eq!(m["message_id"], message_id.as_str());
    assert_eq!(m["auth_user"], "otklik");
    assert_eq!(m["tls"], true);

    let attachments = m["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2, "{attachments:#?}");
    assert_eq!(attachments[0]["filename"], "График за день.png");
    assert_eq!(attachments[0]["content_type"], "image/png");
    assert_eq!(attachments[0]["size"], chart.len());
    assert_eq!(attachments[0]["sha256"], hex_sha256(&chart).as_str());
    assert_eq!(attachments[1]["filename"], "Фото у окна 2.jpg");
    assert_eq!(attachments[1]["content_type"], "image/jpeg");
    assert_eq!(attachments[1]["size"], photo.len());
    assert_eq!(attachments[1]["sha256"], hex_sha256(&photo).as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_message_has_no_html_and_no_attachments() {
    let server = SmtpServer::start().await;
    server
        .email()
        .send("head@clinic.test", &simple("Проверка связи"))
        .await
        .expect("sent");
    let m = &server.wait_for(1, Duration::from_secs(10)).await[0];
    assert_eq!(m["subject"], "Проверка связи");
    assert_eq!(
        m["text"].as_str().unwrap().trim_end(),
        "Проверка связи: text"
    );
    assert_eq!(m["html"], Value::Null);
    assert_eq!(m["attachments"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_rejected_without_showing_it() {
    let server = SmtpServer::start().await;
    let wrong = "wrong-Пароль-777";
    let email = Email::new(&server.config(), Some(wrong)).unwrap();
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        email.send("head@clinic.test", &simple("x")),
    )
    .await
    .expect("a failed login does not hang");
    match r {
        Err(SendError::Rejected(text)) => {
            assert!(
                text.to_lowercase().contains("authentication"),
                "names the login: {text}"
            );
            assert!(!text.contains(wrong), "the password leaked: {text}");
            assert!(!text.contains(&server.password), "{text}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(server.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_recipient_or_missing_file_is_rejected_naming_it() {
    let server = SmtpServer::start().await;
    let email = server.email();
    match email.send("head@clinic.test, nobody", &simple("x")).await {
        Err(SendError::Rejected(text)) => assert!(text.contains("'nobody'"), "{text}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    let mut msg = simple("x");
    msg.attachments.push(Attachment {
        role: AttachmentRole::Voice,
        path: server.out.join("nowhere.ogg"),
        file_name: "Голос пациента.ogg".into(),
        mime: "audio/ogg".into(),
    });
    match email.send("head@clinic.test", &msg).await {
        Err(SendError::Rejected(text)) => assert!(text.contains("Голос пациента.ogg"), "{text}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(server.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_refuses_stops_and_returns_is_down_then_delivers() {
    let server = SmtpServer::start().await;
    let email = server.email();

    server.command("refuse").await;
    let text = down(
        email.send("head@clinic.test", &simple("refused")).await,
        "refusing server",
    );
    assert!(text.contains("421"), "{text}");
    server.command("ok").await;

    server.command("stop").await;
    let text = down(
        email.send("head@clinic.test", &simple("stopped")).await,
        "stopped server",
    );
    assert!(!text.contains(&server.password), "{text}");
    server.command("start").await;

    email
        .send("head@clinic.test", &simple("back"))
        .await
        .expect("delivers once the server is back");

    server.command("slow 2").await;
    let start = Instant::now();
    email
        .send("head@clinic.test", &simple("slow"))
        .await
        .expect("a slow server still takes it");
    assert!(start.elapsed() >= Duration::from_secs(2));
    server.command("ok").await;

    let got = server.wait_for(2, Duration::from_secs(10)).await;
    let subjects: Vec<&str> = got.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["back", "slow"], "nothing refused was stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wrong_security_fails_without_hanging() {
    let server = SmtpServer::start().await;
    // Plain: the server offers no AUTH before STARTTLS, and we never send the password plain.
    // Implicit TLS: the server greets in plain text instead of a TLS handshake.
    for security in [Security::None, Security::Tls] {
        let mut cfg = server.config();
        cfg.security = security;
        let email = Email::new(&cfg, Some(&server.password)).unwrap();
        let r = tokio::time::timeout(
            Duration::from_secs(20),
            email.send("head@clinic.test", &simple("plain")),
        )
        .await
        .unwrap_or_else(|_| panic!("{security:?} does not hang"));
        let text = match r {
            Err(SendError::Rejected(t) | SendError::Down(t)) => t,
            other => panic!("{security:?}: expected an error, got {other:?}"),
        };
        assert!(!text.contains(&server.password), "{text}");
    }
    assert!(server.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_not_accepted() {
    let server = SmtpServer::start().await;
    let mut cfg = server.config();
    cfg.ca_file = String::new();
    let email = Email::new(&cfg, Some(&server.password)).unwrap();
    let text = down(
        email.send("head@clinic.test", &simple("x")).await,
        "unknown issuer",
    );
    assert!(
        text.contains("certificate") && text.contains("email.ca_file"),
        "{text}"
    );
    assert!(server.messages().is_empty());
}
