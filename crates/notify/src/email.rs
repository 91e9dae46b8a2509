//! Email over SMTP (lettre): STARTTLS, implicit TLS or plain, with the clinic's own certificate
//! authority trusted next to the public roots, and AUTH when a user is set.
//!
//! Every message is one connection (no pool), so a server that went down and came back is
//! simply tried again. The SMTP password never appears in an error text or a log line.

use std::path::Path;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::config::{EmailConfig, Security};
use super::message::{Attachment, AttachmentRole, Outgoing, SendError, Sent, Transport};

/// How long connecting may take, and the least time a whole conversation is given.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes a second the whole conversation is assumed to move at least (on top of `TIMEOUT`), so
/// a big attachment on a slow line is not cut off while a dead server still is.
const MIN_RATE: u64 = 32 * 1024;

/// Sends [`Outgoing`] messages by SMTP to the addresses of an outbox item.
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for error texts.
    server: String,
    user: String,
    /// Kept only to scrub it out of any text that could leave this module.
    password: String,
}

impl Email {
    /// Err names the bad field: "email.from: ...", "email.ca_file: cannot read ...", etc.
    pub fn new(cfg: &EmailConfig, password: Option<&str>) -> Result<Email, String> {
        let host = cfg.host.trim();
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err("email.host: is needed: the SMTP server's name or address".into());
        }
        if cfg.port == 0 {
            return Err("email.port: must be between 1 and 65535".into());
        }
        let from: Mailbox = cfg
            .from
            .trim()
            .parse()
            .map_err(|e| format!("email.from: '{}' is not an email address ({e})", cfg.from))?;

        let tls = match cfg.security {
            Security::None => Tls::None,
            Security::Starttls => Tls::Required(tls_parameters(host, &cfg.ca_file)?),
            Security::Tls => Tls::Wrapper(tls_parameters(host, &cfg.ca_file)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(cfg.port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        let user = cfg.user.trim().to_string();
        let password = password.unwrap_or_default().to_string();
        if !user.is_empty() {
            if password.is_empty() {
                return Err(format!(
                    "email.password: is needed to log in to the mail server as '{user}'"
                ));
            }
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Email {
            transport: builder.build(),
            from,
            server: format!("{host}:{}", cfg.port),
            user,
            password,
        })
    }

    /// Replaces the password, should it ever be in `text`, with asterisks.
    fn scrub(&self, text: String) -> String {
        if self.password.is_empty() || !text.contains(&self.password) {
            text
        } else {
            text.replace(&self.password, "***")
        }
    }

    /// What an SMTP failure means for the outbox: refused for good (5xx, a bad setting) or a
    /// server that is down or unreachable for now.
    fn map_error(&self, e: &lettre::transport::smtp::Error) -> SendError {
        let detail = error_text(e);
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        if e.is_permanent() {
            let text = if matches!(code.as_str(), "534" | "535" | "538") {
                format!(
                    "authentication failed at {} as '{}' (check the user and the password): {detail}",
                    self.server, self.user
                )
            } else {
                format!(
                    "the mail server {} refused the message: {detail}",
                    self.server
                )
            };
            SendError::Rejected(self.scrub(text))
        } else if e.is_transient() {
            SendError::Down(self.scrub(format!(
                "the mail server {} is not available: {detail}",
                self.server
            )))
        } else if e.is_client() {
            // Our side cannot go on with this server as set up: no STARTTLS offered, no AUTH
            // mechanism in common, an 8-bit message to a 7-bit server. Retrying will not help.
            SendError::Rejected(
                self.scrub(format!("cannot send through {}: {detail}", self.server)),
            )
        } else if e.is_tls() || detail.contains("certificate") {
            // Kept queued: the clinic can fix email.ca_file (or the server its certificate).
            let hint = if detail.contains("UnknownIssuer") {
                " (the server's certificate is not signed by a known authority: set email.ca_file to its CA)"
            } else {
                ""
            };
            SendError::Down(self.scrub(format!("TLS with {} failed{hint}: {detail}", self.server)))
        } else {
            // Connection refused, unreachable, reset, timed out, a garbled answer.
            SendError::Down(self.scrub(format!(
                "cannot reach the mail server {}: {detail}",
                self.server
            )))
        }
    }
}

/// The TLS parameters for `host`: the public webpki roots, plus the PEM certificate(s) in
/// `ca_file` when it is set. An IP address as `host` is checked against the certificate's IP
/// subjectAltName.
fn tls_parameters(host: &str, ca_file: &str) -> Result<TlsParameters, String> {
    let mut builder =
        TlsParameters::builder(host.to_string()).certificate_store(CertificateStore::WebpkiRoots);
    let ca_file = ca_file.trim();
    if !ca_file.is_empty() {
        let pem = std::fs::read(ca_file)
            .map_err(|e| format!("email.ca_file: cannot read {ca_file}: {e}"))?;
        let has_cert = String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----");
        let cert = Certificate::from_pem(&pem)
            .ok()
            .filter(|_| has_cert)
            .ok_or_else(|| format!("email.ca_file: {ca_file} is not a PEM certificate"))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| format!("email.ca_file: the TLS settings cannot be made: {e}"))
}

/// The whole error, with the causes lettre's own text leaves out, and without the repeats of
/// its nesting ("Connection error: Connection error: ...").
fn error_text(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    let mut parts: Vec<&str> = text.split(": ").collect();
    parts.dedup();
    parts.join(": ")
}

/// Splits `target` at commas outside double quotes (`"Ivanov, I." <a@b.c>` is one address).
fn split_addresses(target: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in target.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&target[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&target[start..]);
    parts
}

/// The recipients of an outbox item: `addr` or `Name <addr>`, separated by commas.
pub(crate) fn parse_recipients(target: &str) -> Result<Vec<Mailbox>, String> {
    let mut out = Vec::new();
    for part in split_addresses(target) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let mailbox: Mailbox = part
            .parse()
            .map_err(|e| format!("recipient '{part}' is not an email address ({e})"))?;
        out.push(mailbox);
    }
    if out.is_empty() {
        return Err(format!("no recipient address in '{target}'"));
    }
    Ok(out)
}

/// The MIME type an attachment is sent as: its own when it is one, else its role's.
fn content_type(a: &Attachment) -> ContentType {
    let fallback = match a.role {
        AttachmentRole::Photo => "image/jpeg",
        AttachmentRole::Chart => "image/png",
        AttachmentRole::Voice => "audio/ogg",
        AttachmentRole::Document => "application/octet-stream",
    };
    ContentType::parse(a.mime.trim())
        .or_else(|_| ContentType::parse(fallback))
        .expect("the fallback types parse")
}

/// The body: plain text, or plain text and HTML as alternatives.
enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

/// Builds the message, reading every attachment from its file (so: off the async threads).
pub(crate) fn build_message(
    from: &Mailbox,
    to: &[Mailbox],
    msg: &Outgoing,
) -> Result<Message, SendError> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(msg.subject.clone())
        .message_id(None);
    for m in to {
        builder = builder.to(m.clone());
    }
    let body = match &msg.html {
        None => Body::Single(SinglePart::plain(msg.text.clone())),
        Some(html) => Body::Multi(MultiPart::alternative_plain_html(
            msg.text.clone(),
            html.clone(),
        )),
    };
    let built = if msg.attachments.is_empty() {
        match body {
            Body::Single(part) => builder.singlepart(part),
            Body::Multi(part) => builder.multipart(part),
        }
    } else {
        let mut mixed = match body {
            Body::Single(part) => MultiPart::mixed().singlepart(part),
            Body::Multi(part) => MultiPart::mixed().multipart(part),
        };
        for a in &msg.attachments {
            let bytes = read_attachment(&a.path).map_err(|e| {
                SendError::Rejected(format!(
                    "attachment '{}': cannot read {}: {e}",
                    a.file_name,
                    a.path.display()
                ))
            })?;
            mixed = mixed.singlepart(
                lettre::message::Attachment::new(a.file_name.clone()).body(bytes, content_type(a)),
            );
        }
        builder.multipart(mixed)
    };
    built.map_err(|e| SendError::Rejected(format!("the message cannot be built: {e}")))
}

