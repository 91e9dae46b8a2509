//! A fake Telegram Bot API on a loopback port, for tests of everything that talks to Telegram.
//!
//! No ready emulator handles uploads (see ../shared/TESTING.md), so this one is ours. It follows
//! the Bot API's documented shapes (`{"ok":true,"result":...}`, errors with `error_code`,
//! `description` and, for 429, `parameters.retry_after`), parses JSON, query, form and
//! multipart requests (files by `attach://name` as teloxide sends them, by field name, or a
//! file_id string), records every call in order, serves getUpdates with long polling from
//! updates a test pushes, and can be switched into failure modes while running.
//!
//! Failure modes (`Mode`) apply to the send methods only (sendMessage, sendPhoto, sendVoice,
//! sendDocument); getMe, getUpdates, answerCallbackQuery and editMessageReplyMarkup always
//! answer. `stop()` really closes the port and every open connection (pooled keep-alive ones
//! included), so a client sees "connection refused" or a dropped connection, as with a real
//! outage.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The bot every token is answered as (its id is the token's number before ':', if any).
pub const BOT_USERNAME: &str = "otklik_test_bot";
pub const BOT_FIRST_NAME: &str = "Otklik Test Bot";

/// Methods `Mode` applies to and `delivered()` counts.
const SEND_METHODS: [&str; 4] = ["sendmessage", "sendphoto", "sendvoice", "senddocument"];

/// How the send methods answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Normally.
    Up,
    /// HTTP 502 with `{"ok":false,"error_code":502,"description":"Bad Gateway"}`; nothing is
    /// delivered (the call is recorded with `status: 502`).
    Refusing,
    /// Starts a 200 answer and cuts the connection before its body is complete, as a proxy
    /// resetting connections would; nothing is delivered (the call is recorded with
    /// `status: 0`). Unlike a 5xx (teloxide 0.17 sleeps 10 s on those), the client knows at once.
    Cutting,
    /// Sleeps this long, then answers normally.
    Slow(Duration),
    /// The next `times` send calls get 429 with `retry_after`, then the mode is `Up` again.
    Limited { retry_after: u32, times: u32 },
}

/// A file uploaded as a multipart part.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    /// The part's file name.
    pub name: String,
    /// The part's Content-Type header; empty when the client sent none (teloxide 0.17 sends
    /// none: Telegram goes by the bytes and the file name).
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// One request, as the server saw and answered it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The Bot API's name of the method, e.g. "sendMessage", whatever case the URL used
    /// (method names are case-insensitive; teloxide 0.17 sends "SendMessage").
    pub method: String,
    pub chat_id: Option<i64>,
    /// `text`, or `caption` for media.
    pub text: Option<String>,
    pub parse_mode: Option<String>,
    pub reply_markup: Option<Value>,
    /// The photo/voice/document uploaded (None for a file_id string, kept in `params`).
    pub file: Option<Upload>,
    /// Every other field (numbers and JSON values parsed even from form and multipart text).
    pub params: Value,
    /// The token in the URL (`/bot<token>/<method>`).
    pub token: String,
    /// When the server answered (after any `Slow` delay).
    pub at: Instant,
    /// The HTTP status answered: 200 delivered; 502 refused; 429 limited; 400 bad request or
    /// unknown chat; 401 forbidden token; 0 when the server was stopped before answering or
    /// cut the answer off (`Mode::Cutting`).
    pub status: u16,
    /// The message the call created or edited, if any.
    pub message_id: Option<i64>,
}

impl Call {
    /// A send method that went through.
    pub fn is_delivery(&self) -> bool {
        self.status == 200 && SEND_METHODS.contains(&self.method.to_ascii_lowercase().as_str())
    }

    /// The inline keyboard's callback data, row by row flattened.
    pub fn callback_data(&self) -> Vec<String> {
        self.reply_markup
            .as_ref()
            .and_then(|m| m["inline_keyboard"].as_array())
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
            .collect()
    }
}

