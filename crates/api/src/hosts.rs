//! What guards every request before any route sees it: the Host must be one of this PC's own
//! names or addresses (a web page that rebinds its name to 127.0.0.1 or to this PC is refused),
//! a browser's write must come from a page of this same origin, and every answer carries the
//! headers that keep the screens out of other sites' frames and off content sniffing.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use otklik_domain::hostnames::extra_names;

use super::{ApiError, AppState};

/// The screens load only this origin's scripts, styles and data; nothing may frame them.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// This PC's addresses are read again at most this often when a Host names an unknown one
/// (a new DHCP lease, a cable plugged in).
const ADDRESSES_FRESH: Duration = Duration::from_secs(5);

/// The names a request may address this PC by.
pub struct HostPolicy {
    names: HashSet<String>,
    addresses: Mutex<(Instant, HashSet<IpAddr>)>,
}

impl HostPolicy {
    /// Loopback, the listening address, the PC's own name (also as `name.local`), and
    /// `extra` (the `allowed_hosts` setting, comma-separated).
    pub fn new(listen: IpAddr) -> HostPolicy {
        let mut names: HashSet<String> = ["localhost".to_string()].into();
        if let Some(host) = gethostname::gethostname().to_str() {
            let host = host.trim().to_ascii_lowercase();
            if !host.is_empty() {
                names.insert(format!("{host}.local"));
                names.insert(host);
            }
        }
        let mut addresses = local_addresses();
        if !listen.is_unspecified() {
            addresses.insert(listen);
        }
        HostPolicy {
            names,
            addresses: Mutex::new((Instant::now(), addresses)),
        }
    }

    /// Whether `host` (a Host header's name, without the port) is this PC.
    pub fn allows(&self, host: &str, extra: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if self.names.contains(&host) || extra_names(extra).any(|n| n == host) {
            return true;
        }
        let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        else {
            return false;
        };
        if ip.is_loopback() {
            return true;
        }
        let mut addresses = self.addresses.lock().expect("addresses lock");
        if !addresses.1.contains(&ip) && addresses.0.elapsed() >= ADDRESSES_FRESH {
            let listen: Vec<IpAddr> = addresses.1.iter().copied().collect();
            addresses.1 = local_addresses();
            // Keep an explicit listening address even if its interface went away for a moment.
            addresses.1.extend(listen);
            addresses.0 = Instant::now();
        }
        addresses.1.contains(&ip)
    }
}

fn local_addresses() -> HashSet<IpAddr> {
    if_addrs::get_if_addrs()
        .map(|ifs| ifs.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default()
}

/// The name part of a Host header (`name:port`, `[::1]:port`, `name`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

pub async fn guard(
    State((e, hosts)): State<(AppState, Arc<HostPolicy>)>,
    req: Request,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("")
        .to_string();
    let extra = e.store.settings().allowed_hosts;
    if !hosts.allows(host_name(&host), &extra) {
        return ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "host_not_allowed",
            format!(
                "'{}' is not a name of this PC: open Otklik by the PC's name or address, or add the name to the allowed_hosts setting",
                host_name(&host)
            ),
        )
        .into_response();
    }
    if let Some(refusal) = foreign_write(&req, &host) {
        return ApiError::new(StatusCode::FORBIDDEN, "cross_origin", refusal).into_response();
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    resp
}

/// A browser's write must come from a page this server served: its Origin equals the Host.
/// Programs (the clinic's system, scripts) send no Origin and are judged by their token.
fn foreign_write(req: &Request, host: &str) -> Option<String> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let headers = req.headers();
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Some("a page of another site cannot change anything here".into());
    }
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("null");
    let same = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|o| o.eq_ignore_ascii_case(host));
    (!same).then(|| format!("a page from {origin} cannot change anything here"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(host_name("127.0.0.1:8787"), "127.0.0.1");
        assert_eq!(host_name("[::1]:8787"), "::1");
        assert_eq!(host_name("[::1]"), "::1");
        assert_eq!(host_name("reception"), "reception");
        assert_eq!(host_name("reception.local:80"), "reception.local");
    }

    #[test]
    fn only_this_pcs_names_pass() {
        let p = HostPolicy::new("0.0.0.0".parse().unwrap());
        for ok in [
            "localhost",
            "LOCALHOST.",
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "[::1]",
        ] {
            assert!(p.allows(ok, ""), "{ok}");
        }
        for bad in [
            "evil.example",
            "localhost.evil.example",
            "",
            "8.8.8.8",
            "192.0.2.254",
        ] {
            assert!(!p.allows(bad, ""), "{bad}");
        }
        assert!(p.allows("otklik.clinic.ru", "reception, otklik.clinic.ru"));
        assert!(!p.allows("clinic.ru", "otklik.clinic.ru"));
    }
}
