//! Telegram through the Bot API (teloxide): the transport for alerts and reports, and the few
//! calls the bot's own loop needs (getMe, getUpdates, replies, callback answers, buttons).
//!
//! Two things matter more here than the calls themselves:
//! - errors are sorted for the outbox worker: `Down` is tried again, `RetryAfter` is waited
//!   for, `Rejected` fails the item for good (see `Telegram::classify`);
//! - the bot token is part of every request URL (`.../bot<TOKEN>/sendMessage`), and reqwest
//!   puts that URL into its error texts: every text built here goes through
//!   `Telegram::redact`, and `Debug` never shows the token.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use teloxide::payloads::{
    AnswerCallbackQuerySetters, EditMessageReplyMarkupSetters, GetUpdatesSetters,
    SendDocumentSetters, SendMessageSetters, SendPhotoSetters, SendVoiceSetters,
};
use teloxide::requests::{Request, Requester};
use teloxide::types::{
    AllowedUpdate, CallbackQueryId, ChatId, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup,
    InputFile, Message, MessageId, ParseMode, ReplyParameters, UpdateKind, User,
};
use teloxide::{ApiError, Bot, RequestError};

use super::message::{Attachment, AttachmentRole, Button, Outgoing, SendError, Sent, Transport};

/// How long one ordinary call may take, end to end. Telegram answers in well under a second;
/// 30 s leaves room for a slow proxy and for teloxide's own 10 s pause after a 5xx reply.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// A long poll may take its own timeout plus this before it counts as hung.
const POLL_MARGIN: Duration = Duration::from_secs(10);
/// Connecting must not eat the whole budget when the host is unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a non-JSON reply (a proxy's error page) is kept in an error text.
const RAW_SNIPPET: usize = 200;

/// A bot: its token, the Bot API URL (Telegram's, a proxy's, or a test server's) and one HTTP
/// client whose connections are reused. Cheap to clone (the sender and the poller share one).
#[derive(Clone)]
pub struct Telegram {
    bot: Bot,
    /// The URL as configured, for `Debug` only.
    api_url: String,
    /// The token as it can appear in texts (raw and percent-encoded), replaced by `<token>`.
    secrets: Vec<String>,
}

/// Hand-written so that the token (inside `Bot`'s derived `Debug`) never reaches a log.
impl fmt::Debug for Telegram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telegram")
            .field("api_url", &self.api_url)
            .field("token", &"<token>")
            .finish()
    }
}

/// The parts of a Bot API update Otklik acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// A message in a chat with the bot (a command, or a reply giving a cause).
    Message {
        update_id: i64,
        chat_id: i64,
        /// The group's title, or the person's name for a private chat.
        chat_title: String,
        /// First and last name, or @username when there is no name.
        from_name: String,
        /// The text, or a media message's caption; empty for anything else.
        text: String,
        message_id: i64,
        reply_to_message_id: Option<i64>,
    },
    /// An inline button pressed under one of the bot's messages.
    Callback {
        update_id: i64,
        callback_id: String,
        chat_id: i64,
        message_id: i64,
        from_name: String,
        data: String,
    },
    /// Anything else; only its id matters (to move the offset past it).
    Other { update_id: i64 },
}

impl Update {
    pub fn id(&self) -> i64 {
        match self {
            Update::Message { update_id, .. }
            | Update::Callback { update_id, .. }
            | Update::Other { update_id } => *update_id,
        }
    }

    fn from_teloxide(u: teloxide::types::Update) -> Update {
        let update_id = i64::from(u.id.0);
        match u.kind {
            UpdateKind::Message(m) => Update::Message {
                update_id,
                chat_id: m.chat.id.0,
                chat_title: chat_title(&m),
                from_name: match m.from.as_ref() {
                    Some(user) => user_name(user),
                    // An anonymous group admin or a channel speaks as a chat.
                    None => m
                        .sender_chat
                        .as_ref()
                        .and_then(|c| c.title())
                        .unwrap_or_default()
                        .to_owned(),
                },
                text: m.text().or(m.caption()).unwrap_or_default().to_owned(),
                message_id: i64::from(m.id.0),
                reply_to_message_id: m.reply_to_message().map(|r| i64::from(r.id.0)),
            },
            UpdateKind::CallbackQuery(q) => match q.message.as_ref() {
                Some(msg) => Update::Callback {
                    update_id,
                    callback_id: q.id.0.clone(),
                    chat_id: msg.chat().id.0,
                    message_id: i64::from(msg.id().0),
                    from_name: user_name(&q.from),
                    data: q.data.clone().unwrap_or_default(),
                },
                // A button under an inline-mode message: not one of ours.
                None => Update::Other { update_id },
            },
            _ => Update::Other { update_id },
        }
    }
}