struct State0 {
    calls: Vec<Call>,
    mode: Mode,
    forbidden_chats: HashSet<i64>,
    forbidden_tokens: HashSet<String>,
    /// Pushed, not yet confirmed by an offset past them.
    updates: Vec<Value>,
    next_update_id: i64,
    next_message_id: i64,
    next_callback: u64,
    /// Every message sent or pushed, by (chat id, message id), as the Bot API shows it.
    messages: HashMap<(i64, i64), Value>,
    /// Names of chats pushed (group titles, private chats' names).
    chat_names: HashMap<i64, String>,
    /// Users of pushed messages, by first name.
    users: HashMap<String, i64>,
}

struct Shared {
    state: Mutex<State0>,
    /// Bumped on every push, to wake long polls.
    pushed: watch::Sender<u64>,
    /// Bumped on every stop, so an answer computed across a stop is not taken as delivered.
    generation: AtomicU64,
}

type Conns = Arc<Mutex<HashMap<u64, std::net::TcpStream>>>;

struct Running {
    task: JoinHandle<()>,
    /// A second handle on every open connection's socket, to shut it down on `stop()`.
    conns: Conns,
}

/// The fake server. Dropping it stops it.
pub struct BotApi {
    shared: Arc<Shared>,
    port: u16,
    running: Mutex<Option<Running>>,
}

