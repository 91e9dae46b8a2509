//! Cameras for the photo of a press: an IP camera's HTTP snapshot URL ([`IpCamera`]), and a live
//! stream read on its own thread ([`StreamCamera`]) from a USB webcam ([`NokhwaSource`]) or a
//! synthetic stand-in for tests ([`StandInSource`]). Every photo is re-encoded by [`to_jpeg`], so
//! the size and quality settings apply whatever the camera sends.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::io::Read;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{ImageFormat, Rgb, RgbImage};
use reqwest::Url;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};

use super::{Camera, DeviceState, Photo};
use otklik_domain::time::{Millis, now_ms};

/// How photos are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegSettings {
    /// Wider frames are scaled down to this width, keeping the aspect ratio; 0 keeps the size.
    pub max_width: u32,
    /// JPEG quality, 1..=100.
    pub quality: u8,
}

impl JpegSettings {
    /// How photos are saved, from `photo_max_width` and `photo_quality`.
    pub fn from_settings(s: &otklik_store::settings::Settings) -> JpegSettings {
        JpegSettings {
            max_width: s.photo_max_width,
            quality: s.photo_quality.clamp(1, 100) as u8,
        }
    }
}

impl Default for JpegSettings {
    fn default() -> Self {
        JpegSettings {
            max_width: 640,
            quality: 70,
        }
    }
}

/// The frame as a JPEG, scaled down to `max_width` if wider.
pub fn to_jpeg(frame: &RgbImage, settings: &JpegSettings) -> Result<Vec<u8>, String> {
    encode(&fit(frame, settings.max_width), settings.quality)
}

/// A [`Photo`] of the frame, encoded as [`to_jpeg`] does.
fn photo_of(frame: &RgbImage, settings: &JpegSettings, taken_at: Millis) -> Result<Photo, String> {
    let fitted = fit(frame, settings.max_width);
    Ok(Photo {
        jpeg: encode(&fitted, settings.quality)?,
        taken_at,
        width: fitted.width(),
        height: fitted.height(),
    })
}

fn fit(frame: &RgbImage, max_width: u32) -> Cow<'_, RgbImage> {
    let (w, h) = frame.dimensions();
    if max_width == 0 || w <= max_width {
        return Cow::Borrowed(frame);
    }
    let height = (u64::from(h) * u64::from(max_width) + u64::from(w) / 2) / u64::from(w);
    let height = u32::try_from(height.max(1)).unwrap_or(u32::MAX);
    Cow::Owned(image::imageops::resize(
        frame,
        max_width,
        height,
        FilterType::Triangle,
    ))
}

fn encode(frame: &RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    let mut jpeg = Vec::with_capacity(64 * 1024);
    JpegEncoder::new_with_quality(&mut jpeg, quality.clamp(1, 100))
        .encode_image(frame)
        .map_err(|e| format!("cannot encode the photo: {e}"))?;
    Ok(jpeg)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the camera down with it: the data stays usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a camera reports; logged when it changes.
struct Status {
    state: Mutex<DeviceState>,
}

impl Status {
    fn new(state: &str, detail: impl Into<String>, error: &str) -> Status {
        Status {
            state: Mutex::new(DeviceState::new(state, detail, Some(error.to_string()))),
        }
    }

    fn get(&self) -> DeviceState {
        lock(&self.state).clone()
    }

    fn set_detail(&self, detail: String) {
        lock(&self.state).detail = detail;
    }

    /// `connected` without an error, `waiting` with one.
    fn set(&self, error: Option<String>) {
        let mut state = lock(&self.state);
        let name = if error.is_none() {
            "connected"
        } else {
            "waiting"
        };
        if state.state == name && state.error == error {
            return;
        }
        match &error {
            None => tracing::info!(camera = %state.detail, "camera connected"),
            Some(e) => tracing::warn!(camera = %state.detail, error = %e, "camera waiting"),
        }
        *state = DeviceState::new(name, state.detail.clone(), error);
    }
}

// ---------------------------------------------------------------------------------------------
// IP camera

/// A user name and password; `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
struct Credentials {
    username: String,
    password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// A snapshot larger than this is not a camera's picture.
const MAX_SNAPSHOT: u64 = 16 * 1024 * 1024;

/// An IP camera asked for one JPEG snapshot per photo. Nothing runs between photos: a press
/// finds out whether the camera answers, so a camera that comes back is used again at once.
pub struct IpCamera {
    /// Without user info: what is requested. An invalid URL is kept as the reason.
    url: Result<Url, String>,
    /// Sent only when the camera asks (HTTP 401), as Basic or Digest, whichever it asks for.
    credentials: Option<Credentials>,
    /// For the whole fetch: connecting, waiting for the camera and reading the picture.
    timeout: Duration,
    status: Status,
    /// Held during a fetch: one request at a time, and the last challenge is reused.
    session: Mutex<Session>,
}

#[derive(Default)]
struct Session {
    /// Made at the first photo: reqwest's blocking client must not be built inside an async
    /// runtime, and `photo()` is called from a blocking context anyway.
    client: Option<Client>,
    challenge: Option<Challenge>,
}

impl IpCamera {
    /// A camera at the snapshot URL `url` (http or https). `user:password@` in the URL is used
    /// when `user` / `password` are not given, and never shown. The timeout is 3 s.
    pub fn new(url: String, user: Option<String>, password: Option<String>) -> IpCamera {
        let parsed = parse_url(&url);
        let (from_url_user, from_url_password) = match &parsed {
            Ok((_, Some(creds))) => (Some(creds.username.clone()), Some(creds.password.clone())),
            _ => (None, None),
        };
        let username = user.or(from_url_user);
        let password = password.or(from_url_password);
        let credentials = (username.is_some() || password.is_some()).then(|| Credentials {
            username: username.unwrap_or_default(),
            password: password.unwrap_or_default(),
        });
        let url = parsed.map(|(url, _)| url);
        let status = match &url {
            Ok(url) => Status::new("waiting", shown(url), "no photo asked for yet"),
            Err(e) => Status::new("error", "(not a valid URL)", e),
        };
        IpCamera {
            url,
            credentials,
            timeout: Duration::from_secs(3),
            status,
            session: Mutex::new(Session::default()),
        }
    }

    /// For the whole fetch: connecting, waiting for the camera and reading the picture.
    pub fn with_timeout(mut self, timeout: Duration) -> IpCamera {
        self.timeout = timeout;
        self
    }

    /// The snapshot as sent by the camera, and when it was received.
    fn fetch(&self, url: &Url) -> Result<(Vec<u8>, Millis), String> {
        let deadline = Instant::now() + self.timeout;
        let mut session = lock(&self.session);
        let Session { client, challenge } = &mut *session;
        if client.is_none() {
            let built = Client::builder()
                .build()
                .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
            *client = Some(built);
        }
        let client = client.as_ref().expect("just made");

        let mut fresh_challenge = false;
        let response = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut request = client.get(url.clone()).timeout(left);
            if let (Some(c), Some(creds)) = (challenge.as_mut(), &self.credentials) {
                request = c.authorize(request, creds, url);
            }
            let response = request.send().map_err(|e| self.describe(e))?;
            // A 401 carries the camera's challenge (or a new nonce): answer it once.
            if response.status() == 401
                && self.credentials.is_some()
                && !fresh_challenge
                && let Some(c) = best_challenge(&response)
            {
                *challenge = Some(c);
                fresh_challenge = true;
                continue;
            }
            break response;
        };
        let taken_at = now_ms();

        let status = response.status();
        if status == 401 {
            return Err(match (&self.credentials, best_challenge(&response)) {
                (None, _) => "HTTP 401: the camera wants a user name and password".into(),
                (Some(_), None) => {
                    "HTTP 401: the camera asks for an authentication Otklik does not speak".into()
                }
                (Some(_), Some(_)) => {
                    "HTTP 401: the camera refused the user name or password".into()
                }
            });
        }
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_string();
        let mut body = Vec::new();
        response
            .take(MAX_SNAPSHOT + 1)
            .read_to_end(&mut body)
            .map_err(|e| self.describe_read(e))?;
        if body.len() as u64 > MAX_SNAPSHOT {
            return Err(format!(
                "the answer is larger than {MAX_SNAPSHOT} bytes, not a snapshot"
            ));
        }
        if !body.starts_with(&[0xFF, 0xD8]) {
            return Err(format!(
                "not a JPEG: {} bytes of {content_type} (is this the snapshot URL?)",
                body.len()
            ));
        }
        Ok((body, taken_at))
    }

    /// A reqwest error in words, without the URL (it is in `detail` already).
    fn describe(&self, e: reqwest::Error) -> String {
        if e.is_timeout() {
            return self.timed_out();
        }
        let what = if e.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        };
        let e = e.without_url();
        // The innermost cause is the telling one ("Connection refused (os error 111)").
        let mut cause: &dyn std::error::Error = &e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        format!("{what}: {cause}")
    }

    fn describe_read(&self, e: std::io::Error) -> String {
        let timed_out = e.kind() == std::io::ErrorKind::TimedOut
            || e.get_ref()
                .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                .is_some_and(reqwest::Error::is_timeout);
        if timed_out {
            self.timed_out()
        } else {
            format!("the picture was cut off: {e}")
        }
    }

    fn timed_out(&self) -> String {
        format!(
            "timed out: no picture within {} ms",
            self.timeout.as_millis()
        )
    }
}