fn chat_title(m: &Message) -> String {
    if let Some(title) = m.chat.title() {
        return title.to_owned();
    }
    let name = [m.chat.first_name(), m.chat.last_name()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !name.trim().is_empty() {
        return name;
    }
    m.chat
        .username()
        .map(|u| format!("@{u}"))
        .unwrap_or_default()
}

fn user_name(user: &User) -> String {
    let name = user.full_name();
    if !name.trim().is_empty() {
        return name;
    }
    user.mention().unwrap_or_default()
}

/// One row of callback buttons, or none (Telegram rejects an empty keyboard on a new message).
fn keyboard(buttons: &[Button]) -> Option<InlineKeyboardMarkup> {
    if buttons.is_empty() {
        return None;
    }
    let row: Vec<InlineKeyboardButton> = buttons
        .iter()
        .map(|b| InlineKeyboardButton::callback(b.label.clone(), b.data.clone()))
        .collect();
    Some(InlineKeyboardMarkup::new([row]))
}

/// Telegram's message ids are 32-bit; ours are stored as i64.
fn message_id(id: i64) -> Result<MessageId, SendError> {
    i32::try_from(id)
        .map(MessageId)
        .map_err(|_| SendError::Rejected(format!("{id} is not a Telegram message id")))
}

/// The chat id an outbox item names, as decimal text (negative for groups).
fn chat_target(target: &str) -> Result<ChatId, SendError> {
    target
        .trim()
        .parse::<i64>()
        .map(ChatId)
        .map_err(|_| SendError::Rejected(format!("\"{target}\" is not a Telegram chat id")))
}

/// Reads an attachment into memory before the call, so a missing file is reported as such
/// (naming the file the recipient would see, not our data directory's layout) instead of
/// surfacing as a half-sent multipart body.
async fn read_attachment(a: &Attachment) -> Result<InputFile, SendError> {
    let path = a.path.clone();
    let read = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(|e| SendError::Down(format!("reading attachment \"{}\": {e}", a.file_name)))?;
    match read {
        Ok(bytes) => Ok(InputFile::memory(bytes).file_name(a.file_name.clone())),
        // A file that is gone or unreadable will not come back by retrying: fail the item
        // rather than block the queue behind it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SendError::Rejected(format!(
            "attachment file \"{}\" is missing",
            a.file_name
        ))),
        Err(e) => Err(SendError::Rejected(format!(
            "cannot read attachment file \"{}\": {e}",
            a.file_name
        ))),
    }
}

/// A reqwest error's causes without its URL (which holds the token): "timed out",
/// "connection refused" and the like are what an operator needs.
fn network_text(err: &reqwest::Error) -> String {
    let mut text = String::from(if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else if err.is_body() || err.is_decode() {
        "the reply was cut off or unreadable"
    } else {
        "network error"
    });
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Descriptions of failures on Telegram's (or a proxy's) side. teloxide 0.17 drops the
/// `error_code`, so an `{"ok":false,"error_code":502,"description":"Bad Gateway"}` reply only
/// shows as `ApiError::Unknown("Bad Gateway")`; the description is all there is to go on.
fn is_server_side(description: &str) -> bool {
    let d = description.to_ascii_lowercase();
    [
        "internal server error",
        "bad gateway",
        "service unavailable",
        "gateway timeout",
        "gateway time-out",
        "internal error",
        "server error",
    ]
    .iter()
    .any(|s| d.contains(s))
        || (d.starts_with('5')
            && d.get(..3)
                .is_some_and(|c| c.bytes().all(|b| b.is_ascii_digit())))
}

/// "Too Many Requests: retry after 17" without `parameters`: still a request to wait.
fn retry_after_in(description: &str) -> Option<Duration> {
    let d = description.to_ascii_lowercase();
    let rest = d.split("retry after").nth(1)?;
    let secs: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    secs.parse::<u64>().ok().map(Duration::from_secs)
}