impl BotApi {
    /// Starts on 127.0.0.1 on a free port.
    pub async fn start() -> BotApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let (pushed, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(State0 {
                calls: Vec::new(),
                mode: Mode::Up,
                forbidden_chats: HashSet::new(),
                forbidden_tokens: HashSet::new(),
                updates: Vec::new(),
                next_update_id: 1,
                next_message_id: 1,
                next_callback: 1,
                messages: HashMap::new(),
                chat_names: HashMap::new(),
                users: HashMap::new(),
            }),
            pushed,
            generation: AtomicU64::new(0),
        });
        let api = BotApi {
            shared,
            port,
            running: Mutex::new(None),
        };
        api.serve(listener);
        api
    }

    fn serve(&self, listener: TcpListener) {
        let conns: Conns = Arc::default();
        let app = Router::new()
            .route("/{bot}/{method}", any(handle))
            .fallback(|| async { api_error(StatusCode::NOT_FOUND, "Not Found", None) })
            .layer(DefaultBodyLimit::max(64 << 20))
            .with_state(self.shared.clone());
        let tracked = Tracked {
            listener,
            conns: conns.clone(),
            next_id: 0,
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(tracked, app).await;
        });
        *self.running.lock().unwrap() = Some(Running { task, conns });
    }

    /// `http://127.0.0.1:PORT`, for `Telegram::new`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes the listener and every connection: new requests get "connection refused",
    /// requests in flight (a long poll, a `Slow` send) lose their connection.
    pub async fn stop(&self) {
        let running = self.running.lock().unwrap().take();
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(r) = running {
            r.task.abort();
            let _ = r.task.await;
            for (_, conn) in r.conns.lock().unwrap().drain() {
                let _ = conn.shutdown(Shutdown::Both);
            }
        }
    }

    /// Listens again on the same port, with everything recorded so far.
    pub async fn restart(&self) {
        self.stop().await;
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("botapi: rebinding {addr}: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("botapi: cannot listen on {addr} again: {e}"),
            }
        };
        self.serve(listener);
    }

    pub fn is_running(&self) -> bool {
        self.running.lock().unwrap().is_some()
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.state.lock().unwrap().mode = mode;
    }

    pub fn mode(&self) -> Mode {
        self.shared.state.lock().unwrap().mode
    }

    /// Sends to this chat get 400 "Bad Request: chat not found".
    pub fn forbid_chat(&self, chat_id: i64) {
        self.shared
            .state
            .lock()
            .unwrap()
            .forbidden_chats
            .insert(chat_id);
    }

    pub fn allow_chat(&self, chat_id: i64) {
        self.shared
            .state
            .lock()
            .unwrap()
            .forbidden_chats
            .remove(&chat_id);
    }

    /// Every call with this token gets 401 "Unauthorized" (a revoked or mistyped token).
    pub fn forbid_token(&self, token: &str) {
        let mut s = self.shared.state.lock().unwrap();
        s.forbidden_tokens.insert(token.to_owned());
    }

    /// Every call so far, in the order answered (refused and failed ones included).
    pub fn calls(&self) -> Vec<Call> {
        self.shared.state.lock().unwrap().calls.clone()
    }

    /// Only the send methods that went through (status 200).
    pub fn delivered(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::is_delivery).collect()
    }

    /// Calls of one method (case-insensitive), whatever their status.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .collect()
    }

    /// A message as the server holds it now (after edits), in Bot API JSON.
    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<Value> {
        self.shared
            .state
            .lock()
            .unwrap()
            .messages
            .get(&(chat_id, message_id))
            .cloned()
    }

    /// Pushes a message from a person into getUpdates. Negative ids are groups ("supergroup"
    /// for -100… ids) titled `chat_title`; positive ones private chats with a person named
    /// `chat_title`. Returns its message_id.
    pub fn push_message(
        &self,
        chat_id: i64,
        chat_title: &str,
        from_first_name: &str,
        text: &str,
        reply_to_message_id: Option<i64>,
    ) -> i64 {
        let id = {
            let mut s = self.shared.state.lock().unwrap();
            s.chat_names.insert(chat_id, chat_title.to_owned());
            let user_id = if chat_id > 0 {
                chat_id
            } else {
                let next = 10_000 + s.users.len() as i64;
                *s.users.entry(from_first_name.to_owned()).or_insert(next)
            };
            let id = s.next_message_id;
            s.next_message_id += 1;
            let mut msg = json!({
                "message_id": id,
                "date": now_unix(),
                "chat": s.chat_json(chat_id),
                "from": {"id": user_id, "is_bot": false, "first_name": from_first_name},
                "text": text,
            });
            if let Some(r) = reply_to_message_id {
                msg["reply_to_message"] = s.reply_json(chat_id, r);
            }
            s.messages.insert((chat_id, id), msg.clone());
            s.push_update("message", msg);
            id
        };
        self.shared.pushed.send_modify(|n| *n += 1);
        id
    }

    /// Pushes a press on an inline button under message `message_id`. Returns the callback id.
    pub fn push_callback(
        &self,
        chat_id: i64,
        message_id: i64,
        from_first_name: &str,
        data: &str,
    ) -> String {
        let id = {
            let mut s = self.shared.state.lock().unwrap();
            let user_id = if chat_id > 0 {
                chat_id
            } else {
                let next = 10_000 + s.users.len() as i64;
                *s.users.entry(from_first_name.to_owned()).or_insert(next)
            };
            let cb = format!("cb-{}", s.next_callback);
            s.next_callback += 1;
            let message = s.reply_json(chat_id, message_id);
            let query = json!({
                "id": cb,
                "from": {"id": user_id, "is_bot": false, "first_name": from_first_name},
                "message": message,
                "chat_instance": format!("ci{chat_id}"),
                "data": data,
            });
            s.push_update("callback_query", query);
            cb
        };
        self.shared.pushed.send_modify(|n| *n += 1);
        id
    }

    /// Waits until `pred` holds for the calls so far; panics naming `what` and listing the
    /// calls on timeout.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[Call]) -> bool,
    ) -> Vec<Call> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls();
            if pred(&calls) {
                return calls;
            }
            if Instant::now() >= deadline {
                panic!(
                    "fake Bot API: timed out after {timeout:?} waiting for {what}; calls so far:\n{}",
                    summary(&calls)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for BotApi {
    fn drop(&mut self) {
        if let Some(r) = self.running.get_mut().ok().and_then(Option::take) {
            r.task.abort();
            if let Ok(mut conns) = r.conns.lock() {
                for (_, conn) in conns.drain() {
                    let _ = conn.shutdown(Shutdown::Both);
                }
            }
        }
    }
}

/// One line per call, for panic messages.
pub fn summary(calls: &[Call]) -> String {
    calls
        .iter()
        .map(|c| {
            let text: String = c.text.as_deref().unwrap_or("").chars().take(60).collect();
            format!(
                "  {} {} chat={:?} text={text:?} file={:?}",
                c.status,
                c.method,
                c.chat_id,
                c.file.as_ref().map(|f| &f.name)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The documented spelling of the methods served; others as given.
fn canonical(method: &str) -> String {
    const KNOWN: [&str; 8] = [
        "getMe",
        "getUpdates",
        "sendMessage",
        "sendPhoto",
        "sendVoice",
        "sendDocument",
        "answerCallbackQuery",
        "editMessageReplyMarkup",
    ];
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(method))
        .map_or_else(|| method.to_owned(), |k| (*k).to_owned())
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1)
}

impl State0 {
    fn chat_json(&self, chat_id: i64) -> Value {
        if chat_id < 0 {
            let title = self
                .chat_names
                .get(&chat_id)
                .cloned()
                .unwrap_or_else(|| format!("Chat {chat_id}"));
            let kind = if chat_id <= -1_000_000_000_000 {
                "supergroup"
            } else {
                "group"
            };
            json!({"id": chat_id, "type": kind, "title": title})
        } else {
            let name = self
                .chat_names
                .get(&chat_id)
                .cloned()
                .unwrap_or_else(|| format!("User {chat_id}"));
            json!({"id": chat_id, "type": "private", "first_name": name})
        }
    }

    /// A stored message without its own `reply_to_message` (the Bot API does not nest them),
    /// or a bare one when the server never saw it.
    fn reply_json(&self, chat_id: i64, message_id: i64) -> Value {
        match self.messages.get(&(chat_id, message_id)) {
            Some(m) => {
                let mut m = m.clone();
                if let Some(o) = m.as_object_mut() {
                    o.remove("reply_to_message");
                }
                m
            }
            None => json!({
                "message_id": message_id,
                "date": now_unix(),
                "chat": self.chat_json(chat_id),
                "text": "",
            }),
        }
    }

    fn push_update(&mut self, kind: &str, value: Value) {
        let id = self.next_update_id;
        self.next_update_id += 1;
        let mut update = json!({ "update_id": id });
        update[kind] = value;
        self.updates.push(update);
    }
}

fn bot_user(token: &str) -> Value {
    let id = token
        .split(':')
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(1);
    json!({"id": id, "is_bot": true, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME})
}

fn api_ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn api_error(status: StatusCode, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({
        "ok": false,
        "error_code": status.as_u16(),
        "description": description,
    });
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (status, Json(body)).into_response()
}

/// A value from a form or multipart text field: numbers, booleans and JSON objects/arrays as
/// such, anything else as a string.
fn coerce(text: String) -> Value {
    match serde_json::from_str::<Value>(&text) {
        Ok(v) if !v.is_string() => v,
        _ => Value::String(text),
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// reply_markup may come as an object (JSON body) or as JSON text (form, multipart).
fn as_json(v: Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        other => other,
    }
}

/// The request's fields and uploaded files, whatever the encoding.
async fn read_params(
    req: Request,
) -> Result<(Map<String, Value>, HashMap<String, Upload>), String> {
    let mut params = Map::new();
    let mut files = HashMap::new();
    if let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(req.uri()) {
        for (k, v) in pairs {
            params.insert(k, coerce(v));
        }
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, &())
            .await
            .map_err(|e| format!("bad multipart body: {e}"))?;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| format!("bad multipart body: {e}"))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let content_type = field.content_type().unwrap_or_default().to_owned();
                    let bytes = field
                        .bytes()
                        .await
                        .map_err(|e| format!("bad multipart part {name}: {e}"))?;
                    files.insert(
                        name,
                        Upload {
                            name: file_name,
                            content_type,
                            bytes: bytes.to_vec(),
                        },
                    );
                }
                None => {
                    let text = field
                        .text()
                        .await
                        .map_err(|e| format!("bad multipart field {name}: {e}"))?;
                    params.insert(name, coerce(text));
                }
            }
        }
    } else {
        let body = axum::body::to_bytes(req.into_body(), 64 << 20)
            .await
            .map_err(|e| format!("cannot read the body: {e}"))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            // No body: the query string was all.
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> = serde_urlencoded_pairs(&body)?;
            for (k, v) in pairs {
                params.insert(k, coerce(v));
            }
        } else {
            // application/json, or no content type at all (curl -d '{...}').
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(o)) => params.extend(o),
                _ => return Err("can't parse JSON object".into()),
            }
        }
    }
    Ok((params, files))
}

