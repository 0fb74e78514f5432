//! `portico::web::json::from_json`: JSON request bodies into a typed value, with the
//! offending field named on error. Whatever the body, no panic; a parsed value survives
//! a round trip; every refusal is a `400` (malformed) or a `422` naming a field.

use portico::http::Status;
use portico::web::json::from_json;

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    name: heapless::String<16>,
    level: u8,
    on: bool,
    list: heapless::Vec<i32, 4>,
    nested: Option<Inner>,
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Inner {
    x: i64,
    tag: heapless::String<8>,
}

/// The first byte sizes the unescape scratch (0–63 bytes: too small must be an error,
/// not a panic); the rest is the body.
pub fn json(data: &[u8]) {
    let (scratch_len, body) = match data.split_first() {
        Some((k, rest)) => (usize::from(*k % 64), rest),
        None => (0, data),
    };
    let mut scratch = [0u8; 64];
    match from_json::<Doc>(body, &mut scratch[..scratch_len]) {
        Ok(doc) => {
            let mut out = [0u8; 512];
            let n =
                serde_json_core::to_slice(&doc, &mut out).expect("a parsed document serializes");
            let again: Doc = from_json(&out[..n], &mut [0u8; 64]).expect("its own JSON parses");
            assert_eq!(again, doc, "round trip");
        }
        Err(e) => match e.status {
            Status::BAD_REQUEST => assert!(e.field.is_empty(), "400 names no field: {e}"),
            Status::UNPROCESSABLE_CONTENT => {
                assert!(!e.field.is_empty(), "422 names its field: {e}")
            }
            other => panic!("unexpected status {}: {e}", other.0),
        },
    }
}
