//! What a client reports about itself, kept the same way by every port: the driver's
//! [`Status`] updates and the events it delivers are folded into one [`LinkStats`],
//! without heap, so a device can serialise it straight into its `/api/link` answer.

use core::fmt::{self, Write};

use crate::driver::Status;
use crate::event::{Event, State};

/// A client's state and counters. `U` is how the URL is held (`&'static str` on the
/// device); `E` bounds the length of the error text (longer texts are cut).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkStats<U, const E: usize> {
    /// `"connecting"`, `"connected"`, `"backoff"` or `"stopped"`.
    pub state: State,
    /// The URL.
    pub url: U,
    /// Successful upgrades since the client was created.
    pub connects: u64,
    /// Of those, the ones that were reconnects within a run.
    pub reconnects: u64,
    /// The latest error, as text (at most `E` bytes).
    pub last_error: Option<heapless::String<E>>,
    /// Round-trip time of the last answered ping.
    pub rtt_ms: Option<u64>,
    /// Whole messages received (in frame delivery mode: final frames).
    pub messages_in: u64,
    /// Blocks held now (empty when stopped), each with its region.
    pub memory: crate::buffers::MemoryReport,
}

impl<U, const E: usize> LinkStats<U, E> {
    /// Stopped, nothing counted yet.
    pub const fn new(url: U) -> Self {
        LinkStats {
            state: State::Stopped,
            url,
            connects: 0,
            reconnects: 0,
            last_error: None,
            rtt_ms: None,
            messages_in: 0,
            memory: heapless::Vec::new(),
        }
    }

    /// Folds one status update in.
    pub fn record(&mut self, status: Status<'_>) {
        match status {
            Status::State(s) => self.set_state(s),
            Status::Connected { reconnect } => {
                self.connects += 1;
                if reconnect {
                    self.reconnects += 1;
                }
            }
            Status::Error(e) => self.set_error(e),
            Status::RttMs(ms) => self.rtt_ms = Some(ms),
            Status::Memory(blocks) => {
                self.memory.clear();
                for b in blocks {
                    // A report holds at most rx, tx, message and the TLS blocks: it fits.
                    let _ = self.memory.push(*b);
                }
            }
        }
    }

    /// Counts what the handler is about to receive.
    pub fn record_event(&mut self, event: &Event<'_>) {
        if let Event::Data { fin: true, .. } = event {
            self.messages_in += 1;
        }
    }

    /// Enters `state`; a change is logged (`portico::report`), on every port alike.
    pub fn set_state(&mut self, state: State) {
        if state != self.state {
            portico::report::link_state(self.state.name(), state.name());
        }
        self.state = state;
    }

    /// Replaces the error text with `error`'s, cut to `E` bytes, and logs it.
    pub fn set_error(&mut self, error: impl fmt::Display) {
        portico::report::link_error(&error);
        self.last_error = Some(short_text(error));
    }

    /// The same counters with the URL held differently.
    pub fn with_url<V>(&self, url: V) -> LinkStats<V, E> {
        LinkStats {
            state: self.state,
            url,
            connects: self.connects,
            reconnects: self.reconnects,
            last_error: self.last_error.clone(),
            rtt_ms: self.rtt_ms,
            messages_in: self.messages_in,
            memory: self.memory.clone(),
        }
    }
}

/// `value`'s text, cut at a character boundary to fit `N` bytes.
pub fn short_text<const N: usize>(value: impl fmt::Display) -> heapless::String<N> {
    struct Cut<const N: usize>(heapless::String<N>);
    impl<const N: usize> Write for Cut<N> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                self.0.push(c).map_err(|_| fmt::Error)?;
            }
            Ok(())
        }
    }
    let mut cut = Cut(heapless::String::new());
    // Running out of room ends the write early; what fitted is kept.
    let _ = write!(cut, "{value}");
    cut.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffers::MemoryBlock;
    use crate::event::ErrorKind;
    use crate::frame::Opcode;

    #[test]
    fn counts_connects_reconnects_and_whole_messages() {
        let mut s: LinkStats<(), 16> = LinkStats::new(());
        s.record(Status::Connected { reconnect: false });
        s.record(Status::Connected { reconnect: true });
        s.record(Status::State(State::Connected));
        let piece = |fin| Event::Data {
            opcode: Opcode::Text,
            fin,
            payload: b"x",
        };
        s.record_event(&piece(false));
        s.record_event(&piece(true));
        s.record_event(&Event::Closed(crate::close::CloseCode::NORMAL));
        assert_eq!((s.connects, s.reconnects, s.messages_in), (2, 1, 1));
        assert_eq!(s.state, State::Connected);
    }

    #[test]
    fn serialises_without_heap_for_the_devices_api() {
        let mut s: LinkStats<&'static str, 32> = LinkStats::new("ws://10.0.0.2/x");
        s.record(Status::State(State::Backoff));
        s.record(Status::Error(&ErrorKind::Io));
        s.record(Status::Memory(&[MemoryBlock {
            block: "rx",
            bytes: 4096,
            region: Some(crate::Region::External),
        }]));
        let mut buf = [0u8; 256];
        let n = serde_json_core::to_slice(&s, &mut buf).unwrap();
        assert_eq!(
            core::str::from_utf8(&buf[..n]).unwrap(),
            r#"{"state":"backoff","url":"ws://10.0.0.2/x","connects":0,"reconnects":0,"last_error":"I/O error","rtt_ms":null,"messages_in":0,"memory":[{"block":"rx","bytes":4096,"region":"external"}]}"#
        );
    }

    #[test]
    fn error_text_is_cut_at_a_char_boundary() {
        let mut s: LinkStats<(), 8> = LinkStats::new(());
        s.record(Status::Error(&ErrorKind::Io));
        assert_eq!(s.last_error.as_deref(), Some("I/O erro"));
        assert_eq!(short_text::<4>("aé€b").as_str(), "aé");
    }
}