/// `a=1&b=x%20y` into pairs, with axum's form decoder.
fn serde_urlencoded_pairs(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let uri: axum::http::Uri = format!("/?{}", String::from_utf8_lossy(body))
        .parse()
        .map_err(|e| format!("bad form body: {e}"))?;
    Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|Query(p)| p)
        .map_err(|e| format!("bad form body: {e}"))
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    req: Request,
) -> Response {
    let Some(token) = bot.strip_prefix("bot").map(str::to_owned) else {
        return api_error(StatusCode::NOT_FOUND, "Not Found", None);
    };
    let generation = shared.generation.load(Ordering::SeqCst);
    let (mut params, files) = match read_params(req).await {
        Ok(p) => p,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, &format!("Bad Request: {e}"), None),
    };
    let lower = method.to_ascii_lowercase();
    let is_send = SEND_METHODS.contains(&lower.as_str());

    // The file field of a media method: a part by that name, a part named by "attach://x",
    // or a file_id/URL string (left in params).
    let file_field = match lower.as_str() {
        "sendphoto" => Some("photo"),
        "sendvoice" => Some("voice"),
        "senddocument" => Some("document"),
        _ => None,
    };
    let mut file = None;
    if let Some(field) = file_field {
        if let Some(upload) = files.get(field) {
            file = Some(upload.clone());
        } else if let Some(name) = params
            .get(field)
            .and_then(Value::as_str)
            .and_then(|s| s.strip_prefix("attach://"))
        {
            file = files.get(name).cloned();
            params.remove(field);
        }
    }

    let call = Call {
        method: canonical(&method),
        chat_id: params.remove("chat_id").as_ref().and_then(as_i64),
        text: params
            .remove("text")
            .or_else(|| params.remove("caption"))
            .as_ref()
            .map(as_text),
        parse_mode: params.remove("parse_mode").as_ref().map(as_text),
        reply_markup: params.remove("reply_markup").map(as_json),
        file,
        params: Value::Object(params),
        token: token.clone(),
        at: Instant::now(),
        status: 200,
        message_id: None,
    };

    let record = |mut call: Call, status: StatusCode| {
        call.status = if shared.generation.load(Ordering::SeqCst) == generation {
            status.as_u16()
        } else {
            0
        };
        call.at = Instant::now();
        shared.state.lock().unwrap().calls.push(call);
    };

    if shared
        .state
        .lock()
        .unwrap()
        .forbidden_tokens
        .contains(&token)
    {
        record(call, StatusCode::UNAUTHORIZED);
        return api_error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }

    if is_send {
        let fault = {
            let mut s = shared.state.lock().unwrap();
            let mode = s.mode;
            if let Mode::Limited { retry_after, times } = mode {
                s.mode = if times <= 1 {
                    Mode::Up
                } else {
                    Mode::Limited {
                        retry_after,
                        times: times - 1,
                    }
                };
            }
            mode
        };
        match fault {
            Mode::Up => {}
            Mode::Refusing => {
                record(call, StatusCode::BAD_GATEWAY);
                return api_error(StatusCode::BAD_GATEWAY, "Bad Gateway", None);
            }
            Mode::Cutting => {
                let mut call = call;
                call.at = Instant::now();
                call.status = 0;
                shared.state.lock().unwrap().calls.push(call);
                let body = futures_util::stream::iter([
                    Ok(bytes::Bytes::from_static(b"{\"ok\":true,")),
                    Err(io::Error::other("connection cut")),
                ]);
                return Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(axum::body::Body::from_stream(body))
                    .unwrap();
            }
            Mode::Limited { retry_after, times } if times > 0 => {
                record(call, StatusCode::TOO_MANY_REQUESTS);
                return api_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("Too Many Requests: retry after {retry_after}"),
                    Some(json!({ "retry_after": retry_after })),
                );
            }
            Mode::Limited { .. } => {}
            Mode::Slow(delay) => tokio::time::sleep(delay).await,
        }
    }

    match lower.as_str() {
        "getme" => {
            let mut me = bot_user(&token);
            let extra = json!({
                "can_join_groups": true,
                "can_read_all_group_messages": false,
                "supports_inline_queries": false,
                "can_connect_to_business": false,
                "has_main_web_app": false,
            });
            if let (Some(me), Value::Object(extra)) = (me.as_object_mut(), extra) {
                me.extend(extra);
            }
            record(call, StatusCode::OK);
            api_ok(me)
        }
        "getupdates" => get_updates(&shared, call, generation).await,
        "sendmessage" | "sendphoto" | "sendvoice" | "senddocument" => {
            send(&shared, call, &token, &lower, &record)
        }
        "answercallbackquery" => {
            if call.params.get("callback_query_id").is_none() {
                record(call, StatusCode::BAD_REQUEST);
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: query is too old and response timeout expired or query ID is invalid",
                    None,
                );
            }
            record(call, StatusCode::OK);
            api_ok(Value::Bool(true))
        }
        "editmessagereplymarkup" => edit_markup(&shared, call, &record),
        _ => {
            record(call, StatusCode::NOT_FOUND);
            api_error(StatusCode::NOT_FOUND, "Not Found", None)
        }
    }
}

