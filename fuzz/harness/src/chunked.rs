//! `ChunkedDecoder` fed in random splits.

use portico::http::chunked::{ChunkError, ChunkedDecoder};

use crate::Knobs;

/// What one complete run of the decoder produced.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    body: Vec<u8>,
    /// `Ok(end)`: done, the body's framing ended at `end`; `Err(None)`: ran out of input.
    end: Result<usize, Option<ChunkError>>,
}

/// Feeds `input` to a fresh decoder, the bytes arriving in pieces chosen by `piece`,
/// the way `Exchange::body_chunk` does: the decoder sees everything not yet consumed.
fn run(input: &[u8], max_body: u64, mut piece: impl FnMut() -> usize) -> Run {
    let mut d = ChunkedDecoder::new(max_body);
    let mut body = Vec::new();
    let mut pos = 0; // consumed
    let mut avail = piece().min(input.len()); // arrived
    let mut steps = 0usize;
    loop {
        steps += 1;
        assert!(steps <= 4 * input.len() + 16, "decoder makes no progress");
        let window = &input[pos..avail];
        let step = match d.decode(window) {
            Ok(s) => s,
            Err(e) => {
                return Run {
                    body,
                    end: Err(Some(e)),
                };
            }
        };
        assert!(
            step.consumed <= window.len(),
            "consumed {} of {}",
            step.consumed,
            window.len()
        );
        if let Some(r) = &step.data {
            assert!(
                r.start <= r.end && r.end <= step.consumed,
                "data {r:?} outside consumed {}",
                step.consumed
            );
            body.extend_from_slice(&window[r.clone()]);
        }
        assert!(
            d.total() <= max_body,
            "total {} over max_body {max_body}",
            d.total()
        );
        assert!(
            body.len() as u64 <= d.total(),
            "more data than declared chunk sizes"
        );
        // Progress: with unconsumed bytes and no error, the decoder must consume some,
        // or the body loop in `Exchange::body_chunk` would spin forever.
        if !window.is_empty() && !d.is_done() {
            assert!(
                step.consumed > 0,
                "decode consumed nothing of {} bytes",
                window.len()
            );
        }
        pos += step.consumed;
        if d.is_done() {
            assert_eq!(body.len() as u64, d.total(), "done with a short body");
            // Done is sticky and consumes nothing more.
            let again = d.decode(&input[pos..]).expect("done decoder errs");
            assert_eq!((again.consumed, again.data), (0, None));
            return Run { body, end: Ok(pos) };
        }
        if pos == avail {
            if avail == input.len() {
                return Run {
                    body,
                    end: Err(None),
                };
            }
            avail = avail.saturating_add(piece()).min(input.len());
        }
    }
}

/// Invariants: no panic, no livelock, `consumed` ≤ input, data inside what was consumed,
/// `total` ≤ `max_body`, and the result — body, error, end of framing — is the same
/// whatever the split (incremental decoding is split-invariant).
pub fn chunked(data: &[u8]) {
    let (mut k, input) = Knobs::split(data, 2);
    let max_body = match k.byte() % 6 {
        0 => 0,
        1 => 1,
        2 => 16,
        3 => 1000,
        4 => 64 * 1024,
        _ => u64::MAX,
    };
    let max_piece = 1 + usize::from(k.byte() % 64);
    let whole = run(input, max_body, || usize::MAX);
    let split = run(input, max_body, || k.piece(max_piece));
    assert_eq!(whole, split, "result depends on how the bytes were split");
    if let Ok(end) = whole.end {
        assert!(end <= input.len());
    }
}