impl Camera for IpCamera {
    /// A snapshot taken now; `at` is not used: an IP camera keeps no past frames.
    fn photo(&self, _at: Millis, jpeg: &JpegSettings) -> Result<Photo, String> {
        let url = self.url.as_ref().map_err(Clone::clone)?;
        let result = self.fetch(url).and_then(|(snapshot, taken_at)| {
            let frame = image::load_from_memory_with_format(&snapshot, ImageFormat::Jpeg)
                .map_err(|e| format!("not a JPEG: {e}"))?
                .to_rgb8();
            photo_of(&frame, jpeg, taken_at)
        });
        self.status.set(result.as_ref().err().cloned());
        result
    }

    fn state(&self) -> DeviceState {
        self.status.get()
    }
}

/// The URL without its user info, and the credentials that were in it. The parse error never
/// quotes the URL, so no password can leak from here.
fn parse_url(text: &str) -> Result<(Url, Option<Credentials>), String> {
    let mut url =
        Url::parse(text.trim()).map_err(|e| format!("the camera's URL is not valid: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("the camera's URL must be http://host/... or https://host/...".into());
    }
    let credentials =
        (!url.username().is_empty() || url.password().is_some()).then(|| Credentials {
            username: percent_decode(url.username()),
            password: percent_decode(url.password().unwrap_or("")),
        });
    // Cannot fail for an http(s) URL with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok((url, credentials))
}

/// The URL as shown: no user info, and no query (some cameras take the password there).
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// --- HTTP authentication (RFC 7617 Basic, RFC 7616 / 2617 Digest with qop=auth) ------------

#[derive(Debug, Clone, PartialEq)]
enum Challenge {
    Basic,
    Digest(Digest),
}

#[derive(Debug, Clone, PartialEq)]
struct Digest {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    /// The camera offers qop=auth; without qop it is the old RFC 2069 digest.
    qop_auth: bool,
    /// Requests made with this nonce so far (the `nc` the camera checks against replays).
    count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Algorithm> {
        match name.to_ascii_uppercase().as_str() {
            "MD5" => Some(Algorithm::Md5),
            "MD5-SESS" => Some(Algorithm::Md5Sess),
            "SHA-256" => Some(Algorithm::Sha256),
            "SHA-256-SESS" => Some(Algorithm::Sha256Sess),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn hash(self, text: &str) -> String {
        use sha2::Digest as _;
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex::encode(md5::Md5::digest(text)),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex::encode(sha2::Sha256::digest(text)),
        }
    }
}

impl Challenge {
    /// Parses one `WWW-Authenticate` value; `None` for a scheme or variant we cannot answer.
    fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let params = auth_params(rest);
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let algorithm = match param("algorithm") {
            Some(name) => Algorithm::parse(&name)?,
            None => Algorithm::Md5,
        };
        let qop_auth = match param("qop") {
            None => false,
            Some(qop)
                if qop
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth")) =>
            {
                true
            }
            // Only auth-int offered: that would need a hash of the body; not for a GET.
            Some(_) => return None,
        };
        Some(Challenge::Digest(Digest {
            realm: param("realm").unwrap_or_default(),
            nonce: param("nonce")?,
            opaque: param("opaque"),
            algorithm,
            qop_auth,
            count: 0,
        }))
    }

    /// Adds the answer to this challenge to the next request to `url`.
    fn authorize(
        &mut self,
        request: RequestBuilder,
        creds: &Credentials,
        url: &Url,
    ) -> RequestBuilder {
        match self {
            Challenge::Basic => request.basic_auth(&creds.username, Some(&creds.password)),
            Challenge::Digest(digest) => {
                digest.count += 1;
                let cnonce = format!("{:016x}", rand::random::<u64>());
                let uri = match url.query() {
                    Some(q) => format!("{}?{q}", url.path()),
                    None => url.path().to_string(),
                };
                request.header(AUTHORIZATION, digest.header(creds, "GET", &uri, &cnonce))
            }
        }
    }
}

/// The strongest challenge of a 401 that we can answer.
fn best_challenge(response: &Response) -> Option<Challenge> {
    let rank = |c: &Challenge| match c {
        Challenge::Basic => None,
        Challenge::Digest(d) => Some(d.algorithm),
    };
    response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(Challenge::parse)
        .max_by_key(rank)
}

impl Digest {
    fn response(&self, creds: &Credentials, method: &str, uri: &str, cnonce: &str) -> String {
        let h = |text: String| self.algorithm.hash(&text);
        let nonce = &self.nonce;
        let mut ha1 = h(format!(
            "{}:{}:{}",
            creds.username, self.realm, creds.password
        ));
        if matches!(self.algorithm, Algorithm::Md5Sess | Algorithm::Sha256Sess) {
            ha1 = h(format!("{ha1}:{nonce}:{cnonce}"));
        }
        let ha2 = h(format!("{method}:{uri}"));
        if self.qop_auth {
            h(format!(
                "{ha1}:{nonce}:{:08x}:{cnonce}:auth:{ha2}",
                self.count
            ))
        } else {
            h(format!("{ha1}:{nonce}:{ha2}"))
        }
    }

    fn header(&self, creds: &Credentials, method: &str, uri: &str, cnonce: &str) -> String {
        let response = self.response(creds, method, uri, cnonce);
        let mut header = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, algorithm={}, response=\"{response}\"",
            quote(&creds.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri),
            self.algorithm.name(),
        );
        if let Some(opaque) = &self.opaque {
            header += &format!(", opaque={}", quote(opaque));
        }
        if self.qop_auth {
            header += &format!(", qop=auth, nc={:08x}, cnonce=\"{cnonce}\"", self.count);
        }
        header
    }
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The `name=value` and `name="quoted, value"` pairs of an authentication header; names in
/// lower case.
fn auth_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            return params;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
        }
        params.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}

