//! JSON request bodies into typed values, with the offending field named on error.
//!
//! `serde-json-core` parses without an allocator but does not say *where* a value was
//! wrong. A form wants "brightness: out of range", not "invalid number", so the
//! top-level object's keys are watched as they are read: when a value fails, the last
//! key seen is the field to blame; a missing or unknown member is caught by name as the
//! derived code reports it. Only the top level is watched (a nested error names its
//! top-level member), which keeps this a thin wrapper instead of a second parser.
//!
//! (`serde-json-core`'s own `custom-error-messages` would carry serde's "missing field"
//! text, but it panics when a message passes 64 bytes — serde's "unknown field `x`,
//! expected one of …" does with four fields — so it stays off.)

use core::cell::RefCell;
use core::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json_core::de::Error as JsonError;

use super::error::{Error, FIELD_CAP};

type Key = heapless::String<FIELD_CAP>;

/// What the watch saw go wrong, beyond the parser's own error.
#[derive(Debug, Default)]
struct Seen {
    /// The last top-level key read.
    key: Key,
    /// A member serde's derive reported missing or unknown.
    member: Option<(&'static str, Key)>,
}

/// Parses `body` as one JSON value of type `T`. `scratch` receives unescaped strings
/// (it must be as long as the longest string member).
///
/// - not JSON, or trailing bytes → `400` "malformed JSON";
/// - a required member missing → `422` "missing field", naming it;
/// - an unknown member (under `#[serde(deny_unknown_fields)]`) → `422` "unknown field";
/// - a member of the wrong type or out of range → `422` "invalid value", naming it.
pub fn from_json<T: DeserializeOwned>(body: &[u8], scratch: &mut [u8]) -> Result<T, Error> {
    let key = RefCell::new(Seen::default());
    let mut de = serde_json_core::de::Deserializer::new(body, Some(scratch));
    let value = T::deserialize(Watch {
        de: &mut de,
        key: &key,
    });
    match value {
        Ok(v) => match de.end() {
            Ok(_) => Ok(v),
            Err(_) => Err(Error::bad_request("malformed JSON")),
        },
        Err(e) => Err(blame(&e, &key.borrow())),
    }
}

/// Turns a parse error into an answer.
fn blame(e: &JsonError, seen: &Seen) -> Error {
    if let Some((message, name)) = &seen.member {
        // A member may be named by the empty string; an empty `field` would read as
        // "no field", so it is shown as `""`.
        let name = if name.is_empty() {
            "\"\""
        } else {
            name.as_str()
        };
        return Error::invalid(name, message);
    }
    let last_key = seen.key.as_str();
    match e {
        JsonError::InvalidType
        | JsonError::InvalidNumber
        | JsonError::CustomError
        | JsonError::EscapedStringIsTooLong => value_error(last_key),
        _ => Error::bad_request("malformed JSON"),
    }
}

fn value_error(last_key: &str) -> Error {
    if last_key.is_empty() {
        Error::bad_request("malformed JSON")
    } else {
        Error::invalid(last_key, "invalid value")
    }
}

/// The top-level deserializer: passes everything through, and wraps an object's
/// visitor so its keys are seen.
struct Watch<'k, D> {
    de: D,
    key: &'k RefCell<Seen>,
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
            self.de.$method($($arg,)* visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Watch<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16();
        deserialize_i32(); deserialize_i64(); deserialize_u8(); deserialize_u16();
        deserialize_u32(); deserialize_u64(); deserialize_f32(); deserialize_f64();
        deserialize_char(); deserialize_str(); deserialize_string(); deserialize_bytes();
        deserialize_byte_buf(); deserialize_option(); deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str); deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier(); deserialize_ignored_any();
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.de.deserialize_map(Object {
            inner: visitor,
            key: self.key,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.de.deserialize_struct(
            name,
            fields,
            Object {
                inner: visitor,
                key: self.key,
            },
        )
    }
}

/// The top-level object's visitor: hands the inner visitor a map whose keys are seen.
struct Object<'k, V> {
    inner: V,
    key: &'k RefCell<Seen>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Object<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let key = self.key;
        self.inner
            .visit_map(Members { inner: map, key })
            .map_err(|e| match e {
                MemberError::Parser(e) => e,
                MemberError::Missing(name) => {
                    key.borrow_mut().member = Some(("missing field", copy(name)));
                    de::Error::custom("missing field")
                }
                MemberError::Unknown(name) => {
                    key.borrow_mut().member = Some(("unknown field", name));
                    de::Error::custom("unknown field")
                }
                MemberError::Other => de::Error::custom("invalid value"),
            })
    }
}

/// The object's members: each key is recorded before its value is read.
struct Members<'k, A> {
    inner: A,
    key: &'k RefCell<Seen>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Members<'_, A> {
    type Error = MemberError<A::Error>;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        self.inner
            .next_key_seed(KeySeed {
                inner: seed,
                key: self.key,
            })
            .map_err(MemberError::Parser)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        self.inner
            .next_value_seed(seed)
            .map_err(MemberError::Parser)
    }
}

