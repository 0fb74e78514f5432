//! A JSON writer into a fixed buffer that keeps counting past its end.
//!
//! `serde-json-core` renders a whole value into one slice and, when the slice is too
//! small, says only that it failed. The API documents here are built from live tables
//! whose size depends on the configuration, so the writer needs to know *how much* room
//! a document wants: it writes what fits, counts the rest, and the caller retries once
//! in a block of that size (plus a little slack) (see [`crate::Rendered`]). Numbers, strings (escaped)
//! and `Display` values are all a document needs, so no serializer is linked in.

use core::fmt::{self, Write as _};

/// Nesting the writer tracks (one bit of "needs a comma" per level).
const MAX_DEPTH: u32 = 32;

/// Writes JSON into `buf`; [`JsonWriter::finish`] tells whether it all fitted.
pub struct JsonWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
    depth: u32,
    /// Bit `d`: the container at depth `d` already has an element.
    filled: u32,
    after_key: bool,
    broken: bool,
}

/// A document did not fit: it needs `needed` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow {
    /// The document's full length.
    pub needed: usize,
}

impl<'b> JsonWriter<'b> {
    /// A writer into `buf` (which may be empty, to measure a document).
    pub fn new(buf: &'b mut [u8]) -> Self {
        JsonWriter {
            buf,
            len: 0,
            depth: 0,
            filled: 0,
            after_key: false,
            broken: false,
        }
    }

    /// The document's length so far, written or not.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The length written, or how much room the document needed.
    ///
    /// # Panics
    /// In debug builds, if containers were left open or a value could not be encoded
    /// (a bug in the document, not a runtime condition).
    pub fn finish(self) -> Result<usize, Overflow> {
        debug_assert!(self.depth == 0 && !self.broken, "unbalanced JSON document");
        if self.len <= self.buf.len() {
            Ok(self.len)
        } else {
            Err(Overflow { needed: self.len })
        }
    }

    fn raw(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if end <= self.buf.len() {
            self.buf[self.len..end].copy_from_slice(bytes);
        }
        self.len = end;
    }

    /// Writes the separator a new value needs at this position.
    fn separate(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if self.depth == 0 {
            return;
        }
        let bit = 1 << (self.depth - 1);
        if self.filled & bit != 0 {
            self.raw(b",");
        }
        self.filled |= bit;
    }

    fn open(&mut self, bracket: &[u8]) {
        self.separate();
        self.raw(bracket);
        if self.depth >= MAX_DEPTH {
            self.broken = true;
            return;
        }
        self.depth += 1;
        self.filled &= !(1 << (self.depth - 1));
    }

    fn close(&mut self, bracket: &[u8]) {
        self.raw(bracket);
        self.depth = self.depth.saturating_sub(1);
    }

    /// `{`
    pub fn begin_object(&mut self) -> &mut Self {
        self.open(b"{");
        self
    }

    /// `}`
    pub fn end_object(&mut self) -> &mut Self {
        self.close(b"}");
        self
    }

    /// `[`
    pub fn begin_array(&mut self) -> &mut Self {
        self.open(b"[");
        self
    }

    /// `]`
    pub fn end_array(&mut self) -> &mut Self {
        self.close(b"]");
        self
    }

    /// `"name":` — the next value or container is this member's.
    pub fn key(&mut self, name: &str) -> &mut Self {
        self.separate();
        self.string(name);
        self.raw(b":");
        self.after_key = true;
        self
    }

    /// A member: key and value.
    pub fn field(&mut self, name: &str, value: impl JsonValue) -> &mut Self {
        self.key(name);
        self.value(value)
    }

    /// A value (array element, or a member's value after [`JsonWriter::key`]).
    pub fn value(&mut self, value: impl JsonValue) -> &mut Self {
        self.separate();
        value.write(self);
        self
    }

    fn string(&mut self, s: &str) {
        self.raw(b"\"");
        let _ = Escaped(self).write_str(s);
        self.raw(b"\"");
    }

    fn display(&mut self, d: &dyn fmt::Display) {
        self.raw(b"\"");
        let _ = write!(Escaped(self), "{d}");
        self.raw(b"\"");
    }

