//! The `Authorization` request header (RFC 9110 §11.6.2): `scheme credentials`. Pure.
//!
//! Only the `token68` form is returned (what `Bearer`, RFC 6750 §2.1, uses); a header
//! with auth-params (`Digest a=b, c=d`) parses, but has no token.

/// A parsed `Authorization` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// The scheme as sent (compare case-insensitively).
    pub scheme: &'a str,
    /// The `token68` after the scheme, if the rest is one.
    pub token: Option<&'a str>,
}

/// Splits an `Authorization` value; `None` when there is no valid scheme.
pub fn parse(value: &str) -> Option<Credentials<'_>> {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.is_empty() || !scheme.bytes().all(is_tchar) {
        return None;
    }
    let rest = rest.trim_start_matches(' ');
    let token = (!rest.is_empty() && is_token68(rest)).then_some(rest);
    Some(Credentials { scheme, token })
}

/// The token of an `Authorization: Bearer <token>` value.
pub fn bearer(value: &str) -> Option<&str> {
    let c = parse(value)?;
    if c.scheme.eq_ignore_ascii_case("bearer") {
        c.token
    } else {
        None
    }
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §11.2 `token68`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer("Bearer abc.DEF-1_~+/=="), Some("abc.DEF-1_~+/=="));
        assert_eq!(bearer("bearer   tok"), Some("tok"));
        assert_eq!(bearer("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer a b"), None);
        assert_eq!(bearer("Bearer =="), None);
        assert_eq!(bearer("Bearer a=b, c=d"), None);
        assert_eq!(bearer(""), None);
    }

    #[test]
    fn schemes() {
        assert_eq!(
            parse("Digest a=b, c=d"),
            Some(Credentials {
                scheme: "Digest",
                token: None
            })
        );
        assert_eq!(parse("B@d x"), None);
        assert_eq!(
            parse(" x"),
            Some(Credentials {
                scheme: "x",
                token: None
            })
        );
    }
}