// ---------------------------------------------------------------------------------------------
// Live stream

/// Where a [`StreamCamera`] gets its frames. Called only from the camera's own thread.
pub trait FrameSource: Send + 'static {
    /// Opens (or reopens, after a failure) the device.
    fn open(&mut self) -> Result<(), String>;
    /// The next frame; blocks until there is one.
    fn next_frame(&mut self) -> Result<RgbImage, String>;
    /// What it is, as the console shows it (never a password).
    fn describe(&self) -> String;
}

#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// Frames kept in the ring, the newest and older ones at least `spacing` apart, so the
    /// ring covers about `frames × spacing` of the past whatever the camera's frame rate.
    pub frames: usize,
    pub spacing: Duration,
    /// A frame further than this from the press is not a photo of it.
    pub max_gap: Duration,
    /// How long `photo(at)` waits for a frame taken at or after `at` when it has none yet.
    pub wait: Duration,
    /// After a failure, the device is opened again this often.
    pub retry: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            frames: 10,
            spacing: Duration::from_millis(100),
            max_gap: Duration::from_secs(1),
            wait: Duration::from_millis(500),
            retry: Duration::from_secs(1),
        }
    }
}

/// A camera read continuously on its own thread, keeping the last frames so that a photo can
/// be the frame nearest to the press even though it is asked for afterwards.
pub struct StreamCamera<S: FrameSource> {
    shared: Arc<Shared>,
    settings: StreamSettings,
    _source: PhantomData<fn() -> S>,
}

struct Shared {
    frames: Mutex<VecDeque<Frame>>,
    arrived: Condvar,
    status: Status,
    stop: AtomicBool,
}

#[derive(Clone)]
struct Frame {
    at: Millis,
    image: Arc<RgbImage>,
}

impl<S: FrameSource> StreamCamera<S> {
    /// Starts reading `source` on a thread of its own, which ends when the camera is dropped;
    /// the settings at their defaults.
    pub fn start(source: S) -> StreamCamera<S> {
        StreamCamera::start_with(source, StreamSettings::default())
    }

    pub fn start_with(source: S, settings: StreamSettings) -> StreamCamera<S> {
        let shared = Arc::new(Shared {
            frames: Mutex::new(VecDeque::new()),
            arrived: Condvar::new(),
            status: Status::new("waiting", source.describe(), "opening"),
            stop: AtomicBool::new(false),
        });
        let thread_shared = shared.clone();
        let thread_settings = settings.clone();
        thread::Builder::new()
            .name("camera".into())
            .spawn(move || run(source, &thread_shared, &thread_settings))
            // Only fails if the OS cannot make a thread at all, which is not a device problem.
            .expect("spawn camera thread");
        StreamCamera {
            shared,
            settings,
            _source: PhantomData,
        }
    }
}

