//! `ws://` and `wss://` URLs, parsed without allocating.

use core::fmt;

/// The parts of a WebSocket URL the client needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsUrl<'a> {
    /// `wss://`.
    pub secure: bool,
    /// Host name or address, without IPv6 brackets.
    pub host: &'a str,
    /// Port, defaulted from the scheme.
    pub port: u16,
    /// Path and query: `/` when absent; starts with `?` for `ws://host?query`
    /// (the request line then gets a leading `/`).
    pub resource: &'a str,
    /// `user:password` before `@`, for basic auth.
    pub userinfo: Option<&'a str>,
}

/// Why a URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlError {
    /// Not `ws://` or `wss://`.
    Scheme,
    /// Empty or malformed host.
    Host,
    /// The port is not a number in 1–65535.
    Port,
    /// A fragment (`#`), which WebSocket URLs must not carry, or a control character.
    Invalid,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::Scheme => "URL scheme must be ws:// or wss://",
            UrlError::Host => "URL has no valid host",
            UrlError::Port => "URL port is invalid",
            UrlError::Invalid => "URL has a fragment or control characters",
        })
    }
}

impl core::error::Error for UrlError {}

impl<'a> WsUrl<'a> {
    /// Parses `url`.
    pub fn parse(url: &'a str) -> Result<Self, UrlError> {
        if url.contains('#') || url.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UrlError::Invalid);
        }
        let (secure, rest) = if let Some(r) = strip_prefix_ci(url, "ws://") {
            (false, r)
        } else if let Some(r) = strip_prefix_ci(url, "wss://") {
            (true, r)
        } else {
            return Err(UrlError::Scheme);
        };
        let (authority, resource) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], &rest[i..]),
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let default_port = if secure { 443 } else { 80 };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let end = v6.find(']').ok_or(UrlError::Host)?;
            let after = &v6[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => parse_port(p)?,
                None if after.is_empty() => default_port,
                None => return Err(UrlError::Host),
            };
            (&v6[..end], port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, parse_port(p)?),
                None => (hostport, default_port),
            }
        };
        if host.is_empty() {
            return Err(UrlError::Host);
        }
        Ok(WsUrl {
            secure,
            host,
            port,
            resource,
            userinfo,
        })
    }

    /// Whether the port is the scheme's default (then `Host:` omits it).
    pub fn default_port(&self) -> bool {
        self.port == if self.secure { 443 } else { 80 }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn parse_port(p: &str) -> Result<u16, UrlError> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::Port),
        Ok(n) => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let u = WsUrl::parse("ws://example.com/chat?x=1").unwrap();
        assert_eq!(
            (u.secure, u.host, u.port, u.resource),
            (false, "example.com", 80, "/chat?x=1")
        );
        let u = WsUrl::parse("WSS://user:pw@example.com:8443").unwrap();
        assert_eq!(
            (u.secure, u.host, u.port, u.resource, u.userinfo),
            (true, "example.com", 8443, "/", Some("user:pw"))
        );
        let u = WsUrl::parse("ws://[::1]:9001/runCase?case=1&agent=a").unwrap();
        assert_eq!((u.host, u.port), ("::1", 9001));
    }

    #[test]
    fn refuses_bad_urls() {
        assert_eq!(WsUrl::parse("http://x/"), Err(UrlError::Scheme));
        assert_eq!(WsUrl::parse("ws:///x"), Err(UrlError::Host));
        assert_eq!(WsUrl::parse("ws://x:0/"), Err(UrlError::Port));
        assert_eq!(WsUrl::parse("ws://x:99999/"), Err(UrlError::Port));
        assert_eq!(WsUrl::parse("ws://x/#frag"), Err(UrlError::Invalid));
        assert_eq!(WsUrl::parse("ws://x/a\r\nb"), Err(UrlError::Invalid));
        assert_eq!(WsUrl::parse("ws://x?q").unwrap().resource, "?q");
    }
}