fn send(
    shared: &Shared,
    mut call: Call,
    token: &str,
    method: &str,
    record: &impl Fn(Call, StatusCode),
) -> Response {
    let Some(chat_id) = call.chat_id else {
        record(call, StatusCode::BAD_REQUEST);
        return api_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: chat_id is empty",
            None,
        );
    };
    if shared
        .state
        .lock()
        .unwrap()
        .forbidden_chats
        .contains(&chat_id)
    {
        record(call, StatusCode::BAD_REQUEST);
        return api_error(StatusCode::BAD_REQUEST, "Bad Request: chat not found", None);
    }
    let text = call.text.clone().unwrap_or_default();
    if method == "sendmessage" && text.trim().is_empty() {
        record(call, StatusCode::BAD_REQUEST);
        return api_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message text is empty",
            None,
        );
    }
    let field = match method {
        "sendphoto" => "photo",
        "sendvoice" => "voice",
        "senddocument" => "document",
        _ => "",
    };
    let file_id_given = call
        .params
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned);
    if !field.is_empty() && call.file.is_none() && file_id_given.is_none() {
        record(call, StatusCode::BAD_REQUEST);
        return api_error(
            StatusCode::BAD_REQUEST,
            &format!("Bad Request: there is no {field} in the request"),
            None,
        );
    }

    let mut s = shared.state.lock().unwrap();
    let id = s.next_message_id;
    s.next_message_id += 1;
    let mut msg = json!({
        "message_id": id,
        "date": now_unix(),
        "chat": s.chat_json(chat_id),
        "from": bot_user(token),
    });
    let file_id = file_id_given.unwrap_or_else(|| format!("file-{id}"));
    let unique = format!("uniq-{id}");
    let size = call.file.as_ref().map_or(0, |f| f.bytes.len());
    match method {
        "sendphoto" => {
            let (w, h) = call
                .file
                .as_ref()
                .and_then(|f| {
                    image::ImageReader::new(io::Cursor::new(&f.bytes))
                        .with_guessed_format()
                        .ok()?
                        .into_dimensions()
                        .ok()
                })
                .unwrap_or((1, 1));
            msg["photo"] = json!([{
                "file_id": file_id, "file_unique_id": unique,
                "width": w, "height": h, "file_size": size,
            }]);
        }
        "sendvoice" => {
            msg["voice"] = json!({
                "file_id": file_id, "file_unique_id": unique, "duration": 1,
                "mime_type": "audio/ogg", "file_size": size,
            });
        }
        "senddocument" => {
            let name = call.file.as_ref().map_or("document", |f| f.name.as_str());
            msg["document"] = json!({
                "file_id": file_id, "file_unique_id": unique, "file_name": name,
                "mime_type": "application/octet-stream", "file_size": size,
            });
        }
        _ => {}
    }
    if !text.is_empty() {
        let key = if method == "sendmessage" {
            "text"
        } else {
            "caption"
        };
        msg[key] = Value::String(text);
    }
    // Only inline keyboards show in a Message's reply_markup.
    if let Some(m) = &call.reply_markup
        && m.get("inline_keyboard").is_some()
    {
        msg["reply_markup"] = m.clone();
    }
    if let Some(r) = call.params["reply_parameters"]["message_id"]
        .as_i64()
        .or_else(|| call.params.get("reply_to_message_id").and_then(as_i64))
        && s.messages.contains_key(&(chat_id, r))
    {
        msg["reply_to_message"] = s.reply_json(chat_id, r);
    }
    s.messages.insert((chat_id, id), msg.clone());
    drop(s);
    call.message_id = Some(id);
    record(call, StatusCode::OK);
    api_ok(msg)
}

