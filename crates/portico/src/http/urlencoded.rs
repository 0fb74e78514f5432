//! `application/x-www-form-urlencoded` (WHATWG URL §5): query strings and form bodies.
//! Pure; pairs borrow the input, values are decoded into a caller's buffer.
//!
//! Query strings and form bodies share the format, so one parser serves both: the
//! request's `query` and a login form's body.

use core::fmt;

/// The `name=value` pairs of a query string or form body, still encoded, in order.
/// Empty pieces (`a=1&&b=2`) are skipped; a piece without `=` has an empty value.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    rest: &'a str,
}

/// Splits `input` into its pairs.
pub fn pairs(input: &str) -> Pairs<'_> {
    Pairs { rest: input }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let (piece, rest) = self.rest.split_once('&').unwrap_or((self.rest, ""));
            self.rest = rest;
            if piece.is_empty() {
                continue;
            }
            return Some(piece.split_once('=').unwrap_or((piece, "")));
        }
        None
    }
}

/// Why a value could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes do not fit in the buffer given.
    TooLong,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::BadEscape => "malformed percent-escape",
            DecodeError::TooLong => "value too long",
            DecodeError::NotUtf8 => "value is not UTF-8",
        })
    }
}

impl core::error::Error for DecodeError {}

/// Decodes one encoded name or value into `out`: `+` is a space, `%XX` a byte.
/// Stricter than browsers' decoders (which keep a malformed `%` as is): a value that
/// will be compared with a secret should not have two spellings.
pub fn decode<'o>(encoded: &str, out: &'o mut [u8]) -> Result<&'o str, DecodeError> {
    let src = encoded.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < src.len() {
        let b = match src[i] {
            b'+' => b' ',
            b'%' => {
                let hi = src.get(i + 1).and_then(|&c| hex(c));
                let lo = src.get(i + 2).and_then(|&c| hex(c));
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(DecodeError::BadEscape);
                };
                i += 2;
                hi << 4 | lo
            }
            b => b,
        };
        *out.get_mut(n).ok_or(DecodeError::TooLong)? = b;
        n += 1;
        i += 1;
    }
    core::str::from_utf8(&out[..n]).map_err(|_| DecodeError::NotUtf8)
}

/// The first field called `name` (compared as sent: field names in this application
/// need no escaping), decoded into `out`. `Ok(None)` when there is no such field.
pub fn field<'o>(
    input: &str,
    name: &str,
    out: &'o mut [u8],
) -> Result<Option<&'o str>, DecodeError> {
    match pairs(input).find(|(n, _)| *n == name) {
        Some((_, v)) => decode(v, out).map(Some),
        None => Ok(None),
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_in_order() {
        let got: std::vec::Vec<_> = pairs("a=1&&b=&c&=d&e=x=y").collect();
        assert_eq!(
            got,
            [("a", "1"), ("b", ""), ("c", ""), ("", "d"), ("e", "x=y")]
        );
        assert_eq!(pairs("").count(), 0);
    }

    #[test]
    fn decoding() {
        let mut buf = [0u8; 32];
        assert_eq!(decode("a+b%20c%2B%26", &mut buf), Ok("a b c+&"));
        assert_eq!(decode("%C3%A9", &mut buf), Ok("é"));
        assert_eq!(decode("%e2%82%ac", &mut buf), Ok("€"));
        assert_eq!(decode("%", &mut buf), Err(DecodeError::BadEscape));
        assert_eq!(decode("%4", &mut buf), Err(DecodeError::BadEscape));
        assert_eq!(decode("%zz", &mut buf), Err(DecodeError::BadEscape));
        assert_eq!(decode("%FF", &mut buf), Err(DecodeError::NotUtf8));
        let mut small = [0u8; 2];
        assert_eq!(decode("abc", &mut small), Err(DecodeError::TooLong));
        assert_eq!(decode("%41b", &mut small), Ok("Ab"));
    }

    #[test]
    fn fields() {
        let mut buf = [0u8; 32];
        assert_eq!(
            field("user=x&password=p%40ss+word", "password", &mut buf),
            Ok(Some("p@ss word"))
        );
        assert_eq!(field("a=1", "password", &mut buf), Ok(None));
        assert_eq!(
            field("password=%", "password", &mut buf),
            Err(DecodeError::BadEscape)
        );
    }
}
