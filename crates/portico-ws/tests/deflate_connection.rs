//! permessage-deflate in the sans-IO connection: RFC 7692 §7.2.3's frames, with and
//! without context takeover, our compressor's output read back, the decompression bomb
//! refused with 1009 inside its memory, and corrupt data refused with 1007.

mod wire;

use portico::placement::sim::SimHeap;
use portico::placement::{MemoryRegions, Placement, Region};
use portico_ws::buffers::{BufferSizes, Buffers};
use portico_ws::close::parse_close;
use portico_ws::compression::{Agreed, Compression, CompressionMode};
use portico_ws::connection::{Connection, Delivery, ProtocolError};
use portico_ws::deflate::Codec;
use portico_ws::frame::{decode_header_with, encode_frame, Decoded, Opcode};
use portico_ws::mask::apply_mask;
use wire::{feed, text, Got};

/// Terms with the same window both ways, so that one test connection's compressor
/// (bound by the client's window) feeds another's decompressor (sized by the server's).
fn agreed(bits: u8, takeover: bool) -> Agreed {
    Agreed {
        server_window_bits: bits,
        client_window_bits: bits,
        server_no_context_takeover: !takeover,
        client_no_context_takeover: !takeover,
    }
}

fn conn(heap: &SimHeap, max: usize, delivery: Delivery, a: Agreed) -> Connection<SimHeap> {
    conn_cap(heap, max, delivery, a, 4096)
}

fn conn_cap(
    heap: &SimHeap,
    max: usize,
    delivery: Delivery,
    a: Agreed,
    cap: usize,
) -> Connection<SimHeap> {
    conn_with(heap, max, delivery, a, cap, false)
}

fn conn_with(
    heap: &SimHeap,
    max: usize,
    delivery: Delivery,
    a: Agreed,
    cap: usize,
    client_takeover: bool,
) -> Connection<SimHeap> {
    let sizes = BufferSizes {
        rx: 256,
        tx: 512,
        message_initial: 64,
        max_message: max,
    };
    let b = Buffers::allocate(heap.clone(), Placement::PreferExternal, sizes).unwrap();
    let cap = Compression {
        mode: CompressionMode::Prefer,
        max_memory: cap,
        client_takeover,
        ..Compression::const_default()
    };
    let codec = Codec::new(&b, cap.plan().unwrap(), a).unwrap();
    let mut c = Connection::new(b, delivery);
    c.set_codec(codec);
    c
}

// RFC 7692 §7.2.3.1–§7.2.3.4, byte for byte.
const HELLO: &[u8] = &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
const HELLO_FRAGMENTED: &[u8] = &[
    0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
];
const HELLO_AGAIN_TAKEOVER: &[u8] = &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
const HELLO_STORED: &[u8] = &[
    0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
];
const HELLO_BFINAL: &[u8] = &[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];

#[test]
fn rfc_7692_examples_whatever_the_read_size() {
    for chunk in [1, 2, 5, 256] {
        let heap = SimHeap::new(1 << 20, 1 << 20);
        let mut c = conn(&heap, 1024, Delivery::Messages, agreed(11, true));
        let mut wire = HELLO.to_vec();
        wire.extend(HELLO_FRAGMENTED);
        wire.extend(HELLO_AGAIN_TAKEOVER);
        wire.extend(HELLO_STORED);
        wire.extend(HELLO_BFINAL);
        wire.extend(HELLO);
        // An uncompressed message is still allowed (RSV1 clear).
        let mut plain = vec![0u8; 16];
        let n = encode_frame(&mut plain, true, Opcode::Text, None, b"plain").unwrap();
        wire.extend(&plain[..n]);
        let got = feed(&mut c, &wire, chunk);
        assert_eq!(
            got,
            [&b"Hello"[..]; 6]
                .iter()
                .map(|h| text(h))
                .chain([text(b"plain")])
                .collect::<Vec<_>>(),
            "chunk {chunk}"
        );
    }
}

#[test]
fn without_context_takeover_each_message_stands_alone() {
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let mut c = conn(&heap, 1024, Delivery::Messages, agreed(9, false));
    let wire = [HELLO, HELLO, HELLO_FRAGMENTED].concat();
    assert_eq!(feed(&mut c, &wire, 3), vec![text(b"Hello"); 3]);
}