impl Telegram {
    /// `api_url` e.g. "https://api.telegram.org" or "http://127.0.0.1:PORT" (trailing slash
    /// allowed). Requests time out after 30 s (long polls after their own timeout + 10 s).
    ///
    /// Errors (never naming the token): an unusable URL (which one and why), an empty token.
    pub fn new(api_url: &str, token: &str) -> Result<Telegram, String> {
        let token = token.trim();
        if token.is_empty() {
            return Err("the Telegram bot token is empty".into());
        }
        if token
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '?' || c == '#')
        {
            return Err(
                "the Telegram bot token contains spaces or characters a token \
                        cannot have"
                    .into(),
            );
        }
        let bad = |why: &str| format!("unusable Telegram Bot API URL \"{api_url}\": {why}");
        // teloxide appends `/bot<TOKEN>/<method>` as path segments: a trailing slash would
        // leave an empty segment ("//bot...") on a URL with a path.
        let trimmed = api_url.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(trimmed).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("it must start with http:// or https://"));
        }
        if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
            return Err(bad("it has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("it must not have a query or a fragment"));
        }
        // No overall timeout on the client: each call gets its own (a long poll needs longer
        // than a sendMessage), enforced around the call in `call`.
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("cannot set up the HTTP client for Telegram: {e}"))?;

        let mut secrets = vec![token.to_owned()];
        // The form the token takes inside a request URL, should it need escaping.
        let mut probe = reqwest::Url::parse("http://x/").expect("static URL");
        if let Ok(mut segments) = probe.path_segments_mut() {
            segments.push(token);
        }
        let encoded = probe.path().trim_start_matches('/').to_owned();
        if encoded != token && !encoded.is_empty() {
            secrets.push(encoded);
        }

        Ok(Telegram {
            bot: Bot::with_client(token, client).set_api_url(url),
            api_url: trimmed.to_owned(),
            secrets,
        })
    }

    /// getMe: the bot's @username (without @). Also the cheapest check of the token.
    pub async fn get_me(&self) -> Result<String, SendError> {
        let me = self.call(CALL_TIMEOUT, self.bot.get_me().send()).await?;
        me.user.username.ok_or_else(|| {
            SendError::Rejected("the Bot API reports a bot without a username".into())
        })
    }

    /// getUpdates with offset and long-poll timeout (seconds); allowed_updates message +
    /// callback_query. Updates teloxide cannot parse come back as `Update::Other`, so the
    /// offset can still move past them.
    pub async fn updates(&self, offset: i64, timeout_secs: u32) -> Result<Vec<Update>, SendError> {
        let offset = i32::try_from(offset)
            .map_err(|_| SendError::Rejected(format!("update offset {offset} is out of range")))?;
        let request = self
            .bot
            .get_updates()
            .offset(offset)
            .timeout(timeout_secs)
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let limit = Duration::from_secs(u64::from(timeout_secs)) + POLL_MARGIN;
        let updates = self.call(limit, request.send()).await?;
        Ok(updates.into_iter().map(Update::from_teloxide).collect())
    }

    /// sendMessage with parse_mode HTML; `force_reply` adds a ForceReply markup (used to ask
    /// for a cause: the person's client opens a reply to this message); `reply_to` replies to a
    /// message (sent anyway if that message is gone). Returns the new message_id.
    pub async fn reply(
        &self,
        chat_id: i64,
        html: &str,
        reply_to: Option<i64>,
        force_reply: bool,
    ) -> Result<i64, SendError> {
        let mut request = self
            .bot
            .send_message(ChatId(chat_id), html)
            .parse_mode(ParseMode::Html);
        if let Some(id) = reply_to {
            request = request.reply_parameters(
                ReplyParameters::new(message_id(id)?).allow_sending_without_reply(),
            );
        }
        if force_reply {
            request = request.reply_markup(ForceReply::new());
        }
        let sent = self.call(CALL_TIMEOUT, request.send()).await?;
        Ok(i64::from(sent.id.0))
    }

    /// answerCallbackQuery: stops the button's spinner; `text` (if any) shows as a toast.
    pub async fn answer_callback(&self, callback_id: &str, text: &str) -> Result<(), SendError> {
        let mut request = self
            .bot
            .answer_callback_query(CallbackQueryId(callback_id.to_owned()));
        if !text.is_empty() {
            request = request.text(text);
        }
        self.call(CALL_TIMEOUT, request.send()).await?;
        Ok(())
    }

    /// editMessageReplyMarkup: replaces the inline buttons under a message (empty slice =
    /// none). Editing to what is already there counts as done, so a retry is harmless.
    pub async fn set_buttons(
        &self,
        chat_id: i64,
        message_id: i64,
        buttons: &[Button],
    ) -> Result<(), SendError> {
        let mut request = self
            .bot
            .edit_message_reply_markup(ChatId(chat_id), self::message_id(message_id)?);
        if let Some(k) = keyboard(buttons) {
            request = request.reply_markup(k);
        }
        match tokio::time::timeout(CALL_TIMEOUT, request.send()).await {
            Ok(Err(RequestError::Api(ApiError::MessageNotModified))) => Ok(()),
            Ok(result) => result.map(|_| ()).map_err(|e| self.classify(e)),
            Err(_) => Err(self.timed_out(CALL_TIMEOUT)),
        }
    }

    /// Runs one Bot API call under a deadline and sorts its error.
    async fn call<T>(
        &self,
        limit: Duration,
        request: impl Future<Output = Result<T, RequestError>>,
    ) -> Result<T, SendError> {
        match tokio::time::timeout(limit, request).await {
            Ok(result) => result.map_err(|e| self.classify(e)),
            Err(_) => Err(self.timed_out(limit)),
        }
    }

    fn timed_out(&self, limit: Duration) -> SendError {
        SendError::Down(format!(
            "the Telegram Bot API did not answer within {} s",
            limit.as_secs()
        ))
    }

    /// Sorts a teloxide error for the outbox worker, with the token redacted from the text.
    fn classify(&self, error: RequestError) -> SendError {
        let down = |s: String| SendError::Down(self.redact(&s));
        match error {
            RequestError::RetryAfter(secs) => SendError::RetryAfter(secs.duration()),
            RequestError::MigrateToChatId(id) => SendError::Rejected(format!(
                "the group became a supergroup; its chat id is now {}",
                id.0
            )),
            RequestError::Network(e) => down(format!(
                "cannot reach the Telegram Bot API: {}",
                network_text(&e)
            )),
            // A proxy's or load balancer's HTML page instead of the Bot API's JSON.
            RequestError::InvalidJson { raw, .. } => {
                let mut snippet: String = raw.chars().take(RAW_SNIPPET).collect();
                if raw.chars().count() > RAW_SNIPPET {
                    snippet.push('…');
                }
                down(format!(
                    "the Telegram Bot API answered something that is not its JSON: {}",
                    snippet.split_whitespace().collect::<Vec<_>>().join(" ")
                ))
            }
            RequestError::Io(e) => down(format!("cannot upload the file: {e}")),
            RequestError::Api(api) => {
                let description = match &api {
                    ApiError::Unknown(text) => text.clone(),
                    other => other.to_string(),
                };
                let description = self.redact(&description);
                if let Some(wait) = retry_after_in(&description) {
                    return SendError::RetryAfter(wait);
                }
                match api {
                    // teloxide folds "Unauthorized" and "Not Found" into this one.
                    ApiError::InvalidToken => SendError::Rejected(
                        "Telegram refused the bot token (wrong or revoked), or the Bot API URL \
                         is not a Bot API"
                            .into(),
                    ),
                    // Another copy of the bot is polling; it may stop, so try again later.
                    ApiError::TerminatedByOtherGetUpdates => SendError::Down(description),
                    _ if is_server_side(&description) => {
                        SendError::Down(format!("the Telegram Bot API failed: {description}"))
                    }
                    _ => SendError::Rejected(description),
                }
            }
        }
    }

    /// Replaces the token (raw or percent-encoded) by `<token>`.
    fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |t, secret| {
            t.replace(secret.as_str(), "<token>")
        })
    }
}

