//! HTTP authentication as IP cameras ask for it: RFC 7617 Basic, and RFC 7616 / 2617 Digest with
//! qop=auth (MD5 or SHA-256, plain or -sess).

use std::fmt;

use reqwest::Url;
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};

/// A user name and password; `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Credentials {
    pub(super) username: String,
    pub(super) password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Challenge {
    Basic,
    Digest(Digest),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Digest {
    pub(super) realm: String,
    pub(super) nonce: String,
    pub(super) opaque: Option<String>,
    pub(super) algorithm: Algorithm,
    /// The camera offers qop=auth; without qop it is the old RFC 2069 digest.
    pub(super) qop_auth: bool,
    /// Requests made with this nonce so far (the `nc` the camera checks against replays).
    pub(super) count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    pub(super) fn parse(name: &str) -> Option<Algorithm> {
        match name.to_ascii_uppercase().as_str() {
            "MD5" => Some(Algorithm::Md5),
            "MD5-SESS" => Some(Algorithm::Md5Sess),
            "SHA-256" => Some(Algorithm::Sha256),
            "SHA-256-SESS" => Some(Algorithm::Sha256Sess),
            _ => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    pub(super) fn hash(self, text: &str) -> String {
        use sha2::Digest as _;
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex::encode(md5::Md5::digest(text)),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex::encode(sha2::Sha256::digest(text)),
        }
    }
}

impl Challenge {
    /// Parses one `WWW-Authenticate` value; `None` for a scheme or variant we cannot answer.
    pub(super) fn parse(header: &str) -> Option<Challenge> {
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
    pub(super) fn authorize(
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
pub(super) fn best_challenge(response: &Response) -> Option<Challenge> {
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
    pub(super) fn response(
        &self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> String {
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

    pub(super) fn header(
        &self,
        creds: &Credentials,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> String {
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
pub(super) fn auth_params(text: &str) -> Vec<(String, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