#[test]
fn pieces_in_frames_mode() {
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let mut c = conn(&heap, 1024, Delivery::Frames, agreed(11, true));
    let got = feed(&mut c, HELLO_FRAGMENTED, 1);
    let joined: Vec<u8> = got
        .iter()
        .flat_map(|g| match g {
            Got::Data(Opcode::Text, _, p) => p.clone(),
            g => panic!("{g:?}"),
        })
        .collect();
    assert_eq!(joined, b"Hello");
    assert!(matches!(got.last(), Some(Got::Data(_, true, _))));
    assert!(got[..got.len() - 1]
        .iter()
        .all(|g| matches!(g, Got::Data(_, false, _))));
}

/// Like [`unmask_frames`] for several messages: RSV1 on each message's first frame.
fn unmask_frames_all(wire: &[u8]) -> Vec<u8> {
    unmask(wire, true)
}

/// Turns the client's masked frames into the server's view (unmasked), checking RSV1.
fn unmask_frames(wire: &[u8]) -> Vec<u8> {
    unmask(wire, false)
}

fn unmask(mut wire: &[u8], many: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut first = true;
    while !wire.is_empty() {
        let Decoded::Complete { value: h, consumed } = decode_header_with(wire, true).unwrap()
        else {
            panic!("partial frame")
        };
        assert_eq!(h.rsv1, first, "RSV1 only on the first frame");
        let mut payload = wire[consumed..consumed + h.payload_len as usize].to_vec();
        apply_mask(&mut payload, h.mask.unwrap(), 0);
        let mut f = vec![0u8; payload.len() + 14];
        let n = encode_frame(&mut f, h.fin, h.opcode, None, &payload).unwrap();
        if first {
            f[0] |= 0x40;
        }
        out.extend(&f[..n]);
        wire = &wire[consumed + h.payload_len as usize..];
        first = many && h.fin;
    }
    out
}

#[test]
fn our_compressed_frames_read_back_with_and_without_takeover() {
    let status = br#"{"version":"0.1.0","uptime_ms":5000,"config":{"bind":"127.0.0.1:8080","max_sockets":24,"stack_sockets":32,"pool_buffers":10,"pool_chunk":4096,"internal_ram":327680,"psram":0}}"#;
    let big: Vec<u8> = status.iter().cycle().take(16 * 1024).copied().collect();
    for takeover in [true, false] {
        let heap = SimHeap::new(1 << 20, 1 << 20);
        let mut tx = conn(&heap, 64 * 1024, Delivery::Messages, agreed(11, takeover));
        let mut rx = conn(&heap, 64 * 1024, Delivery::Messages, agreed(11, takeover));
        for msg in [&status[..], &big, &status[..], b""] {
            let mut wire = Vec::new();
            tx.begin_deflate();
            let mut first = true;
            loop {
                let (f, done) = tx
                    .encode_deflated(first, Opcode::Text, [1, 2, 3, 4], msg)
                    .unwrap();
                wire.extend_from_slice(f);
                first = false;
                if done {
                    break;
                }
            }
            // One status document alone has little to match (fixed codes save ~10 %);
            // 16 KiB of them shrink well.
            assert!(
                wire.len() <= msg.len().max(8),
                "{} -> {}",
                msg.len(),
                wire.len()
            );
            if msg.len() > 1024 {
                assert!(
                    wire.len() * 8 < msg.len(),
                    "{} -> {}",
                    msg.len(),
                    wire.len()
                );
            }
            assert_eq!(feed(&mut rx, &unmask_frames(&wire), 100), vec![text(msg)]);
        }
    }
}

/// One whole compressed message from `tx`, as the server sees it.
/// One message through our compressor, as the server reads it (unmasked frames).
fn deflated(tx: &mut Connection<SimHeap>, op: Opcode, mask: [u8; 4], msg: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    tx.begin_deflate();
    let mut first = true;
    loop {
        let (f, done) = tx.encode_deflated(first, op, mask, msg).unwrap();
        wire.extend_from_slice(f);
        first = false;
        if done {
            return unmask_frames(&wire);
        }
    }
}

fn send(tx: &mut Connection<SimHeap>, msg: &[u8]) -> Vec<u8> {
    deflated(tx, Opcode::Text, [5, 6, 7, 8], msg)
}

