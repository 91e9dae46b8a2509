//! An IP camera asked for one JPEG snapshot per photo over HTTP(S).

use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use image::ImageFormat;
use reqwest::Url;
use reqwest::blocking::Client;
use reqwest::header::CONTENT_TYPE;

use super::http_auth::{Challenge, Credentials, best_challenge};
use super::jpeg::{JpegSettings, photo_of};
use super::{Status, lock};
use crate::evidence::{Camera, DeviceState, Photo};
use otklik_domain::time::{Millis, now_ms};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::camera::http_auth::{Algorithm, Digest, auth_params};
    use crate::evidence::camera::jpeg::encode;
    use crate::evidence::camera::test_frames::{decode, scene};
    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri, header};
    use axum::response::{IntoResponse, Response as HttpResponse};
    use axum::routing::get;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const USER: &str = "admin";
    const PASSWORD: &str = "s3cret-Pa55";

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
}
