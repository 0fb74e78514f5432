//! The access checks' parsers (issue 17): `Cookie`, `Authorization` (and the token
//! behind a `Bearer`), query strings and form bodies (one urlencoded parser), and the
//! login body. Each must take any bytes without panicking, and what it returns must be
//! a faithful piece of its input.

use portico::guard::{token, SessionKey};
use portico::http::{authorization, cookie, urlencoded};

use crate::Knobs;

/// `Cookie` header values.
pub fn cookies(data: &[u8]) {
    let value = String::from_utf8_lossy(data);
    let pairs: Vec<(&str, &str)> = cookie::parse(&value).collect();
    for (name, v) in &pairs {
        assert!(!name.is_empty(), "empty cookie name");
        assert!(!name.contains(';') && !name.contains('='), "name {name:?}");
        assert!(!v.contains(';'), "value {v:?} spans pairs");
        assert_eq!(*name, name.trim_matches([' ', '\t']), "untrimmed name");
        assert!(
            value.contains(name) && value.contains(v),
            "not from the input"
        );
    }
    // Written back in the canonical form, the same pairs come out.
    let canonical: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let again = canonical.join("; ");
    let reparsed: Vec<(&str, &str)> = cookie::parse(&again).collect();
    let unquoted: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(n, v)| {
            let v = v.trim_matches([' ', '\t']);
            (
                *n,
                v.strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v),
            )
        })
        .collect();
    assert_eq!(reparsed, unquoted, "canonical form does not round-trip");
}

/// `Authorization` header values, and the token check behind `Bearer`.
pub fn authorization(data: &[u8]) {
    let value = String::from_utf8_lossy(data);
    if let Some(c) = authorization::parse(&value) {
        assert!(
            !c.scheme.is_empty() && !c.scheme.contains(' '),
            "scheme {:?}",
            c.scheme
        );
        assert!(value.contains(c.scheme));
        if let Some(t) = c.token {
            assert!(!t.is_empty() && !t.contains([' ', ',']), "token {t:?}");
            assert!(
                value.trim_end_matches([' ', '\t']).ends_with(t),
                "token not at the end"
            );
        }
    }
    if let Some(t) = authorization::bearer(&value) {
        // Nothing the fuzzer writes carries a valid signature for a key it never saw.
        let key = SessionKey([0x5a; 32]);
        assert!(
            token::verify(&key, t, portico::time::Instant::EPOCH, 0).is_err(),
            "forged token accepted: {t}"
        );
    }
}

/// Query strings: pairs and their decoded values.
pub fn query(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    let mut buf = [0u8; 256];
    for (name, value) in urlencoded::pairs(&input) {
        assert!(!name.contains('&') && !value.contains('&'));
        // `=` alone is a pair of empty strings (WHATWG URL §5.1); an empty piece is none.
        let piece = if value.is_empty() && !input.contains(&format!("{name}=")) {
            name.to_string()
        } else {
            format!("{name}={value}")
        };
        assert!(!piece.is_empty(), "empty piece returned");
        assert!(
            input.contains(&piece),
            "{piece:?} is not a piece of the input"
        );
        for part in [name, value] {
            if let Ok(decoded) = urlencoded::decode(part, &mut buf) {
                assert!(decoded.len() <= part.len(), "decoding grew {part:?}");
                let decoded = decoded.to_string();
                let encoded = encode(&decoded);
                let mut again = [0u8; 1024];
                assert_eq!(
                    urlencoded::decode(&encoded, &mut again),
                    Ok(decoded.as_str()),
                    "re-encoded {decoded:?} does not decode back"
                );
            }
        }
    }
}

/// Login bodies: JSON or a form, chosen by the first byte.
pub fn form(data: &[u8]) {
    let (mut k, body) = Knobs::split(data, 1);
    let as_form = k.byte() & 1 == 1;
    let mut out = [0u8; portico_app::login::MAX_PASSWORD];
    let parsed = portico_app::login::parse_request(body, as_form, &mut out)
        .map(|r| (r.password.to_string(), r.token));
    if let (true, Ok((password, _))) = (as_form, &parsed) {
        let text = std::str::from_utf8(body).expect("a form that parsed is UTF-8");
        let mut buf = [0u8; portico_app::login::MAX_PASSWORD];
        let direct = urlencoded::field(text, "password", &mut buf).unwrap();
        assert_eq!(
            direct,
            Some(password.as_str()),
            "login disagrees with the parser"
        );
    }
    if let Ok((password, _)) = parsed {
        assert!(password.len() <= portico_app::login::MAX_PASSWORD);
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