#[test]
fn client_takeover_makes_a_repeated_document_cost_a_few_bytes() {
    let status = include_bytes!("../examples/data/status.json");
    let heap = SimHeap::new(1 << 20, 1 << 20);
    // A 4 KiB cap with takeover: two 1 KiB windows and a 2 KiB hash table.
    let conn = || {
        conn_with(
            &heap,
            1 << 16,
            Delivery::Messages,
            agreed(10, true),
            4096,
            true,
        )
    };
    let (mut tx, mut rx) = (conn(), conn());
    let placed: usize = tx
        .report()
        .iter()
        .filter(|b| b.block.contains("flate") && b.region.is_some())
        .map(|b| b.bytes)
        .sum();
    assert_eq!(placed, 4096, "{:?}", tx.report());
    let first = send(&mut tx, status);
    let mut changed = status.to_vec();
    changed[40] = b'9'; // a digit of uptime_ms
    let second = send(&mut tx, &changed);
    let third = send(&mut tx, &changed);
    assert!(
        second.len() < 40 && third.len() < 20,
        "{} {} {}",
        first.len(),
        second.len(),
        third.len()
    );
    let wire = [first, second, third].concat();
    assert_eq!(
        feed(&mut rx, &wire, 7),
        vec![text(status), text(&changed), text(&changed)]
    );
    // The server asking for no context takeover is obeyed: no window, full size again.
    let mut a = agreed(10, true);
    a.client_no_context_takeover = true;
    let mut tx = conn_with(&heap, 1 << 16, Delivery::Messages, a, 4096, true);
    assert!(!tx.report().iter().any(|b| b.block == "deflate_window"));
    let one = send(&mut tx, status);
    assert_eq!(send(&mut tx, status).len(), one.len());
}

fn compressed_zeros(n: usize) -> Vec<u8> {
    let heap = SimHeap::new(1 << 20, 0);
    let mut tx = conn(&heap, 1024, Delivery::Messages, agreed(11, true));
    deflated(&mut tx, Opcode::Binary, [0; 4], &vec![0u8; n])
}

#[test]
fn decompression_bomb_is_refused_with_1009_inside_its_memory() {
    // 4 MiB of zeros in about 32 KB of frames, against a 64 KiB message limit.
    let bomb = compressed_zeros(4 << 20);
    assert!(bomb.len() < 40 * 1024, "{}", bomb.len());
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let mut c = conn(&heap, 64 * 1024, Delivery::Messages, agreed(11, true));
    let got = feed(&mut c, &bomb, 256);
    assert_eq!(got, vec![Got::Err(ProtocolError::MessageTooBig)]);
    let (op, payload) = c.take_control().unwrap();
    assert_eq!(
        (op, parse_close(&payload).unwrap().code.0),
        (Opcode::Close, 1009)
    );
    // Memory stayed bounded by the limit: the reassembly block at most 64 KiB (while it
    // grows, the old and new blocks briefly coexist), never the 4 MiB it inflates to.
    let peak = heap.stats(Region::External).peak + heap.stats(Region::Internal).peak;
    assert!(peak < 2 * 64 * 1024 + 8 * 1024, "peak {peak}");
    // Just under the limit passes.
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let mut c = conn(&heap, 64 * 1024, Delivery::Messages, agreed(11, true));
    let ok = compressed_zeros(64 * 1024);
    assert_eq!(
        feed(&mut c, &ok, 256),
        vec![Got::Data(Opcode::Binary, true, vec![0; 64 * 1024])]
    );
}

#[test]
fn corrupt_or_misplaced_compression_is_refused() {
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let mut c = conn(&heap, 1024, Delivery::Messages, agreed(11, true));
    // BTYPE = 11 (reserved): 1007.
    let got = feed(&mut c, &[0xc2, 0x02, 0xff, 0xff], 4);
    assert_eq!(got, vec![Got::Err(ProtocolError::BadDeflate)]);
    let (_, p) = c.take_control().unwrap();
    assert_eq!(parse_close(&p).unwrap().code.0, 1007);
    // RSV1 on a continuation frame: 1002.
    let mut c = conn(&heap, 1024, Delivery::Messages, agreed(11, true));
    let got = feed(&mut c, &[0x01, 0x01, b'a', 0xc0, 0x00], 8);
    assert!(
        matches!(got[..], [Got::Err(ProtocolError::Frame(_))]),
        "{got:?}"
    );
    // Inflated text that is not UTF-8: 1007. (0xff as a stored block.)
    let mut c = conn(&heap, 1024, Delivery::Messages, agreed(11, true));
    let got = feed(&mut c, &[0xc1, 0x06, 0x00, 0x01, 0x00, 0xfe, 0xff, 0xff], 8);
    assert_eq!(got, vec![Got::Err(ProtocolError::InvalidUtf8)]);
}