/// Sets the caption (HTML when there is HTML), and the buttons, on a media request; the three
/// media payloads have the same setters under different traits.
macro_rules! media_extras {
    ($request:expr, $caption:expr, $html:expr, $keyboard:expr) => {{
        let mut request = $request;
        if !$caption.is_empty() {
            request = request.caption($caption.clone());
            if $html {
                request = request.parse_mode(ParseMode::Html);
            }
        }
        if let Some(k) = $keyboard {
            request = request.reply_markup(k);
        }
        request
    }};
}

impl Transport for Telegram {
    /// One Bot API call per message (the caller split it with `split_for_telegram`), so a retry
    /// never repeats a part that did arrive. `target` is the chat id as decimal text.
    async fn send(&self, target: &str, msg: &Outgoing) -> Result<Sent, SendError> {
        let chat = chat_target(target)?;
        let (body, html) = match &msg.html {
            Some(html) => (html.clone(), true),
            None => (msg.text.clone(), false),
        };
        let buttons = keyboard(&msg.buttons);
        if msg.attachments.len() > 1 {
            tracing::warn!(
                attachments = msg.attachments.len(),
                "a Telegram message with several attachments was not split; only the first is sent"
            );
        }
        let sent = match msg.attachments.first() {
            None => {
                let mut request = self.bot.send_message(chat, body);
                if html {
                    request = request.parse_mode(ParseMode::Html);
                }
                if let Some(k) = buttons {
                    request = request.reply_markup(k);
                }
                self.call(CALL_TIMEOUT, request.send()).await?
            }
            Some(attachment) => {
                let file = read_attachment(attachment).await?;
                match attachment.role {
                    AttachmentRole::Photo | AttachmentRole::Chart => {
                        let request =
                            media_extras!(self.bot.send_photo(chat, file), body, html, buttons);
                        self.call(CALL_TIMEOUT, request.send()).await?
                    }
                    AttachmentRole::Voice => {
                        let request =
                            media_extras!(self.bot.send_voice(chat, file), body, html, buttons);
                        self.call(CALL_TIMEOUT, request.send()).await?
                    }
                    AttachmentRole::Document => {
                        let request =
                            media_extras!(self.bot.send_document(chat, file), body, html, buttons);
                        self.call(CALL_TIMEOUT, request.send()).await?
                    }
                }
            }
        };
        Ok(Sent {
            remote_ref: Some(sent.id.0.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456:SECRET-token-value";

    #[test]
    fn new_checks_url_and_token() {
        assert!(Telegram::new("https://api.telegram.org/", TOKEN).is_ok());
        assert!(Telegram::new("http://127.0.0.1:8081", TOKEN).is_ok());
        let e = Telegram::new("ftp://example.org", TOKEN).unwrap_err();
        assert!(e.contains("ftp://example.org"), "{e}");
        let e = Telegram::new("not a url", TOKEN).unwrap_err();
        assert!(e.contains("not a url"), "{e}");
        assert!(Telegram::new("https://api.telegram.org/?x=1", TOKEN).is_err());
        let e = Telegram::new("https://api.telegram.org", "  ").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = Telegram::new("https://api.telegram.org", "12 34/x").unwrap_err();
        assert!(!e.contains("12 34"), "{e}");
    }

    #[test]
    fn debug_hides_the_token() {
        let t = Telegram::new("https://api.telegram.org", TOKEN).unwrap();
        let shown = format!("{t:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("api.telegram.org"), "{shown}");
    }

    #[test]
    fn api_errors_are_sorted() {
        let t = Telegram::new("https://api.telegram.org", TOKEN).unwrap();
        let unknown = |s: &str| RequestError::Api(ApiError::Unknown(s.into()));
        assert!(matches!(
            t.classify(unknown("Bad Gateway")),
            SendError::Down(_)
        ));
        assert!(matches!(
            t.classify(unknown("Internal Server Error")),
            SendError::Down(_)
        ));
        assert_eq!(
            t.classify(unknown("Too Many Requests: retry after 7")),
            SendError::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            t.classify(RequestError::RetryAfter(
                teloxide::types::Seconds::from_seconds(3)
            )),
            SendError::RetryAfter(Duration::from_secs(3))
        );
        match t.classify(RequestError::Api(ApiError::ChatNotFound)) {
            SendError::Rejected(s) => assert!(s.contains("chat not found"), "{s}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            t.classify(RequestError::Api(ApiError::BotBlocked)),
            SendError::Rejected(_)
        ));
        assert!(matches!(
            t.classify(RequestError::Api(ApiError::InvalidToken)),
            SendError::Rejected(_)
        ));
        assert!(matches!(
            t.classify(unknown("Bad Request: message text is empty")),
            SendError::Rejected(_)
        ));
        match t.classify(unknown(&format!("Not Found: /bot{TOKEN}/x"))) {
            SendError::Rejected(s) => {
                assert!(!s.contains("SECRET") && s.contains("<token>"), "{s}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_targets_are_rejected() {
        assert_eq!(chat_target(" -100123 ").unwrap(), ChatId(-100123));
        match chat_target("@clinic") {
            Err(SendError::Rejected(s)) => assert!(s.contains("not a Telegram chat id"), "{s}"),
            other => panic!("{other:?}"),
        }
    }

    /// reqwest's error texts carry the request URL, which carries the token.
    #[tokio::test]
    async fn unreachable_errors_do_not_show_the_token() {
        // A port nothing listens on: bind, note it, close.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let t = Telegram::new(&format!("http://127.0.0.1:{port}/"), TOKEN).unwrap();
        let e = t.get_me().await.unwrap_err();
        let SendError::Down(text) = &e else {
            panic!("expected Down, got {e:?}")
        };
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!format!("{e:?}").contains("SECRET"), "{e:?}");
        let e = t
            .send(
                "42",
                &Outgoing {
                    text: "hi".into(),
                    ..Outgoing::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(e, SendError::Down(_)), "{e:?}");
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }
}