    fn number(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.raw(&digits[i..]);
    }
}

/// Escapes what `fmt` produces as the inside of a JSON string.
struct Escaped<'w, 'b>(&'w mut JsonWriter<'b>);

impl fmt::Write for Escaped<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let esc: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..=0x1f => b"",
                _ => continue,
            };
            self.0.raw(&s.as_bytes()[plain..i]);
            if esc.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.0.raw(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]);
            } else {
                self.0.raw(esc);
            }
            plain = i + 1;
        }
        self.0.raw(&s.as_bytes()[plain..]);
        Ok(())
    }
}

/// Something [`JsonWriter::value`] can write.
pub trait JsonValue {
    /// Writes the value (its separator is already written).
    fn write(&self, w: &mut JsonWriter<'_>);
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl JsonValue for $t {
            fn write(&self, w: &mut JsonWriter<'_>) {
                w.number(*self as u64)
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64, usize);

impl JsonValue for bool {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.raw(if *self { b"true" } else { b"false" })
    }
}

impl JsonValue for &str {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.string(self)
    }
}

impl<T: JsonValue> JsonValue for Option<T> {
    fn write(&self, w: &mut JsonWriter<'_>) {
        match self {
            Some(v) => v.write(w),
            None => w.raw(b"null"),
        }
    }
}

/// Writes a `Display` value as a JSON string (ids, addresses).
pub struct Text<T>(pub T);

impl<T: fmt::Display> JsonValue for Text<T> {
    fn write(&self, w: &mut JsonWriter<'_>) {
        w.display(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn render(f: impl Fn(&mut JsonWriter<'_>)) -> (Result<usize, Overflow>, [u8; 256]) {
        let mut buf = [0u8; 256];
        let mut w = JsonWriter::new(&mut buf);
        f(&mut w);
        let r = w.finish();
        (r, buf)
    }

    #[test]
    fn nested_documents_match_serde_json() {
        let (r, buf) = render(|w| {
            w.begin_object();
            w.field("a", 1u64).field("s", "q\"\\\n\u{1}é");
            w.key("list").begin_array();
            w.value(true)
                .value(Option::<u64>::None)
                .value(Text(12.5f32));
            w.begin_object().field("x", 0usize).end_object();
            w.end_array();
            w.key("empty").begin_object().end_object();
            w.key("c").begin_array().value(1u8).value(2u8).end_array();
            w.end_object();
        });
        let n = r.unwrap();
        let text = core::str::from_utf8(&buf[..n]).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "a": 1, "s": "q\"\\\n\u{1}é",
                "list": [true, null, "12.5", {"x": 0}],
                "empty": {}, "c": [1, 2]
            })
        );
        // Compact, members in the order written.
        assert_eq!(
            text,
            r#"{"a":1,"s":"q\"\\\n\u0001é","list":[true,null,"12.5",{"x":0}],"empty":{},"c":[1,2]}"#
        );
    }

    #[test]
    fn overflow_reports_the_full_length() {
        let doc = |w: &mut JsonWriter<'_>| {
            w.begin_array();
            for i in 0..100u64 {
                w.value(u64::MAX - i);
            }
            w.end_array();
        };
        let mut big = [0u8; 4096];
        let mut w = JsonWriter::new(&mut big);
        doc(&mut w);
        let full = w.finish().unwrap();
        let mut small = [0u8; 64];
        let mut w = JsonWriter::new(&mut small);
        doc(&mut w);
        assert_eq!(w.finish(), Err(Overflow { needed: full }));
        let mut none: [u8; 0] = [];
        let mut w = JsonWriter::new(&mut none);
        doc(&mut w);
        assert_eq!(w.finish(), Err(Overflow { needed: full }));
    }

    #[test]
    fn numbers_at_the_edges() {
        for n in [0u64, 9, 10, 99, 100, u64::MAX] {
            let (r, buf) = render(|w| {
                w.value(n);
            });
            let len = r.unwrap();
            assert_eq!(core::str::from_utf8(&buf[..len]).unwrap(), n.to_string());
        }
    }
}
