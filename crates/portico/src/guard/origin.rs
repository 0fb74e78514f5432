//! Cross-site requests: a request that can change state must come from the device's own
//! pages.
//!
//! Browsers say where a request comes from: `Origin` on every non-`GET` request, and
//! `Sec-Fetch-Site` on current ones. A request with neither is not from a browser page —
//! a script — and is refused too unless it proves itself with a token (the caller
//! checks that first), so no page can reach a write endpoint by any route.

use crate::http::{Method, RequestHead};

/// Methods that must not change state (RFC 9110 §9.2.1), which are never refused here.
pub fn is_safe(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head | Method::Options)
}

/// Whether the request comes from a page of this very origin: `Sec-Fetch-Site:
/// same-origin` or `none` (typed by the user), or else an `Origin` whose host and port
/// are the request's `Host`.
pub fn same_origin(head: &RequestHead<'_>) -> bool {
    if let Some(site) = head.header("sec-fetch-site") {
        // The browser's own verdict wins over an `Origin` it sent alongside.
        return site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none");
    }
    let (Some(origin), Some(host)) = (head.header("origin"), head.header("host")) else {
        return false;
    };
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        // `null` (sandboxed frames, file: pages) and anything unparseable.
        return false;
    };
    !authority.is_empty() && !authority.contains('/') && authority.eq_ignore_ascii_case(host)
}

/// Whether a request must be refused as cross-site: unsafe method, not same-origin.
pub fn refused(head: &RequestHead<'_>) -> bool {
    !is_safe(head.method) && !same_origin(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HeadLimits;

    fn check(method: &str, headers: &str) -> bool {
        let raw =
            std::format!("{method} /api/login HTTP/1.1\r\nHost: 10.0.0.5:8080\r\n{headers}\r\n");
        let h = RequestHead::parse(raw.as_bytes(), &HeadLimits::default())
            .unwrap()
            .unwrap();
        refused(&h)
    }

    #[test]
    fn safe_methods_pass() {
        assert!(!check("GET", "Origin: http://evil.example\r\n"));
        assert!(!check("HEAD", ""));
        assert!(!check("OPTIONS", "Sec-Fetch-Site: cross-site\r\n"));
    }

    #[test]
    fn unsafe_methods_need_the_same_origin() {
        assert!(!check("POST", "Origin: http://10.0.0.5:8080\r\n"));
        assert!(!check("DELETE", "Sec-Fetch-Site: same-origin\r\n"));
        assert!(!check("POST", "Sec-Fetch-Site: none\r\n"));
        assert!(check("POST", ""));
        assert!(check("POST", "Origin: http://evil.example\r\n"));
        assert!(
            check("POST", "Origin: http://10.0.0.5\r\n"),
            "another port is another origin"
        );
        assert!(check("POST", "Origin: null\r\n"));
        assert!(check("POST", "Origin: http://10.0.0.5:8080/x\r\n"));
        assert!(check("PUT", "Sec-Fetch-Site: same-site\r\n"));
        assert!(
            check(
                "POST",
                "Origin: http://10.0.0.5:8080\r\nSec-Fetch-Site: cross-site\r\n"
            ),
            "the browser's verdict wins"
        );
    }
}
