//! What is sent, whatever the channel: the outbox stores these, the transports deliver them.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a message is sent; shown on the console and used to pick words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An unhappy rating, as it happens.
    Alert,
    /// The patient's voice of an alert, once the clip is complete.
    Voice,
    /// An alert nobody took in time, to the second chat or address.
    Escalation,
    /// A scheduled operational report.
    Report,
    /// Something about Otklik itself (a channel that was down, a device).
    Notice,
    /// A test message asked for on the console.
    Test,
    /// A new rating posted to the clinic's webhook.
    Webhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentRole {
    /// The photo taken at the rating (Telegram: sendPhoto).
    Photo,
    /// A report's chart (Telegram: sendPhoto).
    Chart,
    /// The patient's voice, Ogg/Opus (Telegram: sendVoice).
    Voice,
    /// Any other file (Telegram: sendDocument).
    Document,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub role: AttachmentRole,
    /// A file on disk (under the data directory); read when sending.
    pub path: PathBuf,
    /// The name the recipient sees.
    pub file_name: String,
    pub mime: String,
}

/// An inline button under a Telegram message; `data` comes back in the callback query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub data: String,
}

/// One message. For Telegram one outbox item is one Bot API call (so a retry never repeats a
/// part that did arrive): at most one attachment, its caption being `html`/`text`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    /// Email subject; Telegram does not show it.
    pub subject: String,
    /// Plain text: the email body, and Telegram's text when there is no `html`.
    pub text: String,
    /// Telegram HTML (parse_mode=HTML: <b>, <i>, <pre>, <a href>); the email's HTML part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Telegram inline keyboard, one row; email ignores it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

/// What a channel answered when it took a message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sent {
    /// The channel's id for it (Telegram's message_id), kept to edit it later.
    pub remote_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// The channel cannot be reached or failed for now (stopped, refusing, timed out, 5xx):
    /// the message stays queued and is tried again.
    #[error("{0}")]
    Down(String),
    /// The channel asked us to wait (Telegram's 429 retry_after); not a failure.
    #[error("asked to wait {0:?}")]
    RetryAfter(Duration),
    /// The channel refused this message for good (wrong chat, wrong password, bad address):
    /// it is marked failed with this text and the queue moves on.
    #[error("{0}")]
    Rejected(String),
}

/// A way out: Telegram, email, a webhook. `target` is what the outbox item names (a chat id,
/// comma-separated addresses, a URL).
pub trait Transport: Send + Sync + 'static {
    fn send(
        &self,
        target: &str,
        msg: &Outgoing,
    ) -> impl Future<Output = Result<Sent, SendError>> + Send;
}

/// Splits a message into Telegram-sized items: the first attachment carries the text as its
/// caption when it fits (1024 characters), every other attachment goes alone, in order.
pub fn split_for_telegram(msg: Outgoing) -> Vec<Outgoing> {
    const CAPTION_MAX: usize = 1024;
    let caption_len = msg.html.as_deref().unwrap_or(&msg.text).chars().count();
    let mut attachments = msg.attachments.into_iter();
    let mut parts = Vec::new();
    let base = Outgoing {
        subject: msg.subject,
        text: msg.text,
        html: msg.html,
        attachments: Vec::new(),
        buttons: msg.buttons,
    };
    match attachments.next() {
        None => parts.push(base),
        Some(first) if caption_len <= CAPTION_MAX => parts.push(Outgoing {
            attachments: vec![first],
            ..base
        }),
        Some(first) => {
            parts.push(Outgoing {
                subject: base.subject.clone(),
                attachments: vec![first],
                ..Outgoing::default()
            });
            parts.push(base);
        }
    }
    for a in attachments {
        parts.push(Outgoing {
            attachments: vec![a],
            ..Outgoing::default()
        });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn att(role: AttachmentRole) -> Attachment {
        Attachment {
            role,
            path: "x".into(),
            file_name: "x".into(),
            mime: "image/png".into(),
        }
    }

    #[test]
    fn telegram_parts_keep_order_and_caption() {
        let msg = Outgoing {
            text: "hello".into(),
            attachments: vec![att(AttachmentRole::Chart), att(AttachmentRole::Document)],
            ..Outgoing::default()
        };
        let parts = split_for_telegram(msg);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].text, "hello");
        assert_eq!(parts[0].attachments[0].role, AttachmentRole::Chart);
        assert_eq!(parts[1].text, "");
        assert_eq!(parts[1].attachments[0].role, AttachmentRole::Document);

        let long = Outgoing {
            text: "я".repeat(1025),
            attachments: vec![att(AttachmentRole::Photo)],
            ..Outgoing::default()
        };
        let parts = split_for_telegram(long);
        assert_eq!(parts.len(), 2, "a caption too long goes as its own message");
        assert!(parts[0].text.is_empty() && parts[0].attachments.len() == 1);
        assert!(parts[1].attachments.is_empty() && parts[1].text.chars().count() == 1025);
    }
}
