//! The sans-IO connection against hand-built server frames: reassembly, fail-fast UTF-8,
//! limits, and the close codes it answers with (RFC 6455 §5.4 fragmentation, §8.1 UTF-8,
//! §7.4 close codes — where esp_websocket_client hands the application unassembled pieces).

mod wire;

use portico::placement::sim::SimHeap;
use portico::placement::{MemoryRegions, Placement, Region};
use portico_ws::buffers::{BufferSizes, Buffers};
use portico_ws::close::parse_close;
use portico_ws::connection::{Connection, Delivery, ProtocolError};
use portico_ws::frame::{decode_header, Decoded, Opcode};
use proptest::prelude::*;
use wire::{feed, frame, Got};

fn sizes(rx: usize, max_message: usize) -> BufferSizes {
    BufferSizes {
        rx,
        tx: 512,
        message_initial: 64,
        max_message,
    }
}

fn conn(heap: &SimHeap, rx: usize, max: usize, delivery: Delivery) -> Connection<SimHeap> {
    let b = Buffers::allocate(heap.clone(), Placement::PreferExternal, sizes(rx, max)).unwrap();
    Connection::new(b, delivery)
}

/// The close frame the connection queued, decoded (code).
fn queued_close(c: &mut Connection<SimHeap>) -> Option<u16> {
    let (op, payload) = c.take_control()?;
    assert_eq!(op, Opcode::Close);
    Some(parse_close(&payload).unwrap().code.0)
}

#[test]
fn small_message_is_delivered_whole_and_ping_answered() {
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let mut c = conn(&heap, 256, 1024, Delivery::Messages);
    let mut wire = frame(true, Opcode::Text, b"hello");
    wire.extend(frame(true, Opcode::Ping, b"p1"));
    let got = feed(&mut c, &wire, 3);
    assert_eq!(
        got,
        vec![
            Got::Data(Opcode::Text, true, b"hello".to_vec()),
            Got::Ping(b"p1".to_vec())
        ]
    );
    assert_eq!(
        c.take_control().map(|(o, p)| (o, p.to_vec())),
        Some((Opcode::Pong, b"p1".to_vec()))
    );
}

#[test]
fn message_bigger_than_receive_buffer_is_reassembled() {
    // The ESP-IDF client hands such a frame out in buffer-sized pieces; we must not.
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let mut c = conn(&heap, 256, 10_000, Delivery::Messages);
    let body: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let got = feed(&mut c, &frame(true, Opcode::Binary, &body), 1000);
    assert_eq!(got, vec![Got::Data(Opcode::Binary, true, body)]);
}

#[test]
fn control_frames_interleave_with_fragments() {
    let heap = SimHeap::new(1 << 20, 0);
    let mut c = conn(&heap, 256, 1024, Delivery::Messages);
    let mut wire = frame(false, Opcode::Text, b"frag");
    wire.extend(frame(true, Opcode::Ping, b""));
    wire.extend(frame(false, Opcode::Continuation, b"men"));
    wire.extend(frame(true, Opcode::Pong, b"x"));
    wire.extend(frame(true, Opcode::Continuation, b"ted"));
    let got = feed(&mut c, &wire, 1);
    assert_eq!(
        got,
        vec![
            Got::Ping(vec![]),
            Got::Pong(b"x".to_vec()),
            Got::Data(Opcode::Text, true, b"fragmented".to_vec())
        ]
    );
}

