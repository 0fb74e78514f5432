//! The `Cookie` request header (RFC 6265 §4.2.1, §5.4): `name=value` pairs separated by
//! `;`. Pure; borrows the header value, copies nothing.
//!
//! Parsing is lenient in what it skips (pairs without `=`, empty names, stray spaces —
//! browsers send such headers) and strict in what it returns: a name is matched exactly,
//! and a value keeps its bytes, with only the optional surrounding double quotes removed.

use super::RequestHead;

/// The pairs of one `Cookie` header value, in order.
#[derive(Debug, Clone)]
pub struct Cookies<'a> {
    rest: &'a str,
}

/// Splits a `Cookie` header value into its pairs.
pub fn parse(value: &str) -> Cookies<'_> {
    Cookies { rest: value }
}

impl<'a> Iterator for Cookies<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let (pair, rest) = self.rest.split_once(';').unwrap_or((self.rest, ""));
            self.rest = rest;
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim_matches(|c| c == ' ' || c == '\t');
            if name.is_empty() {
                continue;
            }
            let value = value.trim_matches(|c| c == ' ' || c == '\t');
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            return Some((name, value));
        }
        None
    }
}

/// The value of the first cookie called `name` in any of the request's `Cookie` headers
/// (HTTP/2 gateways may split them into several lines).
pub fn cookie<'a>(head: &RequestHead<'a>, name: &str) -> Option<&'a str> {
    head.headers()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| parse(v))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HeadLimits;

    #[test]
    fn pairs_in_order() {
        let got: std::vec::Vec<_> = parse("a=1; b=\"two\";c=;=x; junk ;d = 4").collect();
        assert_eq!(got, [("a", "1"), ("b", "two"), ("c", ""), ("d", "4")]);
    }

    #[test]
    fn empty_and_odd_values() {
        assert_eq!(parse("").count(), 0);
        assert_eq!(parse(";;;").count(), 0);
        assert_eq!(parse("a=b=c").next(), Some(("a", "b=c")));
        // A lone quote is a value, not an opened quote.
        assert_eq!(parse("a=\"").next(), Some(("a", "\"")));
    }

    #[test]
    fn looked_up_across_headers() {
        let raw = b"GET / HTTP/1.1\r\nHost: h\r\nCookie: x=1\r\nCookie: s=tok; y=2\r\n\r\n";
        let h = RequestHead::parse(raw, &HeadLimits::default())
            .unwrap()
            .unwrap();
        assert_eq!(cookie(&h, "s"), Some("tok"));
        assert_eq!(cookie(&h, "x"), Some("1"));
        assert_eq!(cookie(&h, "S"), None, "names are case-sensitive");
        assert_eq!(cookie(&h, "z"), None);
    }
}