impl<S: FrameSource> Drop for StreamCamera<S> {
    /// Not joined: a device stuck in a read must not hang whoever drops the camera; the
    /// thread ends after its current read.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

impl<S: FrameSource> Camera for StreamCamera<S> {
    fn photo(&self, at: Millis, jpeg: &JpegSettings) -> Result<Photo, String> {
        let give_up = Instant::now() + self.settings.wait;
        let mut frames = lock(&self.shared.frames);
        while frames.back().is_none_or(|f| f.at < at) {
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            frames = self
                .shared
                .arrived
                .wait_timeout(frames, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let frame = nearest(&frames, at).cloned();
        drop(frames);

        let Some(frame) = frame else {
            let why = self.shared.status.get().error;
            return Err(format!(
                "no frame yet: {}",
                why.as_deref().unwrap_or("starting")
            ));
        };
        let gap = frame.at.abs_diff(at);
        if u128::from(gap) > self.settings.max_gap.as_millis() {
            let why = match self.shared.status.get().error {
                Some(e) => format!(" ({e})"),
                None => String::new(),
            };
            return Err(format!(
                "no frame near the press: the nearest is {gap} ms away{why}"
            ));
        }
        photo_of(&frame.image, jpeg, frame.at)
    }

    fn state(&self) -> DeviceState {
        self.shared.status.get()
    }
}

fn nearest(frames: &VecDeque<Frame>, at: Millis) -> Option<&Frame> {
    frames.iter().min_by_key(|f| f.at.abs_diff(at))
}

/// Adds the newest frame; the previous newest stays only if it is `spacing` older than the one
/// before it, so older frames thin out instead of the ring covering only the last few ms.
fn keep(frames: &mut VecDeque<Frame>, frame: Frame, settings: &StreamSettings) {
    let spacing = i64::try_from(settings.spacing.as_millis()).unwrap_or(i64::MAX);
    if frames.len() >= 2 {
        let before = frames[frames.len() - 2].at;
        if frames.back().is_some_and(|last| last.at - before < spacing) {
            frames.pop_back();
        }
    }
    frames.push_back(frame);
    while frames.len() > settings.frames.max(1) {
        frames.pop_front();
    }
}

/// The camera thread: open, read until a failure, wait, open again; until told to stop.
fn run<S: FrameSource>(mut source: S, shared: &Shared, settings: &StreamSettings) {
    while !shared.stop.load(Ordering::Relaxed) {
        if let Err(e) = source.open() {
            shared.status.set(Some(e));
        } else {
            // The source may know its device's name once open.
            shared.status.set_detail(source.describe());
            while !shared.stop.load(Ordering::Relaxed) {
                match source.next_frame() {
                    Ok(image) if image.width() > 0 && image.height() > 0 => {
                        let frame = Frame {
                            at: now_ms(),
                            image: Arc::new(image),
                        };
                        keep(&mut lock(&shared.frames), frame, settings);
                        shared.arrived.notify_all();
                        shared.status.set(None);
                    }
                    Ok(_) => {
                        shared
                            .status
                            .set(Some("the camera sent an empty frame".into()));
                        break;
                    }
                    Err(e) => {
                        shared.status.set(Some(e));
                        break;
                    }
                }
            }
        }
        let until = Instant::now() + settings.retry;
        while !shared.stop.load(Ordering::Relaxed) && Instant::now() < until {
            thread::sleep(Duration::from_millis(50).min(settings.retry));
        }
    }
}

// --- USB webcams through nokhwa ------------------------------------------------------------

/// Which webcam: by index (0 is the first) or by a part of its name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CameraPick {
    Index(u32),
    Name(String),
}

impl fmt::Display for CameraPick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CameraPick::Index(i) => write!(f, "camera {i}"),
            CameraPick::Name(name) => write!(f, "camera '{name}'"),
        }
    }
}

/// A USB webcam (V4L2 on Linux, Media Foundation on Windows, AVFoundation on macOS).
pub struct NokhwaSource {
    pick: CameraPick,
    width: u32,
    height: u32,
    camera: Option<nokhwa::Camera>,
    /// The device's own name, once opened.
    name: Option<String>,
}

impl NokhwaSource {
    /// The webcam at `index` (0 is the first). Asks for 640×480 (or the nearest the camera
    /// has), MJPEG or else YUYV.
    pub fn new(index: u32) -> NokhwaSource {
        NokhwaSource::pick(CameraPick::Index(index))
    }

    /// The first webcam whose name contains `name` (any case), looked up at each opening.
    pub fn named(name: impl Into<String>) -> NokhwaSource {
        NokhwaSource::pick(CameraPick::Name(name.into()))
    }

    fn pick(pick: CameraPick) -> NokhwaSource {
        NokhwaSource {
            pick,
            width: 640,
            height: 480,
            camera: None,
            name: None,
        }
    }

    pub fn with_resolution(mut self, width: u32, height: u32) -> NokhwaSource {
        self.width = width;
        self.height = height;
        self
    }

    fn index(&self) -> Result<nokhwa::utils::CameraIndex, String> {
        use nokhwa::utils::{ApiBackend, CameraIndex};
        match &self.pick {
            CameraPick::Index(i) => Ok(CameraIndex::Index(*i)),
            CameraPick::Name(wanted) => {
                let cameras = nokhwa::query(ApiBackend::Auto)
                    .map_err(|e| format!("no camera named '{wanted}': cannot list cameras: {e}"))?;
                let wanted_lower = wanted.to_lowercase();
                cameras
                    .iter()
                    .find(|c| c.human_name().to_lowercase().contains(&wanted_lower))
                    .map(|c| c.index().clone())
                    .ok_or_else(|| {
                        let names: Vec<String> = cameras.iter().map(|c| c.human_name()).collect();
                        let found = if names.is_empty() {
                            "none".into()
                        } else {
                            names.join(", ")
                        };
                        format!("no camera named '{wanted}' (cameras found: {found})")
                    })
            }
        }
    }
}

impl FrameSource for NokhwaSource {
    fn open(&mut self) -> Result<(), String> {
        use nokhwa::utils::{CameraFormat, FrameFormat, RequestedFormat, RequestedFormatType};
        // Release the old handle first: the device cannot be opened twice.
        self.camera = None;
        self.name = None;
        let index = self.index()?;
        let wanted = |format| {
            RequestedFormatType::Closest(CameraFormat::new_from(
                self.width,
                self.height,
                format,
                30,
            ))
        };
        // nokhwa's "closest" needs the exact size among a format's modes; failing that, any
        // MJPEG or YUYV mode will do, since frames are scaled down anyway.
        let requests = [
            (wanted(FrameFormat::MJPEG), &[FrameFormat::MJPEG][..]),
            (wanted(FrameFormat::YUYV), &[FrameFormat::YUYV][..]),
            (
                RequestedFormatType::None,
                &[FrameFormat::MJPEG, FrameFormat::YUYV][..],
            ),
        ];
        let mut last_error = String::new();
        for (request, formats) in requests {
            let request = RequestedFormat::with_formats(request, formats);
            match nokhwa::Camera::new(index.clone(), request) {
                Ok(mut camera) => {
                    camera
                        .open_stream()
                        .map_err(|e| format!("no {}: cannot start the stream: {e}", self.pick))?;
                    self.name = Some(camera.info().human_name());
                    self.camera = Some(camera);
                    return Ok(());
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(format!("no {}: {last_error}", self.pick))
    }

    fn next_frame(&mut self) -> Result<RgbImage, String> {
        let label = self.describe();
        let camera = self
            .camera
            .as_mut()
            .ok_or_else(|| format!("{label}: not open"))?;
        let buffer = camera.frame().map_err(|e| format!("{label}: {e}"))?;
        if buffer.source_frame_format() == nokhwa::utils::FrameFormat::MJPEG {
            // nokhwa's own MJPEG decoder is mozjpeg (C); `image` does it here.
            image::load_from_memory_with_format(buffer.buffer(), ImageFormat::Jpeg)
                .map(|i| i.to_rgb8())
                .map_err(|e| format!("{label}: a bad MJPEG frame: {e}"))
        } else {
            buffer
                .decode_image::<nokhwa::pixel_format::RgbFormat>()
                .map_err(|e| format!("{label}: cannot decode a frame: {e}"))
        }
    }

    fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("{} ({name})", self.pick),
            None => self.pick.to_string(),
        }
    }
}

// --- A stand-in for tests and demonstrations -------------------------------------------------

/// Synthetic frames: a gradient with the frame number drawn on it, at a set frame rate. Its
/// [`StandInSwitch`] unplugs it and plugs it back.
pub struct StandInSource {
    width: u32,
    height: u32,
    interval: Duration,
    count: u64,
    next_at: Option<Instant>,
    unplugged: Arc<AtomicBool>,
}

/// Makes a [`StandInSource`] fail (as an unplugged camera) or work again.
#[derive(Debug, Clone)]
pub struct StandInSwitch(Arc<AtomicBool>);

impl StandInSwitch {
    pub fn unplug(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn plug_in(&self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

impl StandInSource {
    pub fn new(width: u32, height: u32, fps: u32) -> StandInSource {
        StandInSource {
            width: width.max(1),
            height: height.max(1),
            interval: Duration::from_secs(1) / fps.max(1),
            count: 0,
            next_at: None,
            unplugged: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn switch(&self) -> StandInSwitch {
        StandInSwitch(self.unplugged.clone())
    }

    fn check(&self) -> Result<(), String> {
        if self.unplugged.load(Ordering::Relaxed) {
            Err("stand-in camera unplugged".into())
        } else {
            Ok(())
        }
    }

    fn draw(&self) -> RgbImage {
        let (w, h) = (self.width, self.height);
        let shade = (self.count * 8 % 256) as u8;
        let mut frame = RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, shade])
        });
        draw_number(&mut frame, self.count, 8, 8, (h / 40).max(2));
        frame
    }
}

impl FrameSource for StandInSource {
    fn open(&mut self) -> Result<(), String> {
        self.check()?;
        self.next_at = None;
        Ok(())
    }