#[test]
fn protocol_violations_close_with_1002() {
    let cases: Vec<(Vec<u8>, ProtocolError)> = vec![
        (
            {
                let mut f = frame(true, Opcode::Text, b"x");
                f[0] |= 0x40;
                f
            },
            ProtocolError::Frame(portico_ws::frame::DecodeError::ReservedBits(4)),
        ),
        (
            vec![0x83, 0x00],
            ProtocolError::Frame(portico_ws::frame::DecodeError::ReservedOpcode(3)),
        ),
        (
            frame(true, Opcode::Continuation, b"x"),
            ProtocolError::BadContinuation,
        ),
        (
            {
                let mut f = frame(false, Opcode::Text, b"a");
                f.extend(frame(true, Opcode::Text, b"b"));
                f
            },
            ProtocolError::BadContinuation,
        ),
        (
            vec![0x09, 0x00],
            ProtocolError::Frame(portico_ws::frame::DecodeError::ControlFragmented),
        ),
        (
            {
                let mut f = vec![0x89, 0x7E, 0x00, 0x7E];
                f.extend([0u8; 126]);
                f
            },
            ProtocolError::Frame(portico_ws::frame::DecodeError::ControlTooLong(126)),
        ),
        (
            vec![0x81, 0x81, 1, 2, 3, 4, b'a' ^ 1],
            ProtocolError::MaskedFrame,
        ),
    ];
    for (wire, err) in cases {
        let heap = SimHeap::new(1 << 20, 0);
        let mut c = conn(&heap, 512, 1024, Delivery::Messages);
        let got = feed(&mut c, &wire, 7);
        assert_eq!(got.last(), Some(&Got::Err(err)), "{wire:x?}");
        assert_eq!(queued_close(&mut c), Some(1002), "{wire:x?}");
    }
}

#[test]
fn invalid_utf8_fails_fast_with_1007() {
    let heap = SimHeap::new(1 << 20, 0);
    let mut c = conn(&heap, 256, 1 << 16, Delivery::Messages);
    // First fragment valid, second starts an impossible sequence; the final fragment
    // never arrives: the error must come before the message ends.
    let mut wire = frame(false, Opcode::Text, "κόσμε".as_bytes());
    wire.extend(frame(false, Opcode::Continuation, &[0xed, 0xa0, 0x80]));
    let got = feed(&mut c, &wire, 2);
    assert_eq!(got, vec![Got::Err(ProtocolError::InvalidUtf8)]);
    assert_eq!(queued_close(&mut c), Some(1007));
}

#[test]
fn over_the_cap_closes_with_1009_before_reading_the_payload() {
    let heap = SimHeap::new(1 << 20, 0);
    let mut c = conn(&heap, 256, 100, Delivery::Messages);
    let mut wire = frame(false, Opcode::Binary, &[1u8; 60]);
    wire.extend(&frame(true, Opcode::Continuation, &[2u8; 60])[..10]);
    let got = feed(&mut c, &wire, 64);
    assert_eq!(got, vec![Got::Err(ProtocolError::MessageTooBig)]);
    assert_eq!(queued_close(&mut c), Some(1009));
}

#[test]
fn received_close_codes_are_validated() {
    for (code, reply) in [
        (1000u16, 1000u16),
        (1001, 1001),
        (3000, 3000),
        (4999, 4999),
        (1005, 1002),
        (1006, 1002),
        (1015, 1002),
        (999, 1002),
        (1004, 1002),
        (2000, 1002),
        (5000, 1002),
    ] {
        let heap = SimHeap::new(1 << 20, 0);
        let mut c = conn(&heap, 256, 1024, Delivery::Messages);
        let got = feed(
            &mut c,
            &frame(true, Opcode::Close, &code.to_be_bytes()),
            100,
        );
        if reply == code {
            assert_eq!(got, vec![Got::Close(code)]);
        } else {
            assert!(
                matches!(got.last(), Some(Got::Err(ProtocolError::BadClose(_)))),
                "{code}: {got:?}"
            );
        }
        assert_eq!(queued_close(&mut c), Some(reply), "code {code}");
    }
    // One-byte payload and a non-UTF-8 reason.
    let heap = SimHeap::new(1 << 20, 0);
    let mut c = conn(&heap, 256, 1024, Delivery::Messages);
    feed(&mut c, &frame(true, Opcode::Close, &[0x03]), 100);
    assert_eq!(queued_close(&mut c), Some(1002));
    let mut c = conn(&heap, 256, 1024, Delivery::Messages);
    feed(
        &mut c,
        &frame(true, Opcode::Close, &[0x03, 0xe8, 0xff]),
        100,
    );
    assert_eq!(queued_close(&mut c), Some(1007));
}