fn edit_markup(shared: &Shared, mut call: Call, record: &impl Fn(Call, StatusCode)) -> Response {
    let message_id = call.params.get("message_id").and_then(as_i64);
    let (Some(chat_id), Some(message_id)) = (call.chat_id, message_id) else {
        record(call, StatusCode::BAD_REQUEST);
        return api_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message identifier is not specified",
            None,
        );
    };
    call.message_id = Some(message_id);
    let mut s = shared.state.lock().unwrap();
    if s.forbidden_chats.contains(&chat_id) {
        drop(s);
        record(call, StatusCode::BAD_REQUEST);
        return api_error(StatusCode::BAD_REQUEST, "Bad Request: chat not found", None);
    }
    let Some(msg) = s.messages.get_mut(&(chat_id, message_id)) else {
        drop(s);
        record(call, StatusCode::BAD_REQUEST);
        return api_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message to edit not found",
            None,
        );
    };
    // An empty keyboard and no keyboard are the same to Telegram.
    let new = call.reply_markup.clone().filter(|m| {
        m["inline_keyboard"]
            .as_array()
            .is_some_and(|rows| !rows.is_empty())
    });
    if msg.get("reply_markup") == new.as_ref() {
        drop(s);
        record(call, StatusCode::BAD_REQUEST);
        return api_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message is not modified: specified new message content and reply \
             markup are exactly the same as a current content and reply markup of the message",
            None,
        );
    }
    match new {
        Some(m) => msg["reply_markup"] = m,
        None => {
            if let Some(o) = msg.as_object_mut() {
                o.remove("reply_markup");
            }
        }
    }
    let msg = msg.clone();
    drop(s);
    record(call, StatusCode::OK);
    api_ok(msg)
}