#[test]
fn blocks_are_reported_and_within_the_cap() {
    let heap = SimHeap::new(1 << 20, 1 << 20);
    let c = conn(&heap, 1024, Delivery::Messages, agreed(11, true));
    let report = c.report();
    let names: Vec<_> = report
        .iter()
        .map(|b| (b.block, b.bytes, b.region))
        .collect();
    assert!(
        names.contains(&("inflate_window", 2048, Some(Region::External))),
        "{names:?}"
    );
    assert!(
        names.contains(&("deflate_hash", 2048, Some(Region::External))),
        "{names:?}"
    );
    assert!(names
        .iter()
        .any(|n| n.0 == "inflate_state" && n.2.is_none()));
    let placed: usize = report
        .iter()
        .filter(|b| b.block.starts_with("inflate_w") || b.block.starts_with("deflate"))
        .map(|b| b.bytes)
        .sum();
    assert!(placed <= 4096);
    // Everything reported as placed is what the heap holds.
    let held: usize = report
        .iter()
        .filter(|b| b.region.is_some())
        .map(|b| b.bytes)
        .sum();
    assert_eq!(
        held,
        heap.stats(Region::External).used + heap.stats(Region::Internal).used
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Anything our compressor sends, a connection with any window inflates back to
        /// the same bytes, whatever the read size, in either delivery mode.
        #[test]
        fn compress_then_inflate_is_identity(
            data in prop::collection::vec(prop_oneof![Just(b'a'), Just(b'{'), any::<u8>()], 0..6000),
            bits in 9u8..=15,
            chunk in 1usize..300,
            frames in any::<bool>(),
        ) {
            // The compressor reaches back at most 2^bits; the decompressor holds exactly
            // that window (a 64 KiB cap allows up to 15 bits).
            let heap = SimHeap::new(4 << 20, 0);
            let delivery = if frames { Delivery::Frames } else { Delivery::Messages };
            let mut tx = conn_cap(&heap, 1 << 16, Delivery::Messages, agreed(bits, true), 1 << 16);
            let mut rx = conn_cap(&heap, 1 << 16, delivery, agreed(bits, true), 1 << 16);
            let mut wire = Vec::new();
            tx.begin_deflate();
            let mut first = true;
            loop {
                let (f, done) = tx.encode_deflated(first, Opcode::Binary, [9, 8, 7, 6], &data).unwrap();
                wire.extend_from_slice(f);
                first = false;
                if done {
                    break;
                }
            }
            let got = feed(&mut rx, &unmask_frames(&wire), chunk);
            let mut joined = Vec::new();
            for g in &got {
                match g {
                    Got::Data(Opcode::Binary, _, p) => joined.extend_from_slice(p),
                    g => prop_assert!(false, "{g:?}"),
                }
            }
            prop_assert!(matches!(got.last(), Some(Got::Data(_, true, _))));
            prop_assert_eq!(joined, data);
        }

        /// With context takeover on both sides, any sequence of messages comes back
        /// whole, each referring into the ones before through a window of any size.
        #[test]
        fn takeover_sequences_round_trip(
            msgs in prop::collection::vec(
                prop::collection::vec(prop_oneof![Just(b'a'), Just(b'{'), any::<u8>()], 0..3000),
                1..5,
            ),
            bits in 9u8..=15,
            chunk in 1usize..300,
        ) {
            let heap = SimHeap::new(8 << 20, 0);
            let mut tx = conn_with(&heap, 1 << 16, Delivery::Messages, agreed(bits, true), 1 << 17, true);
            let mut rx = conn_with(&heap, 1 << 16, Delivery::Messages, agreed(bits, true), 1 << 17, true);
            let mut wire = Vec::new();
            for m in &msgs {
                tx.begin_deflate();
                let mut first = true;
                loop {
                    let (f, done) = tx.encode_deflated(first, Opcode::Binary, [1, 1, 2, 3], m).unwrap();
                    wire.extend_from_slice(f);
                    first = false;
                    if done {
                        break;
                    }
                }
            }
            let got = feed(&mut rx, &unmask_frames_all(&wire), chunk);
            let want: Vec<Got> = msgs.iter().map(|m| Got::Data(Opcode::Binary, true, m.clone())).collect();
            prop_assert_eq!(got, want);
        }

        /// Arbitrary bytes in a compressed frame never panic: an event or an error.
        #[test]
        fn garbage_never_panics(payload in prop::collection::vec(any::<u8>(), 0..400), chunk in 1usize..64) {
            let heap = SimHeap::new(4 << 20, 0);
            let mut c = conn(&heap, 4096, Delivery::Messages, agreed(9, true));
            let mut f = vec![0u8; payload.len() + 14];
            let n = encode_frame(&mut f, true, Opcode::Binary, None, &payload).unwrap();
            f[0] |= 0x40;
            let _ = feed(&mut c, &f[..n], chunk);
        }
    }
}