    fn next_frame(&mut self) -> Result<RgbImage, String> {
        let now = Instant::now();
        if let Some(next_at) = self.next_at {
            thread::sleep(next_at.saturating_duration_since(now));
        }
        self.next_at = Some(self.next_at.unwrap_or(now).max(now) + self.interval);
        self.check()?;
        self.count += 1;
        Ok(self.draw())
    }

    fn describe(&self) -> String {
        format!("stand-in camera {}x{}", self.width, self.height)
    }
}

/// Draws `n` in white 3×5 block digits, each cell `scale` pixels.
fn draw_number(frame: &mut RgbImage, n: u64, left: u32, top: u32, scale: u32) {
    // Rows of 3 bits, top to bottom, for 0..=9.
    const DIGITS: [[u8; 5]; 10] = [
        [7, 5, 5, 5, 7],
        [2, 6, 2, 2, 7],
        [7, 1, 7, 4, 7],
        [7, 1, 7, 1, 7],
        [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7],
        [7, 4, 7, 5, 7],
        [7, 1, 1, 1, 1],
        [7, 5, 7, 5, 7],
        [7, 5, 7, 1, 7],
    ];
    for (i, digit) in n.to_string().bytes().enumerate() {
        let rows = DIGITS[usize::from(digit - b'0')];
        let x0 = left + i as u32 * 4 * scale;
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..3 {
                if bits >> (2 - col) & 1 == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (x, y) = (x0 + col * scale + dx, top + row as u32 * scale + dy);
                        if x < frame.width() && y < frame.height() {
                            frame.put_pixel(x, y, Rgb([255, 255, 255]));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri, header};
    use axum::response::{IntoResponse, Response as HttpResponse};
    use axum::routing::get;
    use std::sync::atomic::AtomicUsize;

    const USER: &str = "admin";
    const PASSWORD: &str = "s3cret-Pa55";

    /// A frame with some detail, roughly what a desk camera sees.
    fn scene(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let stripe = if (x / 40 + y / 30) % 2 == 0 { 40 } else { 0 };
            let lamp = if (x as i64 - w as i64 / 3).pow(2) + (y as i64 - h as i64 / 2).pow(2)
                < (h as i64 / 5).pow(2)
            {
                90
            } else {
                0
            };
            Rgb([
                (x * 200 / w + stripe) as u8,
                (y * 150 / h + lamp) as u8,
                (100 + (x ^ y) % 16) as u8,
            ])
        })
    }

    fn decode(jpeg: &[u8]) -> RgbImage {
        image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
            .expect("a JPEG")
            .to_rgb8()
    }

    fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
        let give_up = Instant::now() + Duration::from_secs(10);
        while !ok() {
            assert!(Instant::now() < give_up, "gave up waiting for {what}");
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn jpeg_is_scaled_down_keeping_the_aspect_ratio() {
        let settings = JpegSettings::default();
        let wide = decode(&to_jpeg(&scene(1280, 720), &settings).unwrap());
        assert_eq!(wide.dimensions(), (640, 360));

        let typical = to_jpeg(&scene(640, 480), &settings).unwrap();
        assert!(typical.len() < 60_000, "{} bytes", typical.len());
        assert_eq!(decode(&typical).dimensions(), (640, 480));

        // Never enlarged; 0 keeps the size.
        let small = to_jpeg(&scene(320, 240), &settings).unwrap();
        assert_eq!(decode(&small).dimensions(), (320, 240));
        let keep = JpegSettings {
            max_width: 0,
            quality: 50,
        };
        assert_eq!(
            decode(&to_jpeg(&scene(800, 600), &keep).unwrap()).width(),
            800
        );

        let worse = JpegSettings {
            max_width: 640,
            quality: 30,
        };
        assert!(to_jpeg(&scene(640, 480), &worse).unwrap().len() < typical.len());
    }

    #[test]
    fn digest_matches_the_rfc_examples() {
        let mufasa = |password: &str| Credentials {
            username: "Mufasa".into(),
            password: password.into(),
        };
        // RFC 2617, section 3.5.
        let rfc2617 = Digest {
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            opaque: Some("5ccc069c403ebaf9f0171e9517f40e41".into()),
            algorithm: Algorithm::Md5,
            qop_auth: true,
            count: 1,
        };
        let creds = mufasa("Circle Of Life");
        assert_eq!(
            rfc2617.response(&creds, "GET", "/dir/index.html", "0a4f113b"),
            "6629fae49393a05397450978507c4ef1"
        );
        // RFC 7616, section 3.9.1, MD5 and SHA-256.
        let mut rfc7616 = Digest {
            realm: "http-auth@example.org".into(),
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
            opaque: Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS".into()),
            algorithm: Algorithm::Md5,
            qop_auth: true,
            count: 1,
        };
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        let creds = mufasa("Circle of Life");
        assert_eq!(
            rfc7616.response(&creds, "GET", "/dir/index.html", cnonce),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
        rfc7616.algorithm = Algorithm::Sha256;
        assert_eq!(
            rfc7616.response(&creds, "GET", "/dir/index.html", cnonce),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let header = rfc7616.header(&creds, "GET", "/dir/index.html", cnonce);
        assert!(header.starts_with("Digest username=\"Mufasa\", realm=\"http-auth@example.org\""));
        assert!(header.contains("algorithm=SHA-256, response=\"753927fa"));
        assert!(header.contains(", qop=auth, nc=00000001, cnonce=\"f2/wE4q7"));
        assert!(!header.contains("Circle"));
    }

    #[test]
    fn challenges_are_parsed() {
        let digest = Challenge::parse(
            r#"Digest realm="cam, \"front\"", qop="auth-int, auth", nonce = "abc", stale=FALSE, algorithm=MD5-sess"#,
        );
        let Some(Challenge::Digest(d)) = digest else {
            panic!("not parsed: {digest:?}")
        };
        assert_eq!(d.realm, "cam, \"front\"");
        assert_eq!((d.nonce.as_str(), d.opaque), ("abc", None));
        assert_eq!((d.algorithm, d.qop_auth), (Algorithm::Md5Sess, true));
        assert_eq!(
            Challenge::parse("Basic realm=\"x\""),
            Some(Challenge::Basic)
        );
        // Old RFC 2069 digest without qop; things we cannot answer.
        assert!(matches!(
            Challenge::parse("Digest realm=\"r\", nonce=\"n\""),
            Some(Challenge::Digest(Digest {
                qop_auth: false,
                ..
            }))
        ));
        assert_eq!(
            Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""),
            None
        );
        assert_eq!(
            Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256"),
            None
        );
        assert_eq!(Challenge::parse("Digest realm=\"r\""), None);
        assert_eq!(Challenge::parse("Bearer realm=\"r\""), None);
    }

    #[test]
    fn credentials_are_never_shown() {
        let cam = IpCamera::new(
            "http://admin:p%40ss-w0rd@127.0.0.1:9/snapshot.jpg?pwd=qwerty".into(),
            None,
            None,
        );
        assert_eq!(
            cam.credentials,
            Some(Credentials {
                username: "admin".into(),
                password: "p@ss-w0rd".into()
            })
        );
        let state = cam.state();
        assert_eq!(state.detail, "http://127.0.0.1:9/snapshot.jpg");
        assert_eq!(state.state, "waiting");
        assert!(!format!("{:?}", cam.credentials).contains("w0rd"));

        // Given credentials win over the URL's.
        let cam = IpCamera::new(
            "http://old:old@127.0.0.1:9/s.jpg".into(),
            Some(USER.into()),
            Some(PASSWORD.into()),
        );
        assert_eq!(
            cam.credentials.as_ref().map(|c| c.password.as_str()),
            Some(PASSWORD)
        );

        // An invalid URL: an error state that quotes nothing of it.
        let cam = IpCamera::new(
            "http://admin:hunter2@camera:99999/snap.jpg".into(),
            None,
            None,
        );
        let state = cam.state();
        let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
        assert_eq!(state.state, "error");
        assert!(err.contains("not valid"), "{err}");
        assert!(!format!("{state:?} {err}").contains("hunter2"));
        let ftp = IpCamera::new("ftp://cam/x.jpg".into(), None, None);
        assert_eq!(ftp.state().state, "error");
    }

    // --- a camera on loopback ----------------------------------------------------------------

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Mode {
        Works,
        Slow,
        Fails,
        Garbage,
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Auth {
        Open,
        Basic,
        Digest,
    }

    struct FakeCamera {
        mode: Mutex<Mode>,
        auth: Auth,
        jpeg: Vec<u8>,
        hits: AtomicUsize,
        nonce: String,
    }

    impl FakeCamera {
        /// The challenge to send back, if the request is not let in.
        fn refuse(&self, headers: &HeaderMap, uri: &Uri) -> Option<String> {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match self.auth {
                Auth::Open => None,
                // base64("admin:s3cret-Pa55")
                Auth::Basic => (given != Some("Basic YWRtaW46czNjcmV0LVBhNTU="))
                    .then(|| r#"Basic realm="cam""#.into()),
                Auth::Digest => {
                    let ok = given
                        .and_then(|g| g.strip_prefix("Digest "))
                        .is_some_and(|params| self.digest_ok(params, uri));
                    (!ok).then(|| {
                        format!(
                            r#"Digest realm="cam", qop="auth", nonce="{}", opaque="xyz", algorithm=MD5"#,
                            self.nonce
                        )
                    })
                }
            }
        }

        /// Checks an answer as a camera does (RFC 7616, qop=auth, MD5).
        fn digest_ok(&self, params: &str, uri: &Uri) -> bool {
            let params = auth_params(params);
            let get = |k: &str| {
                params
                    .iter()
                    .find(|(name, _)| name == k)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("")
            };
            let Ok(count) = u32::from_str_radix(get("nc"), 16) else {
                return false;
            };
            let digest = Digest {
                realm: "cam".into(),
                nonce: self.nonce.clone(),
                opaque: None,
                algorithm: Algorithm::Md5,
                qop_auth: true,
                count,
            };
            let creds = Credentials {
                username: USER.into(),
                password: PASSWORD.into(),
            };
            let uri = uri.to_string();
            get("username") == USER
                && get("realm") == "cam"
                && get("nonce") == self.nonce
                && get("opaque") == "xyz"
                && get("qop") == "auth"
                && get("uri") == uri
                && get("response") == digest.response(&creds, "GET", &uri, get("cnonce"))
        }
    }

    async fn snapshot(
        State(cam): State<Arc<FakeCamera>>,
        uri: Uri,
        headers: HeaderMap,
    ) -> HttpResponse {
        cam.hits.fetch_add(1, Ordering::SeqCst);
        if let Some(challenge) = cam.refuse(&headers, &uri) {
            // Cameras often offer Basic beside Digest; Digest must be chosen.
            let mut response = StatusCode::UNAUTHORIZED.into_response();
            let h = response.headers_mut();
            h.append(header::WWW_AUTHENTICATE, challenge.parse().unwrap());
            if cam.auth == Auth::Digest {
                h.append(
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"cam\"".parse().unwrap(),
                );
            }
            return response;
        }
        let mode = *lock(&cam.mode);
        let jpeg = || ([(header::CONTENT_TYPE, "image/jpeg")], cam.jpeg.clone()).into_response();
        match mode {
            Mode::Works => jpeg(),
            Mode::Slow => {
                tokio::time::sleep(Duration::from_secs(10)).await;
                jpeg()
            }
            Mode::Fails => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            Mode::Garbage => {
                ([(header::CONTENT_TYPE, "text/html")], "<html>log in</html>").into_response()
            }
        }
    }

    struct Server {
        url: String,
        cam: Arc<FakeCamera>,
        runtime: Option<tokio::runtime::Runtime>,
    }

    impl Server {
        fn start(auth: Auth) -> Server {
            Server::start_on("127.0.0.1:0", auth)
        }

        fn start_on(addr: &str, auth: Auth) -> Server {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let cam = Arc::new(FakeCamera {
                mode: Mutex::new(Mode::Works),
                auth,
                jpeg: encode(&scene(1280, 720), 92).unwrap(),
                hits: AtomicUsize::new(0),
                nonce: format!("{:x}", rand::random::<u64>()),
            });
            let app = Router::new()
                .route("/snapshot.jpg", get(snapshot))
                .with_state(cam.clone());
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind(addr))
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            runtime.spawn(async move { axum::serve(listener, app).await });
            Server {
                url: format!("http://127.0.0.1:{port}/snapshot.jpg?channel=1"),
                cam,
                runtime: Some(runtime),
            }
        }

        fn set(&self, mode: Mode) {
            *lock(&self.cam.mode) = mode;
        }

        fn hits(&self) -> usize {
            self.cam.hits.load(Ordering::SeqCst)
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            if let Some(runtime) = self.runtime.take() {
                runtime.shutdown_background();
            }
        }
    }

    fn camera(url: &str, password: Option<&str>) -> IpCamera {
        IpCamera::new(
            url.into(),
            password.map(|_| USER.into()),
            password.map(Into::into),
        )
    }

    #[test]
    fn ip_camera_takes_a_photo() {
        let server = Server::start(Auth::Open);
        let cam = camera(&server.url, None);
        let before = now_ms();
        let photo = cam.photo(before, &JpegSettings::default()).unwrap();
        assert!(photo.jpeg.starts_with(&[0xFF, 0xD8, 0xFF]));
        assert!(photo.jpeg.len() < 100_000, "{} bytes", photo.jpeg.len());
        assert!(photo.jpeg.len() < server.cam.jpeg.len());
        assert_eq!((photo.width, photo.height), (640, 360));
        assert_eq!(decode(&photo.jpeg).dimensions(), (640, 360));
        assert!((before..=now_ms()).contains(&photo.taken_at));
        let state = cam.state();
        assert_eq!((state.state.as_str(), state.error), ("connected", None));
        let port = server
            .url
            .split(':')
            .nth(2)
            .unwrap()
            .split('/')
            .next()
            .unwrap();
        assert_eq!(
            state.detail,
            format!("http://127.0.0.1:{port}/snapshot.jpg")
        );
    }

    #[test]
    fn ip_camera_with_basic_auth() {
        let server = Server::start(Auth::Basic);
        let cam = camera(&server.url, Some(PASSWORD));
        cam.photo(now_ms(), &JpegSettings::default()).unwrap();
        cam.photo(now_ms(), &JpegSettings::default()).unwrap();
        // Challenged once; the second photo answers at once.
        assert_eq!(server.hits(), 3);
        assert_eq!(cam.state().state, "connected");

        for cam in [
            camera(&server.url, Some("wrong-Pa55")),
            camera(&server.url, None),
        ] {
            let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
            assert!(err.starts_with("HTTP 401"), "{err}");
            let state = cam.state();
            assert_eq!(state.state, "waiting");
            assert_eq!(state.error.as_deref(), Some(err.as_str()));
            assert!(!format!("{state:?}").contains("Pa55"));
        }
    }

    #[test]
    fn ip_camera_with_digest_auth() {
        let server = Server::start(Auth::Digest);
        // Credentials in the URL work too.
        let url = server
            .url
            .replace("http://", &format!("http://{USER}:{PASSWORD}@"));
        let cam = camera(&url, None);
        let photo = cam.photo(now_ms(), &JpegSettings::default()).unwrap();
        assert_eq!(photo.width, 640);
        // The nonce is reused with nc=2: no new challenge.
        cam.photo(now_ms(), &JpegSettings::default()).unwrap();
        assert_eq!(server.hits(), 3);
        assert!(!cam.state().detail.contains(PASSWORD));

        let cam = camera(&server.url, Some("wrong-Pa55"));
        let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
        assert_eq!(
            err,
            "HTTP 401: the camera refused the user name or password"
        );
        let state = cam.state();
        assert_eq!(state.state, "waiting");
        assert!(!format!("{state:?}").contains("Pa55"));
    }

    #[test]
    fn slow_camera_times_out() {
        let server = Server::start(Auth::Open);
        server.set(Mode::Slow);
        let cam = camera(&server.url, None).with_timeout(Duration::from_millis(300));
        let started = Instant::now();
        let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
        assert!(err.starts_with("timed out"), "{err}");
        assert!(err.contains("300 ms"), "{err}");
        // Not waiting for the camera's 10 s answer (loose: the machine may be busy).
        assert!(started.elapsed() < Duration::from_secs(8));
        assert_eq!(cam.state().state, "waiting");
    }

    #[test]
    fn failing_camera_is_waiting_with_the_reason() {
        let server = Server::start(Auth::Open);
        let cam = camera(&server.url, None);
        server.set(Mode::Fails);
        let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
        assert_eq!(err, "HTTP 500 Internal Server Error");
        assert_eq!(cam.state().error.as_deref(), Some(err.as_str()));

        server.set(Mode::Garbage);
        let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
        assert!(
            err.starts_with("not a JPEG: 19 bytes of text/html"),
            "{err}"
        );
        assert_eq!(cam.state().state, "waiting");

        // Back: the next press uses it again.
        server.set(Mode::Works);
        cam.photo(now_ms(), &JpegSettings::default()).unwrap();
        assert_eq!(cam.state().state, "connected");
    }

    #[test]
    fn camera_switched_off_and_on_again_is_picked_up() {
        // A port with nobody listening: connection refused.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let url = format!("http://{addr}/snapshot.jpg?channel=1");
        let cam = camera(&url, None);
        let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
        assert!(err.starts_with("cannot connect:"), "{err}");
        assert!(err.to_lowercase().contains("refused"), "{err}");
        assert_eq!(cam.state().state, "waiting");

        let _server = Server::start_on(&addr.to_string(), Auth::Open);
        cam.photo(now_ms(), &JpegSettings::default()).unwrap();
        assert_eq!(cam.state().state, "connected");
    }

    #[test]
    fn ip_camera_works_from_an_async_runtime() {
        // As the recorder uses it: made and dropped in async code, asked in spawn_blocking.
        let server = Server::start(Auth::Digest);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let cam = Arc::new(camera(&server.url, Some(PASSWORD)));
            let asked = cam.clone();
            let photo = tokio::task::spawn_blocking(move || {
                asked.photo(now_ms(), &JpegSettings::default())
            })
            .await
            .unwrap();
            assert_eq!(photo.unwrap().width, 640);
            assert_eq!(cam.state().state, "connected");
            drop(cam);
        });
    }

    // --- the live stream ---------------------------------------------------------------------

    #[test]
    fn ring_keeps_the_newest_frame_and_thins_older_ones() {
        let settings = StreamSettings {
            frames: 5,
            ..StreamSettings::default()
        };
        let image = Arc::new(RgbImage::new(1, 1));
        let mut frames = VecDeque::new();
        for at in (0..=1000).step_by(10) {
            let frame = Frame {
                at,
                image: image.clone(),
            };
            keep(&mut frames, frame, &settings);
        }
        let times: Vec<Millis> = frames.iter().map(|f| f.at).collect();
        assert_eq!(times, [600, 700, 800, 900, 1000]);
        assert_eq!(nearest(&frames, 749).map(|f| f.at), Some(700));
        assert_eq!(nearest(&frames, 751).map(|f| f.at), Some(800));
        assert_eq!(nearest(&frames, 5000).map(|f| f.at), Some(1000));
        assert!(nearest(&VecDeque::new(), 0).is_none());
    }

    fn stand_in(settings: StreamSettings) -> (StreamCamera<StandInSource>, StandInSwitch) {
        let source = StandInSource::new(320, 240, 50);
        let switch = source.switch();
        let cam = StreamCamera::start_with(source, settings);
        wait_for("the stand-in to stream", || {
            cam.state().state == "connected"
        });
        (cam, switch)
    }

    #[test]
    fn stream_photo_is_the_frame_nearest_the_press() {
        // A long wait: a busy test machine may starve the camera thread for a while.
        let settings = StreamSettings {
            wait: Duration::from_secs(5),
            ..StreamSettings::default()
        };
        let (cam, _switch) = stand_in(settings);
        assert_eq!(cam.state().detail, "stand-in camera 320x240");
        thread::sleep(Duration::from_millis(700));

        // A press a moment ago: the kept frame nearest to it.
        let at = now_ms() - 300;
        let expected = nearest(&lock(&cam.shared.frames), at).map(|f| f.at);
        let photo = cam.photo(at, &JpegSettings::default()).unwrap();
        assert_eq!(Some(photo.taken_at), expected);
        assert!(
            photo.taken_at.abs_diff(at) <= 300,
            "{} vs {at}",
            photo.taken_at
        );
        assert_eq!((photo.width, photo.height), (320, 240));
        assert_eq!(decode(&photo.jpeg).dimensions(), (320, 240));

        // A press ahead of the newest frame: waits until frames reach it, then takes the one
        // nearest the press (which may be the last one just before it: frames come every 20 ms),
        // never a frame already kept when the photo was asked for.
        let newest_before = lock(&cam.shared.frames).back().map(|f| f.at).unwrap();
        let at = now_ms() + 100;
        let photo = cam.photo(at, &JpegSettings::default()).unwrap();
        assert!(
            photo.taken_at > newest_before,
            "{} is not newer than {newest_before}",
            photo.taken_at
        );

        // Long before anything kept.
        let err = cam
            .photo(now_ms() - 10_000, &JpegSettings::default())
            .unwrap_err();
        assert!(err.starts_with("no frame near the press"), "{err}");
    }

    #[test]
    fn stream_unplugged_waits_and_resumes() {
        let settings = StreamSettings {
            retry: Duration::from_millis(100),
            max_gap: Duration::from_millis(300),
            ..StreamSettings::default()
        };
        let (cam, switch) = stand_in(settings);
        switch.unplug();
        wait_for("waiting", || cam.state().state == "waiting");
        let state = cam.state();
        assert_eq!(state.error.as_deref(), Some("stand-in camera unplugged"));
        thread::sleep(Duration::from_millis(400));
        let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
        assert!(err.starts_with("no frame near the press"), "{err}");
        assert!(err.ends_with("(stand-in camera unplugged)"), "{err}");

        switch.plug_in();
        wait_for("connected again", || cam.state().state == "connected");
        assert_eq!(cam.state().error, None);
        wait_for("a photo again", || {
            cam.photo(now_ms(), &JpegSettings::default()).is_ok()
        });
    }

    #[test]
    fn stream_that_never_opens_says_why() {
        let source = StandInSource::new(64, 48, 10);
        source.switch().unplug();
        let cam = StreamCamera::start(source);
        wait_for("the first failure", || {
            cam.state().error.as_deref() != Some("opening")
        });
        assert_eq!(cam.state().state, "waiting");
        let err = cam.photo(now_ms(), &JpegSettings::default()).unwrap_err();
        assert_eq!(err, "no frame yet: stand-in camera unplugged");
    }

    #[test]
    fn nokhwa_without_a_camera_fails_cleanly() {
        // This machine has no camera at all; on one with a webcam, it must stream.
        let mut first = NokhwaSource::new(0);
        match first.open() {
            Err(e) => assert!(e.starts_with("no camera 0: "), "{e}"),
            Ok(()) => {
                let frame = first.next_frame().unwrap();
                assert!(frame.width() > 0);
            }
        }
        drop(first);
        let err = NokhwaSource::named("No Such Camera 9000")
            .open()
            .unwrap_err();
        assert!(
            err.starts_with("no camera named 'No Such Camera 9000'"),
            "{err}"
        );

        let cam = StreamCamera::start(NokhwaSource::new(57));
        wait_for("the first failure", || {
            cam.state().error.as_deref() != Some("opening")
        });
        let state = cam.state();
        assert_eq!(state.state, "waiting");
        assert_eq!(state.detail, "camera 57");
        assert!(state.error.unwrap().starts_with("no camera 57: "));
    }
}