#[test]
fn reassembly_block_grows_then_returns_to_its_initial_size() {
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let mut c = conn(&heap, 256, 1 << 16, Delivery::Messages);
    let base = heap.stats(Region::External).used;
    let got = feed(&mut c, &frame(true, Opcode::Binary, &[7u8; 20_000]), 4096);
    assert_eq!(got.len(), 1);
    assert!(heap.stats(Region::External).peak >= base + 20_000 - 64);
    // The next poll shrinks the block back.
    let _ = feed(&mut c, &frame(true, Opcode::Text, b"x"), 10);
    assert_eq!(heap.stats(Region::External).used, base);
    drop(c);
    assert_eq!(heap.stats(Region::External).used, 0);
}

#[test]
fn client_frames_are_masked_and_written_whole() {
    let heap = SimHeap::new(1 << 20, 0);
    let mut c = conn(&heap, 256, 1024, Delivery::Messages);
    let wire = c
        .encode(true, Opcode::Text, [1, 2, 3, 4], b"Hello")
        .unwrap()
        .to_vec();
    let Decoded::Complete { value, consumed } = decode_header(&wire).unwrap() else {
        panic!()
    };
    assert_eq!((value.mask, value.payload_len), (Some([1, 2, 3, 4]), 5));
    let unmasked: Vec<u8> = wire[consumed..]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4])
        .collect();
    assert_eq!(unmasked, b"Hello");
}

fn fragments_strategy() -> impl Strategy<Value = (Vec<(bool, Vec<u8>)>, usize, usize)> {
    // Messages: (is_text, bytes); plus a fragment size and a read size.
    (
        prop::collection::vec(
            prop_oneof![
                any::<String>().prop_map(|s| (true, s.into_bytes())),
                prop::collection::vec(any::<u8>(), 0..3000).prop_map(|b| (false, b)),
            ],
            1..6,
        ),
        1usize..700,
        1usize..900,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fragmented_messages_round_trip((msgs, frag, read) in fragments_strategy(), frames_mode in any::<bool>()) {
        let heap = SimHeap::new(1 << 22, 0);
        let delivery = if frames_mode { Delivery::Frames } else { Delivery::Messages };
        let mut c = conn(&heap, 256, 1 << 16, delivery);
        let mut wire = Vec::new();
        for (text, body) in &msgs {
            let op = if *text { Opcode::Text } else { Opcode::Binary };
            let pieces: Vec<&[u8]> = if body.is_empty() { vec![&[][..]] } else { body.chunks(frag).collect() };
            for (i, p) in pieces.iter().enumerate() {
                let o = if i == 0 { op } else { Opcode::Continuation };
                wire.extend(frame(i + 1 == pieces.len(), o, p));
                if i % 3 == 1 {
                    wire.extend(frame(true, Opcode::Ping, b"k"));
                }
            }
        }
        let got = feed(&mut c, &wire, read);
        // Reassemble whatever granularity came out and compare.
        let mut out: Vec<(bool, Vec<u8>)> = Vec::new();
        let mut cur: Option<(bool, Vec<u8>)> = None;
        for g in got {
            match g {
                Got::Data(op, fin, bytes) => {
                    let e = cur.get_or_insert((op == Opcode::Text, Vec::new()));
                    e.1.extend(bytes);
                    if fin { out.push(cur.take().unwrap()); }
                }
                Got::Ping(_) => {}
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert_eq!(out, msgs);
        drop(c);
        prop_assert_eq!(heap.stats(Region::Internal).used, 0);
    }
}