/// The error the derived code sees while it walks the object's members: it reports a
/// missing or unknown member through it by name, which the parser's error type would
/// lose.
#[derive(Debug)]
enum MemberError<E> {
    /// The parser's own error.
    Parser(E),
    /// A required member was absent.
    Missing(&'static str),
    /// A member the type does not know.
    Unknown(Key),
    /// Anything else the derived code refused.
    Other,
}

impl<E: fmt::Display> fmt::Display for MemberError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberError::Parser(e) => e.fmt(f),
            MemberError::Missing(n) => write!(f, "missing field `{n}`"),
            MemberError::Unknown(n) => write!(f, "unknown field `{n}`"),
            MemberError::Other => f.write_str("invalid value"),
        }
    }
}

impl<E: de::Error> de::StdError for MemberError<E> {}

impl<E: de::Error> de::Error for MemberError<E> {
    fn custom<T: fmt::Display>(_: T) -> Self {
        MemberError::Other
    }

    fn missing_field(field: &'static str) -> Self {
        MemberError::Missing(field)
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        MemberError::Unknown(copy(field))
    }
}

/// `s`, cut to [`FIELD_CAP`] bytes at a character boundary.
fn copy(s: &str) -> Key {
    let mut k = Key::new();
    for c in s.chars() {
        if k.push(c).is_err() {
            break;
        }
    }
    k
}

/// Deserializes a key through [`KeyName`], which records it.
struct KeySeed<'k, K> {
    inner: K,
    key: &'k RefCell<Seen>,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, K> {
    type Value = K::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<K::Value, D::Error> {
        self.inner.deserialize(KeyName { de, key: self.key })
    }
}

/// A key's deserializer: whatever the key's type asks for, its text is recorded.
struct KeyName<'k, D> {
    de: D,
    key: &'k RefCell<Seen>,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for KeyName<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16();
        deserialize_i32(); deserialize_i64(); deserialize_u8(); deserialize_u16();
        deserialize_u32(); deserialize_u64(); deserialize_f32(); deserialize_f64();
        deserialize_char(); deserialize_bytes();
        deserialize_byte_buf(); deserialize_option(); deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str); deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_ignored_any();
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_identifier(Record {
            inner: visitor,
            key: self.key,
        })
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_str(Record {
            inner: visitor,
            key: self.key,
        })
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_string(Record {
            inner: visitor,
            key: self.key,
        })
    }
}

/// Records the key's text, then lets the real visitor see it.
struct Record<'k, V> {
    inner: V,
    key: &'k RefCell<Seen>,
}

impl<V> Record<'_, V> {
    fn note(&self, s: &str) {
        self.key.borrow_mut().key = copy(s);
    }
}

/// A key's own visitor refuses only names the type does not know (serde's derive under
/// `deny_unknown_fields`).
fn refused(key: &RefCell<Seen>, name: &str) {
    key.borrow_mut().member = Some(("unknown field", copy(name)));
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Record<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.note(v);
        let key = self.key;
        self.inner.visit_str(v).inspect_err(|_| refused(key, v))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.note(v);
        let key = self.key;
        self.inner
            .visit_borrowed_str(v)
            .inspect_err(|_| refused(key, v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.inner.visit_u64(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        if let Ok(s) = core::str::from_utf8(v) {
            self.note(s);
        }
        self.inner.visit_bytes(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Status;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        device_name: heapless::String<32>,
        brightness: u8,
        led: bool,
    }

    fn parse(s: &str) -> Result<Settings, Error> {
        from_json(s.as_bytes(), &mut [0; 64])
    }

    #[test]
    fn good_document() {
        let s = parse(r#"{"device_name":"kitchen \"A\"","brightness":40,"led":true}"#).unwrap();
        assert_eq!(s.device_name.as_str(), "kitchen \"A\"");
        assert_eq!((s.brightness, s.led), (40, true));
    }

    #[test]
    fn names_the_field() {
        let cases = [
            (
                r#"{"device_name":"a","led":true}"#,
                422,
                "brightness",
                "missing field",
            ),
            (
                r#"{"device_name":"a","brightness":"x","led":true}"#,
                422,
                "brightness",
                "invalid value",
            ),
            (
                r#"{"device_name":"a","brightness":300,"led":true}"#,
                422,
                "brightness",
                "invalid value",
            ),
            (
                r#"{"device_name":"a","brightness":3,"led":"on"}"#,
                422,
                "led",
                "invalid value",
            ),
            (
                r#"{"device_name":"a","brightness":3,"led":true,"x":1}"#,
                422,
                "x",
                "unknown field",
            ),
            (
                r#"{"device_name":"a","brightness":3,"led":true} x"#,
                400,
                "",
                "malformed JSON",
            ),
            (r#"{"device_name":"a","#, 400, "", "malformed JSON"),
            ("not json", 400, "", "malformed JSON"),
            (r#"{"":1}"#, 422, "\"\"", "unknown field"),
        ];
        for (body, status, field, message) in cases {
            let e = parse(body).unwrap_err();
            assert_eq!(
                (e.status, e.field.as_str(), e.message),
                (Status(status), field, message),
                "{body}"
            );
        }
    }

    #[test]
    fn error_body_is_json() {
        let mut out = [0; 80];
        let n = Error::invalid("brightness", "must be 0 to 100")
            .write_json(&mut out)
            .unwrap();
        assert_eq!(
            &out[..n],
            br#"{"error":"must be 0 to 100","field":"brightness"}"#
        );
        let n = Error::not_found("no such thing")
            .write_json(&mut out)
            .unwrap();
        assert_eq!(&out[..n], br#"{"error":"no such thing"}"#);
    }
}