/// Telegram's semantics: an offset confirms every update below it (they are forgotten); the
/// answer is the updates from the offset on, at once if there are any, else when one is pushed
/// or `timeout` seconds have passed.
async fn get_updates(shared: &Shared, call: Call, generation: u64) -> Response {
    let offset = call.params.get("offset").and_then(as_i64).unwrap_or(0);
    let limit = call
        .params
        .get("limit")
        .and_then(as_i64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let timeout = call
        .params
        .get("timeout")
        .and_then(as_i64)
        .unwrap_or(0)
        .max(0) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let mut pushed = shared.pushed.subscribe();
    let found = loop {
        pushed.borrow_and_update();
        let found: Vec<Value> = {
            let mut s = shared.state.lock().unwrap();
            if offset > 0 {
                s.updates
                    .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            }
            let skip = if offset < 0 {
                s.updates
                    .len()
                    .saturating_sub(offset.unsigned_abs() as usize)
            } else {
                0
            };
            s.updates.iter().skip(skip).take(limit).cloned().collect()
        };
        if !found.is_empty()
            || tokio::time::timeout_at(deadline, pushed.changed())
                .await
                .is_err()
        {
            break found;
        }
    };
    let mut call = call;
    call.status = if shared.generation.load(Ordering::SeqCst) == generation {
        200
    } else {
        0
    };
    call.at = Instant::now();
    shared.state.lock().unwrap().calls.push(call);
    api_ok(Value::Array(found))
}

/// The listener, keeping a second handle on each accepted socket so `stop()` can shut the
/// connection down even though axum's per-connection task owns the stream.
struct Tracked {
    listener: TcpListener,
    conns: Conns,
    next_id: u64,
}

impl axum::serve::Listener for Tracked {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        loop {
            let (stream, addr) = match self.listener.accept().await {
                Ok(pair) => pair,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let Ok(std_stream) = stream.into_std() else {
                continue;
            };
            let Ok(handle) = std_stream.try_clone() else {
                continue;
            };
            let Ok(stream) = TcpStream::from_std(std_stream) else {
                continue;
            };
            let id = self.next_id;
            self.next_id += 1;
            self.conns.lock().unwrap().insert(id, handle);
            return (
                Conn {
                    stream,
                    id,
                    conns: self.conns.clone(),
                },
                addr,
            );
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// A connection that forgets its second handle when closed, so the socket really closes.
struct Conn {
    stream: TcpStream,
    id: u64,
    conns: Conns,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.remove(&self.id);
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