fn read_attachment(path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
}

impl Transport for Email {
    async fn send(&self, target: &str, msg: &Outgoing) -> Result<Sent, SendError> {
        let to = parse_recipients(target).map_err(SendError::Rejected)?;
        let from = self.from.clone();
        let owned = msg.clone();
        let message = tokio::task::spawn_blocking(move || build_message(&from, &to, &owned))
            .await
            .map_err(|e| SendError::Down(format!("building the message failed: {e}")))??;
        let message_id = message.headers().get_raw("Message-ID").map(str::to_string);
        let size = message.formatted().len() as u64;
        let limit = TIMEOUT + Duration::from_secs(size / MIN_RATE);
        match tokio::time::timeout(limit, self.transport.send(message)).await {
            Ok(Ok(_response)) => {
                tracing::debug!(server = %self.server, ?message_id, "email sent");
                Ok(Sent {
                    remote_ref: message_id,
                })
            }
            Ok(Err(e)) => {
                let err = self.map_error(&e);
                tracing::warn!(server = %self.server, error = %err, "email not sent");
                Err(err)
            }
            Err(_) => Err(SendError::Down(format!(
                "the mail server {} did not answer within {} s",
                self.server,
                limit.as_secs()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmailConfig;

    fn mb(s: &str) -> Mailbox {
        s.parse().unwrap()
    }

    #[test]
    fn recipients_are_split_and_named_when_bad() {
        let r = parse_recipients("head@clinic.test, Главврач <chief@clinic.test>,").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].email.to_string(), "head@clinic.test");
        assert_eq!(r[1].email.to_string(), "chief@clinic.test");
        assert_eq!(r[1].name.as_deref(), Some("Главврач"));

        let r = parse_recipients(r#""Ivanov, I." <iv@clinic.test>, a@clinic.test"#).unwrap();
        assert_eq!(r.len(), 2, "a comma inside quotes does not split");
        assert_eq!(r[0].name.as_deref(), Some("Ivanov, I."));

        let e = parse_recipients("head@clinic.test, not an address").unwrap_err();
        assert!(e.contains("'not an address'"), "{e}");
        assert!(parse_recipients(" , ").is_err());
        assert!(parse_recipients("").is_err());
    }

    fn config() -> EmailConfig {
        EmailConfig {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 2525,
            from: "Otklik <otklik@clinic.test>".into(),
            to: vec!["head@clinic.test".into()],
            user: "otklik".into(),
            ..EmailConfig::default()
        }
    }

    fn err_of(cfg: &EmailConfig, password: Option<&str>) -> String {
        match Email::new(cfg, password) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    #[test]
    fn new_names_the_bad_field() {
        Email::new(&config(), Some("pw")).unwrap();
        let mut c = config();
        c.from = "nobody".into();
        assert!(err_of(&c, Some("pw")).starts_with("email.from: "));
        let mut c = config();
        c.host = String::new();
        assert!(err_of(&c, Some("pw")).starts_with("email.host: "));
        let mut c = config();
        c.ca_file = "/nonexistent/ca.pem".into();
        let e = err_of(&c, Some("pw"));
        assert!(
            e.starts_with("email.ca_file: cannot read /nonexistent/ca.pem"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let mut c = config();
        c.ca_file = not_pem.display().to_string();
        assert!(err_of(&c, Some("pw")).starts_with("email.ca_file: "));
        assert!(err_of(&config(), None).starts_with("email.password: "));
        let mut c = config();
        c.user = String::new();
        c.security = Security::None;
        Email::new(&c, None).unwrap();
    }

    #[test]
    fn message_has_alternatives_and_named_attachments() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("chart.png"), b"\x89PNG\r\n\x1a\nfake").unwrap();
        std::fs::write(dir.join("photo.jpg"), b"\xff\xd8\xff\xe0fake").unwrap();
        let msg = Outgoing {
            subject: "Низкая оценка у окна 2".into(),
            text: "Пациент поставил 1 из 5.".into(),
            html: Some("<b>Пациент</b> поставил 1 из 5.".into()),
            attachments: vec![
                Attachment {
                    role: AttachmentRole::Chart,
                    path: dir.join("chart.png"),
                    file_name: "График за день.png".into(),
                    mime: "image/png".into(),
                },
                Attachment {
                    role: AttachmentRole::Photo,
                    path: dir.join("photo.jpg"),
                    file_name: "photo.jpg".into(),
                    mime: String::new(),
                },
            ],
            buttons: Vec::new(),
        };
        let to = [mb("head@clinic.test"), mb("Зам <deputy@clinic.test>")];
        let m = build_message(&mb("Otklik <otklik@clinic.test>"), &to, &msg).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(text.contains("multipart/mixed"), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(text.contains("text/plain; charset=utf-8"), "{text}");
        assert!(text.contains("text/html; charset=utf-8"), "{text}");
        assert!(text.contains("Content-Type: image/png"), "{text}");
        assert!(
            text.contains("Content-Type: image/jpeg"),
            "a photo with no type is sent as JPEG: {text}"
        );
        assert!(text.contains("filename=\"photo.jpg\""), "{text}");
        assert!(
            text.contains("=utf-8''%D0%93%D1%80"),
            "the Cyrillic file name is RFC 2231 encoded: {text}"
        );
        assert!(text.contains("Message-ID: <"), "{text}");
        assert!(
            text.contains("Subject: =?utf-8?"),
            "the subject is encoded: {text}"
        );
        assert_eq!(m.envelope().to().len(), 2);

        let plain = Outgoing {
            subject: "s".into(),
            text: "only text".into(),
            ..Outgoing::default()
        };
        let m = build_message(&to[0], &to[..1], &plain).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(!text.contains("multipart"), "{text}");
        assert!(text.contains("only text"), "{text}");

        let missing = Outgoing {
            attachments: vec![Attachment {
                role: AttachmentRole::Voice,
                path: dir.join("gone.ogg"),
                file_name: "голос.ogg".into(),
                mime: "audio/ogg".into(),
            }],
            ..plain
        };
        match build_message(&to[0], &to[..1], &missing) {
            Err(SendError::Rejected(e)) => assert!(e.contains("голос.ogg"), "{e}"),
            other => panic!("expected Rejected, got {other:?}"),
        }
    }

    #[test]
    fn content_types_fall_back_by_role() {
        let a = |role, mime: &str| Attachment {
            role,
            path: "x".into(),
            file_name: "x".into(),
            mime: mime.into(),
        };
        let ct = |a: &Attachment| format!("{:?}", content_type(a));
        assert!(ct(&a(AttachmentRole::Voice, "")).contains("audio/ogg"));
        assert!(ct(&a(AttachmentRole::Chart, "")).contains("image/png"));
        assert!(ct(&a(AttachmentRole::Document, "application/pdf")).contains("application/pdf"));
        assert!(ct(&a(AttachmentRole::Document, "nonsense")).contains("application/octet-stream"));
    }
}
