//! What a newcomer has sent while it waited to be admitted.

/// A waiting newcomer, judged by the bytes it has sent so far (peeked, not consumed).
///
/// When the table is full, whoever is admitted next evicts someone; admitting a
/// connection whose request is already complete before one still dripping its head lets
/// a browser in ahead of a slowloris — whatever address either comes from. Ordered:
/// the first is admitted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arrival {
    /// A whole request head is waiting (or the peer has already closed): served at once.
    Request,
    /// Nothing yet: a browser's preconnect, or a request about to be sent.
    Silent,
    /// Part of a head, without its end: a slow link, or a slowloris.
    Partial,
}

impl Arrival {
    /// Judges `peeked`, the first bytes waiting on the connection; `closed` when the
    /// peer has sent its FIN.
    pub fn of(peeked: &[u8], closed: bool) -> Arrival {
        if closed || peeked.windows(4).any(|w| w == b"\r\n\r\n") {
            Arrival::Request
        } else if peeked.is_empty() {
            Arrival::Silent
        } else {
            Arrival::Partial
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judged_by_what_arrived() {
        assert_eq!(
            Arrival::of(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", false),
            Arrival::Request
        );
        assert_eq!(Arrival::of(b"", false), Arrival::Silent);
        assert_eq!(Arrival::of(b"", true), Arrival::Request);
        assert_eq!(
            Arrival::of(b"GET / HTTP/1.1\r\nX-Slow: a", false),
            Arrival::Partial
        );
        assert!(Arrival::Request < Arrival::Silent && Arrival::Silent < Arrival::Partial);
    }
}
