//! The `Host` allowlist: the defence against DNS rebinding.
//!
//! A page on `evil.example` whose name is re-pointed at the device's address can make
//! the browser send it requests — but the browser still says `Host: evil.example`. So a
//! request is answered only when its `Host` is one of the device's own names.
//!
//! Any IP literal is accepted: rebinding needs a name, and a literal only ever names the
//! address the packet was sent to, which reached this device. That also covers every
//! address a host with several interfaces is reachable at, without listing them.

use core::net::Ipv4Addr;

/// The names a device answers to unless told more: `localhost` and the default mDNS
/// name.
pub const DEFAULT_NAMES: &[&str] = &["localhost", "portico.local"];

/// Which `Host` values are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPolicy<'a> {
    /// Every `Host` (the check is off).
    Any,
    /// IP literals and these names (case-insensitive, a trailing dot ignored).
    Names(&'a [&'a str]),
}

impl Default for HostPolicy<'_> {
    fn default() -> Self {
        HostPolicy::Names(DEFAULT_NAMES)
    }
}

impl HostPolicy<'_> {
    /// Whether a request with this `Host` header value (`None`: absent, which only
    /// HTTP/1.0 allows and no browser sends) is answered.
    pub fn allows(&self, host: Option<&str>) -> bool {
        let names = match self {
            HostPolicy::Any => return true,
            HostPolicy::Names(names) => names,
        };
        let Some(host) = host else {
            return true;
        };
        match name_of(host) {
            Some(Name::Ip) => true,
            Some(Name::Dns(n)) => names
                .iter()
                .any(|allowed| allowed.trim_end_matches('.').eq_ignore_ascii_case(n)),
            None => false,
        }
    }
}

enum Name<'a> {
    Ip,
    Dns(&'a str),
}

/// The host part of a `Host` value (`name[:port]`, `a.b.c.d[:port]`, `[v6][:port]`).
fn name_of(value: &str) -> Option<Name<'_>> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        // Only a literal can be bracketed: no name can rebind through it. Checked by
        // its characters rather than parsed, which spares the device an IPv6 parser.
        let literal = !ip.is_empty()
            && ip.contains(':')
            && ip
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b":.%".contains(&b));
        return literal.then_some(Name::Ip);
    }
    let (host, port) = match value.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (value, None),
    };
    if port.is_some_and(|p| !is_port(p)) || host.is_empty() {
        return None;
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Some(Name::Ip);
    }
    Some(Name::Dns(host.trim_end_matches('.')))
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_literals() {
        let p = HostPolicy::Names(&["localhost", "portico.local", "Dash.Example"]);
        for ok in [
            "localhost",
            "localhost:8080",
            "LOCALHOST",
            "portico.local.",
            "dash.example:80",
            "127.0.0.1:8080",
            "192.168.1.20",
            "[::1]:8080",
            "[fe80::1]",
        ] {
            assert!(p.allows(Some(ok)), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "portico.local.evil",
            "",
            ":80",
            "localhost:",
            "localhost:http",
            "[::1",
            "[::1]x",
            "[not-v6]",
            "127.0.0.1.evil",
        ] {
            assert!(!p.allows(Some(bad)), "{bad}");
        }
        assert!(p.allows(None));
    }

    #[test]
    fn any_turns_it_off() {
        assert!(HostPolicy::Any.allows(Some("evil.example")));
        assert!(!HostPolicy::default().allows(Some("evil.example")));
        assert!(HostPolicy::default().allows(Some("portico.local")));
    }
}
